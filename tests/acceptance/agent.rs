//! `dagsterbranch_agent` and `data "dagsterbranch_agents"` under real Terraform against the emulator.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use serde_json::{json, Value};

fn agent_config(emulator: &dagster_plus_emulator::RunningEmulator, extra: &str) -> String {
    format!(
        r#"{provider}
resource "dagsterbranch_agent" "bd" {{
  label = "branch-agent"
  {extra}
}}
"#,
        provider = provider_block(emulator)
    )
}

/// Attributes an agent imported as `LABEL:TOKEN_ID` cannot fill: none. Settings that live only in
/// configuration (`queues`, `replicas`, …) are imported at their defaults, so they match a configuration that
/// leaves them at the defaults; what a configured setting changes is listed where that case is tested.
pub const IMPORT_IGNORE: &[&str] = &[];

/// What an import by `LABEL` alone cannot fill, besides [`IMPORT_IGNORE`]: the given `token` is configuration
/// only (the id names no token, and Dagster+ does not say which token an agent runs with), and the rendered
/// outputs hold that token, so the update that follows the import renders them.
pub const LABEL_ONLY_IMPORT_IGNORE: &[&str] =
    &["token", "agent_token", "dagster_yaml", "helm_values", "ecs_parameters", "env"];

/// Create → empty re-plan → verified import as `LABEL:TOKEN_ID` (`terraform import`, and an import block from
/// Terraform 1.5 on) → in-place update → import after the update (the configured queue comes back as one
/// in-place update) → the owned token revoked out of band → destroy. Run here under the latest Terraform and
/// by `compat.rs` under every build of the matrix.
pub fn lifecycle(terraform: Terraform) {
    let emulator = start_emulator();
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    let address = "dagsterbranch_agent.bd";
    let plan_summary = |expected: &str, context: &str| {
        let plan = ws.plan();
        assert_eq!(plan.code, 2, "{context}: expected changes:\n{}", plan.describe());
        assert!(plan.stdout.contains(expected), "{context}: expected `{expected}`:\n{}", plan.stdout);
    };

    ws.write(&agent_config(&emulator, "queues = []"));
    ws.apply();
    let token_id = ws.state_attributes(address)["token_id"].as_str().expect("token_id").to_string();
    assert_eq!(agent_token(&emulator, &token_id)["revoked"], false);
    ws.assert_empty_plan("after create");

    // Import as LABEL:TOKEN_ID reads back everything the apply wrote, adopting the agent's own token.
    let id = format!("branch-agent:{token_id}");
    let imported = verify_import(&ws, address, ImportForm::Cli(&id), IMPORT_IGNORE);
    assert!(imported.output.contains("No agent labelled `branch-agent` has reported"), "{}", imported.output);
    ws.assert_empty_plan("after terraform import");
    if terraform.offers(ImportForm::Block(&id)) {
        verify_import(&ws, address, ImportForm::Block(&id), IMPORT_IGNORE);
        ws.assert_empty_plan("after an import block");
    }

    ws.write(&agent_config(&emulator, "queues = [\"branch\"]"));
    plan_summary("0 to add, 1 to change, 0 to destroy", "new queue");
    ws.apply();
    assert_eq!(ws.state_attributes(address)["token_id"], token_id.as_str(), "an update must keep the token");
    ws.assert_empty_plan("after the update");

    // Settings that live only in configuration start from their defaults after import, so the queue (and
    // the rendered configuration that names it) comes back as one in-place update; the rest is read back.
    let imported = verify_import(&ws, address, ImportForm::Cli(&id), &["queues", "dagster_yaml", "helm_values"]);
    assert_eq!(imported.attributes["token_id"], token_id.as_str(), "import must adopt the token");
    assert_eq!(imported.attributes["queues"], json!([]), "{}", imported.attributes);
    plan_summary("0 to add, 1 to change, 0 to destroy", "after import");
    ws.apply();
    ws.assert_empty_plan("after import and update");

    // Its own token revoked out of band: the agent cannot run, so it is planned anew.
    revoke_agent_token_elsewhere(&emulator, &token_id);
    plan_summary("1 to add, 0 to change, 0 to destroy", "token revoked out of band");
    ws.apply();
    let new_token = ws.state_attributes(address)["token_id"].as_str().expect("token_id").to_string();
    assert_ne!(new_token, token_id);

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &new_token)["revoked"], true, "destroy must revoke the owned token");
}

