//! Many branch deployments at once: `terraform apply -parallelism=32` with 50 deployments (one code location
//! each) against one emulator must create exactly 50 deployments with every location loaded, converge to an
//! empty plan, and destroy them all.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::support::*;

const COUNT: usize = 50;
const REPO: &str = "acme/data-platform";

fn branch(i: usize) -> String {
    format!("feature/load-{i:02}")
}

fn config(emulator: &dagster_plus_emulator::RunningEmulator) -> String {
    format!(
        r#"{provider}
resource "dagsterbranch_deployment" "branch" {{
  for_each = toset([for i in range({COUNT}) : format("feature/load-%02d", i)])
  repo     = "{REPO}"
  branch   = each.key
  commit {{
    hash      = sha1(each.key)
    timestamp = 1718000000
    message   = "Work on ${{each.key}}"
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:${{substr(sha1(each.key), 0, 12)}}"
    module_name = "etl.definitions"
  }}
}}
"#,
        provider = provider_block(emulator)
    )
}

#[test]
fn fifty_deployments_with_parallelism_32() {
    let started = Instant::now();
    let emulator = start_emulator();
    // Short, so the test measures the provider's concurrency rather than the simulated load time.
    emulator.set_location_load_delay(Duration::from_millis(300));
    emulator.set_deletion_delay(Duration::from_millis(50));
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&config(&emulator));

    let apply = ws.ok(&["apply", "-auto-approve", "-no-color", "-parallelism=32"]);
    assert!(
        apply.stdout.contains(&format!("Apply complete! Resources: {COUNT} added, 0 changed, 0 destroyed.")),
        "{}",
        apply.describe()
    );

    // Dagster+ holds exactly the 50 branch deployments, each with its one location loaded.
    let deployments = branch_deployments(&emulator);
    let branches: BTreeSet<String> =
        deployments.iter().map(|d| d["branch"]["branchName"].as_str().unwrap_or_default().to_string()).collect();
    let expected: BTreeSet<String> = (0..COUNT).map(branch).collect();
    assert_eq!(deployments.len(), COUNT, "branch deployments in the emulator: {branches:?}");
    assert_eq!(branches, expected);
    for deployment in &deployments {
        let locations = deployment["locations"].as_array().cloned().unwrap_or_default();
        assert_eq!(locations.len(), 1, "one location expected: {deployment}");
        assert_eq!(locations[0]["load"]["status"], "LOADED", "location not loaded: {deployment}");
        assert!(locations[0]["load"]["error"].is_null(), "location failed to load: {deployment}");
        assert_eq!(deployment["deploymentStatus"], "ACTIVE");
    }
    // One create call per deployment and per location: concurrency caused no duplicate or lost write.
    let counts = emulator.operation_counts();
    assert_eq!(counts.get("mutation.createOrUpdateBranchDeployment"), Some(&(COUNT as u64)), "{counts:?}");
    assert_eq!(counts.get("mutation.addOrUpdateLocationFromDocument"), Some(&(COUNT as u64)), "{counts:?}");

    // State agrees: each instance knows its generated name and sees its location LOADED.
    let resources = ws.state_resources();
    assert_eq!(resources.len(), COUNT);
    let names_in_emulator: BTreeSet<String> =
        deployments.iter().map(|d| d["deploymentName"].as_str().unwrap_or_default().to_string()).collect();
    let names_in_state: BTreeSet<String> =
        resources.iter().map(|r| r["values"]["name"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(names_in_state, names_in_emulator);
    for resource in &resources {
        assert_eq!(resource["values"]["code_location"][0]["load_status"], "LOADED", "{}", resource["address"]);
    }

    let plan = ws.run(&["plan", "-detailed-exitcode", "-no-color", "-parallelism=32"]);
    assert_eq!(plan.code, 0, "expected an empty plan after the apply:\n{}", plan.describe());

    let destroy = ws.ok(&["destroy", "-auto-approve", "-no-color", "-parallelism=32"]);
    wait_until("every branch deployment to be gone", Duration::from_secs(10), || {
        branch_deployments(&emulator).is_empty()
    });
    assert!(ws.state_resources().is_empty(), "state still holds resources after destroy");

    println!(
        "{COUNT} deployments, -parallelism=32: apply {:.1}s, plan {:.1}s, destroy {:.1}s, whole test {:.1}s",
        apply.elapsed.as_secs_f64(),
        plan.elapsed.as_secs_f64(),
        destroy.elapsed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
