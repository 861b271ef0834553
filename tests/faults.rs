//! Under injected faults (a seeded 20% of Dagster+ requests failing with 503, 429 + Retry-After or a
//! connection reset, plus creates whose response is dropped after they were committed), applies converge
//! within two runs and what exists in the emulator is exactly what the state records.

mod support;

use std::collections::BTreeSet;

use dagster_plus_emulator::{FaultKind, FaultSpec};
use serde_json::Value;
use support::*;

const DEPLOYMENTS: usize = 10;

fn configuration(emulator: &dagster_plus_emulator::RunningEmulator) -> String {
    let mut config = provider_block(emulator);
    config.push_str("\nresource \"dagsterbranch_agent\" \"bd\" {\n  label = \"faulty-agent\"\n}\n");
    config.push_str(&format!(
        r#"
resource "dagsterbranch_deployment" "branch" {{
  count  = {DEPLOYMENTS}
  repo   = "acme/faults"
  branch = "feature/${{count.index}}"
  commit {{
    hash      = "c0ffee${{count.index}}"
    timestamp = 1718000000
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:${{count.index}}"
    module_name = "etl.definitions"
  }}
  code_location {{
    name        = "ml"
    image       = "ghcr.io/acme/ml:${{count.index}}"
    module_name = "ml.definitions"
  }}
}}
"#
    ));
    config
}

#[test]
fn converges_within_two_applies_with_no_duplicates_or_orphans() {
    let emulator = start_emulator();
    let faults = [
        FaultSpec::fraction(FaultKind::Unavailable, 0.07, 11),
        FaultSpec::fraction(FaultKind::RateLimited, 0.07, 12).retry_after(1),
        FaultSpec::fraction(FaultKind::ConnectionReset, 0.06, 13),
        // Committed, then the response is lost: the provider must find what it made instead of repeating it.
        FaultSpec::next(FaultKind::DropResponse, 1).only("createAgentToken"),
        FaultSpec::fraction(FaultKind::DropResponse, 0.3, 14).only("createOrUpdateBranchDeployment"),
        FaultSpec::fraction(FaultKind::DropResponse, 0.2, 15).only("addOrUpdateLocationFromDocument"),
    ];
    for fault in faults {
        emulator.inject_fault(fault).expect("fault plan");
    }
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&configuration(&emulator));

    let mut applies = 0;
    loop {
        applies += 1;
        let run = ws.run(&["apply", "-auto-approve", "-no-color", "-parallelism=10"]);
        if run.code == 0 {
            break;
        }
        assert!(applies < 2, "apply #{applies} failed under faults:\n{}", run.describe());
    }
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "not converged after {applies} apply(s):\n{}", plan.stdout);
    let report = emulator.faults();
    emulator.clear_faults();

    // What the state says exists…
    let resources = ws.state_resources();
    let state_deployments: BTreeSet<String> = resources
        .iter()
        .filter(|r| r["type"] == "dagsterbranch_deployment")
        .map(|r| r["values"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let agent = resources.iter().find(|r| r["type"] == "dagsterbranch_agent").expect("agent in state");
    let state_token = agent["values"]["token_id"].as_str().expect("owned token").to_string();

    // …against what the emulator holds.
    let inventory = emulator.inventory();
    let branch_deployments: Vec<&Value> =
        inventory["deployments"].as_array().expect("deployments").iter().filter(|d| d["deploymentType"] == "BRANCH").collect();
    let remote_deployments: BTreeSet<String> =
        branch_deployments.iter().map(|d| d["deploymentName"].as_str().unwrap_or_default().to_string()).collect();
    let live_tokens: Vec<String> = agent_tokens(&emulator)
        .into_iter()
        .filter(|t| t["revoked"] == false)
        .map(|t| t["id"].to_string())
        .collect();
    let location_counts: Vec<usize> = branch_deployments.iter().map(|d| d["locations"].as_array().map_or(0, Vec::len)).collect();

    let orphans = remote_deployments.difference(&state_deployments).count() + live_tokens.iter().filter(|t| **t != state_token).count();
    let missing = state_deployments.difference(&remote_deployments).count();
    let duplicates = branch_deployments.len() - remote_deployments.len() + live_tokens.len().saturating_sub(1);
    let injected: u64 = report.injected.values().sum();
    println!(
        "faults injected: {injected} {:?}; applies needed: {applies}; duplicates: {duplicates}; orphans: {orphans}; missing: {missing}",
        report.injected
    );
    assert!(injected >= 20, "too few faults fired to mean anything: {:?}", report.injected);
    assert!(report.injected.get("drop_response").copied().unwrap_or(0) >= 1, "no response was dropped: {:?}", report.injected);
    assert_eq!(state_deployments.len(), DEPLOYMENTS);
    assert_eq!((duplicates, orphans, missing), (0, 0, 0));
    assert_eq!(live_tokens, vec![state_token]);
    assert!(location_counts.iter().all(|&n| n == 2), "every deployment has exactly its two locations: {location_counts:?}");
}
