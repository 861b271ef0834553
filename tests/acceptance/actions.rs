//! Actions (Terraform 1.14+) invoked with `terraform apply -invoke` against the emulator: the cleanup action
//! changes exactly the branch deployments its filter names (a dry run first, which writes nothing), never a
//! full deployment; the redeploy action deploys a branch deployment's locations again and waits for them.

use std::time::{SystemTime, UNIX_EPOCH};

use dagster_plus_emulator::RunningEmulator;
use serde_json::{json, Value};

use crate::support::*;

pub(crate) const REPO: &str = "acme/actions";
const OTHER_REPO: &str = "acme/elsewhere";
/// 2017: older than any `older_than_days` the tests use.
pub(crate) const OLD: i64 = 1_500_000_000;

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// Creates a branch deployment as CI's `dagster-cloud` would (one GraphQL call); returns its name.
pub(crate) fn branch_deployment(
    emulator: &RunningEmulator,
    repo: &str,
    branch: &str,
    status: &str,
    timestamp: i64,
) -> String {
    let data = graphql(
        emulator,
        "mutation($b: CreateOrUpdateBranchDeploymentInput!, $c: DeploymentCommitInput!) {
           createOrUpdateBranchDeployment(branchData: $b, commit: $c) { ... on DagsterCloudDeployment { deploymentName } } }",
        json!({
            "b": { "repoName": repo, "branchName": branch, "pullRequestStatus": status },
            "c": { "commitHash": format!("{branch}-hash"), "timestamp": timestamp },
        }),
    );
    data["createOrUpdateBranchDeployment"]["deploymentName"].as_str().expect("deployment name").to_string()
}

