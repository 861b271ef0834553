//! One module per resource type: schema, then create/read/update/delete, then import.

pub mod agent;
pub mod agent_token;
#[cfg(feature = "bench")]
pub mod bench;
pub mod deployment;
pub mod registry;

use std::sync::Arc;

use cty::{Path, Value};
use serde::de::DeserializeOwned;
use tfplugin::{Diagnostic, Diagnostics, Plan, Resource};

use crate::provider::{configured, Configured, SharedConfig};

/// Every managed resource type the provider serves.
pub fn all(config: &SharedConfig) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(agent::AgentResource::new(config.clone())),
        Arc::new(agent_token::AgentTokenResource::new(config.clone())),
        Arc::new(deployment::DeploymentResource::new(config.clone())),
        Arc::new(registry::RegistryResource::new(config.clone())),
        #[cfg(feature = "bench")] // benchmark-only null_resource twin (bench/run)
        Arc::new(bench::BenchResource::new()),
    ]
}

/// The provider configuration and a resource's decoded state or plan, which every CRUD call starts from.
pub(crate) fn decode_pair<T: DeserializeOwned>(
    config: &SharedConfig,
    value: &Value,
) -> Result<(Arc<Configured>, T), Diagnostic> {
    Ok((configured(config)?, tfplugin::decode(value)?))
}

/// For an update: the provider configuration, the prior state and the planned state.
pub(crate) fn decode_change<T: DeserializeOwned>(
    config: &SharedConfig,
    prior: &Value,
    planned: &Value,
) -> Result<(Arc<Configured>, T, T), Diagnostic> {
    Ok((configured(config)?, tfplugin::decode(prior)?, tfplugin::decode(planned)?))
}

/// Fails the plan when `attribute` (a deployment name or a set of them) names a full deployment that does
/// not exist, so that a typo never reaches apply. Checked only when the value is new or changed and known.
pub(crate) async fn check_full_deployment_names(
    config: &SharedConfig,
    plan: &Plan<'_>,
    attribute: &str,
    diags: &mut Diagnostics,
) {
    let Some(planned) = plan.planned.get(attribute) else { return };
    if !planned.is_wholly_known() || plan.prior.get(attribute) == Some(planned) {
        return;
    }
    let names: Vec<&str> = match planned {
        Value::String(name) => vec![name.as_str()],
        Value::Set(items) | Value::List(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        return;
    }
    let Ok(provider) = configured(config) else { return };
    let unknown = match provider.unknown_full_deployments(names).await {
        Ok(unknown) => unknown,
        Err(e) => {
            diags.push(
                Diagnostic::error("Could not check the deployment names", e.to_string())
                    .at(Path::root().attr(attribute)),
            );
            return;
        }
    };
    if !unknown.is_empty() {
        diags.attribute_error(
            Path::root().attr(attribute),
            "Unknown deployment",
            format!(
                "Dagster+ has no full deployment named {}. Full deployments: {}.",
                unknown.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                provider.known_full_deployments().join(", ")
            ),
        );
    }
}

/// At plan time, for an object about to be created: checks once per process that the API token is accepted
/// and belongs to the configured organization, so a wrong token, URL or organization fails the plan rather
/// than the apply.
pub(crate) async fn check_access_before_create(config: &SharedConfig, plan: &Plan<'_>, diags: &mut Diagnostics) {
    if !plan.is_create() || plan.planned.is_null() {
        return;
    }
    let Ok(provider) = configured(config) else { return };
    if let Err(e) = provider.dagster.verify_access().await {
        diags.push(Diagnostic::error("Cannot use the Dagster+ API", e.to_string()));
    }
}

/// Refuses, before anything is created, deployment names that no longer exist (one may have been deleted
/// since plan): creating a token first would leave it with its default organization-wide access.
pub(crate) async fn ensure_full_deployments_exist(
    provider: &Configured,
    names: &std::collections::BTreeSet<String>,
) -> Result<(), Diagnostic> {
    if names.is_empty() {
        return Ok(());
    }
    match provider.unknown_full_deployments(names.iter().map(String::as_str)).await {
        Err(e) => Err(Diagnostic::error("Could not check the deployment names; nothing was created", e.to_string())
            .at(Path::root().attr("deployments"))),
        Ok(unknown) if !unknown.is_empty() => Err(Diagnostic::error(
            "Unknown deployment",
            format!(
                "Dagster+ has no full deployment named {}; nothing was created. Full deployments: {}.",
                unknown.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                provider.known_full_deployments().join(", ")
            ),
        )
        .at(Path::root().attr("deployments"))),
        _ => Ok(()),
    }
}