#[test]
fn lifecycle_with_latest_terraform() {
    lifecycle(Terraform::Latest);
}

fn yaml(text: &Value) -> serde_norway::Value {
    serde_norway::from_str(text.as_str().expect("a YAML string")).expect("valid YAML")
}

#[test]
fn renders_configuration_for_every_platform_and_owns_a_branch_only_token() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&agent_config(&emulator, "queues = [\"branch\"]\n  branch_deployment_server_ttl_seconds = 3600\n  agent_image = \"docker.io/dagster/dagster-cloud-agent:1.13.27\""));
    ws.apply();
    let state = ws.state_attributes("dagsterbranch_agent.bd");
    let token = state["agent_token"].as_str().expect("agent token").to_string();
    assert!(token.starts_with(&format!("agent:{ORG}:")), "{token}");

    // The owned token may serve all branch deployments and nothing else.
    let token_id = state["token_id"].as_str().expect("token id").to_string();
    let remote = agent_token(&emulator, &token_id);
    assert_eq!(remote["token"], token.as_str());
    assert!(remote["permissions"]["organizationPermissionGrant"].is_null(), "{remote}");
    assert!(!remote["permissions"]["allBranchDeploymentsPermissionGrant"].is_null(), "{remote}");
    assert_eq!(remote["permissions"]["deploymentPermissionGrants"], json!([]));

    // Docker: the guide's dagster.yaml with branch_deployments on and no deployment field.
    let docker = yaml(&state["dagster_yaml"]);
    assert_eq!(docker["instance_class"]["module"], "dagster_cloud.instance");
    assert_eq!(docker["instance_class"]["class"], "DagsterCloudAgentInstance");
    assert_eq!(docker["dagster_cloud_api"]["agent_token"], token.as_str());
    assert_eq!(docker["dagster_cloud_api"]["branch_deployments"], true);
    assert_eq!(docker["dagster_cloud_api"]["agent_label"], "branch-agent");
    assert!(
        docker["dagster_cloud_api"].get("deployment").is_none()
            && docker["dagster_cloud_api"].get("deployments").is_none()
    );
    assert_eq!(docker["agent_queues"]["additional_queues"][0], "branch");
    assert_eq!(docker["agent_queues"]["include_default_queue"], true);
    assert_eq!(docker["user_code_launcher"]["class"], "DockerUserCodeLauncher");
    assert_eq!(docker["user_code_launcher"]["config"]["server_ttl"]["branch_deployments"]["ttl_seconds"], 3600);

    // Kubernetes: Helm values.
    let helm = yaml(&state["helm_values"]);
    assert_eq!(helm["dagsterCloud"]["branchDeployments"], true);
    assert_eq!(helm["dagsterCloud"]["agentToken"], token.as_str());
    assert_eq!(helm["workspace"]["serverTTL"]["enabled"], true);
    assert_eq!(helm["workspace"]["serverTTL"]["ttlSeconds"], 3600);
    assert_eq!(helm["dagsterCloudAgent"]["image"]["repository"], "docker.io/dagster/dagster-cloud-agent");
    assert_eq!(helm["dagsterCloudAgent"]["image"]["tag"], "1.13.27");

    // ECS: CloudFormation parameters for a branch-only agent.
    let ecs = &state["ecs_parameters"];
    assert_eq!(ecs["EnableBranchDeployments"], "true");
    assert_eq!(ecs["DagsterDeployment"], "");
    assert_eq!(ecs["DagsterOrganization"], ORG);
    assert_eq!(ecs["AgentToken"], token.as_str());
    assert_eq!(state["env"]["DAGSTER_CLOUD_AGENT_TOKEN"], token.as_str());

    // Rendered outputs are sensitive, and a second plan is empty.
    let plan = ws.plan();
    assert_eq!(plan.code, 0, "{}", plan.describe());
    let show = ws.ok(&["show", "-no-color"]);
    assert!(!show.stdout.contains(&token), "the token must not be printed by terraform show");

    // Serving a full deployment too: the token gains that grant and the configuration names it.
    ws.write(&agent_config(&emulator, "queues = [\"branch\"]\n  branch_deployment_server_ttl_seconds = 3600\n  agent_image = \"docker.io/dagster/dagster-cloud-agent:1.13.27\"\n  deployments = [\"prod\"]"));
    ws.apply();
    let state = ws.state_attributes("dagsterbranch_agent.bd");
    assert_eq!(state["token_id"], token_id.as_str(), "the token is kept");
    assert_eq!(yaml(&state["dagster_yaml"])["dagster_cloud_api"]["deployments"][0], "prod");
    assert_eq!(state["ecs_parameters"]["DagsterDeployment"], "prod");
    assert_eq!(
        agent_token(&emulator, &token_id)["permissions"]["deploymentPermissionGrants"].as_array().map(Vec::len),
        Some(1)
    );
    ws.assert_empty_plan("after adding a deployment");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &token_id)["revoked"], true, "the owned token is revoked on destroy");
}

