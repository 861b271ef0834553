//! `dagsterbranch_registry` with a `secret_store` (Secrets Manager and SSM) and the secret kept out of state,
//! under real Terraform against moto: what is stored, where the secret never appears, rotation, drift repair
//! and destroy.

use crate::registry::Aws;
use crate::support::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const ADDRESS: &str = "dagsterbranch_registry.ci";
const DAGSTER_URL: &str = "https://test-org.dagster.cloud";

/// The store's current JSON document as boto3 reads it, or `None` when it does not exist.
fn stored(moto: &Moto, kind: &str, name: &str) -> Option<String> {
    serde_json::from_value(moto.boto(&["read", kind, name])).expect("a string or null")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn config(moto: &Moto, kind: &str, name: &str, rotation: &str) -> String {
    config_with_key(moto, kind, name, rotation, None)
}

fn config_with_key(moto: &Moto, kind: &str, name: &str, rotation: &str, kms_key_id: Option<&str>) -> String {
    let key = kms_key_id.map(|k| format!("    kms_key_id = \"{k}\"\n")).unwrap_or_default();
    format!(
        "{}\nresource \"dagsterbranch_registry\" \"ci\" {{\n  name = \"dagster/stored\"\n  key_rotation = \"{rotation}\"\n  store_secret_in_state = false\n  secret_store {{\n    type = \"{kind}\"\n    name = \"{name}\"\n{key}  }}\n}}\n",
        provider_config(DAGSTER_URL, Some(&moto.url()))
    )
}

/// The stored document matches the state's fingerprint and key id, and its key works. Returns the document.
fn check_store(moto: &Moto, aws: &Aws, ws: &Workspace, kind: &str, name: &str, context: &str) -> Value {
    let state = ws.state_attributes(ADDRESS);
    assert!(state["secret_access_key"].is_null(), "{context}: secret in state: {state}");
    assert!(state["ci_secrets"].is_null(), "{context}: ci_secrets in state: {state}");
    let text = stored(moto, kind, name).unwrap_or_else(|| panic!("{context}: no store"));
    assert_eq!(state["secret_fingerprint"], sha256_hex(&text), "{context}: fingerprint");
    assert!(state["secret_store_arn"].as_str().is_some_and(|a| !a.is_empty()), "{context}: {state}");
    let document: Value = serde_json::from_str(&text).expect("stored JSON");
    assert_eq!(document["AWS_ACCESS_KEY_ID"], state["access_key_id"], "{context}: key id");
    assert_eq!(document["AWS_REGION"], MOTO_REGION);
    assert_eq!(document["DAGSTER_CLOUD_URL"], DAGSTER_URL);
    let key = Aws::new(
        moto,
        document["AWS_ACCESS_KEY_ID"].as_str().expect("key id"),
        document["AWS_SECRET_ACCESS_KEY"].as_str().expect("secret"),
    );
    key.run(key.sts.get_caller_identity().send())
        .unwrap_or_else(|e| panic!("{context}: the stored key must work: {e:?}"));
    let user = state["user_name"].as_str().expect("user_name");
    assert_eq!(aws.key_ids(user), vec![state["access_key_id"].as_str().unwrap().to_string()], "{context}: one key");
    document
}

fn store_lifecycle(kind: &str, name: &str) {
    let moto = Moto::start();
    let aws = Aws::new(&moto, "testing", "testing");
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &path_str(&log));

    ws.write(&config(&moto, kind, name, "1"));
    ws.ok(&["plan", "-no-color", "-out=tfplan"]);
    ws.ok(&["apply", "-no-color", "tfplan"]);
    let first = check_store(&moto, &aws, &ws, kind, name, "after create");
    let secret = first["AWS_SECRET_ACCESS_KEY"].as_str().unwrap().to_string();
    assert_written_nowhere(&ws, &log, &[("secret access key", &secret)]);
    ws.assert_empty_plan("after create");

    // Rotation: a new version with a new key; the old key is gone.
    let before = ws.state_attributes(ADDRESS);
    ws.write(&config(&moto, kind, name, "2"));
    ws.apply();
    let rotated = check_store(&moto, &aws, &ws, kind, name, "after rotation");
    let after = ws.state_attributes(ADDRESS);
    assert_ne!(after["secret_store_version"], before["secret_store_version"], "rotation writes a new version");
    assert_ne!(rotated["AWS_ACCESS_KEY_ID"], first["AWS_ACCESS_KEY_ID"], "rotation mints a new key");
    ws.assert_empty_plan("after rotation");

    // A value changed outside Terraform: drift, repaired with a new key and version.
    moto.boto(&["overwrite", kind, name, "{\"AWS_ACCESS_KEY_ID\":\"tampered\"}"]);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "a changed store value must show as drift:\n{}", plan.describe());
    ws.apply();
    let repaired = check_store(&moto, &aws, &ws, kind, name, "after repairing a changed value");
    assert_ne!(ws.state_attributes(ADDRESS)["secret_store_version"], after["secret_store_version"]);
    assert_ne!(repaired["AWS_ACCESS_KEY_ID"], rotated["AWS_ACCESS_KEY_ID"], "the lost secret is replaced");
    ws.assert_empty_plan("after repairing a changed value");

    // The store deleted outside Terraform: repaired.
    moto.boto(&["remove", kind, name]);
    assert_eq!(ws.plan().code, 2, "a deleted store must show as drift");
    ws.apply();
    check_store(&moto, &aws, &ws, kind, name, "after repairing a deleted store");
    ws.assert_empty_plan("after repairing a deleted store");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(moto.aws_inventory(), AwsInventory::default(), "destroy leaves nothing");
}

