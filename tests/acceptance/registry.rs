//! `dagsterbranch_registry` under real Terraform against moto (one `moto_server` per test): create, drift
//! repair, key rotation, import, destroy, and push-only proven with moto's IAM enforcement.

use std::collections::BTreeSet;
use std::future::Future;

use crate::support::*;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::{ImageIdentifier, LayerAvailability};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider as TlsProvider};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ADDRESS: &str = "dagsterbranch_registry.ci";
const POLICY_NAME: &str = "dagsterbranch-ecr-push";
const DAGSTER_URL: &str = "https://test-org.dagster.cloud";

/// SDK clients that talk to one moto as one principal.
pub(crate) struct Aws {
    runtime: tokio::runtime::Runtime,
    iam: aws_sdk_iam::Client,
    ecr: aws_sdk_ecr::Client,
    pub(crate) sts: aws_sdk_sts::Client,
}

impl Aws {
    pub(crate) fn new(moto: &Moto, access_key_id: &str, secret_access_key: &str) -> Aws {
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
        Aws {
            iam: aws_sdk_iam::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            runtime,
        }
    }

    /// moto's default, always-known test principal (only valid while IAM enforcement is off).
    fn root(moto: &Moto) -> Aws {
        Aws::new(moto, "testing", "testing")
    }

    pub(crate) fn run<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn repository(&self, name: &str) -> Option<aws_sdk_ecr::types::Repository> {
        match self.run(self.ecr.describe_repositories().repository_names(name).send()) {
            Ok(output) => output.repositories().first().cloned(),
            Err(e) if e.code() == Some("RepositoryNotFoundException") => None,
            Err(e) => panic!("DescribeRepositories: {e:?}"),
        }
    }

    fn user(&self, name: &str) -> Option<aws_sdk_iam::types::User> {
        match self.run(self.iam.get_user().user_name(name).send()) {
            Ok(output) => output.user().cloned(),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("GetUser: {e:?}"),
        }
    }

    pub(crate) fn key_ids(&self, user: &str) -> Vec<String> {
        let output = self.run(self.iam.list_access_keys().user_name(user).send()).expect("ListAccessKeys");
        output.access_key_metadata().iter().filter_map(|k| k.access_key_id().map(str::to_string)).collect()
    }

    fn inline_policy(&self, user: &str) -> Option<Value> {
        match self.run(self.iam.get_user_policy().user_name(user).policy_name(POLICY_NAME).send()) {
            Ok(output) => Some(serde_json::from_str(&url_decode(output.policy_document())).expect("policy JSON")),
            Err(e) if e.code() == Some("NoSuchEntity") => None,
            Err(e) => panic!("GetUserPolicy: {e:?}"),
        }
    }

    fn put_inline_policy(&self, user: &str, document: &Value) {
        self.run(
            self.iam
                .put_user_policy()
                .user_name(user)
                .policy_name(POLICY_NAME)
                .policy_document(document.to_string())
                .send(),
        )
        .expect("PutUserPolicy");
    }

    /// An admin user with an `Action: *` policy and a key, for when IAM enforcement is on.
    fn bootstrap_admin(&self) -> (String, String) {
        self.run(self.iam.create_user().user_name("admin").send()).expect("CreateUser admin");
        let everything =
            json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*" }] });
        self.run(
            self.iam
                .put_user_policy()
                .user_name("admin")
                .policy_name("all")
                .policy_document(everything.to_string())
                .send(),
        )
        .expect("PutUserPolicy admin");
        let output = self.run(self.iam.create_access_key().user_name("admin").send()).expect("CreateAccessKey admin");
        let key = output.access_key().expect("key");
        (key.access_key_id().to_string(), key.secret_access_key().to_string())
    }
}

fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}

fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Asserts that a call was refused by moto's IAM enforcement (HTTP 403; moto's denial body has no code
/// the SDK can parse, see aws.md §2.4).
fn assert_denied<T: std::fmt::Debug, E: std::fmt::Debug>(what: &str, result: Result<T, SdkError<E>>) {
    match result {
        Ok(value) => panic!("{what} should be denied to the push key, but succeeded: {value:?}"),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(403), "{what} should fail with HTTP 403: {e:?}");
        }
    }
}

fn provider(moto_endpoint: Option<&str>) -> String {
    provider_config(DAGSTER_URL, moto_endpoint)
}

fn state_str(state: &Value, attribute: &str) -> String {
    state[attribute].as_str().unwrap_or_else(|| panic!("`{attribute}` missing from state: {state}")).to_string()
}

