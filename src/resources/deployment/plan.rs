//! Plan-time refinements: the checks that need Dagster+, and the load status each code location will have.

use std::collections::BTreeSet;

use cty::Path;
use tfplugin::{Diagnostics, Field, Plan};

use super::location::{LOAD_ERROR, LOAD_LOADED};
use super::state::DeploymentState;
use crate::client::ProviderClient;
use crate::resources::shared::checks;

pub async fn modify(client: &ProviderClient, plan: &mut Plan<DeploymentState>, diags: &mut Diagnostics) {
    checks::access_before_create(client, plan.is_create(), diags).await;
    check_base_deployment(client, plan, diags).await;
    redeploy_failed_locations(plan);
    keep_load_status_of_unchanged_locations(plan);
}

/// A new or changed, known base deployment must be a full deployment, so a typo fails the plan.
async fn check_base_deployment(client: &ProviderClient, plan: &Plan<DeploymentState>, diags: &mut Diagnostics) {
    let Some(name) = plan.planned.base_deployment.as_deref() else { return };
    if plan.prior.as_ref().is_some_and(|prior| prior.base_deployment.as_deref() == Some(name)) {
        return;
    }
    checks::full_deployment_names(client, &[name], Path::root().attr("base_deployment"), diags).await;
}

/// A location whose last load failed is planned for deployment again (its `load_status` becomes unknown), so
/// the next apply retries the load and fails again while it still fails, instead of reporting no changes.
fn redeploy_failed_locations(plan: &mut Plan<DeploymentState>) {
    let Some(prior) = &plan.prior else { return };
    let failed: BTreeSet<&str> =
        prior.locations().iter().filter(|l| l.has_load_status(LOAD_ERROR)).filter_map(|l| l.name.as_deref()).collect();
    for location in plan.planned.locations_mut() {
        if location.name.as_deref().is_some_and(|name| failed.contains(name)) {
            location.load_status = Field::Unknown;
        }
    }
}

/// In an update, a location that stays as it is and had loaded keeps `LOADED` in the plan rather than
/// showing `(known after apply)`: apply does not deploy it again (see `converge`).
fn keep_load_status_of_unchanged_locations(plan: &mut Plan<DeploymentState>) {
    let Some(prior) = &plan.prior else { return };
    let loaded: Vec<_> = prior.locations().iter().filter(|l| l.has_load_status(LOAD_LOADED)).collect();
    for location in plan.planned.locations_mut() {
        if loaded.iter().any(|p| p.same_but_load_status(location)) {
            location.load_status = Field::Known(LOAD_LOADED.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::deployment::location::LocationBlock;

    fn location(name: &str, image: &str, status: Field<String>) -> LocationBlock {
        LocationBlock {
            name: Field::Known(name.into()),
            image: Field::Known(image.into()),
            load_status: status,
            ..LocationBlock::default()
        }
    }

    fn with_locations(locations: Vec<LocationBlock>) -> DeploymentState {
        let mut state = DeploymentState::named("bd".into());
        state.code_location = Some(locations);
        state
    }

    #[test]
    fn failed_locations_are_redeployed_and_unchanged_loaded_ones_stay_loaded() {
        let known = |s: &str| Field::Known(s.to_string());
        let prior = with_locations(vec![
            location("etl", "a:1", known(LOAD_LOADED)),
            location("ml", "b:1", known(LOAD_ERROR)),
            location("bi", "c:1", known(LOAD_LOADED)),
            location("web", "d:1", known(LOAD_LOADED)),
        ]);
        // As Terraform proposes: `load_status` unknown where something changed.
        let planned = with_locations(vec![
            location("etl", "a:1", Field::Unknown),
            location("ml", "b:1", known(LOAD_ERROR)),
            location("bi", "c:2", Field::Unknown),
            LocationBlock { attribute: Field::Unknown, ..location("web", "d:1", Field::Unknown) },
        ]);
        let mut plan = Plan { prior: Some(prior), config: planned.clone(), planned, requires_replace: Vec::new() };
        redeploy_failed_locations(&mut plan);
        keep_load_status_of_unchanged_locations(&mut plan);
        let statuses: Vec<Field<&str>> =
            plan.planned.locations().iter().map(|l| l.load_status.as_ref().map(String::as_str)).collect();
        assert_eq!(
            statuses,
            [Field::Known(LOAD_LOADED), Field::Unknown, Field::Unknown, Field::Unknown],
            "a value not known yet may still change the location"
        );
    }
}
