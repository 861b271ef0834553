//! Helpers shared by the integration tests: a started emulator and a tiny
//! GraphQL client over real HTTP.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use dagster_plus_emulator::{EmulatorConfig, RunningEmulator};
use reqwest::blocking::Client;
use serde_json::{json, Value};

pub const ORG: &str = "test-org";
pub const USER_TOKEN: &str = "user:test-org:admin:0123456789";

pub struct Emu {
    pub emulator: RunningEmulator,
    client: Client,
}

pub struct Reply {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl Emu {
    pub fn start() -> Emu {
        Emu::start_with_state(None)
    }

    pub fn start_with_state(state_file: Option<PathBuf>) -> Emu {
        let emulator = RunningEmulator::start(EmulatorConfig {
            organization: ORG.to_owned(),
            api_token: USER_TOKEN.to_owned(),
            state_file,
            ..EmulatorConfig::default()
        })
        .expect("emulator starts");
        Emu { emulator, client: Client::new() }
    }

    /// POSTs a raw JSON body to `path` (e.g. "/graphql"), with optional token
    /// and extra headers.
    pub fn post_raw(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)], body: &Value) -> Reply {
        let mut req = self
            .client
            .post(format!("{}{path}", self.emulator.url()))
            .header("Content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            req = req.header("Dagster-Cloud-Api-Token", token);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().expect("request is answered");
        let status = resp.status().as_u16();
        let text = resp.text().expect("body is readable");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, text, json }
    }

    /// A GraphQL call with the admin user token on the org URL.
    pub fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(USER_TOKEN, "/graphql", query, variables)
    }

    pub fn gql_as(&self, token: &str, path: &str, query: &str, variables: Value) -> Value {
        let reply = self.post_raw(path, Some(token), &[], &json!({ "query": query, "variables": variables }));
        assert_eq!(reply.status, 200, "unexpected status, body: {}", reply.text);
        reply.json
    }

    pub fn get(&self, path: &str) -> Value {
        let resp = self.client.get(format!("{}{path}", self.emulator.url())).send().expect("request is answered");
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().expect("JSON body")
    }

    /// `DELETE path`; returns the status.
    pub fn client_delete(&self, path: &str) -> u16 {
        self.client
            .delete(format!("{}{path}", self.emulator.url()))
            .send()
            .expect("request is answered")
            .status()
            .as_u16()
    }

    /// Creates a token and returns (id, token value).
    pub fn create_token(&self, description: &str) -> (i64, String) {
        let data = self.gql(
            "mutation($d: String) { createAgentToken(description: $d) { __typename ... on DagsterCloudAgentToken { id token } } }",
            json!({ "d": description }),
        );
        let token = &data["data"]["createAgentToken"];
        assert_eq!(token["__typename"], "DagsterCloudAgentToken", "{data}");
        (token["id"].as_i64().expect("id"), token["token"].as_str().expect("token").to_owned())
    }
}

/// `^agent:ORG:[0-9a-f]{32}$` without a regex dependency.
pub fn is_agent_token(value: &str) -> bool {
    let Some(hex) = value.strip_prefix(&format!("agent:{ORG}:")) else {
        return false;
    };
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// A fresh path under the system temp dir, removed on drop.
pub struct TempPath(pub PathBuf);

impl TempPath {
    pub fn new(name: &str) -> TempPath {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "dagster-plus-emulator-test-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