/// Checks the applied inline policy: aws.md §2.5, built from the ARN the API returned.
fn assert_push_policy(policy: &Value, repository_arn: &str, manifest_read: bool) {
    let statements = policy["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 2, "{policy}");
    assert_eq!(statements[0]["Action"], "ecr:GetAuthorizationToken");
    assert_eq!(statements[0]["Resource"], "*");
    let actions: BTreeSet<&str> =
        statements[1]["Action"].as_array().expect("actions").iter().filter_map(Value::as_str).collect();
    let mut expected = BTreeSet::from([
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
    ]);
    if manifest_read {
        expected.insert("ecr:BatchGetImage");
    }
    assert_eq!(actions, expected);
    assert_eq!(statements[1]["Resource"], repository_arn);
}

fn registry_config(endpoint: &str, body: &str) -> String {
    format!("{}\nresource \"dagsterbranch_registry\" \"ci\" {{\n{body}\n}}\n", provider(Some(endpoint)))
}

fn full_body(key_rotation: Option<&str>, mutable: bool) -> String {
    let rotation = key_rotation.map(|r| format!("  key_rotation = \"{r}\"\n")).unwrap_or_default();
    let settings = if mutable {
        "  image_tag_mutability = \"MUTABLE\"\n  allow_manifest_read = true\n  tags = { team = \"data\", env = \"ci\" }\n  lifecycle_policy {\n    keep_last_images = 10\n  }\n"
    } else {
        "  tags = { team = \"data\" }\n  lifecycle_policy {\n    expire_untagged_after_days = 7\n    keep_last_images           = 30\n  }\n"
    };
    format!("  name         = \"dagster/branch-app\"\n  scan_on_push = true\n{settings}  user {{\n    path = \"/dagster/\"\n  }}\n{rotation}")
}

/// Everything in moto matches the state, the key works, and the next plan is empty.
fn assert_consistent(ws: &Workspace, aws: &Aws, context: &str) -> Value {
    let state = ws.state_attributes(ADDRESS);
    let repository =
        aws.repository(&state_str(&state, "name")).unwrap_or_else(|| panic!("repository missing {context}"));
    assert_eq!(repository.repository_arn(), Some(state_str(&state, "repository_arn").as_str()));
    let user_name = state_str(&state, "user_name");
    let user = aws.user(&user_name).unwrap_or_else(|| panic!("user missing {context}"));
    assert_eq!(user.arn(), state_str(&state, "user_arn"));
    let policy = aws.inline_policy(&user_name).unwrap_or_else(|| panic!("policy missing {context}"));
    assert_push_policy(&policy, &state_str(&state, "repository_arn"), state["allow_manifest_read"] == true);
    assert_eq!(aws.key_ids(&user_name), vec![state_str(&state, "access_key_id")], "exactly the state's key {context}");
    ws.assert_empty_plan(context);
    state
}

fn key_works(moto: &Moto, state: &Value) -> String {
    let key = Aws::new(moto, &state_str(state, "access_key_id"), &state_str(state, "secret_access_key"));
    let identity = key.run(key.sts.get_caller_identity().send()).expect("GetCallerIdentity with the new key");
    identity.arn().expect("caller ARN").to_string()
}

/// Attributes an imported registry cannot fill, whatever the configuration:
pub const IMPORT_IGNORE: &[&str] = &[
    // AWS returns a secret access key only in the response that creates the key; an import cannot read it
    // (documented: empty after import until `key_rotation` mints a key).
    "secret_access_key",
    // Holds `AWS_SECRET_ACCESS_KEY`, so it is empty after import for the same reason.
    "ci_secrets",
    // A plan-only trigger (any value; a change mints a new key): it is never sent to AWS, so nothing holds it.
    "key_rotation",
];

impl Aws {
    /// Every ECR repository name (`DescribeRepositories`, which shows a deletion at once).
    fn repository_names(&self) -> Vec<String> {
        let listed = self.run(self.ecr.describe_repositories().send()).expect("DescribeRepositories");
        listed.repositories().iter().filter_map(|r| r.repository_name().map(str::to_string)).collect()
    }
}

/// Create → empty re-plan → in-place update (a new tag) → verified import by repository name (`terraform
/// import`, and an import block from Terraform 1.5 on) → everything deleted in AWS out of band and repaired →
/// destroy. Run here under the latest Terraform, and by `compat.rs` under every build of the matrix.
pub fn lifecycle(terraform: Terraform) {
    let moto = Moto::start();
    let aws = Aws::root(&moto);
    let mut ws = Workspace::new(terraform, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let name = "dagster/lifecycle";
    let config = |tags: &str| registry_config(&moto.url(), &format!("  name = \"{name}\"\n  tags = {tags}\n"));
    let plan_summary = |expected: &str, context: &str| {
        let plan = ws.plan();
        assert_eq!(plan.code, 2, "{context}: expected changes:\n{}", plan.describe());
        assert!(plan.stdout.contains(expected), "{context}: expected `{expected}`:\n{}", plan.stdout);
    };

    ws.write(&config("{ team = \"data\" }"));
    ws.apply();
    assert_eq!(ws.state_attributes(ADDRESS)["name"], name);
    assert_eq!(aws.repository_names(), [name]);
    ws.assert_empty_plan("after create");

    ws.write(&config("{ team = \"data\", env = \"ci\" }"));
    plan_summary("0 to add, 1 to change, 0 to destroy", "new tag");
    ws.apply();
    ws.assert_empty_plan("after the update");

    let imported = verify_import(&ws, ADDRESS, ImportForm::Cli(name), IMPORT_IGNORE);
    assert!(imported.attributes["secret_access_key"].is_null(), "{}", imported.attributes);
    ws.assert_empty_plan("after terraform import");
    if terraform.offers(ImportForm::Block(name)) {
        verify_import(&ws, ADDRESS, ImportForm::Block(name), IMPORT_IGNORE);
        ws.assert_empty_plan("after an import block");
    }

    // Out of band: everything in AWS is gone (moto's reset); Terraform must notice and repair it.
    let reset =
        reqwest::blocking::Client::new().post(format!("{}/moto-api/reset", moto.url())).send().expect("moto reset");
    assert!(reset.status().is_success(), "moto reset: {}", reset.status());
    assert!(aws.repository_names().is_empty());
    assert_eq!(ws.plan().code, 2, "a deleted registry must show as drift");
    ws.apply();
    assert_eq!(aws.repository_names(), [name]);
    ws.assert_empty_plan("after repairing the registry");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(aws.repository_names().is_empty(), "destroy must delete the repository");
}

#[test]
fn lifecycle_with_latest_terraform() {
    lifecycle(Terraform::Latest);
}

#[test]
fn create_drift_rotation_import_destroy() {
    let moto = Moto::start();
    let aws = Aws::root(&moto);
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let config = |body: &str| registry_config(&moto.url(), body);

    // Create exactly as configured.
    ws.write(&config(&full_body(Some("1"), false)));
    ws.apply();
    let state = ws.state_attributes(ADDRESS);
    let repository = aws.repository("dagster/branch-app").expect("repository");
    assert_eq!(repository.image_tag_mutability().map(|m| m.as_str()), Some("IMMUTABLE"));
    assert_eq!(repository.image_scanning_configuration().map(|c| c.scan_on_push()), Some(true));
    assert_eq!(repository.encryption_configuration().map(|e| e.encryption_type().as_str()), Some("AES256"));
    assert_eq!(state["repository_url"], repository.repository_uri().unwrap());
    assert_eq!(state["registry_id"], MOTO_ACCOUNT);
    assert_eq!(state["registry_host"], format!("{MOTO_ACCOUNT}.dkr.ecr.{MOTO_REGION}.amazonaws.com"));
    let tags =
        aws.run(aws.ecr.list_tags_for_resource().resource_arn(repository.repository_arn().unwrap()).send()).unwrap();
    // The configured tags plus the provider's ownership marker (which the `tags` attribute never shows).
    assert_eq!(
        tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(),
        vec![("dagsterbranch:registry", "dagster/branch-app"), ("team", "data")]
    );
    assert_eq!(state["tags"], json!({ "team": "data" }));
    let lifecycle = aws.run(aws.ecr.get_lifecycle_policy().repository_name("dagster/branch-app").send()).unwrap();
    let rules: Value = serde_json::from_str(lifecycle.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(rules["rules"][0]["selection"]["tagStatus"], "untagged");
    assert_eq!(rules["rules"][0]["selection"]["countNumber"], 7);
    assert_eq!(rules["rules"][1]["selection"]["countNumber"], 30);
    let user_name = state_str(&state, "user_name");
    assert_eq!(user_name, "dagster+branch-app-ecr-push");
    assert_eq!(aws.user(&user_name).unwrap().path(), "/dagster/");
    let caller = key_works(&moto, &state);
    assert_eq!(caller, state_str(&state, "user_arn"), "the new key belongs to the CI user");
    let secrets = &state["ci_secrets"];
    assert_eq!(secrets["DAGSTER_CLOUD_URL"], DAGSTER_URL);
    assert_eq!(secrets["AWS_ACCESS_KEY"], state["access_key_id"]);
    assert_eq!(secrets["AWS_ACCESS_KEY_ID"], state["access_key_id"]);
    assert_eq!(secrets["AWS_SECRET_ACCESS_KEY"], state["secret_access_key"]);
    assert_eq!(secrets["AWS_REGION"], MOTO_REGION);
    assert_consistent(&ws, &aws, "right after create");

    // Drift: inline policy edited out of band → restored.
    aws.put_inline_policy(
        &user_name,
        &json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "ecr:*", "Resource": "*" }] }),
    );
    assert_eq!(ws.plan().code, 2, "an edited policy is drift");
    ws.apply();
    assert_consistent(&ws, &aws, "after restoring the policy");

    // Drift: key deleted out of band → a new key.
    let old_key = state_str(&state, "access_key_id");
    aws.run(aws.iam.delete_access_key().user_name(&user_name).access_key_id(&old_key).send()).unwrap();
    ws.apply();
    let state = assert_consistent(&ws, &aws, "after replacing a deleted key");
    assert_ne!(state_str(&state, "access_key_id"), old_key);
    key_works(&moto, &state);

    // Drift: repository deleted out of band → re-created (the user and key stay).
    aws.run(aws.ecr.delete_repository().repository_name("dagster/branch-app").force(true).send()).unwrap();
    let plan = ws.plan();
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{}", plan.stdout);
    ws.apply();
    let after_repo = assert_consistent(&ws, &aws, "after re-creating the repository");
    assert_eq!(after_repo["access_key_id"], state["access_key_id"], "the key survives a repository re-creation");

    // Drift: user deleted out of band → re-created with its policy and a new key.
    aws.run(aws.iam.delete_user_policy().user_name(&user_name).policy_name(POLICY_NAME).send()).unwrap();
    aws.run(aws.iam.delete_access_key().user_name(&user_name).access_key_id(state_str(&state, "access_key_id")).send())
        .unwrap();
    aws.run(aws.iam.delete_user().user_name(&user_name).send()).unwrap();
    ws.apply();
    let state = assert_consistent(&ws, &aws, "after re-creating the user");
    key_works(&moto, &state);

    // Rotation: a new key, create-before-destroy, exactly one left.
    let before = state_str(&state, "access_key_id");
    ws.write(&config(&full_body(Some("2"), false)));
    let plan = ws.plan();
    assert!(plan.stdout.contains("1 to change"), "rotation is an in-place update:\n{}", plan.stdout);
    ws.apply();
    let state = assert_consistent(&ws, &aws, "after key rotation");
    assert_ne!(state_str(&state, "access_key_id"), before);
    assert_eq!(state["ci_secrets"]["AWS_ACCESS_KEY_ID"], state["access_key_id"]);
    key_works(&moto, &state);

    // In-place changes: mutability, tags, lifecycle, manifest read.
    ws.write(&config(&full_body(Some("2"), true)));
    ws.apply();
    let state = assert_consistent(&ws, &aws, "after in-place changes");
    let repository = aws.repository("dagster/branch-app").unwrap();
    assert_eq!(repository.image_tag_mutability().map(|m| m.as_str()), Some("MUTABLE"));
    let tags =
        aws.run(aws.ecr.list_tags_for_resource().resource_arn(repository.repository_arn().unwrap()).send()).unwrap();
    let keys: BTreeSet<&str> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, BTreeSet::from(["dagsterbranch:registry", "env", "team"]), "tag changes keep the marker");
    let lifecycle = aws.run(aws.ecr.get_lifecycle_policy().repository_name("dagster/branch-app").send()).unwrap();
    assert_eq!(lifecycle.lifecycle_policy_text(), state["lifecycle_policy_json"].as_str());

    // Import by name: an empty plan; the secret cannot be read back until key_rotation mints a key.
    ws.write(&config(&full_body(None, true)));
    let imported = verify_import(&ws, ADDRESS, ImportForm::Cli("dagster/branch-app"), IMPORT_IGNORE).attributes;
    assert_eq!(imported["access_key_id"], state["access_key_id"]);
    assert!(imported["secret_access_key"].is_null(), "{imported}");
    assert!(imported["ci_secrets"].is_null());
    ws.assert_empty_plan("after import");
    ws.write(&config(&full_body(Some("after-import"), true)));
    ws.apply();
    let state = assert_consistent(&ws, &aws, "after minting a key for an imported registry");
    assert!(state["ci_secrets"]["AWS_SECRET_ACCESS_KEY"].is_string());

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(aws.repository("dagster/branch-app").is_none(), "destroy must delete the repository");
    assert!(aws.user(&user_name).is_none(), "destroy must delete the user");
    let users = aws.run(aws.iam.list_users().send()).unwrap();
    assert!(users.users().is_empty(), "no user left: {:?}", users.users());
}