#[test]
fn secrets_manager_store_keeps_the_secret_out_of_state() {
    store_lifecycle("secretsmanager", "ci/dagster-stored");
}

#[test]
fn ssm_store_keeps_the_secret_out_of_state() {
    store_lifecycle("ssm", "/ci/dagster-stored");
}

/// Moving the store to another type and name, to another KMS key, and onto a name someone else holds: the
/// old store is deleted only after the new one is written, a failed write leaves a state that records what
/// exists (the next apply repairs it), and nothing is left behind.
#[test]
fn store_moves_between_types_names_and_keys_and_survives_a_failed_write() {
    let moto = Moto::start();
    let aws = Aws::new(&moto, "testing", "testing");
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");

    ws.write(&config(&moto, "ssm", "/ci/first", "1"));
    ws.apply();
    check_store(&moto, &aws, &ws, "ssm", "/ci/first", "created in SSM");

    ws.write(&config_with_key(&moto, "secretsmanager", "ci/second", "1", Some("alias/ci-one")));
    ws.apply();
    check_store(&moto, &aws, &ws, "secretsmanager", "ci/second", "moved to Secrets Manager");
    let inventory = moto.aws_inventory();
    assert_eq!((inventory.secrets, inventory.parameters), (vec!["ci/second".to_string()], vec![]), "old store deleted");
    assert_eq!(moto.boto(&["kms_key", "ci/second"]), "alias/ci-one");
    ws.assert_empty_plan("after the move");

    ws.write(&config_with_key(&moto, "secretsmanager", "ci/second", "1", Some("alias/ci-two")));
    ws.apply();
    check_store(&moto, &aws, &ws, "secretsmanager", "ci/second", "after a KMS key change");
    assert_eq!(moto.boto(&["kms_key", "ci/second"]), "alias/ci-two", "the secret moves to the new key");
    ws.assert_empty_plan("after the KMS key change");

    // A name held by a secret the provider did not create: refused, and the state still records the parts.
    moto.boto(&["create_foreign", "ci/taken"]);
    ws.write(&config(&moto, "secretsmanager", "ci/taken", "1"));
    let failed = ws.run_json(&["apply", "-auto-approve"]);
    assert_eq!(failed.run.code, 1, "writing over a foreign secret must fail:\n{}", failed.run.describe());
    assert!(
        failed.errors().any(|d| d.summary.contains("secret store") || d.detail.contains("ci/taken")),
        "the error names the store:\n{}",
        failed.listing()
    );
    assert_eq!(stored(&moto, "secretsmanager", "ci/taken").as_deref(), Some("{}"), "the foreign secret is untouched");
    let state = ws.state_attributes(ADDRESS);
    assert!(state["secret_access_key"].is_null(), "no secret in state after a failed write: {state}");
    let user = state["user_name"].as_str().expect("the user is still recorded");
    let key = state["access_key_id"].as_str().expect("the key is recorded by id");
    assert_eq!(aws.key_ids(user), vec![key.to_string()], "the state records the key that exists");
    assert_eq!(ws.plan().code, 2, "the failed write shows as a change");

    ws.write(&config(&moto, "secretsmanager", "ci/third", "1"));
    ws.apply();
    check_store(&moto, &aws, &ws, "secretsmanager", "ci/third", "after repairing the failed write");
    ws.assert_empty_plan("after repairing the failed write");
    let inventory = moto.aws_inventory();
    assert_eq!(inventory.secrets, vec!["ci/taken".to_string(), "ci/third".to_string()], "ci/second deleted");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    let inventory = moto.aws_inventory();
    assert_eq!(inventory.secrets, vec!["ci/taken".to_string()], "destroy removes only what it created");
    assert!(inventory.users.is_empty() && inventory.repositories.is_empty() && inventory.parameters.is_empty());
}

