//! Apply: create or update the deployment, deploy and delete its code locations, wait for them to load; and
//! destroy, which deletes the deployment (waiting until Dagster+ has finished) or closes its pull request.

use crate::resources::shared::failure::{During, Failed};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use cty::Path;
use tfplugin::{Context, Diagnostic, Diagnostics};
use tracing::{info, warn};

use super::location::{location_path, LocationBlock, LOAD_ERROR};
use super::state::{self, DeploymentState};
use crate::dagster::locations::{LoadStatus, Workspace};
use crate::dagster::{self, Client};
use crate::resources::shared::timeouts::{Operation, Timeouts};
use crate::wait::{self, Backoff, Poll, WaitError};

const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const LOAD_BACKOFF: Backoff =
    Backoff { first_delay: Duration::from_millis(200), max_delay: Duration::from_secs(3), jitter: false };
const DELETE_BACKOFF: Backoff =
    Backoff { first_delay: Duration::from_millis(100), max_delay: Duration::from_secs(3), jitter: false };

/// Brings the deployment and its locations to `planned` (`prior` is `None` on create), then waits for the
/// locations to load. Returns the state that exists afterwards, also when a step failed.
pub async fn converge(
    ctx: &Context,
    client: &Client,
    prior: Option<&DeploymentState>,
    planned: &DeploymentState,
    diags: &mut Diagnostics,
) -> Option<DeploymentState> {
    if prior.is_none() {
        // The upsert below would take over a deployment made outside this configuration (by CI's
        // `dagster-cloud`, say) and return values the plan did not show; refuse instead, before writing.
        if let Err(d) = refuse_existing(client, planned).await {
            diags.push(d);
            return None;
        }
    }
    let upserted = client
        .create_or_update_branch_deployment(
            &planned.branch_data(None),
            &planned.commit_input(),
            planned.base_deployment.as_deref(),
            planned.snapshot_condition(),
        )
        .await;
    let deployment = match upserted {
        Ok(deployment) => deployment,
        Err(e) => {
            // The mutation's only "not found" is the base deployment.
            let on_base = matches!(e, dagster::Error::NotFound { .. });
            let failed = Failed::new("Could not create or update the branch deployment", e);
            diags.push(if on_base { failed.at(Path::root().attr("base_deployment")) } else { failed });
            return prior.cloned();
        }
    };
    let name = deployment.deployment_name.clone();
    info!(deployment = %name, "branch deployment created or updated");
    let mut state = planned.clone();
    state.flatten_deployment(&deployment, client.base_url());
    state.forget_unknown_load_statuses();
    // From here on the deployment exists: every path returns it.

    let prior_locations = prior.map(DeploymentState::locations).unwrap_or_default();
    let deployment_step = deploy_locations(client, &name, prior_locations, planned.locations(), diags).await;
    let mut last_workspace = None;
    if deployment_step.all_deployed && planned.wait_for_load.unwrap_or(true) && !planned.locations().is_empty() {
        let operation = if prior.is_none() { Operation::Create } else { Operation::Update };
        let timeout = Timeouts::of(planned.timeouts.as_ref(), operation, DEFAULT_LOAD_TIMEOUT);
        let had_errors = diags.has_errors();
        let names: Vec<&str> = planned.locations().iter().map(LocationBlock::name).collect();
        let just_deployed = deployment_step.untouched.len() < names.len();
        let wait = LoadWait { deployment: &name, names: &names, just_deployed, timeout };
        last_workspace = wait_for_load(ctx, client, &wait, |index| Some(location_path(index)), diags).await;
        if prior.is_none() && !had_errors && diags.has_errors() {
            // Terraform taints an object whose create reported an error, and replaces it on the next
            // apply; a provider cannot prevent that. Say how to keep the deployment instead.
            diags.push(Diagnostic::warning(
                "The branch deployment exists; only its code locations failed",
                format!("`{name}` was created and is recorded in state, but Terraform marks it tainted because the create reported an error, so the next apply would delete and recreate the whole deployment. To keep it and only deploy the code locations again, fix the cause and run `terraform untaint ADDRESS` before the next apply."),
            ));
        }
    }
    // The upsert answered with the deployment and the last load poll, sent after every write, with its
    // locations: together they are the read after write, so it costs no further request.
    let read_back = match &last_workspace {
        Some(workspace) => Ok(Some(state::flatten(&state, &deployment, workspace, client.base_url()))),
        None => state::refresh(client, &state, false).await,
    };
    match read_back {
        Ok(Some(mut refreshed)) => {
            // Apply reports what it did: a location it did not touch keeps the status the plan showed
            // (the next refresh reads it again).
            for location in refreshed.locations_mut() {
                if deployment_step.untouched.contains(location.name()) {
                    let before = prior_locations.iter().find(|p| p.name() == location.name());
                    location.load_status = before.map(|p| p.load_status.clone()).unwrap_or_default();
                }
            }
            Some(refreshed)
        }
        Ok(None) => {
            diags.error("Branch deployment disappeared", format!("`{name}` was deleted while it was being deployed."));
            None
        }
        Err(e) => {
            diags.push(e);
            Some(state)
        }
    }
}

