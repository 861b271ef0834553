//! A refresh reads many resources with few GraphQL requests, and each resource still gets its own answer.

use crate::deployment::deployment_block;
use crate::support::*;

const N: usize = 40;

#[test]
fn refresh_of_many_deployments_and_tokens_uses_few_requests() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        r#"{provider}
resource "dagsterbranch_agent_token" "t" {{
  count       = {N}
  description = "token ${{count.index}}"
}}

resource "dagsterbranch_deployment" "d" {{
  count  = {N}
  repo   = "acme/batch"
  branch = "feature/${{count.index}}"
  commit {{
    hash      = "abc${{count.index}}"
    timestamp = 1718000000
  }}
  code_location {{
    name        = "etl"
    image       = "ghcr.io/acme/etl:${{count.index}}"
    module_name = "etl.definitions"
  }}
}}
"#,
        provider = provider_block(&emulator)
    ));
    ws.ok(&["apply", "-auto-approve", "-no-color", "-parallelism=20"]);

    // One deployment disappears outside Terraform; the batched refresh must still notice it.
    let gone = ws.state_attributes("dagsterbranch_deployment.d[7]")["name"].as_str().expect("name").to_string();
    let run =
        dagster_cloud(&["branch-deployment", "delete", "--url", &format!("{}/{gone}", emulator.url()), "-d", &gone]);
    assert_eq!(run.code, 0, "{}", run.describe());
    std::thread::sleep(std::time::Duration::from_millis(400));

    let before = emulator.operation_counts();
    let plan = ws.plan();
    let after = emulator.operation_counts();
    let requests = after.get("http.200").copied().unwrap_or(0) - before.get("http.200").copied().unwrap_or(0);
    println!(
        "refresh of {N} deployments and {N} tokens: {requests} GraphQL requests (one per read would be {})",
        3 * N
    );
    assert!(
        plan.stdout.contains("1 to add, 0 to change, 0 to destroy"),
        "only the deleted deployment is re-created:\n{}",
        plan.stdout
    );
    assert!(requests <= 25, "{requests} requests for {} reads", 2 * N);
}

/// An apply asks Dagster+ only what the work needs: the existence check (create only), the upsert, one
/// document per location and the load polls. The upsert's answer and the last poll are the read after the
/// write, so no `deploymentByName` or extra workspace read follows; the first poll waits one interval after
/// the deploy instead of seeing the location still loading.
#[test]
fn apply_sends_no_read_after_write_and_no_early_poll() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let config = |commit: &str| {
        let (etl, ml) = (format!("ghcr.io/acme/etl:{commit}"), format!("ghcr.io/acme/ml:{commit}"));
        let block = deployment_block("d", "feature/requests", commit, &[("etl", &etl), ("ml", &ml)], "");
        format!("{}{block}", provider_block(&emulator))
    };
    let count = |counts: &std::collections::BTreeMap<String, u64>, key: &str| counts.get(key).copied().unwrap_or(0);
    for (phase, commit, reads_before) in [("create", "c1c1c1", 0), ("update", "d2d2d2", 1)] {
        ws.write(&config(commit));
        emulator.reset_counters();
        ws.apply();
        let counts = emulator.operation_counts();
        println!("{phase}: {counts:?}");
        assert_eq!(count(&counts, "mutation.createOrUpdateBranchDeployment"), 1, "{phase}: {counts:?}");
        assert_eq!(count(&counts, "mutation.addOrUpdateLocationFromDocument"), 2, "{phase}: {counts:?}");
        // The refresh before an update reads the deployment once; nothing reads it after the write.
        assert_eq!(count(&counts, "query.deploymentByName"), reads_before, "{phase}: {counts:?}");
        let polls = count(&counts, "query.workspaceOrError") - reads_before;
        // The emulator loads a location 200 ms after its deploy; the first poll comes after one 200 ms interval.
        assert!((1..=2).contains(&polls), "{phase}: {polls} load polls: {counts:?}");
        ws.assert_empty_plan(&format!("after the {phase}"));
    }
}
