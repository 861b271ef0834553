//! A refresh reads many resources with few GraphQL requests, and each resource still gets its own answer.

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
