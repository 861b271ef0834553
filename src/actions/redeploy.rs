//! `action "dagsterbranch_redeploy_code_locations"`: deploys a branch deployment's code locations again as
//! they are (for example after an image was pushed again under the same tag), then waits until they load,
//! the way the deployment resource does.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use cty::{Path, Type};
use tfplugin::{Action, Attribute, Context, Diagnostic, Diagnostics, Progress, Schema, Validator};

use crate::client::ProviderClient;
use crate::resources::deployment::{wait_for_load, LoadWait, LocationBlock};
use crate::resources::shared::failure::During;
use crate::resources::shared::timeouts::{configured_or, parse_duration};

pub const TYPE_NAME: &str = "dagsterbranch_redeploy_code_locations";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

pub struct RedeployAction;

fn schema() -> Schema {
    Schema::new("Deploys the code locations of one branch deployment again, unchanged, so that the agent starts them anew (for example after an image was pushed again under the same tag), then waits until they have loaded. Only branch deployments: a full deployment is refused.")
        .attribute(Attribute::required("deployment", Type::String, "The branch deployment's name, e.g. `dagsterbranch_deployment.x.name`.").validator(Validator::not_blank()))
        .attribute(Attribute::optional("locations", Type::Set(Box::new(Type::String)), "Only these code locations (default: all of them). A name the deployment does not have is an error."))
        .attribute(Attribute::optional("wait_for_load", Type::Bool, "Wait until every redeployed location has loaded (default `true`)."))
        .attribute(
            Attribute::optional("timeout", Type::String, "How long to wait for the locations to load, for example `30m` (default 20m).")
                .validator(Validator::string("a duration like `90s`, `30m` or `1h`", |s| parse_duration(s).map(|_| ()))),
        )
}

#[derive(serde::Deserialize)]
pub struct RedeployConfig {
    deployment: Option<String>,
    locations: Option<BTreeSet<String>>,
    wait_for_load: Option<bool>,
    timeout: Option<String>,
}

fn at_deployment() -> Path {
    Path::root().attr("deployment")
}

#[async_trait]
impl Action for RedeployAction {
    type Client = ProviderClient;
    type Config = RedeployConfig;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn invoke(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        config: RedeployConfig,
        progress: &Progress,
        diags: &mut Diagnostics,
    ) {
        let client = &client.dagster;
        let name = config.deployment.unwrap_or_default();
        let found = client.deployment_by_name(&name).await.during(format!("Could not read `{name}`"));
        let Some(found) = diags.capture(found.map_err(|f| f.at(at_deployment()))) else { return };
        let refusal = match found {
            None => Some(format!("Dagster+ has no deployment named `{name}`.")),
            Some(d) if !d.is_branch() => Some(format!(
                "`{name}` is a {} deployment; this action redeploys branch deployments only.",
                d.deployment_type
            )),
            Some(d) if d.is_pending_deletion() => Some(format!("`{name}` is being deleted.")),
            Some(_) => None,
        };
        if let Some(detail) = refusal {
            return diags.push(Diagnostic::error("Not a live branch deployment", detail).at(at_deployment()));
        }
        let workspace = client.workspace(&name).await.during(format!("Could not read the code locations of `{name}`"));
        let Some(workspace) = diags.capture(workspace) else { return };
        if let Some(wanted) = &config.locations {
            let missing: Vec<&str> = wanted
                .iter()
                .filter(|w| !workspace.locations.iter().any(|l| &l.name == *w))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return diags.push(
                    Diagnostic::error(
                        "No such code location",
                        format!("`{name}` has no code location named {}.", missing.join(", ")),
                    )
                    .at(Path::root().attr("locations")),
                );
            }
        }
        let chosen: Vec<_> = workspace
            .locations
            .iter()
            .filter(|l| config.locations.as_ref().is_none_or(|wanted| wanted.contains(&l.name)))
            .collect();
        let mut redeployed = Vec::new();
        for location in chosen {
            // The document is rebuilt from what Dagster+ holds, so the location comes back exactly as it was.
            let document = LocationBlock::from_deployed(location, None, None).document();
            let deployed = client.add_or_update_location(&name, &document).await;
            match deployed.during(format!("Could not redeploy code location `{}`", location.name)) {
                Ok(()) => {
                    progress.report(format!("redeployed `{}` in `{name}`", location.name));
                    redeployed.push(location.name.as_str());
                }
                Err(failed) => diags.push(failed),
            }
        }
        if redeployed.is_empty() || !config.wait_for_load.unwrap_or(true) {
            return;
        }
        progress.report(format!("waiting for {} to load", redeployed.join(", ")));
        let timeout = configured_or(config.timeout.as_deref(), DEFAULT_TIMEOUT);
        let mut waited = Diagnostics::new();
        let wait = LoadWait { deployment: &name, names: &redeployed, just_deployed: true, timeout };
        wait_for_load(ctx, client, &wait, |_| None, &mut waited).await;
        if !waited.has_errors() {
            progress.report(format!("loaded: {}", redeployed.join(", ")));
        }
        diags.extend(waited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cty::Value;

    #[test]
    fn the_config_model_reads_every_attribute() {
        let config = Value::Object(
            [
                ("deployment", Value::from("feature-x")),
                ("locations", Value::Set(vec![Value::from("etl")])),
                ("wait_for_load", Value::Bool(false)),
                ("timeout", Value::from("5m")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let decoded: RedeployConfig = tfplugin::model::decode(&config).expect("decode");
        assert_eq!(decoded.deployment.as_deref(), Some("feature-x"));
        assert_eq!(decoded.locations.map(|l| l.len()), Some(1));
        assert_eq!(decoded.wait_for_load, Some(false));
        assert_eq!(configured_or(decoded.timeout.as_deref(), DEFAULT_TIMEOUT), Duration::from_secs(300));
        assert_eq!(schema().block.attributes.len(), 4);
    }
}