/// Fails when (repo, branch) already has a live branch deployment that this resource would adopt.
async fn refuse_existing(client: &Client, planned: &DeploymentState) -> Result<(), Diagnostic> {
    let (repo, branch) = (planned.repo.as_deref().unwrap_or_default(), planned.branch.as_deref().unwrap_or_default());
    let existing = client
        .live_branch_deployment(repo, branch)
        .await
        .during("Could not check whether the branch deployment exists")?;
    match existing {
        None => Ok(()),
        Some(deployment) => Err(Diagnostic::error(
            "Branch deployment already exists",
            format!(
                "Branch `{branch}` of `{repo}` already has a branch deployment in Dagster+, `{name}`, made outside this configuration (for example by `dagster-cloud` in CI). Nothing was changed. Import it instead of creating it: `terraform import ADDRESS {repo}:{branch}` (or by name, `{name}`), or an `import` block with `id = \"{repo}:{branch}\"` (Terraform 1.5+).",
                name = deployment.deployment_name
            ),
        )
        .at(Path::root().attr("branch"))),
    }
}

/// What deploying the locations did.
struct DeploymentStep {
    /// Every changed location was accepted.
    all_deployed: bool,
    /// Locations left as they were.
    untouched: BTreeSet<String>,
}

/// Deploys the new and changed locations of `planned` and deletes those it no longer has.
async fn deploy_locations(
    client: &Client,
    deployment: &str,
    prior: &[LocationBlock],
    planned: &[LocationBlock],
    diags: &mut Diagnostics,
) -> DeploymentStep {
    let mut step = DeploymentStep { all_deployed: true, untouched: BTreeSet::new() };
    for (index, location) in planned.iter().enumerate() {
        // A location whose last load failed is deployed again even when unchanged: that retries the load.
        let unchanged =
            prior.iter().any(|p| p.name() == location.name() && location.matches(p) && !p.has_load_status(LOAD_ERROR));
        if unchanged {
            step.untouched.insert(location.name().to_string());
            continue;
        }
        let deployed = client.add_or_update_location(deployment, &location.document()).await;
        if let Err(failed) = deployed.during(format!("Could not deploy code location `{}`", location.name())) {
            diags.push(failed.at(location_path(index)));
            step.all_deployed = false;
        }
    }
    let wanted: BTreeSet<&str> = planned.iter().map(LocationBlock::name).collect();
    for removed in prior.iter().filter(|p| !wanted.contains(p.name())) {
        let deleted = client.delete_location(deployment, removed.name()).await;
        if let Err(failed) = deleted.during(format!("Could not delete code location `{}`", removed.name())) {
            diags.push(failed);
        }
    }
    step
}

/// What [`wait_for_load`] waits for.
#[derive(Clone, Copy)]
pub struct LoadWait<'a> {
    pub deployment: &'a str,
    pub names: &'a [&'a str],
    /// A location was deployed a moment ago: the first look waits one poll interval, since a look sent right
    /// away would only see it loading.
    pub just_deployed: bool,
    pub timeout: Duration,
}

/// The locations' load, as last seen.
#[derive(Default)]
struct LoadReport {
    /// (index, name, error) of each location whose load failed.
    failed: Vec<(usize, String, String)>,
    still_loading: Vec<String>,
    workspace: Option<Workspace>,
}

