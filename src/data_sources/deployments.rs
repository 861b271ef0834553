//! `data "dagsterbranch_deployments"`: branch deployments filtered by repository, pull request status and the
//! age of their last commit, e.g. to find stale deployments to clean up.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cty::Type;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, DataSource, Diagnostics, Schema, Validator};

use crate::client::ProviderClient;
use crate::resources::deployment::{self, Listed};
use crate::resources::shared::failure::Failed;

/// How many deployments are read when `limit` is not set.
const DEFAULT_LIMIT: i64 = 1000;

pub struct DeploymentsDataSource;

fn entry_type() -> Type {
    Type::object(
        [
            ("name", Type::String),
            ("repo", Type::String),
            ("branch", Type::String),
            ("pull_request_status", Type::String),
            ("pull_request_number", Type::String),
            ("commit_hash", Type::String),
            ("commit_timestamp", Type::Number),
            ("base_deployment", Type::String),
            ("url", Type::String),
        ]
        .into_iter()
        .map(|(k, t)| (k.to_string(), t)),
    )
}

fn schema() -> Schema {
    let [repo, pull_request_status] = deployment::filter_attributes();
    Schema::new(
        "Branch deployments in Dagster+, filtered by repository, pull request status and age of the last commit.",
    )
    .attribute(repo)
    .attribute(pull_request_status)
    .attribute(
        Attribute::optional(
            "older_than_days",
            Type::Number,
            "Only deployments whose last commit is older than this many days.",
        )
        .validator(Validator::new("zero or more", |v| match v.as_number() {
            Some(n) if n.is_negative() => Err(format!("{n} is negative.")),
            _ => Ok(()),
        })),
    )
    .attribute(
        Attribute::optional("limit", Type::Number, "At most this many deployments are read (default 1000).").validator(
            Validator::new("1 or more", |v| match v.as_number().and_then(cty::Number::to_i64) {
                Some(n) if n < 1 => Err(format!("{n} is less than 1.")),
                _ => Ok(()),
            }),
        ),
    )
    .attribute(Attribute::computed(
        "deployments",
        Type::List(Box::new(entry_type())),
        "The matching branch deployments, newest first.",
    ))
}

/// The filters, and the deployments found.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct DeploymentsModel {
    repo: Option<String>,
    pull_request_status: Option<String>,
    older_than_days: Option<f64>,
    limit: Option<i64>,
    deployments: Option<Vec<Entry>>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Entry {
    name: String,
    repo: String,
    branch: String,
    pull_request_status: Option<String>,
    pull_request_number: Option<String>,
    commit_hash: Option<String>,
    commit_timestamp: Option<serde_json::Number>,
    base_deployment: Option<String>,
    url: String,
}

impl Entry {
    fn from_listed(listed: Listed, base_url: &str) -> Entry {
        let Listed { deployment, git } = listed;
        Entry {
            url: deployment::deployment_url(base_url, &deployment.deployment_name),
            name: deployment.deployment_name,
            repo: git.repo_name,
            branch: git.branch_name,
            pull_request_status: git.pull_request_status,
            pull_request_number: git.pull_request_number,
            commit_hash: deployment.latest_commit.as_ref().map(|c| c.commit_hash.clone()),
            commit_timestamp: deployment.latest_commit.map(|c| c.timestamp),
            base_deployment: deployment.parent_deployment.map(|p| p.deployment_name),
        }
    }
}

/// Whether the deployment's last commit is older than `cutoff` (seconds since the epoch); one without a
/// commit is not.
fn committed_before(listed: &Listed, cutoff: f64) -> bool {
    let committed = listed.deployment.latest_commit.as_ref().and_then(|c| c.timestamp.as_f64());
    committed.is_some_and(|t| t < cutoff)
}

#[async_trait]
impl DataSource for DeploymentsDataSource {
    type Client = ProviderClient;
    type Model = DeploymentsModel;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_deployments"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        mut model: DeploymentsModel,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentsModel> {
        let found = deployment::find_all(
            &client.dagster,
            model.repo.as_deref(),
            model.pull_request_status.as_deref(),
            model.limit.unwrap_or(DEFAULT_LIMIT),
        )
        .await;
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                diags.push(Failed::new("Could not list branch deployments", e));
                return None;
            }
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
        let cutoff = model.older_than_days.map(|days| now - days * 86_400.0);
        let base_url = client.dagster.base_url();
        model.deployments = Some(
            found
                .into_iter()
                .filter(|listed| cutoff.is_none_or(|cutoff| committed_before(listed, cutoff)))
                .map(|listed| Entry::from_listed(listed, base_url))
                .collect(),
        );
        Some(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_covers_the_schema() {
        tfplugin::model::check_covers::<DeploymentsModel>(&schema().block).unwrap();
    }
}