#[test]
fn wait_for_running_succeeds_once_the_agent_heartbeats() {
    let emulator = Arc::new(start_emulator());
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeats = {
        let (emulator, stop) = (emulator.clone(), stop.clone());
        std::thread::spawn(move || {
            // The agent starts a little after the apply begins, as a real one would.
            std::thread::sleep(Duration::from_millis(800));
            while !stop.load(Ordering::Relaxed) {
                emulator.heartbeat("branch-agent", &[("queues", json!(["default queue"]))]).expect("heartbeat");
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&agent_config(&emulator, "wait_for_running = true\n  timeouts {\n    create = \"60s\"\n  }"));
    ws.apply();
    let state = ws.state_attributes("dagsterbranch_agent.bd");
    assert_eq!(state["status"], "RUNNING");
    assert!(state["last_heartbeat_time"].is_number());

    ws.write(&format!(
        "{}\ndata \"dagsterbranch_agents\" \"all\" {{}}\noutput \"running\" {{\n  value = [for a in data.dagsterbranch_agents.all.agents : a.label if a.status == \"RUNNING\"]\n}}\n",
        agent_config(&emulator, "wait_for_running = true\n  timeouts {\n    create = \"60s\"\n  }")
    ));
    ws.apply();
    let running: Value = serde_json::from_str(&ws.ok(&["output", "-json", "running"]).stdout).expect("output");
    assert_eq!(running, json!(["branch-agent"]));
    stop.store(true, Ordering::Relaxed);
    heartbeats.join().expect("heartbeat thread");
}

#[test]
fn wait_for_running_times_out_with_a_clear_error() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&agent_config(&emulator, "wait_for_running = true\n  timeouts {\n    create = \"2s\"\n  }"));
    let applied = ws.failing_apply();
    let error = applied.error_containing("Agent `branch-agent` is not running");
    assert!(error.detail.contains("no agent with this label has sent a heartbeat"), "{}", error.describe());
    // The token it created is recorded, not orphaned.
    let state = ws.state_attributes("dagsterbranch_agent.bd");
    assert!(state["token_id"].is_string(), "{state}");
}

#[test]
fn a_given_token_is_used_as_is_and_never_revoked() {
    let emulator = start_emulator();
    let (id, token) = create_agent_token_elsewhere(&emulator, "mine");
    let ws = Workspace::new(Terraform::V1_0, Installation::DevOverrides);
    ws.write(&agent_config(&emulator, &format!("token = \"{token}\"")));
    ws.apply();
    let state = ws.state_attributes("dagsterbranch_agent.bd");
    assert!(state["token_id"].is_null());
    assert_eq!(yaml(&state["dagster_yaml"])["dagster_cloud_api"]["agent_token"], token.as_str());
    ws.assert_empty_plan("with Terraform 1.0 and a given token");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &id)["revoked"], false, "a token the resource does not own stays");
}

