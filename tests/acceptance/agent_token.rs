//! `dagsterbranch_agent_token` under real Terraform against the Dagster+ emulator.

use crate::support::*;
use dagster_plus_emulator::{FaultKind, FaultSpec};
use serde_json::json;

fn token_config(emulator: &dagster_plus_emulator::RunningEmulator, description: &str, deployments: &str) -> String {
    format!(
        r#"{provider}
resource "dagsterbranch_agent_token" "branch" {{
  description            = "{description}"
  organization           = false
  all_branch_deployments = true
  deployments            = {deployments}
}}
"#,
        provider = provider_block(emulator)
    )
}

/// Attributes an imported agent token cannot fill: none. The emulator reveals the token value to the
/// admin token the tests use, so even `token` is read back after import (where Dagster+ does not reveal it,
/// the provider leaves it empty; see the resource's import documentation).
pub const IMPORT_IGNORE: &[&str] = &[];

/// Create → empty re-plan → in-place rename and re-scope → verified import by id (`terraform import`, and an
/// import block from Terraform 1.5 on) → out-of-band revocation → destroy. Run by this module under the
/// latest Terraform and 1.0, and by `compat.rs` under every build of the matrix.
pub fn lifecycle(terraform: Terraform) {
    let emulator = start_emulator();
    let ws = Workspace::new(terraform, Installation::DevOverrides);
    let address = "dagsterbranch_agent_token.branch";

    ws.write(&token_config(&emulator, "branch agent", r#"["prod"]"#));
    ws.apply();
    let state = ws.state_attributes(address);
    let id = state["id"].as_str().expect("id in state").to_string();
    let token = state["token"].as_str().expect("token in state").to_string();
    assert!(token.starts_with(&format!("agent:{ORG}:")), "unexpected token shape: {token}");
    let remote = agent_token(&emulator, &id);
    assert_eq!(remote["description"], "branch agent");
    assert!(
        remote["permissions"]["organizationPermissionGrant"].is_null(),
        "organization grant should be removed: {remote}"
    );
    assert!(
        !remote["permissions"]["allBranchDeploymentsPermissionGrant"].is_null(),
        "all-branch grant missing: {remote}"
    );
    assert_eq!(remote["permissions"]["deploymentPermissionGrants"].as_array().map(Vec::len), Some(1));
    ws.assert_empty_plan("right after create");

    // A description change is an in-place update of the same token.
    ws.write(&token_config(&emulator, "renamed agent", r#"["prod"]"#));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "expected an in-place update:\n{}",
        plan.stdout
    );
    ws.apply();
    assert_eq!(ws.state_attributes(address)["id"], id.as_str(), "rename must not replace the token");
    assert_eq!(agent_token(&emulator, &id)["description"], "renamed agent");
    ws.assert_empty_plan("after the rename");

    // Scopes change in place too.
    ws.write(&token_config(&emulator, "renamed agent", "[]"));
    ws.apply();
    assert_eq!(agent_token(&emulator, &id)["permissions"]["deploymentPermissionGrants"], json!([]));
    ws.assert_empty_plan("after removing a deployment scope");

    // Import by id into a fresh state reads back what the apply wrote, and ends in an empty plan.
    verify_import(&ws, address, ImportForm::Cli(&id), IMPORT_IGNORE);
    ws.assert_empty_plan("after terraform import");
    if terraform.offers(ImportForm::Block(&id)) {
        verify_import(&ws, address, ImportForm::Block(&id), IMPORT_IGNORE);
        ws.assert_empty_plan("after an import block");
    }

    // Revoked outside Terraform: planned for creation again.
    revoke_agent_token_elsewhere(&emulator, &id);
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("1 to add, 0 to change, 0 to destroy"), "expected re-creation:\n{}", plan.stdout);
    ws.apply();
    let new_id = ws.state_attributes(address)["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(agent_token(&emulator, &new_id)["revoked"], true, "destroy must revoke the token");
    let live: Vec<_> = agent_tokens(&emulator).into_iter().filter(|t| t["revoked"] == false).collect();
    assert!(live.is_empty(), "tokens left behind: {live:?}");
}

#[test]
fn lifecycle_with_latest_terraform() {
    lifecycle(Terraform::Latest);
}

#[test]
fn lifecycle_with_terraform_1_0() {
    lifecycle(Terraform::V1_0);
}

#[test]
fn import_block_and_generated_config() {
    let emulator = start_emulator();
    let (id, _) = create_agent_token_elsewhere(&emulator, "made in the UI");
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        r#"{provider}
import {{
  to = dagsterbranch_agent_token.ui
  id = "{id}"
}}

resource "dagsterbranch_agent_token" "ui" {{
  description = "made in the UI"
}}
"#,
        provider = provider_block(&emulator)
    ));
    let plan = ws.plan();
    assert!(plan.stdout.contains("1 to import, 0 to add, 0 to change, 0 to destroy"), "{}", plan.stdout);
    ws.apply();
    let address = "dagsterbranch_agent_token.ui";
    let imported = ws.state_attributes(address);
    assert_eq!(imported["id"], id.as_str());
    ws.assert_empty_plan("after an import block");

    // What the import of a UI-made token read equals what Terraform writes for the same configuration:
    // an update there and back makes the state one that apply wrote.
    let config = std::fs::read_to_string(ws.config_dir().join("main.tf")).expect("main.tf");
    ws.write(&config.replace("description = \"made in the UI\"", "description = \"renamed\""));
    ws.apply();
    ws.write(&config);
    ws.apply();
    assert_same_attributes(
        &ws.state_attributes(address),
        &imported,
        IMPORT_IGNORE,
        "a UI-made token imported by block",
    );
    ws.assert_empty_plan("after the update there and back");
}

#[test]
fn installs_from_a_filesystem_mirror_with_init() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::FilesystemMirror);
    ws.write(&token_config(&emulator, "mirror", "[]"));
    let init = ws.ok(&["init", "-no-color"]);
    assert!(init.stdout.contains("Installing dagsterbranch/dagsterbranch"), "{}", init.stdout);
    ws.apply();
    ws.assert_empty_plan("after install from a mirror");
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
}