/// Waits until every location in `names` has loaded or failed, the timeout passes, or Terraform interrupts;
/// reports failed loads (at `at(index)`, where the caller has an attribute for them) and locations still
/// loading as errors, and returns the workspace the last poll read. The redeploy action waits here too.
pub async fn wait_for_load(
    ctx: &Context,
    client: &Client,
    wait: &LoadWait<'_>,
    at: impl Fn(usize) -> Option<Path>,
    diags: &mut Diagnostics,
) -> Option<Workspace> {
    let LoadWait { deployment, names, just_deployed, timeout } = *wait;
    // Until the first look, every location counts as still loading.
    let still_loading = names.iter().map(|name| name.to_string()).collect();
    let last_seen = Mutex::new(LoadReport { still_loading, ..LoadReport::default() });
    let first_look_after = if just_deployed { LOAD_BACKOFF.first_delay } else { Duration::ZERO };
    let outcome = wait::until_after(ctx, first_look_after, timeout, LOAD_BACKOFF, || {
        let last_seen = &last_seen;
        async move {
            let workspace = client.workspace(deployment).await?;
            let mut report = LoadReport::default();
            for (index, name) in names.iter().enumerate() {
                match workspace.status(name) {
                    Some(LoadStatus::Loaded) => {}
                    Some(LoadStatus::Failed(error)) => report.failed.push((index, name.to_string(), error.clone())),
                    _ => report.still_loading.push(name.to_string()),
                }
            }
            let settled = report.still_loading.is_empty();
            report.workspace = Some(workspace);
            *last_seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = report;
            Ok::<_, dagster::Error>(if settled { Poll::Ready(()) } else { Poll::Pending })
        }
    })
    .await;
    let report = last_seen.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (index, name, error) in &report.failed {
        let failed = Diagnostic::error(
            format!("Code location `{name}` failed to load"),
            format!("Dagster+ reported this error while loading `{name}` in `{deployment}`:\n\n{error}"),
        );
        diags.push(match at(*index) {
            Some(path) => failed.at(path),
            None => failed,
        });
    }
    let still_loading = report.still_loading.join(", ");
    match outcome {
        Ok(()) => {}
        Err(WaitError::Failed(e)) => {
            diags.push(Failed::new("Could not read the code locations' load status", e))
        }
        Err(WaitError::TimedOut(timeout)) => diags.error(
            "Code locations did not load in time",
            format!(
                "After {}s these locations of `{deployment}` were still loading: {still_loading}. Is a branch-deployment agent running? Raise `timeouts` or set `wait_for_load = false`.",
                timeout.as_secs()
            ),
        ),
        Err(WaitError::Interrupted) => {
            warn!(deployment, "interrupted while waiting for code locations");
            diags.error(
                "Interrupted while waiting for code locations",
                format!("The deployment `{deployment}` and its locations exist; these were still loading: {still_loading}."),
            );
        }
    }
    report.workspace
}

/// Destroy: deletes the deployment and waits until Dagster+ has finished, or with `on_destroy = "close"`
/// marks its pull request CLOSED and leaves it.
pub async fn remove(ctx: &Context, client: &Client, state: &DeploymentState, diags: &mut Diagnostics) {
    let name = state.name.as_deref().unwrap_or_default();
    if state.on_destroy.as_deref() == Some("close") {
        let closed = client
            .create_or_update_branch_deployment(
                &state.branch_data(Some("CLOSED")),
                &state.commit_input(),
                state.base_deployment.as_deref(),
                None,
            )
            .await;
        match closed {
            Ok(_) => info!(deployment = %name, "branch deployment closed and left in Dagster+"),
            Err(e) => diags.push(Failed::new("Could not close the branch deployment's pull request", e)),
        }
        return;
    }
    if let Err(failed) = client.delete_branch_deployment(name).await.during("Could not delete the branch deployment") {
        diags.push(failed);
        return;
    }
    // Dagster+ deletes in the background (PENDING_DELETION); destroy ends when it is gone, so a create of the
    // same branch right after does not meet the old deployment.
    let timeout = Timeouts::of(state.timeouts.as_ref(), Operation::Delete, DEFAULT_DELETE_TIMEOUT);
    wait_until_deleted(ctx, client, name, timeout, diags).await;
    info!(deployment = %name, "branch deployment deleted");
}

/// Polls until the deployment is gone; a warning (the deletion goes on in Dagster+) when the timeout passes
/// or Terraform interrupts first.
async fn wait_until_deleted(ctx: &Context, client: &Client, name: &str, timeout: Duration, diags: &mut Diagnostics) {
    let gone = wait::until(ctx, timeout, DELETE_BACKOFF, || async move {
        let found = client.deployment_by_name(name).await?;
        Ok::<_, dagster::Error>(if found.is_none() { Poll::Ready(()) } else { Poll::Pending })
    })
    .await;
    match gone {
        Ok(()) => {}
        Err(WaitError::Failed(e)) => diags
            .push(Failed::new("Could not check that the branch deployment is gone", e)),
        Err(WaitError::TimedOut(_) | WaitError::Interrupted) => diags.push(Diagnostic::warning(
            "Branch deployment still being deleted",
            format!("Dagster+ accepted the deletion of `{name}` and is still carrying it out (PENDING_DELETION) after {}s; it goes on without Terraform.", timeout.as_secs()),
        )),
    }
}