#[test]
fn imports_by_label_with_a_given_token_or_adopting_the_agents_own_token() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let address = "dagsterbranch_agent.bd";
    ws.write(&agent_config(&emulator, ""));
    ws.apply();
    let own = ws.state_attributes(address);
    let own_id = own["token_id"].as_str().expect("token id").to_string();
    ws.ok(&["state", "rm", address]);

    // A token with Dagster+'s default organization-wide scope is not adopted, and nothing reaches state.
    let (org_id, org_token) = create_agent_token_elsewhere(&emulator, "by hand");
    let refused = ws.run(&["import", "-no-color", address, &format!("branch-agent:{org_id}")]);
    assert_eq!(refused.code, 1, "{}", refused.describe());
    let text = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        text.contains("Agent token has other scopes") && text.contains("every deployment of the organization"),
        "{text}"
    );
    assert!(ws.state_resources().is_empty(), "a refused import must leave the state empty");

    // LABEL:TOKEN_ID adopts the agent's own token: the configuration renders as before and the plan is empty.
    let imported = import_as(&ws, address, ImportForm::Cli(&format!("branch-agent:{own_id}")));
    assert!(imported.output.contains("No agent labelled `branch-agent` has reported"), "{}", imported.output);
    assert_same_attributes(&own, &imported.attributes, IMPORT_IGNORE, "import as LABEL:TOKEN_ID");
    let state = imported.attributes;
    assert_eq!(state["token_id"], own_id.as_str());
    assert_eq!(state["agent_token"], own["agent_token"]);
    assert_eq!(state["dagster_yaml"], own["dagster_yaml"]);
    assert_eq!(state["helm_values"], own["helm_values"]);
    ws.assert_empty_plan("after adopting the agent with its own token");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &own_id)["revoked"], true, "an adopted token is owned: destroy revokes it");

    // LABEL alone: the agent runs with the configured token, after one in-place update that renders it. The
    // state an apply of that configuration writes is what the import and that update are checked against.
    ws.write(&agent_config(&emulator, &format!("token = \"{org_token}\"\n  replicas = 2")));
    ws.apply();
    let applied = ws.state_attributes(address);
    // `replicas` lives only in configuration: it is imported at its default and set by the update.
    let ignore = [LABEL_ONLY_IMPORT_IGNORE, &["replicas"]].concat();
    verify_import(&ws, address, ImportForm::Cli("branch-agent"), &ignore);
    let plan = ws.plan();
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{}", plan.describe());
    ws.apply();
    let state = ws.state_attributes(address);
    assert_same_attributes(&applied, &state, &[], "a LABEL import after the update that follows it");
    assert!(state["token_id"].is_null(), "{state}");
    assert_eq!(yaml(&state["dagster_yaml"])["dagster_cloud_api"]["agent_token"], org_token.as_str());
    assert_eq!(yaml(&state["helm_values"])["dagsterCloudAgent"]["replicas"], 2);
    ws.assert_empty_plan("after the update that follows a label import");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &org_id)["revoked"], false, "a given token is never revoked");

    // An id that is no label is refused at import.
    let bad = ws.run(&["import", "-no-color", address, ":42"]);
    assert_eq!(bad.code, 1, "{}", bad.describe());
    assert!(format!("{}{}", bad.stdout, bad.stderr).contains("is not an agent label"), "{}", bad.describe());
}

#[test]
fn scopes_granted_to_the_owned_token_outside_terraform_show_as_drift_and_are_undone() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let address = "dagsterbranch_agent.bd";
    ws.write(&agent_config(&emulator, ""));
    ws.apply();
    let state = ws.state_attributes(address);
    assert_eq!(state["token_scopes"], json!(["all_branch_deployments"]));
    let token_id = state["token_id"].as_str().expect("token id").to_string();

    // Someone gives the agent's token organization-wide access in the UI.
    graphql(
        &emulator,
        "mutation($p: CreateOrUpdateCloudAgentPermissionsInput!) { createOrUpdateAgentPermissions(agentPermission: $p) { __typename } }",
        json!({ "p": { "agentTokenId": token_id.parse::<i64>().unwrap(), "deploymentScope": "ORGANIZATION", "deploymentId": null, "grant": "AGENT" } }),
    );
    assert!(!agent_token(&emulator, &token_id)["permissions"]["organizationPermissionGrant"].is_null());
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.describe());
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy") && plan.stdout.contains("- \"organization\""),
        "{}",
        plan.stdout
    );

    ws.apply();
    assert!(
        agent_token(&emulator, &token_id)["permissions"]["organizationPermissionGrant"].is_null(),
        "apply removes the grant"
    );
    assert_eq!(ws.state_attributes(address)["token_scopes"], json!(["all_branch_deployments"]));
    ws.assert_empty_plan("after undoing the drift");
}