#[test]
fn bad_store_settings_are_refused_at_validate_naming_the_attribute() {
    let moto = Moto::start();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let provider = provider_config(DAGSTER_URL, Some(&moto.url()));
    let cases = [
        ("secret_store {\n    type = \"vault\"\n    name = \"x\"\n  }", "type"),
        ("secret_store {\n    type = \"ssm\"\n    name = \"ci/no-slash\"\n  }", "name"),
        ("secret_store {\n    type = \"secretsmanager\"\n    name = \"ci dagster\"\n  }", "name"),
        ("store_secret_in_state = false", "store_secret_in_state"),
    ];
    for (body, attribute) in cases {
        ws.write(&format!(
            "{provider}\nresource \"dagsterbranch_registry\" \"bad\" {{\n  name = \"dagster/bad\"\n  {body}\n}}\n"
        ));
        let validated = ws.run_json(&["validate"]);
        assert_eq!(validated.run.code, 1, "{body}: validate must fail:\n{}", validated.run.describe());
        assert!(
            validated.errors().any(|d| d.names_attribute(attribute)),
            "{body}: no error names `{attribute}`:\n{}",
            validated.listing()
        );
    }
    assert_eq!(moto.api_requests(), 0, "validation must not call AWS");
}

/// `ephemeral "dagsterbranch_stored_secrets"` reads the CI secrets back from the store into a provisioner,
/// for both stores, while the secret stays out of the state, the saved plan and the trace log.
#[test]
fn stored_secrets_reach_a_provisioner_and_no_file() {
    let moto = Moto::start();
    let aws = Aws::new(&moto, "testing", "testing");
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let stores = [("secretsmanager", "ci/read-back"), ("ssm", "/ci/read-back")];
    let mut configuration = config(&moto, stores[0].0, stores[0].1, "1");
    ws.write(&configuration);
    ws.apply();
    let document = check_store(&moto, &aws, &ws, stores[0].0, stores[0].1, "created");
    let secret = document["AWS_SECRET_ACCESS_KEY"].as_str().expect("secret").to_string();
    // A second copy in SSM, written with boto3, to read the other store type back.
    moto.boto(&["put_parameter", stores[1].1, &document.to_string()]);

    // The Secrets Manager store by the registry's ARN attribute (as the docs recommend), the SSM one by name.
    let names = [format!("{ADDRESS}.secret_store_arn"), format!("\"{}\"", stores[1].1)];
    for (index, ((kind, _), name)) in stores.iter().zip(&names).enumerate() {
        configuration.push_str(&format!(
            r#"
ephemeral "dagsterbranch_stored_secrets" "s{index}" {{
  type = "{kind}"
  name = {name}
}}

resource "terraform_data" "read{index}" {{
  provisioner "local-exec" {{
    command     = "printf '%s %s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" > read{index}.txt"
    environment = ephemeral.dagsterbranch_stored_secrets.s{index}.values
  }}
}}
"#
        ));
    }
    ws.write(&configuration);
    let log = ws.dir.path().join("trace.log");
    ws.env("TF_LOG", "trace");
    ws.env("TF_LOG_PATH", &path_str(&log));
    ws.ok(&["plan", "-no-color", "-out=tfplan"]);
    ws.ok(&["apply", "-no-color", "tfplan"]);
    for (index, store) in stores.iter().enumerate() {
        let written = std::fs::read_to_string(ws.config_dir().join(format!("read{index}.txt"))).expect("provisioner");
        assert_eq!(written, format!("{} {secret}", document["AWS_ACCESS_KEY_ID"].as_str().unwrap()), "{store:?}");
    }
    assert_written_nowhere(&ws, &log, &[("secret access key", &secret)]);

    // A store that does not exist: an error naming `name`, at plan time.
    ws.write(&format!(
        "{}\nephemeral \"dagsterbranch_stored_secrets\" \"gone\" {{\n  type = \"ssm\"\n  name = \"/ci/nothing-here\"\n}}\n",
        provider_config(DAGSTER_URL, Some(&moto.url()))
    ));
    let planned = ws.run_json(&["plan"]);
    assert_eq!(planned.run.code, 1, "{}", planned.run.describe());
    assert!(planned.errors().any(|d| d.names_attribute("name")), "{}", planned.listing());
}
