//! Plan- and apply-time checks against Dagster+ that more than one resource makes.

use std::collections::BTreeSet;

use cty::Path;
use tfplugin::{Diagnostic, Diagnostics};

use super::failure::Failed;
use crate::client::ProviderClient;

/// At plan time, for an object about to be created: checks once per process that the API token is accepted
/// and belongs to the configured organization, so a wrong token, URL or organization fails the plan rather
/// than the apply.
pub async fn access_before_create(client: &ProviderClient, is_create: bool, diags: &mut Diagnostics) {
    if !is_create {
        return;
    }
    if let Err(e) = client.dagster.verify_access().await {
        diags.push(Failed::new("Cannot use the Dagster+ API", e));
    }
}

/// Fails the plan when `names` (the value of the attribute at `path`) name a full deployment that does not
/// exist, so that a typo never reaches apply. Callers check only new or changed, known values.
pub async fn full_deployment_names(client: &ProviderClient, names: &[&str], path: Path, diags: &mut Diagnostics) {
    if names.is_empty() {
        return;
    }
    match client.unknown_full_deployments(names.iter().copied()).await {
        Err(e) => diags.push(Failed::new("Could not check the deployment names", e).at(path)),
        Ok(unknown) if !unknown.is_empty() => diags.attribute_error(
            path,
            "Unknown deployment",
            format!(
                "Dagster+ has no full deployment named {}. Full deployments: {}.",
                quoted(&unknown),
                client.known_full_deployments().join(", ")
            ),
        ),
        Ok(_) => {}
    }
}

/// Refuses, before anything is created, deployment names that no longer exist (one may have been deleted
/// since plan): creating a token first would leave it with its default organization-wide access.
pub async fn full_deployments_exist(
    client: &ProviderClient,
    names: &BTreeSet<String>,
    path: Path,
) -> Result<(), Diagnostic> {
    if names.is_empty() {
        return Ok(());
    }
    match client.unknown_full_deployments(names.iter().map(String::as_str)).await {
        Err(e) => Err(Failed::new("Could not check the deployment names; nothing was created", e).at(path).into()),
        Ok(unknown) if !unknown.is_empty() => Err(Diagnostic::error(
            "Unknown deployment",
            format!(
                "Dagster+ has no full deployment named {}; nothing was created. Full deployments: {}.",
                quoted(&unknown),
                client.known_full_deployments().join(", ")
            ),
        )
        .at(path)),
        Ok(_) => Ok(()),
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