#[test]
fn a_token_unknown_at_plan_that_turns_out_null_gets_an_owned_token() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    // `terraform_data.output` is unknown until apply; here it ends up null, so the agent owns a token.
    ws.write(&format!(
        "resource \"terraform_data\" \"seed\" {{}}\nresource \"terraform_data\" \"maybe_token\" {{\n  input = terraform_data.seed.id == \"\" ? \"agent:{ORG}:0\" : null\n}}\n{}",
        agent_config(&emulator, "token = terraform_data.maybe_token.output")
    ));
    ws.apply();
    let state = ws.state_attributes("dagsterbranch_agent.bd");
    assert!(state["token_id"].is_string(), "{state}");
    assert_eq!(state["token_scopes"], json!(["all_branch_deployments"]));
}

/// The agent with its token in `token_wo` from an ephemeral variable (Terraform 1.11+). The variable's value
/// comes from `TF_VAR_agent_token`: Terraform's trace log records command-line arguments, so `-var` would put
/// it there itself.
pub fn write_only_config(emulator: &dagster_plus_emulator::RunningEmulator, version: u32) -> String {
    format!(
        r#"{provider}
variable "agent_token" {{
  type      = string
  ephemeral = true
  sensitive = true
}}

resource "dagsterbranch_agent" "bd" {{
  label            = "branch-agent"
  token_wo         = var.agent_token
  token_wo_version = {version}
}}
"#,
        provider = provider_block(emulator)
    )
}

#[test]
fn a_write_only_token_reaches_no_state_plan_or_log_and_a_version_bump_reads_it_again() {
    let emulator = start_emulator();
    let address = "dagsterbranch_agent.bd";
    let (first_id, first) = create_agent_token_elsewhere(&emulator, "first");
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &path_str(&log));
    ws.env("TF_VAR_agent_token", &first);
    ws.write(&write_only_config(&emulator, 1));
    ws.ok(&["plan", "-no-color", "-out=tfplan"]);
    ws.ok(&["apply", "-no-color", "tfplan"]);

    let state = ws.state_attributes(address);
    assert!(state["token_wo"].is_null() && state["agent_token"].is_null(), "{state}");
    assert!(state["token_id"].is_null(), "a given token is not owned: {state}");
    assert_eq!(state["token_wo_version"], "1");
    let docker = yaml(&state["dagster_yaml"]);
    assert_eq!(docker["dagster_cloud_api"]["agent_token"]["env"], "DAGSTER_CLOUD_AGENT_TOKEN", "{docker:?}");
    let helm = yaml(&state["helm_values"]);
    assert_eq!(helm["dagsterCloud"]["agentTokenSecretName"], "dagster-cloud-agent-token", "{helm:?}");
    assert_eq!(state["ecs_parameters"]["AgentToken"], "${DAGSTER_CLOUD_AGENT_TOKEN}");
    assert_eq!(state["env"]["DAGSTER_CLOUD_AGENT_TOKEN"], "${DAGSTER_CLOUD_AGENT_TOKEN}");

    let body = first.rsplit(':').next().expect("token body").to_string();
    assert_written_nowhere(&ws, &log, &[("write-only agent token", &body)]);

    // A new value alone changes nothing Terraform can see; a version bump applies it, and it is checked.
    let (second_id, second) = create_agent_token_elsewhere(&emulator, "second");
    ws.env("TF_VAR_agent_token", &second);
    ws.assert_empty_plan("after changing token_wo alone");
    ws.write(&write_only_config(&emulator, 2));
    ws.apply();
    assert_eq!(ws.state_attributes(address)["token_wo_version"], "2");

    revoke_agent_token_elsewhere(&emulator, &first_id);
    ws.env("TF_VAR_agent_token", &first);
    ws.write(&write_only_config(&emulator, 3));
    let refused = ws.failing_apply();
    let error = refused.error_containing("revoked");
    assert!(error.names_attribute("token_wo"), "{}", error.describe());
    assert_eq!(ws.state_attributes(address)["token_wo_version"], "2", "a refused token changes nothing");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &second_id)["revoked"], false, "a given token is never revoked");
}

#[test]
fn token_and_token_wo_conflict_at_validate() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&agent_config(&emulator, "token = \"agent:test-org:a\"\n  token_wo = \"agent:test-org:b\""));
    let validated = ws.run_json(&["validate"]);
    assert_eq!(validated.run.code, 1, "{}", validated.run.describe());
    assert!(validated.errors().any(|d| d.names_attribute("token_wo")), "{}", validated.listing());
}
