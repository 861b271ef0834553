//! Running the real `dagster-cloud` CLI against an in-process emulator.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dagster_plus_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{json, Value};

pub const ORG: &str = "test-org";
pub const TOKEN: &str = "user:test-org:admin:cli-conformance";

/// No CLI command in this suite should take longer; a hang fails the test.
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

/// `.venv/bin/dagster-cloud`, created by `scripts/dev-setup`. Missing means
/// FAIL, not skip: a silently skipped conformance suite proves nothing.
pub fn cli_path() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/dagster-cloud");
    assert!(
        path.exists(),
        "{} is missing. Run `scripts/dev-setup` from the repository root to install the dagster-cloud CLI.",
        path.display()
    );
    path
}

pub struct Emu {
    pub emulator: RunningEmulator,
}

impl Emu {
    pub fn start() -> Emu {
        let emulator = RunningEmulator::start(EmulatorConfig {
            organization: ORG.to_owned(),
            api_token: TOKEN.to_owned(),
            state_file: None,
            ..EmulatorConfig::default()
        })
        .expect("emulator starts");
        Emu { emulator }
    }

    pub fn url(&self) -> String {
        self.emulator.url()
    }

    /// A GraphQL call as the admin, for set-up and checks the CLI cannot make.
    pub fn gql(&self, path: &str, query: &str, variables: Value) -> Value {
        let reply: Value = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.url()))
            .header("Dagster-Cloud-Api-Token", TOKEN)
            .body(json!({ "query": query, "variables": variables }).to_string())
            .send()
            .and_then(|r| r.json())
            .expect("GraphQL reply");
        assert!(reply.get("errors").is_none(), "GraphQL errors: {reply}");
        reply["data"].clone()
    }

    /// Creates a branch deployment for `branch` in `acme/app`; returns its name.
    pub fn branch_deployment(&self, branch: &str) -> String {
        let data = self.gql(
            "/graphql",
            "mutation($b: CreateOrUpdateBranchDeploymentInput!, $c: DeploymentCommitInput!) {
                createOrUpdateBranchDeployment(branchData: $b, commit: $c) {
                    ... on DagsterCloudDeployment { deploymentName } } }",
            json!({ "b": {"repoName": "acme/app", "branchName": branch}, "c": {"commitHash": "c0ffee", "timestamp": 1.0} }),
        );
        data["createOrUpdateBranchDeployment"]["deploymentName"].as_str().expect("deployment name").to_owned()
    }

    pub fn add_location(&self, deployment: &str, document: Value) {
        let data = self.gql(
            &format!("/{deployment}/graphql"),
            "mutation($d: GenericScalar!) { addOrUpdateLocationFromDocument(document: $d) { __typename } }",
            json!({ "d": document }),
        );
        assert_eq!(data["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry");
    }

    pub fn deployment(&self, name: &str) -> Option<Value> {
        self.emulator.inventory()["deployments"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["deploymentName"] == name).cloned())
    }

    pub fn branch_deployments(&self) -> Vec<Value> {
        self.emulator.inventory()["deployments"]
            .as_array()
            .map(|ds| ds.iter().filter(|d| d["deploymentType"] == "BRANCH").cloned().collect())
            .unwrap_or_default()
    }

    pub fn location(&self, deployment: &str, location: &str) -> Option<Value> {
        self.deployment(deployment).and_then(|d| {
            d["locations"].as_array().and_then(|ls| ls.iter().find(|l| l["locationName"] == location).cloned())
        })
    }

    pub fn count(&self, key: &str) -> u64 {
        self.emulator.operation_counts().get(key).copied().unwrap_or(0)
    }
}

pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "success: {}\n--- stdout\n{}\n--- stderr\n{}", self.success, self.stdout, self.stderr)
    }
}

/// One CLI invocation: a fresh `HOME` (no config file), a scrubbed
/// environment, and optionally a working directory and extra variables.
pub struct Cli {
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

pub fn cli<S: AsRef<str>>(args: &[S]) -> Cli {
    Cli { args: args.iter().map(|a| a.as_ref().to_owned()).collect(), env: Vec::new(), cwd: None }
}

impl Cli {
    pub fn env(mut self, key: &str, value: &str) -> Cli {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Cli {
        self.cwd = Some(dir.to_owned());
        self
    }

    pub fn run(self) -> Output {
        let home = tempfile::tempdir().expect("temporary HOME");
        let mut command = Command::new(cli_path());
        command
            .args(&self.args)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            // Plain, unwrapped output so assertions can match whole messages.
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("COLUMNS", "500")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        let mut child = command.spawn().expect("dagster-cloud starts");
        let mut stdout_pipe = child.stdout.take().expect("stdout");
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout_pipe.read_to_string(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr_pipe.read_to_string(&mut s);
            s
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waitable") {
                break status;
            }
            if started.elapsed() > CLI_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dagster-cloud {:?} did not finish in {CLI_TIMEOUT:?}", self.args);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            success: status.success(),
            stdout: out_reader.join().unwrap_or_default(),
            stderr: err_reader.join().unwrap_or_default(),
        }
    }
}

/// Writes `text` to `name` in a fresh directory, kept alive by the returned guard.
pub fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write input file");
    (dir, path)
}

pub fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
