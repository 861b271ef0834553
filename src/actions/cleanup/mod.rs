//! `action "dagsterbranch_cleanup_branch_deployments"`: closes or deletes stale branch deployments, chosen by
//! repository, pull request status and age of the last commit. A dry run by default: it reports what it
//! would do and writes nothing. Named "cleanup" rather than "close" because `mode` also deletes.

mod filter;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cty::{Type, Value};
use tfplugin::{Action, Attribute, Context, Diagnostics, Progress, Schema, Validator};

use crate::client::ProviderClient;
use crate::dagster::deployments::{Commit, Deployment};
use crate::dagster::Client;
use crate::resources::deployment::{self, PULL_REQUEST_STATUSES};
use crate::resources::shared::failure::{During, Failed};
use filter::{last_commit, Filter};

pub const TYPE_NAME: &str = "dagsterbranch_cleanup_branch_deployments";

/// How many branch deployments are listed (newest first).
const LIST_LIMIT: i64 = 1000;

pub struct CleanupAction;

fn schema() -> Schema {
    let [repo, _] = deployment::filter_attributes();
    Schema::new("Closes or deletes stale branch deployments: those of one repository, with a pull request in one of the given states, whose last commit is older than a number of days. A dry run unless `dry_run = false`: it then reports, one line per deployment, what it would do. Each deployment is read again right before it is changed and left alone if it no longer matches (or is not a branch deployment). Full deployments are never touched.")
        .attribute(repo)
        .attribute(
            Attribute::optional("pull_request_status", Type::Set(Box::new(Type::String)), "Only deployments whose pull request is in one of these states (`OPEN`, `CLOSED`, `MERGED`). Unset: any state, and deployments without a pull request.")
                .validator(Validator::new("a set of `OPEN`, `CLOSED` and `MERGED`", |v| match v {
                    Value::Set(items) => items.iter().filter_map(Value::as_str).find(|s| !PULL_REQUEST_STATUSES.contains(s)).map_or(Ok(()), |bad| {
                        Err(format!("`{bad}` is not a pull request status; use `OPEN`, `CLOSED` or `MERGED`."))
                    }),
                    _ => Ok(()),
                })),
        )
        .attribute(
            Attribute::optional("older_than_days", Type::Number, "Only deployments whose last commit is older than this many days (deployments without a commit never match).")
                .validator(Validator::new("zero or more", |v| match v.as_number() {
                    Some(n) if n.is_negative() => Err(format!("{n} is negative.")),
                    _ => Ok(()),
                })),
        )
        .attribute(
            Attribute::optional("mode", Type::String, "`close` (default) marks each open pull request's deployment CLOSED, as `dagster-cloud branch-deployment create-or-update --pull-request-status CLOSED` does, and leaves it in Dagster+; deployments already CLOSED or MERGED are left as they are. `delete` deletes the deployments.")
                .validator(Validator::one_of(&["close", "delete"])),
        )
        .attribute(Attribute::optional("dry_run", Type::Bool, "Report what would be done without changing anything (default `true`)."))
}

#[derive(serde::Deserialize)]
pub struct CleanupConfig {
    repo: Option<String>,
    pull_request_status: Option<BTreeSet<String>>,
    older_than_days: Option<f64>,
    mode: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Close,
    Delete,
}

impl Mode {
    fn verb(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Mode::Close, true) => "would close",
            (Mode::Close, false) => "closed",
            (Mode::Delete, true) => "would delete",
            (Mode::Delete, false) => "deleted",
        }
    }
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// `name (repo, branch, pull request STATUS, last commit N days ago)`.
fn describe(deployment: &Deployment, now: f64) -> String {
    let git = deployment.branch_deployment_git_metadata.clone().unwrap_or_default();
    let status = git.pull_request_status.as_deref().unwrap_or("none");
    let age = last_commit(deployment)
        .map_or("no commit".to_string(), |t| format!("last commit {:.0} days ago", ((now - t) / 86_400.0).max(0.0)));
    format!(
        "`{}` ({}, branch {}, pull request {status}, {age})",
        deployment.deployment_name, git.repo_name, git.branch_name
    )
}

