//! Simulated agents: heartbeats create and refresh them, silence makes them
//! `NOT_RUNNING`.

use super::DomainError;
use crate::model::{Agent, AgentError, AgentMetadataEntry, AgentStatus, State};
use crate::pyjson;

/// How the default queue (`None` in the agent's config) is listed in `queues`.
pub const DEFAULT_QUEUE_LABEL: &str = "default queue";

/// One agent's heartbeat, from the agent API or the admin endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeartbeatReport {
    /// The agent instance id; without it the agent is found by `label`.
    pub agent_id: Option<String>,
    pub label: Option<String>,
    /// Deployments the agent serves; `None` means every deployment.
    pub deployments: Option<Vec<String>>,
    /// Raw metadata values; the API serves them JSON-encoded.
    pub metadata: Vec<(String, serde_json::Value)>,
    pub agent_type: Option<String>,
    /// `None` stands for the default queue.
    pub queues: Vec<Option<String>>,
    pub errors: Vec<AgentError>,
}

/// Records a heartbeat and returns the agent's id. `fresh_id` names a new agent
/// when the report has no id of its own.
pub fn record_heartbeat(
    state: &mut State,
    report: HeartbeatReport,
    now: f64,
    fresh_id: &str,
) -> Result<String, DomainError> {
    if report.agent_id.is_none() && report.label.is_none() {
        return Err(DomainError::InvalidHeartbeat("a heartbeat needs an agent id or an agent label".into()));
    }
    let metadata = metadata_entries(&report);
    let existing = state.agents.iter_mut().find(|a| match &report.agent_id {
        Some(id) => &a.id == id,
        None => a.agent_label == report.label,
    });
    let agent = match existing {
        Some(agent) => agent,
        None => {
            state.agents.push(Agent {
                id: report.agent_id.clone().unwrap_or_else(|| fresh_id.to_owned()),
                agent_label: report.label.clone(),
                status: AgentStatus::Running,
                last_heartbeat_time: now,
                deployments: None,
                metadata: Vec::new(),
                errors: Vec::new(),
            });
            let last = state.agents.len() - 1;
            &mut state.agents[last]
        }
    };
    if report.label.is_some() {
        agent.agent_label = report.label;
    }
    agent.status = AgentStatus::Running;
    agent.last_heartbeat_time = now;
    agent.deployments = report.deployments;
    agent.metadata = metadata;
    agent.errors = report.errors;
    Ok(agent.id.clone())
}

/// Marks the agents with this label `NOT_RUNNING` at once, as if their
/// heartbeats had timed out. Returns how many there were.
pub fn stop(state: &mut State, label: &str) -> Result<usize, DomainError> {
    let mut stopped = 0;
    for agent in state.agents.iter_mut().filter(|a| a.agent_label.as_deref() == Some(label)) {
        agent.status = AgentStatus::NotRunning;
        stopped += 1;
    }
    if stopped == 0 {
        return Err(DomainError::AgentNotFound(label.to_owned()));
    }
    Ok(stopped)
}

/// Agents silent for longer than `timeout_s` that are still `RUNNING`.
pub fn has_expired(state: &State, now: f64, timeout_s: f64) -> bool {
    state.agents.iter().any(|a| a.status == AgentStatus::Running && now - a.last_heartbeat_time > timeout_s)
}

pub fn expire(state: &mut State, now: f64, timeout_s: f64) {
    for agent in &mut state.agents {
        if agent.status == AgentStatus::Running && now - agent.last_heartbeat_time > timeout_s {
            tracing::info!(agent = %agent.id, label = ?agent.agent_label, "agent heartbeats stopped; now NOT_RUNNING");
            agent.status = AgentStatus::NotRunning;
        }
    }
}

/// Whether `agents` lists this agent in a request scoped to `deployment`
/// (`None`: an organization-level request, which lists every agent).
pub fn visible_in(agent: &Agent, deployment: Option<&str>) -> bool {
    match (deployment, &agent.deployments) {
        (None, _) | (_, None) => true,
        (Some(name), Some(served)) => served.iter().any(|d| d == name),
    }
}

// The server adds `type` and `queues` (derived from the agent's config) to the
// metadata the agent reports; every value is JSON-encoded.
fn metadata_entries(report: &HeartbeatReport) -> Vec<AgentMetadataEntry> {
    let mut entries: Vec<AgentMetadataEntry> = report
        .metadata
        .iter()
        .filter(|(key, _)| key != "type" && key != "queues")
        .map(|(key, value)| AgentMetadataEntry {
            key: key.clone(),
            value: (!value.is_null()).then(|| pyjson::dumps(value)),
        })
        .collect();
    if let Some(agent_type) = &report.agent_type {
        entries.push(AgentMetadataEntry {
            key: "type".into(),
            value: Some(pyjson::dumps(&serde_json::Value::String(agent_type.clone()))),
        });
    }
    let queues: Vec<serde_json::Value> = report
        .queues
        .iter()
        .map(|q| serde_json::Value::String(q.clone().unwrap_or_else(|| DEFAULT_QUEUE_LABEL.into())))
        .collect();
    entries.push(AgentMetadataEntry {
        key: "queues".into(),
        value: Some(pyjson::dumps(&serde_json::Value::Array(queues))),
    });
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(label: &str) -> HeartbeatReport {
        HeartbeatReport {
            label: Some(label.into()),
            metadata: vec![("version".into(), json!("1.13.27"))],
            queues: vec![None, Some("special".into())],
            agent_type: Some("K8sUserCodeLauncher".into()),
            ..Default::default()
        }
    }

    #[test]
    fn heartbeats_refresh_the_same_agent_and_silence_expires_it() {
        let mut state = State::new("acme");
        let id = record_heartbeat(&mut state, report("bd"), 10.0, "id-1").unwrap();
        let again = record_heartbeat(&mut state, report("bd"), 20.0, "id-2").unwrap();
        assert_eq!(id, again);
        assert_eq!(state.agents.len(), 1);
        let agent = &state.agents[0];
        assert_eq!(agent.last_heartbeat_time, 20.0);
        let value = |k: &str| agent.metadata.iter().find(|m| m.key == k).and_then(|m| m.value.clone());
        assert_eq!(value("version").as_deref(), Some("\"1.13.27\""));
        assert_eq!(value("queues").as_deref(), Some("[\"default queue\", \"special\"]"));
        assert_eq!(value("type").as_deref(), Some("\"K8sUserCodeLauncher\""));

        assert!(!has_expired(&state, 25.0, 10.0));
        assert!(has_expired(&state, 31.0, 10.0));
        expire(&mut state, 31.0, 10.0);
        assert_eq!(state.agents[0].status, AgentStatus::NotRunning);
        record_heartbeat(&mut state, report("bd"), 40.0, "x").unwrap();
        assert_eq!(state.agents[0].status, AgentStatus::Running);
        assert_eq!(stop(&mut state, "bd"), Ok(1));
        assert_eq!(state.agents[0].status, AgentStatus::NotRunning);
        assert!(stop(&mut state, "nobody").is_err());
        assert!(record_heartbeat(&mut state, HeartbeatReport::default(), 1.0, "z").is_err());
    }

    #[test]
    fn scoped_agents_are_listed_only_where_they_serve() {
        let mut state = State::new("acme");
        let mut r = report("branch");
        r.deployments = Some(vec!["feature-x".into()]);
        record_heartbeat(&mut state, r, 1.0, "id").unwrap();
        let agent = &state.agents[0];
        assert!(visible_in(agent, None));
        assert!(visible_in(agent, Some("feature-x")));
        assert!(!visible_in(agent, Some("prod")));
    }
}
