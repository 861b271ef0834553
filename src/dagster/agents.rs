//! Agents as Dagster+ sees them: label, status and last heartbeat, for health checks.

use serde::Deserialize;
use serde_json::json;

use super::{operations, Client, Error};

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: String,
    pub agent_label: Option<String>,
    pub status: String,
    /// Seconds since the epoch.
    pub last_heartbeat_time: serde_json::Number,
    #[serde(default)]
    pub errors: Vec<AgentError>,
    #[serde(default)]
    pub metadata: Vec<AgentMetadata>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AgentError {
    pub error: ErrorMessage,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ErrorMessage {
    pub message: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AgentMetadata {
    pub key: String,
    /// JSON-encoded, as Dagster+ serves it.
    pub value: Option<String>,
}

impl Agent {
    pub fn is_running(&self) -> bool {
        self.status == "RUNNING"
    }

    /// The queues the agent serves, from its JSON-encoded `queues` metadata.
    pub fn queues(&self) -> Vec<String> {
        self.metadata
            .iter()
            .find(|m| m.key == "queues")
            .and_then(|m| m.value.as_deref())
            .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            .unwrap_or_default()
    }
}

impl Client {
    pub async fn agents(&self) -> Result<Vec<Agent>, Error> {
        #[derive(Deserialize)]
        struct Data {
            agents: Vec<Agent>,
        }
        let data: Data = self.execute(&operations::AGENTS, json!({})).await?;
        Ok(data.agents)
    }
}