#[test]
fn push_only_under_iam_enforcement() {
    let moto = Moto::start();
    let (admin_key, admin_secret) = Aws::root(&moto).bootstrap_admin();
    moto.enforce_iam(true);
    let admin = Aws::new(&moto, &admin_key, &admin_secret);
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, &admin_key, &admin_secret);
    // This test reaches moto through the environment instead of the provider block.
    ws.env("AWS_ENDPOINT_URL", &moto.url());
    ws.write(&format!(
        "{}\nresource \"dagsterbranch_registry\" \"ci\" {{\n  name = \"dagster/push-test\"\n}}\n",
        provider(None)
    ));
    ws.apply();
    let state = ws.state_attributes(ADDRESS);
    let repository = "dagster/push-test";
    let user = state_str(&state, "user_name");
    let arn = state_str(&state, "repository_arn");
    assert_push_policy(&admin.inline_policy(&user).expect("policy"), &arn, false);

    // Moto matches ECR actions only against Resource "*" (aws.md §2.2), so the scoped statement is widened
    // for the emulator; the resource scoping itself is proven by the policy unit test.
    let mut widened = admin.inline_policy(&user).unwrap();
    widened["Statement"][1]["Resource"] = json!("*");
    admin.put_inline_policy(&user, &widened);

    let push = Aws::new(&moto, &state_str(&state, "access_key_id"), &state_str(&state, "secret_access_key"));
    push.run(push.ecr.get_authorization_token().send()).expect("GetAuthorizationToken is allowed");
    let mut digests = Vec::new();
    for blob in [br#"{"architecture":"amd64","os":"linux"}"#.as_slice(), b"layer bytes of a tiny image".as_slice()] {
        let digest = sha256_digest(blob);
        let upload =
            push.run(push.ecr.initiate_layer_upload().repository_name(repository).send()).expect("InitiateLayerUpload");
        let upload_id = upload.upload_id().expect("upload id").to_string();
        push.run(
            push.ecr
                .upload_layer_part()
                .repository_name(repository)
                .upload_id(&upload_id)
                .part_first_byte(0)
                .part_last_byte(blob.len() as i64 - 1)
                .layer_part_blob(Blob::new(blob))
                .send(),
        )
        .expect("UploadLayerPart");
        push.run(
            push.ecr
                .complete_layer_upload()
                .repository_name(repository)
                .upload_id(&upload_id)
                .layer_digests(&digest)
                .send(),
        )
        .expect("CompleteLayerUpload");
        digests.push((digest, blob.len()));
    }
    let check = push
        .run(push.ecr.batch_check_layer_availability().repository_name(repository).layer_digests(&digests[1].0).send())
        .expect("BatchCheckLayerAvailability");
    assert_eq!(check.layers().first().and_then(|l| l.layer_availability()), Some(&LayerAvailability::Available));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": digests[0].1, "digest": digests[0].0 },
        "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": digests[1].1, "digest": digests[1].0 }],
    });
    push.run(
        push.ecr
            .put_image()
            .repository_name(repository)
            .image_manifest(manifest.to_string())
            .image_tag("commit-abc123")
            .send(),
    )
    .expect("PutImage");
    let images = admin.run(admin.ecr.list_images().repository_name(repository).send()).expect("admin ListImages");
    assert!(images.image_ids().iter().any(|i| i.image_tag() == Some("commit-abc123")), "the pushed tag is visible");

    // Everything else is denied to the push key.
    let tag = ImageIdentifier::builder().image_tag("commit-abc123").build();
    assert_denied(
        "ecr:BatchGetImage",
        push.run(push.ecr.batch_get_image().repository_name(repository).image_ids(tag.clone()).send()),
    );
    assert_denied(
        "ecr:GetDownloadUrlForLayer",
        push.run(push.ecr.get_download_url_for_layer().repository_name(repository).layer_digest(&digests[1].0).send()),
    );
    assert_denied("ecr:ListImages", push.run(push.ecr.list_images().repository_name(repository).send()));
    assert_denied("ecr:DescribeImages", push.run(push.ecr.describe_images().repository_name(repository).send()));
    assert_denied(
        "ecr:BatchDeleteImage",
        push.run(push.ecr.batch_delete_image().repository_name(repository).image_ids(tag).send()),
    );
    assert_denied(
        "ecr:DeleteRepository",
        push.run(push.ecr.delete_repository().repository_name(repository).force(true).send()),
    );
    assert_denied(
        "ecr:CreateRepository",
        push.run(push.ecr.create_repository().repository_name("dagster/other").send()),
    );
    assert_denied(
        "ecr:SetRepositoryPolicy",
        push.run(
            push.ecr
                .set_repository_policy()
                .repository_name(repository)
                .policy_text(r#"{"Version":"2012-10-17","Statement":[]}"#)
                .send(),
        ),
    );
    assert_denied("ecr:DescribeRepositories", push.run(push.ecr.describe_repositories().send()));
    assert_denied("iam:ListUsers", push.run(push.iam.list_users().send()));
    assert_denied("iam:CreateAccessKey", push.run(push.iam.create_access_key().user_name(&user).send()));
    assert_denied(
        "iam:PutUserPolicy",
        push.run(
            push.iam.put_user_policy().user_name(&user).policy_name("x").policy_document(widened.to_string()).send(),
        ),
    );
    assert_denied(
        "iam:AttachUserPolicy",
        push.run(
            push.iam
                .attach_user_policy()
                .user_name(&user)
                .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                .send(),
        ),
    );
    assert_denied("iam:GetUser", push.run(push.iam.get_user().user_name(&user).send()));

    // The widened policy is drift: the next apply restores the scoped one.
    assert_eq!(ws.plan().code, 2);
    ws.apply();
    assert_push_policy(&admin.inline_policy(&user).unwrap(), &arn, false);
    ws.assert_empty_plan("after restoring the scoped policy");

    // Destroy deletes the repository although it holds an image (force_delete defaults to true), and the key
    // stops working.
    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(admin.repository(repository).is_none());
    let error = push.run(push.sts.get_caller_identity().send()).expect_err("the deleted key must stop working");
    // Moto's enforcement answers in a shape the SDK cannot parse (aws.md §2.4): check status and body.
    let raw = error.raw_response().expect("an HTTP response");
    assert_eq!(raw.status().as_u16(), 403, "{error:?}");
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap_or_default()).into_owned();
    assert!(body.contains("InvalidClientTokenId"), "{body}");
}

