//! `dagsterbranch_agent` writing the token it owns to a secret store (Secrets Manager and SSM) with
//! `store_secret_in_state = false`, under real Terraform against the emulator and moto: the token is in the
//! store and nowhere Terraform writes, drift is repaired with the same token, destroy removes the store and
//! revokes the token.

use crate::support::*;
use serde_json::Value;

const ADDRESS: &str = "dagsterbranch_agent.bd";

fn config(emulator: &dagster_plus_emulator::RunningEmulator, moto: &Moto, kind: &str, name: &str) -> String {
    format!(
        r#"{provider}
resource "dagsterbranch_agent" "bd" {{
  label                 = "branch-agent"
  store_secret_in_state = false

  secret_store {{
    type = "{kind}"
    name = "{name}"
  }}
}}
"#,
        provider = provider_block_with_aws(emulator, &moto.url())
    )
}

/// The stored document, as boto3 reads it.
fn stored(moto: &Moto, kind: &str, name: &str) -> Option<Value> {
    let text: Option<String> = serde_json::from_value(moto.boto(&["read", kind, name])).expect("a string or null");
    text.map(|t| serde_json::from_str(&t).expect("stored JSON"))
}

fn owned_token_lifecycle(kind: &str, name: &str) {
    let emulator = start_emulator();
    let moto = Moto::start();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &path_str(&log));
    ws.write(&config(&emulator, &moto, kind, name));
    ws.ok(&["plan", "-no-color", "-out=tfplan"]);
    ws.ok(&["apply", "-no-color", "tfplan"]);

    let state = ws.state_attributes(ADDRESS);
    let token_id = state["token_id"].as_str().expect("an owned token").to_string();
    let token = agent_token(&emulator, &token_id)["token"].as_str().expect("the token's value").to_string();
    let document = stored(&moto, kind, name).expect("the store exists");
    assert_eq!(document, serde_json::json!({ "DAGSTER_CLOUD_AGENT_TOKEN": token }), "the store holds the token");
    assert!(state["agent_token"].is_null(), "no token in state: {state}");
    assert_eq!(state["env"]["DAGSTER_CLOUD_AGENT_TOKEN"], "${DAGSTER_CLOUD_AGENT_TOKEN}", "outputs refer to it");
    assert!(state["secret_store_arn"].as_str().is_some_and(|a| !a.is_empty()), "{state}");
    assert_eq!(state["secret_fingerprint"].as_str().map(str::len), Some(64), "{state}");
    let body = token.rsplit(':').next().expect("token body").to_string();
    assert_written_nowhere(&ws, &log, &[("agent token", &body)]);
    ws.assert_empty_plan("after create");

    // Changed, then deleted outside Terraform: drift, repaired with the same token (no new one minted).
    let version = state["secret_store_version"].clone();
    moto.boto(&["overwrite", kind, name, "{\"DAGSTER_CLOUD_AGENT_TOKEN\":\"agent:tampered\"}"]);
    assert_eq!(ws.plan().code, 2, "a changed store value must show as drift");
    ws.apply();
    let repaired = ws.state_attributes(ADDRESS);
    assert_eq!(repaired["token_id"], token_id.as_str(), "the same token");
    assert_ne!(repaired["secret_store_version"], version, "a new version");
    assert_eq!(stored(&moto, kind, name).expect("store")["DAGSTER_CLOUD_AGENT_TOKEN"], token.as_str());
    ws.assert_empty_plan("after repairing a changed value");
    moto.boto(&["remove", kind, name]);
    assert_eq!(ws.plan().code, 2, "a deleted store must show as drift");
    ws.apply();
    assert_eq!(stored(&moto, kind, name).expect("store")["DAGSTER_CLOUD_AGENT_TOKEN"], token.as_str());
    ws.assert_empty_plan("after repairing a deleted store");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(stored(&moto, kind, name), None, "destroy deletes the store");
    assert_eq!(agent_token(&emulator, &token_id)["revoked"], true, "destroy revokes the owned token");
}

#[test]
fn secrets_manager_holds_the_owned_token_and_state_does_not() {
    owned_token_lifecycle("secretsmanager", "ci/dagster-agent");
}

#[test]
fn ssm_holds_the_owned_token_and_state_does_not() {
    owned_token_lifecycle("ssm", "/ci/dagster-agent");
}

#[test]
fn a_store_with_a_given_token_is_refused_at_validate() {
    let emulator = start_emulator();
    let moto = Moto::start();
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    let with_token = config(&emulator, &moto, "ssm", "/ci/x")
        .replace("store_secret_in_state = false", "token = \"agent:test-org:abc\"");
    ws.write(&with_token);
    let validated = ws.run_json(&["validate"]);
    assert_eq!(validated.run.code, 1, "{}", validated.run.describe());
    assert!(validated.errors().any(|d| d.names_attribute("secret_store")), "{}", validated.listing());
    let without_store = config(&emulator, &moto, "ssm", "/ci/x")
        .replace("\n  secret_store {\n    type = \"ssm\"\n    name = \"/ci/x\"\n  }\n", "\n");
    ws.write(&without_store);
    let validated = ws.run_json(&["validate"]);
    assert!(validated.errors().any(|d| d.names_attribute("store_secret_in_state")), "{}", validated.listing());
    assert_eq!(moto.api_requests(), 0, "validation must not call AWS");
}
