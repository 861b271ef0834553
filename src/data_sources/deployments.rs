//! `data "dagsterbranch_deployments"`: branch deployments filtered by repository, pull request status and the
//! age of their last commit, e.g. to find stale deployments to clean up.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cty::{Type, Value};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, DataSource, Diagnostics, Schema, Validator};

use crate::provider::{configured, SharedConfig};

pub struct DeploymentsDataSource {
    schema: Schema,
    config: SharedConfig,
}

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

impl DeploymentsDataSource {
    pub fn new(config: SharedConfig) -> Self {
        let schema = Schema::new(
            "Branch deployments in Dagster+, filtered by repository, pull request status and age of the last commit.",
        )
        .attribute(Attribute::optional("repo", Type::String, "Only deployments of this git repository."))
        .attribute(
            Attribute::optional(
                "pull_request_status",
                Type::String,
                "Only deployments whose pull request is `OPEN`, `CLOSED` or `MERGED`.",
            )
            .validator(Validator::one_of(&["OPEN", "CLOSED", "MERGED"])),
        )
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
            Attribute::optional("limit", Type::Number, "At most this many deployments are read (default 1000).")
                .validator(Validator::new("1 or more", |v| match v.as_number().and_then(cty::Number::to_i64) {
                    Some(n) if n < 1 => Err(format!("{n} is less than 1.")),
                    _ => Ok(()),
                })),
        )
        .attribute(Attribute::computed(
            "deployments",
            Type::List(Box::new(entry_type())),
            "The matching branch deployments, newest first.",
        ));
        DeploymentsDataSource { schema, config }
    }
}

#[derive(Deserialize, Serialize)]
struct Filters {
    repo: Option<String>,
    pull_request_status: Option<String>,
    older_than_days: Option<f64>,
    limit: Option<i64>,
    #[serde(default)]
    deployments: Option<Vec<Entry>>,
}

#[derive(Deserialize, Serialize)]
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

#[async_trait]
impl DataSource for DeploymentsDataSource {
    fn type_name(&self) -> &'static str {
        "dagsterbranch_deployments"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let provider = configured(&self.config)?;
            let mut filters = tfplugin::decode::<Filters>(config)?;
            let found = provider
                .dagster
                .branch_deployments(filters.limit.unwrap_or(1000), filters.pull_request_status.as_deref())
                .await
                .map_err(|e| tfplugin::Diagnostic::error("Could not list branch deployments", e.to_string()))?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default();
            let cutoff = filters.older_than_days.map(|days| now - days * 86_400.0);
            let entries = found
                .into_iter()
                .filter(|d| !d.is_pending_deletion())
                .filter_map(|d| {
                    let git = d.branch_deployment_git_metadata.clone()?;
                    if filters.repo.as_deref().is_some_and(|r| r != git.repo_name) {
                        return None;
                    }
                    let committed = d.latest_commit.as_ref().and_then(|c| c.timestamp.as_f64());
                    if let Some(cutoff) = cutoff {
                        if committed.is_none_or(|t| t >= cutoff) {
                            return None;
                        }
                    }
                    Some(Entry {
                        url: format!("{}/{}", provider.dagster.base_url(), d.deployment_name),
                        name: d.deployment_name,
                        repo: git.repo_name,
                        branch: git.branch_name,
                        pull_request_status: git.pull_request_status,
                        pull_request_number: git.pull_request_number,
                        commit_hash: d.latest_commit.as_ref().map(|c| c.commit_hash.clone()),
                        commit_timestamp: d.latest_commit.map(|c| c.timestamp),
                        base_deployment: d.parent_deployment.map(|p| p.deployment_name),
                    })
                })
                .collect();
            filters.deployments = Some(entries);
            tfplugin::encode(&filters, &self.schema.value_type())
        }
        .await;
        diags.capture(result)
    }
}
