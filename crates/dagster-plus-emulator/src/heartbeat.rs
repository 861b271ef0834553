//! The heartbeat a test sends on behalf of a simulated agent, through
//! [`crate::RunningEmulator::send_heartbeat`] or `POST /_emulator/agents/heartbeat`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::agents::HeartbeatReport;
use crate::model::AgentError;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentHeartbeat {
    /// Identifies the agent: heartbeats with the same label refresh one agent.
    pub label: String,
    /// Deployments the agent serves; `None` means every deployment.
    #[serde(default)]
    pub deployments: Option<Vec<String>>,
    /// Reported metadata; the API serves each value JSON-encoded.
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Agent queues; `None` entries stand for the default queue. Absent means
    /// the default queue only.
    #[serde(default)]
    pub queues: Option<Vec<Option<String>>>,
    /// The user-code launcher, listed as the `type` metadata key.
    #[serde(default)]
    pub agent_type: Option<String>,
    /// Errors the agent reports, listed under `errors`.
    #[serde(default)]
    pub errors: Vec<String>,
}

impl AgentHeartbeat {
    pub fn new(label: &str) -> AgentHeartbeat {
        AgentHeartbeat { label: label.to_owned(), ..AgentHeartbeat::default() }
    }

    pub fn for_deployments(mut self, deployments: &[&str]) -> AgentHeartbeat {
        self.deployments = Some(deployments.iter().map(|d| (*d).to_owned()).collect());
        self
    }

    pub fn metadata(mut self, key: &str, value: serde_json::Value) -> AgentHeartbeat {
        self.metadata.insert(key.to_owned(), value);
        self
    }

    pub fn error(mut self, message: &str) -> AgentHeartbeat {
        self.errors.push(message.to_owned());
        self
    }

    pub(crate) fn into_report(self, now: f64) -> HeartbeatReport {
        HeartbeatReport {
            agent_id: None,
            label: Some(self.label),
            deployments: self.deployments,
            metadata: self.metadata.into_iter().collect(),
            agent_type: self.agent_type,
            queues: self.queues.unwrap_or_else(|| vec![None]),
            errors: self.errors.into_iter().map(|message| AgentError { timestamp: Some(now), message }).collect(),
        }
    }
}