#[test]
fn failed_create_is_recorded_and_repaired_with_terraform_1_0() {
    let moto = Moto::start();
    let aws = Aws::root(&moto);
    // Someone else's user with the name the registry needs: the create fails half-way.
    aws.run(aws.iam.create_user().user_name("ci-pusher").send()).unwrap();
    let mut ws = Workspace::new(Terraform::V1_0, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    ws.write(&registry_config(
        &moto.url(),
        "  name = \"dagster/half\"\n  user {\n    name = \"ci-pusher\"\n  }\n  wait_for_credentials = false\n",
    ));
    ws.failing_apply().error_containing("an IAM user named `ci-pusher` already exists");
    let partial = ws.state_attributes(ADDRESS);
    assert!(partial["repository_arn"].is_string(), "the created repository is recorded: {partial}");
    assert!(partial["user_arn"].is_null(), "the foreign user is not claimed: {partial}");
    assert!(aws.repository("dagster/half").is_some());

    // While the foreign user exists, the next apply fails the same way and leaves that user alone: the
    // provider never claims (or deletes) a user it did not create.
    let run = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(run.code, 1, "apply should fail again:\n{}", run.describe());
    assert!(aws.user("ci-pusher").is_some(), "the foreign user must survive");
    assert!(ws.state_attributes(ADDRESS)["user_arn"].is_null());

    // The foreign user goes away; the next apply replaces the tainted registry and finishes.
    aws.run(aws.iam.delete_user().user_name("ci-pusher").send()).unwrap();
    let plan = ws.plan();
    assert!(plan.stdout.contains("tainted") || plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ws.apply();
    let state = assert_consistent(&ws, &aws, "after repairing a failed create");
    assert_eq!(state["user_name"], "ci-pusher");
    key_works(&moto, &state);

    // The user's name is not the derived one, so the import id names it after the repository.
    // `wait_for_credentials` only steers the provider, so an import takes its default (true) and the next
    // apply sets it back to this configuration's `false` without a call to AWS.
    let ignore = [IMPORT_IGNORE, &["wait_for_credentials"]].concat();
    verify_import(&ws, ADDRESS, ImportForm::Cli("dagster/half:ci-pusher"), &ignore);
    let plan = ws.plan();
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"), "{}", plan.stdout);
    ws.apply();
    ws.assert_empty_plan("after importing by `repository:user`");

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert!(aws.repository("dagster/half").is_none());
    assert!(aws.user("ci-pusher").is_none());
}

/// The SDK repeats a create whose response was lost after AWS committed it. The provider adopts only what
/// carries its own ownership marker and deletes keys whose secret it never received, in rotation too, where
/// the lost key takes the second slot and the repeat meets `LimitExceeded`. Someone else's user, even one
/// with another registry's marker, stays a conflict.
#[test]
fn lost_create_responses_are_adopted_not_duplicated() {
    const MARKER: &str = "dagsterbranch:registry";
    let moto = Moto::start();
    let aws = Aws::root(&moto);
    let proxy = FaultProxy::start(moto.addr(), ProxyFaults::NONE);
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let log = ws.dir.path().join("terraform.log");
    ws.env("TF_LOG_PROVIDER", "info");
    ws.env("TF_LOG_PATH", &path_str(&log));
    let lines =
        |needle: &str| std::fs::read_to_string(&log).unwrap_or_default().lines().filter(|l| l.contains(needle)).count();
    const LOST_KEY: &str = "whose secret was never received";
    let config = |rotation: &str| {
        registry_config(
            &proxy.url(),
            &format!("  name = \"dagster/lost\"\n  tags = {{ team = \"data\" }}\n  key_rotation = \"{rotation}\"\n"),
        )
    };

    proxy.drop_next_response(&["CreateRepository", "CreateUser", "CreateAccessKey"]);
    ws.write(&config("1"));
    ws.apply();
    assert_eq!(proxy.report().targeted, 3, "{}", proxy.report());
    assert_eq!(
        lines("adopting the ECR repository"),
        1,
        "the repeated CreateRepository met the lost attempt's repository"
    );
    assert_eq!(lines("adopting the IAM user"), 1, "the repeated CreateUser met the lost attempt's user");
    assert_eq!(lines(LOST_KEY), 1, "the lost attempt's key is deleted");
    let state = assert_consistent(&ws, &aws, "after creates whose responses were lost");
    assert_eq!(state["tags"], json!({ "team": "data" }), "the marker stays out of `tags`");
    let user_name = state_str(&state, "user_name");
    let user_tags = aws.run(aws.iam.list_user_tags().user_name(&user_name).send()).expect("ListUserTags");
    assert!(
        user_tags.tags().iter().any(|t| t.key() == MARKER && t.value() == "dagster/lost"),
        "{:?}",
        user_tags.tags()
    );
    let repository_tags = aws
        .run(aws.ecr.list_tags_for_resource().resource_arn(state_str(&state, "repository_arn")).send())
        .expect("tags");
    assert!(
        repository_tags.tags().iter().any(|t| t.key() == MARKER && t.value() == "dagster/lost"),
        "{:?}",
        repository_tags.tags()
    );
    key_works(&moto, &state);

    // Tag changes keep the marker.
    ws.write(&config("1").replace("team = \"data\"", "team = \"ml\""));
    ws.apply();
    let user_tags = aws.run(aws.iam.list_user_tags().user_name(&user_name).send()).expect("ListUserTags");
    assert!(user_tags.tags().iter().any(|t| t.key() == MARKER), "{:?}", user_tags.tags());
    let repository_tags = aws
        .run(aws.ecr.list_tags_for_resource().resource_arn(state_str(&state, "repository_arn")).send())
        .expect("tags");
    assert!(repository_tags.tags().iter().any(|t| t.key() == MARKER), "{:?}", repository_tags.tags());
    assert_consistent(&ws, &aws, "after a tag change");

    proxy.drop_next_response(&["CreateAccessKey"]);
    ws.write(&config("2").replace("team = \"data\"", "team = \"ml\""));
    ws.apply();
    assert_eq!(proxy.report().targeted, 4, "{}", proxy.report());
    // The lost key took the second slot, so the repeat met `LimitExceeded`; that key made room.
    assert_eq!(lines(LOST_KEY), 2, "the key of the lost rotation attempt is deleted");
    let rotated = assert_consistent(&ws, &aws, "after a rotation whose create response was lost");
    assert_ne!(rotated["access_key_id"], state["access_key_id"]);
    key_works(&moto, &rotated);

    ws.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(moto.aws_inventory(), AwsInventory::default(), "destroy leaves nothing");

    // A user another registry made: the marker names that registry, so it is not adopted.
    let tag = aws_sdk_iam::types::Tag::builder().key(MARKER).value("dagster/elsewhere").build().expect("tag");
    aws.run(aws.iam.create_user().user_name(&user_name).tags(tag).send()).expect("CreateUser");
    ws.failing_apply().error_containing("already exists and was not created by this provider for `dagster/lost`");
    assert!(ws.state_attributes(ADDRESS)["user_arn"].is_null(), "the other registry's user is not claimed");
}

#[test]
fn plan_time_validation_names_the_attribute() {
    let ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    ws.write(&format!(
        r#"{provider}
resource "dagsterbranch_registry" "bad_name" {{
  name = "Bad_Name"
}}

resource "dagsterbranch_registry" "aes_with_key" {{
  name = "dagster/aes"
  encryption {{
    type    = "AES256"
    kms_key = "arn:aws:kms:us-east-1:123456789012:key/abc"
  }}
}}

resource "dagsterbranch_registry" "bad_user" {{
  name = "dagster/user"
  user {{
    name = "has space"
    path = "nopath"
  }}
}}

resource "dagsterbranch_registry" "reserved_tag" {{
  name = "dagster/reserved"
  tags = {{ "dagsterbranch:registry" = "dagster/other" }}
}}

resource "dagsterbranch_registry" "bad_lifecycle" {{
  name = "dagster/lifecycle"
  tags = {{ "aws:owner" = "me" }}
  lifecycle_policy {{
    keep_last_images = 0
  }}
}}
"#,
        provider = provider(Some("http://127.0.0.1:9"))
    ));
    let plan = ws.run_json(&["plan"]);
    assert_eq!(plan.run.code, 1, "{}", plan.run.describe());
    for expected in [
        "Invalid value for `name`",
        "`Bad_Name` is not a valid ECR repository name",
        "KMS key with AES256 encryption",
        "kms_key = \"arn:aws:kms",
        "`has space` contains ` `",
        "`nopath` is not an IAM path",
        "`aws:` prefix",
        "`dagsterbranch:` prefix",
        "Invalid value for `keep_last_images`",
    ] {
        let said = |d: &TfDiagnostic| {
            d.text().contains(expected) || d.source_line.as_deref().is_some_and(|line| line.contains(expected))
        };
        assert!(plan.errors().any(said), "no error says {expected:?}:\n{}", plan.listing());
    }
}

/// Also covers KMS encryption: AWS's chosen key causes no drift, and changing encryption replaces.
#[test]
fn secret_is_never_logged_and_encryption_replaces() {
    let moto = Moto::start();
    let mut ws = Workspace::new(Terraform::Latest, Installation::DevOverrides);
    moto.configure(&mut ws, "testing", "testing");
    let log = ws.dir.path().join("terraform.log");
    ws.env("TF_LOG_PROVIDER", "trace");
    ws.env("TF_LOG_PATH", &path_str(&log));
    let body = |encryption: &str| {
        format!(
            "  name = \"dagster/logged\"\n  key_rotation = \"1\"\n  encryption {{\n    type = \"{encryption}\"\n  }}\n"
        )
    };
    ws.write(&registry_config(&moto.url(), &body("KMS")));
    ws.apply();
    let state = ws.state_attributes(ADDRESS);
    let secret = state_str(&state, "secret_access_key");
    let text = std::fs::read_to_string(&log).expect("Terraform log");
    assert!(text.contains("access key created"), "the provider's trace logs are in the file");
    assert!(!text.contains(&secret), "the secret access key appears in the provider's trace log");

    assert!(state["encryption"]["kms_key"].as_str().is_some_and(|k| k.starts_with("arn:aws:kms:")), "{state}");
    ws.assert_empty_plan("with AWS's KMS key");
    ws.write(&registry_config(&moto.url(), &body("AES256")));
    let plan = ws.plan();
    assert!(
        plan.stdout.contains("must be replaced") && plan.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{}",
        plan.stdout
    );
}