/// Every deployment in the emulator, by name: (type, status, pull request status).
fn deployments(emulator: &RunningEmulator) -> Vec<(String, String, String, Value)> {
    let inventory = emulator.inventory();
    let mut all: Vec<_> = inventory["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .map(|d| {
            (
                d["deploymentName"].as_str().unwrap_or_default().to_string(),
                d["deploymentType"].as_str().unwrap_or_default().to_string(),
                d["deploymentStatus"].as_str().unwrap_or_default().to_string(),
                d["branch"]["pullRequestStatus"].clone(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn pull_request_status(emulator: &RunningEmulator, name: &str) -> Value {
    deployments(emulator).into_iter().find(|d| d.0 == name).map(|d| d.3).unwrap_or(Value::Null)
}

fn cleanup_config(emulator: &RunningEmulator, body: &str) -> String {
    format!(
        "{}\naction \"dagsterbranch_cleanup_branch_deployments\" \"stale\" {{\n  config {{\n{body}\n  }}\n}}\n",
        provider_block(emulator)
    )
}

fn invoke(ws: &Workspace, action: &str) -> Run {
    ws.ok(&["apply", "-auto-approve", "-no-color", &format!("-invoke=action.{action}")])
}

/// The deployment names a run's progress lines report after `verb` (e.g. "would close").
fn reported(run: &Run, verb: &str) -> Vec<String> {
    let mut names: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|line| line.split_once(&format!("{verb} `")).map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_string()))
        .collect();
    names.sort();
    names
}

struct Fleet {
    stale_open: String,
    fresh_open: String,
    old_closed: String,
    old_merged: String,
    other_repo: String,
}

fn fleet(emulator: &RunningEmulator) -> Fleet {
    Fleet {
        stale_open: branch_deployment(emulator, REPO, "stale-open", "OPEN", OLD),
        fresh_open: branch_deployment(emulator, REPO, "fresh-open", "OPEN", now()),
        old_closed: branch_deployment(emulator, REPO, "old-closed", "CLOSED", OLD),
        old_merged: branch_deployment(emulator, REPO, "old-merged", "MERGED", OLD),
        other_repo: branch_deployment(emulator, OTHER_REPO, "stale-elsewhere", "OPEN", OLD),
    }
}

#[test]
fn cleanup_closes_exactly_the_filtered_set_after_a_dry_run_that_writes_nothing() {
    let emulator = start_emulator();
    let fleet = fleet(&emulator);
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let filter = format!("    repo = \"{REPO}\"\n    pull_request_status = [\"OPEN\"]\n    older_than_days = 30\n");
    ws.write(&cleanup_config(&emulator, &filter));
    let before = deployments(&emulator);
    let writes = mutation_count(&emulator);

    let dry = invoke(&ws, "dagsterbranch_cleanup_branch_deployments.stale");
    assert_eq!(reported(&dry, "would close"), std::slice::from_ref(&fleet.stale_open), "{}", dry.describe());
    assert!(dry.stdout.contains("nothing was written"), "{}", dry.describe());
    assert_eq!(mutation_count(&emulator), writes, "a dry run writes nothing");
    assert_eq!(deployments(&emulator), before);

    ws.write(&cleanup_config(&emulator, &format!("{filter}    dry_run = false\n")));
    let real = invoke(&ws, "dagsterbranch_cleanup_branch_deployments.stale");
    assert_eq!(reported(&real, "closed"), std::slice::from_ref(&fleet.stale_open), "{}", real.describe());
    assert_eq!(pull_request_status(&emulator, &fleet.stale_open), "CLOSED");
    let untouched: Vec<_> = before.iter().filter(|d| d.0 != fleet.stale_open).cloned().collect();
    let after: Vec<_> = deployments(&emulator).into_iter().filter(|d| d.0 != fleet.stale_open).collect();
    assert_eq!(after, untouched, "only the stale open deployment changed");
    for name in [&fleet.fresh_open, &fleet.other_repo] {
        assert_eq!(pull_request_status(&emulator, name), "OPEN", "{name}");
    }
}

#[test]
fn cleanup_deletes_closed_and_merged_branch_deployments_and_never_a_full_deployment() {
    let emulator = start_emulator();
    let fleet = fleet(&emulator);
    let full: Vec<_> = deployments(&emulator).into_iter().filter(|d| d.1 != "BRANCH").collect();
    assert!(!full.is_empty(), "the emulator starts with a full deployment");
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    // No repository filter: every repository's closed and merged deployments, and nothing else.
    ws.write(&cleanup_config(
        &emulator,
        "    pull_request_status = [\"CLOSED\", \"MERGED\"]\n    mode = \"delete\"\n    dry_run = false\n",
    ));
    let run = invoke(&ws, "dagsterbranch_cleanup_branch_deployments.stale");
    let mut expected = vec![fleet.old_closed.clone(), fleet.old_merged.clone()];
    expected.sort();
    assert_eq!(reported(&run, "deleted"), expected, "{}", run.describe());
    let live: Vec<String> =
        deployments(&emulator).into_iter().filter(|d| d.2 != "PENDING_DELETION").map(|d| d.0).collect();
    for gone in &expected {
        assert!(!live.contains(gone), "{gone} was not deleted: {live:?}");
    }
    for kept in [&fleet.stale_open, &fleet.fresh_open, &fleet.other_repo] {
        assert!(live.contains(kept), "{kept} was deleted: {live:?}");
    }
    for (name, ..) in &full {
        assert!(live.contains(name), "the full deployment {name} was touched: {live:?}");
    }
    assert_eq!(emulator.operation_counts().get("mutation.deleteDeployment"), Some(&2));
}

#[test]
fn bad_cleanup_filters_fail_at_validate_naming_the_attribute() {
    let emulator = start_emulator();
    for (body, attribute) in [
        ("    pull_request_status = [\"open\"]", "pull_request_status"),
        ("    mode = \"archive\"", "mode"),
        ("    older_than_days = -1", "older_than_days"),
    ] {
        let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
        ws.write(&cleanup_config(&emulator, body));
        let validate = ws.run_json(&["validate"]);
        assert_eq!(validate.run.code, 1, "{body}: {}", validate.run.describe());
        assert!(validate.errors().any(|d| d.names_attribute(attribute)), "{body}:\n{}", validate.listing());
    }
    assert_eq!(mutation_count(&emulator), 0);
}

#[test]
fn redeploy_deploys_the_locations_again_and_waits_until_they_load() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        r#"{provider}
resource "dagsterbranch_deployment" "x" {{
  repo   = "{REPO}"
  branch = "feature/redeploy"
  commit {{
    hash      = "abc123"
    timestamp = 1718000000
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:pr-7"
    module_name = "etl.definitions"
  }}
  code_location {{
    name        = "ml"
    image       = "ghcr.io/acme/ml:pr-7"
    python_file = "ml/defs.py"
  }}
}}

action "dagsterbranch_redeploy_code_locations" "x" {{
  config {{
    deployment = dagsterbranch_deployment.x.name
  }}
}}
"#,
        provider = provider_block(&emulator)
    ));
    ws.apply();
    let name = ws.state_attributes("dagsterbranch_deployment.x")["name"].as_str().expect("name").to_string();
    let locations = |emulator: &RunningEmulator| -> Vec<Value> {
        let inventory = emulator.inventory();
        let deployment = inventory["deployments"]
            .as_array()
            .and_then(|all| all.iter().find(|d| d["deploymentName"] == name.as_str()).cloned())
            .expect("the branch deployment");
        deployment["locations"].as_array().cloned().unwrap_or_default()
    };
    let before = locations(&emulator);
    let run = invoke(&ws, "dagsterbranch_redeploy_code_locations.x");
    assert!(run.stdout.contains("redeployed `etl`") && run.stdout.contains("redeployed `ml`"), "{}", run.describe());
    assert!(run.stdout.contains("loaded: etl, ml"), "{}", run.describe());
    let after = locations(&emulator);
    assert_eq!(after.len(), 2);
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(new["locationName"], old["locationName"]);
        assert_eq!(new["spec"], old["spec"], "the location comes back as it was");
        assert_eq!(new["revision"].as_u64(), old["revision"].as_u64().map(|r| r + 1), "deployed once more");
        assert_eq!(new["load"]["status"], "LOADED", "and loaded again: {new}");
    }
    ws.assert_empty_plan("after the redeploy");
}

#[test]
fn redeploy_refuses_a_full_deployment_naming_the_attribute() {
    let emulator = start_emulator();
    let full = deployments(&emulator).into_iter().find(|d| d.1 != "BRANCH").expect("a full deployment").0;
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        "{}\naction \"dagsterbranch_redeploy_code_locations\" \"x\" {{\n  config {{\n    deployment = \"{full}\"\n  }}\n}}\n",
        provider_block(&emulator)
    ));
    let run =
        ws.run(&["apply", "-auto-approve", "-no-color", "-invoke=action.dagsterbranch_redeploy_code_locations.x"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(run.stderr.contains("Not a live branch deployment"), "{}", run.describe());
    assert_eq!(mutation_count(&emulator), 0);
}
