//! Moto, the AWS emulator: one `moto_server` per test, and what it holds.

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{path_str, repo_root, Workspace};

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

impl Moto {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Runs `support/boto.py` (boto3, an AWS client independent of the provider's) against this moto for
    /// Secrets Manager and SSM, and returns what it printed.
    pub fn boto(&self, args: &[&str]) -> Value {
        let python = repo_root().join(".venv/bin/python");
        assert!(python.exists(), "{} is missing: run scripts/dev-setup", python.display());
        let script = repo_root().join("tests/acceptance/support/boto.py");
        let output = Command::new(&python).arg(&script).arg(self.url()).args(args).output().expect("run boto.py");
        assert!(output.status.success(), "boto.py {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("boto.py prints JSON")
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
            let stores = self.boto(&["inventory"]);
            let names = |key: &str| -> Vec<String> { serde_json::from_value(stores[key].clone()).expect("names") };
            inventory.secrets = names("secrets");
            inventory.parameters = names("parameters");
            inventory
        })
    }
}

/// ECR repositories, IAM users, (user, access key id) pairs, Secrets Manager secrets and SSM parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsInventory {
    pub repositories: Vec<String>,
    pub users: Vec<String>,
    pub keys: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub parameters: Vec<String>,
}