/// A grant that fails after the token exists must not orphan the token: it is recorded (tainted) with the
/// error, and the next apply replaces it.
#[test]
fn failed_grant_after_create_keeps_the_token_in_state() {
    let emulator = start_emulator();
    // Every grant call fails for longer than the client retries.
    emulator
        .inject_fault(FaultSpec::next(FaultKind::Unavailable, 100).only("createOrUpdateAgentPermissions"))
        .expect("fault plan");
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&token_config(&emulator, "partial", r#"["prod"]"#));
    ws.failing_apply().error_containing("Could not grant the agent token a scope");
    let state = ws.state_attributes("dagsterbranch_agent_token.branch");
    let orphan_id = state["id"].as_str().expect("the created token is recorded").to_string();
    assert_eq!(agent_token(&emulator, &orphan_id)["revoked"], false);

    emulator.clear_faults();
    ws.apply();
    assert_eq!(agent_token(&emulator, &orphan_id)["revoked"], true, "the tainted token is replaced and revoked");
    ws.assert_empty_plan("after recovering from a partial create");
}

#[test]
fn an_unknown_deployment_fails_at_plan_without_writing() {
    let emulator = start_emulator();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&token_config(&emulator, "typo", r#"["prdo"]"#));
    let plan = ws.run_json(&["plan"]);
    assert_eq!(plan.run.code, 1, "{}", plan.run.describe());
    let error = plan.error_containing("no full deployment named `prdo`");
    assert!(error.names_attribute("deployments"), "{}", error.describe());
    let writes: u64 =
        emulator.operation_counts().iter().filter(|(k, _)| k.starts_with("mutation.")).map(|(_, v)| v).sum();
    assert_eq!(writes, 0);
}
