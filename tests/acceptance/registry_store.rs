//! `dagsterbranch_registry` with a `secret_store` (Secrets Manager and SSM) and the secret kept out of state,
//! under real Terraform against moto: what is stored, where the secret never appears, rotation, drift repair
//! and destroy.

use std::future::Future;

use crate::support::*;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider as TlsProvider};
use serde_json::Value;
use sha2::{Digest, Sha256};

const ADDRESS: &str = "dagsterbranch_registry.ci";
const DAGSTER_URL: &str = "https://test-org.dagster.cloud";

/// SDK clients for one moto, as moto's default principal.
struct Aws {
    runtime: tokio::runtime::Runtime,
    config: aws_config::SdkConfig,
}

impl Aws {
    fn new(moto: &Moto, access_key_id: &str, secret_access_key: &str) -> Aws {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let credentials = aws_sdk_sts::config::Credentials::new(access_key_id, secret_access_key, None, None, "test");
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(TlsProvider::Rustls(CryptoMode::Ring)).build_https();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(http)
                .region(Region::new(MOTO_REGION))
                .endpoint_url(moto.url())
                .credentials_provider(credentials)
                .retry_config(RetryConfig::disabled())
                .load(),
        );
        Aws { runtime, config }
    }

    fn run<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The store's current JSON document, or `None` when it does not exist.
    fn stored(&self, kind: &str, name: &str) -> Option<String> {
        if kind == "secretsmanager" {
            let client = aws_sdk_secretsmanager::Client::new(&self.config);
            self.run(client.get_secret_value().secret_id(name).send())
                .ok()
                .and_then(|o| o.secret_string().map(str::to_string))
        } else {
            let client = aws_sdk_ssm::Client::new(&self.config);
            self.run(client.get_parameter().name(name).with_decryption(true).send())
                .ok()
                .and_then(|o| o.parameter().and_then(|p| p.value().map(str::to_string)))
        }
    }

    fn overwrite(&self, kind: &str, name: &str, value: &str) {
        if kind == "secretsmanager" {
            let client = aws_sdk_secretsmanager::Client::new(&self.config);
            self.run(client.put_secret_value().secret_id(name).secret_string(value).send()).expect("PutSecretValue");
        } else {
            let client = aws_sdk_ssm::Client::new(&self.config);
            self.run(
                client
                    .put_parameter()
                    .name(name)
                    .value(value)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .overwrite(true)
                    .send(),
            )
            .expect("PutParameter");
        }
    }

    fn remove(&self, kind: &str, name: &str) {
        if kind == "secretsmanager" {
            let client = aws_sdk_secretsmanager::Client::new(&self.config);
            self.run(client.delete_secret().secret_id(name).force_delete_without_recovery(true).send())
                .expect("DeleteSecret");
        } else {
            let client = aws_sdk_ssm::Client::new(&self.config);
            self.run(client.delete_parameter().name(name).send()).expect("DeleteParameter");
        }
    }

    fn key_ids(&self, user: &str) -> Vec<String> {
        let iam = aws_sdk_iam::Client::new(&self.config);
        let output = self.run(iam.list_access_keys().user_name(user).send()).expect("ListAccessKeys");
        output.access_key_metadata().iter().filter_map(|k| k.access_key_id().map(str::to_string)).collect()
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn config(moto: &Moto, kind: &str, name: &str, rotation: &str) -> String {
    format!(
        "{}\nresource \"dagsterbranch_registry\" \"ci\" {{\n  name = \"dagster/stored\"\n  key_rotation = \"{rotation}\"\n  store_secret_in_state = false\n  secret_store {{\n    type = \"{kind}\"\n    name = \"{name}\"\n  }}\n}}\n",
        provider_config(DAGSTER_URL, Some(&moto.url()))
    )
}

/// The stored document matches the state's fingerprint and key id, and its key works. Returns the document.
fn check_store(moto: &Moto, aws: &Aws, ws: &Workspace, kind: &str, name: &str, context: &str) -> Value {
    let state = ws.state_attributes(ADDRESS);
    assert!(state["secret_access_key"].is_null(), "{context}: secret in state: {state}");
    assert!(state["ci_secrets"].is_null(), "{context}: ci_secrets in state: {state}");
    let text = aws.stored(kind, name).unwrap_or_else(|| panic!("{context}: no store"));
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
    let sts = aws_sdk_sts::Client::new(&key.config);
    key.run(sts.get_caller_identity().send()).unwrap_or_else(|e| panic!("{context}: the stored key must work: {e:?}"));
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
    let plan_file = ws.config_dir().join("tfplan");
    let places = [
        ("terraform.tfstate", std::fs::read(ws.config_dir().join("terraform.tfstate")).expect("state")),
        ("the saved plan file (raw)", std::fs::read(&plan_file).expect("plan")),
        ("the saved plan file (unzipped)", crate::ephemeral::plan_members(&plan_file)),
        ("the TF_LOG=trace log", std::fs::read(&log).expect("trace log")),
    ];
    for (place, bytes) in &places {
        assert!(!bytes.is_empty(), "{place} is empty");
        assert!(!crate::ephemeral::contains(bytes, &secret), "the secret access key appears in {place}");
    }
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
    aws.overwrite(kind, name, "{\"AWS_ACCESS_KEY_ID\":\"tampered\"}");
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "a changed store value must show as drift:\n{}", plan.describe());
    ws.apply();
    let repaired = check_store(&moto, &aws, &ws, kind, name, "after repairing a changed value");
    assert_ne!(ws.state_attributes(ADDRESS)["secret_store_version"], after["secret_store_version"]);
    assert_ne!(repaired["AWS_ACCESS_KEY_ID"], rotated["AWS_ACCESS_KEY_ID"], "the lost secret is replaced");
    ws.assert_empty_plan("after repairing a changed value");

    // The store deleted outside Terraform: repaired.
    aws.remove(kind, name);
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
