//! Agents (§5): the user-facing `agents` list, and the agent-side heartbeat
//! mutation `userCloudAgent { addAgentHeartbeats(…) { ok } }` (§5.3).

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ErrorExtensions, InputObject, Object, SimpleObject};

use super::context::{agent_scope, request, store};
use super::errors::PythonError;
use crate::auth::Principal;
use crate::domain::agents::{self, HeartbeatReport};
use crate::model::{Agent, AgentStatus, CodeLocation, RepositoryLocationLoadStatus};
use crate::{clock, secret, serdes};

#[derive(SimpleObject, Clone, Debug)]
pub struct AgentMetadata {
    pub key: String,
    /// JSON-encoded, as the real API serves it (`"\"1.13.27\""`).
    pub value: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct TimestampedError {
    pub timestamp: Option<f64>,
    pub error: PythonError,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum CloudCodeServerStatus {
    Starting,
    Running,
    Failed,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CloudServerState {
    pub location_name: Option<String>,
    pub status: CloudCodeServerStatus,
    pub error: Option<PythonError>,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Agent")]
pub struct AgentObject {
    pub id: String,
    pub agent_label: Option<String>,
    pub status: AgentStatus,
    pub last_heartbeat_time: f64,
    pub errors: Vec<TimestampedError>,
    pub metadata: Vec<AgentMetadata>,
    /// The code servers of the request's deployment (empty at organization scope).
    pub code_server_states: Vec<CloudServerState>,
}

impl AgentObject {
    fn from_model(agent: &Agent, servers: &[CloudServerState]) -> AgentObject {
        let running = agent.status == AgentStatus::Running;
        AgentObject {
            id: agent.id.clone(),
            agent_label: agent.agent_label.clone(),
            status: agent.status,
            last_heartbeat_time: agent.last_heartbeat_time,
            errors: agent
                .errors
                .iter()
                .map(|e| TimestampedError {
                    timestamp: e.timestamp,
                    error: PythonError::new(e.message.clone(), "Exception"),
                })
                .collect(),
            metadata: agent
                .metadata
                .iter()
                .map(|m| AgentMetadata { key: m.key.clone(), value: m.value.clone() })
                .collect(),
            code_server_states: if running { servers.to_vec() } else { Vec::new() },
        }
    }
}

fn server_state(location: &CodeLocation) -> CloudServerState {
    let (status, error) = match (location.load.status, &location.load.error) {
        (RepositoryLocationLoadStatus::Loading, _) => (CloudCodeServerStatus::Starting, None),
        (RepositoryLocationLoadStatus::Loaded, None) => (CloudCodeServerStatus::Running, None),
        (RepositoryLocationLoadStatus::Loaded, Some(e)) => {
            (CloudCodeServerStatus::Failed, Some(PythonError::new(e.clone(), "DagsterUserCodeUnreachableError")))
        }
    };
    CloudServerState { location_name: Some(location.location_name.clone()), status, error }
}

#[derive(Default)]
pub struct AgentQuery;

#[Object]
impl AgentQuery {
    // At a deployment's scope, the agents serving it; at organization scope,
    // all of them. `heartbeatedSince` is the agent API's filter.
    async fn agents(
        &self,
        ctx: &Context<'_>,
        heartbeated_since: Option<f64>,
    ) -> async_graphql::Result<Vec<AgentObject>> {
        let scope = agent_scope(ctx)?;
        Ok(store(ctx)?.read(|state| {
            let servers: Vec<CloudServerState> = scope
                .as_deref()
                .and_then(|name| crate::domain::deployments::by_name(state, name))
                .map(|d| d.locations.iter().map(server_state).collect())
                .unwrap_or_default();
            state
                .agents
                .iter()
                .filter(|a| agents::visible_in(a, scope.as_deref()))
                .filter(|a| heartbeated_since.is_none_or(|t| a.last_heartbeat_time >= t))
                .map(|a| AgentObject::from_model(a, &servers))
                .collect()
        }))
    }
}

#[derive(InputObject, Clone, Debug)]
pub struct AgentHeartbeatInput {
    pub deployment_name: String,
    /// A dagster-serdes `AgentHeartbeat`.
    pub serialized_agent_heartbeat: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AgentHeartbeatsResult {
    pub ok: bool,
}

pub struct UserCloudAgentMutation;

#[Object]
impl UserCloudAgentMutation {
    // One entry per deployment the agent serves; entries of one agent are
    // merged, so the agent is listed in each of those deployments.
    async fn add_agent_heartbeats(
        &self,
        ctx: &Context<'_>,
        serialized_agent_heartbeats: Option<Vec<AgentHeartbeatInput>>,
        #[graphql(name = "serializedErrors")] _serialized_errors: Option<Vec<String>>,
    ) -> async_graphql::Result<AgentHeartbeatsResult> {
        let mut reports: BTreeMap<String, HeartbeatReport> = BTreeMap::new();
        for entry in serialized_agent_heartbeats.unwrap_or_default() {
            let report = serdes::decode_heartbeat(&entry.serialized_agent_heartbeat, &entry.deployment_name)
                .map_err(|e| async_graphql::Error::new(e.to_string()))?;
            let key = report.agent_id.clone().unwrap_or_default();
            match reports.get_mut(&key) {
                Some(existing) => {
                    if let (Some(all), Some(more)) = (&mut existing.deployments, report.deployments) {
                        all.extend(more);
                    }
                }
                None => {
                    reports.insert(key, report);
                }
            }
        }
        let now = clock::now_seconds();
        let fresh = secret::random_uuid().map_err(|e| async_graphql::Error::new(e.to_string()))?;
        store(ctx)?
            .mutate(|state| {
                for report in reports.into_values() {
                    agents::record_heartbeat(state, report, now, &fresh)?;
                }
                Ok(())
            })
            .map_err(|e| async_graphql::Error::new(e.to_string()))?;
        Ok(AgentHeartbeatsResult { ok: true })
    }
}

#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    // The agent API; only agent tokens may call it (a user token is refused
    // with a top-level error, as the result type has no error member).
    async fn user_cloud_agent(&self, ctx: &Context<'_>) -> async_graphql::Result<UserCloudAgentMutation> {
        match request(ctx)?.principal {
            Principal::Agent { .. } => Ok(UserCloudAgentMutation),
            Principal::Admin => Err(async_graphql::Error::new(
                "The agent API needs an agent token (agent:<org>:<hex>), not a user token",
            )
            .extend_with(|_, ext| ext.set("code", "UNAUTHORIZED"))),
        }
    }
}