#[async_trait]
impl Action for CleanupAction {
    type Client = ProviderClient;
    type Config = CleanupConfig;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn invoke(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        config: CleanupConfig,
        progress: &Progress,
        diags: &mut Diagnostics,
    ) {
        let mode = if config.mode.as_deref() == Some("delete") { Mode::Delete } else { Mode::Close };
        let dry_run = config.dry_run.unwrap_or(true);
        let now = now();
        let filter = Filter::with_age(config.repo, config.pull_request_status, config.older_than_days, now);
        let listed = match client.dagster.branch_deployments(LIST_LIMIT, None).await {
            Ok(listed) => listed,
            Err(e) => return diags.push(Failed::new("Could not list branch deployments", e)),
        };
        let mut chosen: Vec<Deployment> = listed.into_iter().filter(|d| filter.check(d, now).is_ok()).collect();
        chosen.sort_by(|a, b| a.deployment_name.cmp(&b.deployment_name));
        let mut done = 0;
        for listed in &chosen {
            let outcome = if dry_run {
                planned_change(mode, listed).map(|()| listed.clone())
            } else {
                recheck_and_write(&client.dagster, &filter, mode, &listed.deployment_name, now).await
            };
            match outcome {
                Ok(deployment) => {
                    done += 1;
                    progress.report(format!("{} {}", mode.verb(dry_run), describe(&deployment, now)));
                }
                Err(Skip::Left(why)) => {
                    progress.report(format!("left {}: {why}", describe(listed, now)));
                }
                Err(Skip::Failed(failed)) => {
                    progress.report(format!("failed on {}", describe(listed, now)));
                    diags.push(failed);
                }
            }
        }
        let summary = match (dry_run, mode) {
            (true, _) => format!("dry run: {done} of {} matching branch deployments would be changed; nothing was written (set dry_run = false to apply)", chosen.len()),
            (false, Mode::Close) => format!("{done} branch deployments closed"),
            (false, Mode::Delete) => format!("{done} branch deployments deleted"),
        };
        progress.report(summary);
    }
}

/// Why a matching deployment was not changed.
enum Skip {
    Left(String),
    Failed(Failed),
}

/// Whether the mode would change `deployment` at all: closing leaves deployments already CLOSED or MERGED
/// as they are.
fn planned_change(mode: Mode, deployment: &Deployment) -> Result<(), Skip> {
    let status = deployment.branch_deployment_git_metadata.as_ref().and_then(|g| g.pull_request_status.as_deref());
    match (mode, status) {
        (Mode::Close, Some(done @ ("CLOSED" | "MERGED"))) => {
            Err(Skip::Left(format!("its pull request is already {done}")))
        }
        (Mode::Close, _) if deployment.latest_commit.is_none() => {
            Err(Skip::Left("it has no commit to send with the update".to_string()))
        }
        _ => Ok(()),
    }
}

/// Reads the deployment again, checks it against the filter once more, then closes or deletes it.
async fn recheck_and_write(
    client: &Client,
    filter: &Filter,
    mode: Mode,
    name: &str,
    now: f64,
) -> Result<Deployment, Skip> {
    let fresh =
        client.deployment_by_name(name).await.during(format!("Could not read `{name}` again")).map_err(Skip::Failed)?;
    let fresh = fresh.ok_or_else(|| Skip::Left("it no longer exists".to_string()))?;
    let git = filter.check(&fresh, now).map_err(|why| Skip::Left(format!("no longer matches: {why}")))?.clone();
    planned_change(mode, &fresh)?;
    match mode {
        Mode::Close => {
            let commit: Commit =
                fresh.latest_commit.clone().ok_or_else(|| Skip::Left("it has no commit".to_string()))?;
            let mut branch = git;
            branch.pull_request_status = Some("CLOSED".to_string());
            let base = fresh.parent_deployment.as_ref().map(|p| p.deployment_name.as_str());
            client
                .create_or_update_branch_deployment(&branch, &commit, base, None)
                .await
                .during(format!("Could not close `{name}`"))
                .map_err(Skip::Failed)
        }
        Mode::Delete => {
            client
                .delete_branch_deployment(name)
                .await
                .during(format!("Could not delete `{name}`"))
                .map_err(Skip::Failed)?;
            Ok(fresh)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_model_reads_every_attribute() {
        let config = Value::Object(
            [
                ("repo", Value::from("acme/x")),
                ("pull_request_status", Value::Set(vec![Value::from("OPEN"), Value::from("MERGED")])),
                ("older_than_days", Value::from(30)),
                ("mode", Value::from("delete")),
                ("dry_run", Value::Bool(false)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let decoded: CleanupConfig = tfplugin::model::decode(&config).expect("decode");
        assert_eq!(decoded.repo.as_deref(), Some("acme/x"));
        assert_eq!(decoded.pull_request_status.map(|s| s.len()), Some(2));
        assert_eq!(decoded.older_than_days, Some(30.0));
        assert_eq!(decoded.mode.as_deref(), Some("delete"));
        assert_eq!(decoded.dry_run, Some(false));
    }

    #[test]
    fn closing_leaves_closed_and_merged_pull_requests_alone() {
        let mut deployment = Deployment {
            deployment_id: 1,
            deployment_name: "d".into(),
            deployment_type: "BRANCH".into(),
            deployment_status: "ACTIVE".into(),
            parent_deployment: None,
            branch_deployment_git_metadata: Some(Default::default()),
            latest_commit: Some(Commit {
                commit_hash: "a".into(),
                timestamp: 1.into(),
                commit_message: None,
                commit_url: None,
                author_name: None,
                author_email: None,
                author_avatar_url: None,
            }),
        };
        assert!(planned_change(Mode::Close, &deployment).is_ok());
        for status in ["CLOSED", "MERGED"] {
            if let Some(git) = deployment.branch_deployment_git_metadata.as_mut() {
                git.pull_request_status = Some(status.into());
            }
            assert!(matches!(planned_change(Mode::Close, &deployment), Err(Skip::Left(_))));
            assert!(planned_change(Mode::Delete, &deployment).is_ok());
        }
    }
}
