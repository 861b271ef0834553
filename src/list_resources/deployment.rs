//! `list "dagsterbranch_deployment"`: the branch deployments that exist in Dagster+, filtered by repository
//! and pull request status, so `terraform query -generate-config-out` can bring them under management.

use async_trait::async_trait;
use cty::{Type, Value};
use tfplugin::{Attribute, Context, Diagnostics, ListResource, ListedObject, Schema, Validator};

use crate::provider::{configured, SharedConfig};
use crate::resources::deployment::{self, DeploymentResource};

/// How many deployments one query lists when Terraform sets no limit.
const DEFAULT_LIMIT: i64 = 1000;

pub struct DeploymentList {
    schema: Schema,
    resource: DeploymentResource,
    config: SharedConfig,
}

impl DeploymentList {
    pub fn new(config: SharedConfig) -> Self {
        let schema = Schema::new("Lists Dagster+ branch deployments.")
            .attribute(Attribute::optional("repo", Type::String, "Only deployments of this git repository."))
            .attribute(
                Attribute::optional(
                    "pull_request_status",
                    Type::String,
                    "Only deployments whose pull request is `OPEN`, `CLOSED` or `MERGED`.",
                )
                .validator(Validator::one_of(&["OPEN", "CLOSED", "MERGED"])),
            );
        DeploymentList { schema, resource: DeploymentResource::new(config.clone()), config }
    }
}

#[async_trait]
impl ListResource for DeploymentList {
    fn type_name(&self) -> &'static str {
        deployment::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn list(
        &self,
        _ctx: &Context,
        config: &Value,
        include_state: bool,
        limit: i64,
        diags: &mut Diagnostics,
    ) -> Vec<ListedObject> {
        let provider = match configured(&self.config) {
            Ok(p) => p,
            Err(d) => {
                diags.push(d);
                return Vec::new();
            }
        };
        let repo = config.get("repo").and_then(Value::as_str);
        let status = config.get("pull_request_status").and_then(Value::as_str);
        let limit = if limit > 0 { limit } else { DEFAULT_LIMIT };
        let deployments = match provider.dagster.branch_deployments(limit, status).await {
            Ok(d) => d,
            Err(e) => {
                diags.error("Could not list branch deployments", e.to_string());
                return Vec::new();
            }
        };
        let mut listed = Vec::new();
        for found in deployments {
            let Some(git) = &found.branch_deployment_git_metadata else { continue };
            if repo.is_some_and(|r| r != git.repo_name) || found.is_pending_deletion() {
                continue;
            }
            let identity = Value::Object(
                [
                    ("repo".to_string(), Value::String(git.repo_name.clone())),
                    ("branch".to_string(), Value::String(git.branch_name.clone())),
                ]
                .into_iter()
                .collect(),
            );
            let state = if include_state {
                match deployment::state_of(&self.resource, &provider, &found.deployment_name).await {
                    Ok(state) => state,
                    Err(d) => {
                        diags.push(d);
                        None
                    }
                }
            } else {
                None
            };
            listed.push(ListedObject {
                display_name: format!("{}:{} ({})", git.repo_name, git.branch_name, found.deployment_name),
                identity,
                state,
            });
        }
        listed
    }
}
