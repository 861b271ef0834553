//! `list "dagsterbranch_deployment"`: the branch deployments that exist in Dagster+, filtered by repository
//! and pull request status, so `terraform query -generate-config-out` can bring them under management.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplugin::{Context, Diagnostics, ListResource, ListedObject, Schema};

use crate::client::ProviderClient;
use crate::resources::deployment::{self, DeploymentIdentity, DeploymentState};
use crate::resources::shared::failure::Failed;

/// How many deployments one query lists when Terraform sets no limit.
const DEFAULT_LIMIT: i64 = 1000;

pub struct DeploymentList;

/// The `config` block.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct DeploymentListConfig {
    repo: Option<String>,
    pull_request_status: Option<String>,
}

fn schema() -> Schema {
    let [repo, pull_request_status] = deployment::filter_attributes();
    Schema::new("Lists Dagster+ branch deployments.").attribute(repo).attribute(pull_request_status)
}

#[async_trait]
impl ListResource for DeploymentList {
    type Client = ProviderClient;
    type Config = DeploymentListConfig;
    type State = DeploymentState;
    type Identity = DeploymentIdentity;

    fn type_name(&self) -> &'static str {
        deployment::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn list(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        config: DeploymentListConfig,
        include_state: bool,
        limit: i64,
        diags: &mut Diagnostics,
    ) -> Vec<ListedObject<DeploymentState, DeploymentIdentity>> {
        let limit = if limit > 0 { limit } else { DEFAULT_LIMIT };
        let dagster = &client.dagster;
        let found = deployment::find_all(dagster, config.repo.as_deref(), config.pull_request_status.as_deref(), limit);
        let found = match found.await {
            Ok(found) => found,
            Err(e) => {
                diags.push(Failed::new("Could not list branch deployments", e));
                return Vec::new();
            }
        };
        let mut listed = Vec::new();
        for found in found {
            let name = &found.deployment.deployment_name;
            let state = if include_state {
                let seed = DeploymentState::named(name.clone());
                diags.capture(deployment::refresh(dagster, &seed, false).await).flatten()
            } else {
                None
            };
            listed.push(ListedObject {
                display_name: format!("{}:{} ({name})", found.git.repo_name, found.git.branch_name),
                identity: found.identity(),
                state,
            });
        }
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_covers_the_schema() {
        tfplugin::model::check_covers::<DeploymentListConfig>(&schema().block).unwrap();
    }
}
