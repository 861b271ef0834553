//! `moved { from = dagsterplus_agent_token.x  to = dagsterbranch_agent_token.x }` (Terraform 1.8+): a token
//! managed by the official provider (`dagster-io/dagsterplus`) changes hands without being revoked or
//! re-created. Terraform loads the state's provider, so a test-only stand-in serves its schema
//! (tests/stand_in/dagsterplus.rs).

use std::path::PathBuf;

use crate::support::*;

/// A CLI configuration overriding both providers: this one, and the stand-in under the official address.
fn cli_config(stand_in_dir: &std::path::Path) -> String {
    let provider_dir = provider_binary().parent().expect("binary dir").to_path_buf();
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n    \"dagster-io/dagsterplus\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
        provider_dir.display(),
        stand_in_dir.display()
    )
}

/// A state as the official provider writes it for one agent token.
fn dagsterplus_state(token_id: &str, token: &str) -> String {
    serde_json::json!({
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": 1,
        "lineage": "6a1f2c3e-0000-4000-8000-00000000d0c5",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "dagsterplus_agent_token",
            "name": "ci",
            "provider": "provider[\"registry.terraform.io/dagster-io/dagsterplus\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": token_id, "name": "ci", "organization": true, "all_branch_deployments": false,
                    "deployment_grants": [], "token": token
                },
                "sensitive_attributes": []
            }]
        }]
    })
    .to_string()
}

/// A workspace holding the official provider's state for a fresh token and a configuration that moves it
/// to `dagsterbranch_agent_token`; returns it with the stand-in's directory (kept alive with it), the token's
/// id and value.
pub(crate) fn moving_workspace(
    terraform: Terraform,
    emulator: &dagster_plus_emulator::RunningEmulator,
) -> (Workspace, tempfile::TempDir, String, String) {
    let (token_id, token) = create_agent_token_elsewhere(emulator, "ci");
    let stand_in_dir = tempfile::tempdir().expect("stand-in dir");
    let stand_in: PathBuf = env!("CARGO_BIN_EXE_terraform-provider-dagsterplus-stand-in").into();
    std::os::unix::fs::symlink(&stand_in, stand_in_dir.path().join("terraform-provider-dagsterplus"))
        .expect("link the stand-in");
    let ws = Workspace::with_cli_config(terraform, &cli_config(stand_in_dir.path()));
    std::fs::write(ws.config_dir().join("terraform.tfstate"), dagsterplus_state(&token_id, &token))
        .expect("write the official provider's state");
    ws.write(&format!(
        r#"{provider}
moved {{
  from = dagsterplus_agent_token.ci
  to   = dagsterbranch_agent_token.ci
}}

resource "dagsterbranch_agent_token" "ci" {{
  description = "ci"
}}
"#,
        provider = provider_block(emulator)
    ));
    (ws, stand_in_dir, token_id, token)
}

/// Plans (showing the move and nothing else), applies, and checks that the same token changed hands.
pub(crate) fn assert_moves_with_the_same_token(
    emulator: &dagster_plus_emulator::RunningEmulator,
    ws: &Workspace,
    token_id: &str,
    token: &str,
) {
    let tokens_before = agent_tokens(emulator).len();
    let planned = ws.ok(&["plan", "-no-color"]);
    assert!(planned.stdout.contains("has moved to dagsterbranch_agent_token.ci"), "{}", planned.describe());
    assert!(planned.stdout.contains("0 to add, 0 to change, 0 to destroy"), "{}", planned.describe());
    ws.ok(&["apply", "-auto-approve", "-no-color"]);
    let state = ws.state_attributes("dagsterbranch_agent_token.ci");
    assert_eq!(state["id"], token_id, "the same token id");
    assert_eq!(state["token"], token, "the same token value");
    assert_eq!(agent_tokens(emulator).len(), tokens_before, "no token was created");
    assert_eq!(agent_token(emulator, token_id)["revoked"], false, "the token was not revoked");
    ws.assert_empty_plan("after the move");
}

#[test]
fn a_moved_block_takes_over_a_dagsterplus_agent_token_without_a_new_token() {
    let emulator = start_emulator();
    let (ws, _stand_in, token_id, token) = moving_workspace(Terraform::Latest, &emulator);
    assert_moves_with_the_same_token(&emulator, &ws, &token_id, &token);
}

#[test]
fn a_moved_block_from_another_type_is_refused_with_a_diagnostic() {
    let emulator = start_emulator();
    let stand_in_dir = tempfile::tempdir().expect("stand-in dir");
    let stand_in: PathBuf = env!("CARGO_BIN_EXE_terraform-provider-dagsterplus-stand-in").into();
    std::os::unix::fs::symlink(&stand_in, stand_in_dir.path().join("terraform-provider-dagsterplus"))
        .expect("link the stand-in");
    let ws = Workspace::with_cli_config(Terraform::Latest, &cli_config(stand_in_dir.path()));
    // A state without the token value: nothing to keep, so the move is refused rather than half done.
    let state = dagsterplus_state("42", "x").replace(r#","token":"x""#, "");
    std::fs::write(ws.config_dir().join("terraform.tfstate"), state).expect("write state");
    ws.write(&format!(
        "{}\nmoved {{\n  from = dagsterplus_agent_token.ci\n  to   = dagsterbranch_agent_token.ci\n}}\n\nresource \"dagsterbranch_agent_token\" \"ci\" {{\n  description = \"ci\"\n}}\n",
        provider_block(&emulator)
    ));
    let planned = ws.run(&["plan", "-no-color"]);
    assert_eq!(planned.code, 1, "{}", planned.describe());
    assert!(planned.stderr.contains("holds no `token` value"), "{}", planned.describe());
}
