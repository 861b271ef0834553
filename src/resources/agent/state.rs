//! The agent's state, and the two API objects it is read from: the agents Dagster+ reports under its label
//! (their heartbeats give its health) and the token the resource owns (its grants give `token_scopes`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::{Diagnostic, Field};

use super::schema::{
    DEFAULT_IMAGE, DEFAULT_INCLUDE_DEFAULT_QUEUE, DEFAULT_REPLICAS, DEFAULT_SERVER_TTL_SECONDS,
    DEFAULT_WAIT_FOR_RUNNING,
};
use crate::dagster::agents::Agent;
use crate::dagster::Client;
use crate::resources::agent_token::Scopes;
use crate::resources::shared::failure::{During, Failed};
use crate::resources::shared::secret_store::{store_record_accessors, SecretStoreBlock};
use crate::resources::shared::timeouts;
use crate::secret::Secret;

const DEFAULT_RUNNING_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The resource's state, in the shape of the schema. The token and everything rendered with it are secrets.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AgentState {
    pub(super) id: Option<String>,
    pub(super) label: Option<String>,
    /// A `Field`: at plan time, a token not known yet may still turn out null (and then one is owned).
    pub(super) token: Field<Secret>,
    /// Write-only: null in every plan and state; during apply it holds the configured value.
    pub(super) token_wo: Field<Secret>,
    pub(super) token_wo_version: Option<String>,
    pub(super) deployments: Field<BTreeSet<String>>,
    pub(super) queues: Option<Vec<String>>,
    pub(super) include_default_queue: Option<bool>,
    pub(super) replicas: Option<i64>,
    pub(super) branch_deployment_server_ttl_seconds: Option<i64>,
    pub(super) allowed_branch_deployment_locations: Option<Vec<String>>,
    pub(super) agent_image: Option<String>,
    pub(super) wait_for_running: Option<bool>,
    pub(super) token_id: Option<String>,
    pub(super) token_scopes: Field<BTreeSet<String>>,
    pub(super) agent_token: Option<Secret>,
    pub(super) dagster_yaml: Option<Secret>,
    pub(super) helm_values: Option<Secret>,
    pub(super) ecs_parameters: Option<BTreeMap<String, Secret>>,
    pub(super) env: Option<BTreeMap<String, Secret>>,
    pub(super) status: Field<String>,
    pub(super) last_heartbeat_time: Field<serde_json::Number>,
    pub(super) timeouts: Option<AgentTimeouts>,
    pub(super) store_secret_in_state: Option<bool>,
    pub(super) secret_store: Field<SecretStoreBlock>,
    pub(super) secret_store_arn: Field<String>,
    pub(super) secret_store_version: Field<String>,
    pub(super) secret_fingerprint: Field<String>,
}

/// The agent's `timeouts` block, which has `create` only (the shared `Timeouts` model has every operation,
/// and a model must match its block exactly).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct AgentTimeouts {
    pub(super) create: Option<String>,
}

impl AgentState {
    /// Where an import starts: the label, and the schema's defaults for what lives only in configuration.
    pub(super) fn imported(label: String) -> AgentState {
        AgentState {
            label: Some(label),
            deployments: Field::Known(BTreeSet::new()),
            queues: Some(Vec::new()),
            include_default_queue: Some(DEFAULT_INCLUDE_DEFAULT_QUEUE),
            replicas: Some(DEFAULT_REPLICAS),
            branch_deployment_server_ttl_seconds: Some(DEFAULT_SERVER_TTL_SECONDS),
            allowed_branch_deployment_locations: Some(Vec::new()),
            agent_image: Some(DEFAULT_IMAGE.to_string()),
            wait_for_running: Some(DEFAULT_WAIT_FOR_RUNNING),
            store_secret_in_state: Some(true),
            ..AgentState::default()
        }
    }

    /// Whether the token is kept in state and rendered into the outputs: not when it is write-only or the
    /// owned token is kept in a secret store only.
    pub(super) fn token_in_state(&self) -> bool {
        self.token_wo.is_null() && self.store_secret_in_state != Some(false)
    }

    pub(super) fn label(&self) -> &str {
        self.label.as_deref().unwrap_or_default()
    }

    /// The full deployments served besides branch deployments, sorted.
    pub(super) fn deployments(&self) -> Vec<String> {
        self.deployments.known().into_iter().flatten().cloned().collect()
    }

    pub(super) fn queues(&self) -> Vec<String> {
        self.queues.clone().unwrap_or_default()
    }

    pub(super) fn ttl(&self) -> i64 {
        self.branch_deployment_server_ttl_seconds.unwrap_or(DEFAULT_SERVER_TTL_SECONDS)
    }

    pub(super) fn owned_scopes(&self) -> Scopes {
        owned_token_scopes(self.deployments.known().cloned().unwrap_or_default())
    }

    /// The scopes the owned token had when last seen; a state written before `token_scopes` existed (or
    /// imported without a token) assumes they were in line with `deployments`.
    pub(super) fn seen_scopes(&self) -> Scopes {
        self.token_scopes.known().map(scopes_from_labels).unwrap_or_else(|| self.owned_scopes())
    }

    /// The id of the token the resource owns, if it owns one.
    pub(super) fn owned_token_id(&self) -> Result<Option<i64>, Diagnostic> {
        let Some(id) = &self.token_id else { return Ok(None) };
        id.parse()
            .map(Some)
            .map_err(|_| Diagnostic::error("Invalid token id in state", format!("`{id}` is not a token id.")))
    }

    /// How long create waits for the agent to run.
    pub(super) fn running_timeout(&self) -> Duration {
        timeouts::configured_or(self.timeouts.as_ref().and_then(|t| t.create.as_deref()), DEFAULT_RUNNING_TIMEOUT)
    }

    /// Takes the health Dagster+ reports for the agent.
    pub(super) fn set_health(&mut self, health: &Health) {
        self.status = Field::Known(health.status().to_string());
        self.last_heartbeat_time = Field::from_option(health.last_heartbeat_time.clone());
    }

    /// Takes the scopes Dagster+ reports for the owned token.
    pub(super) fn set_token_scopes(&mut self, token: &OwnedToken) {
        self.token_scopes = Field::Known(scope_labels(&token.scopes));
    }
}

store_record_accessors!(AgentState);

// The agent and its heartbeat.

/// Every agent (replica) Dagster+ knows.
pub(super) async fn find_agents(client: &Client) -> Result<Vec<Agent>, Failed> {
    client.agents().await.during("Could not read the agents")
}

/// The health of the agents with one label.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Health {
    /// Any replica running counts as running.
    pub(super) running: bool,
    /// The newest heartbeat of any replica; `None` if none ever sent one.
    pub(super) last_heartbeat_time: Option<serde_json::Number>,
}

impl Health {
    pub(super) fn of(label: &str, agents: &[Agent]) -> Health {
        let labelled = || agents.iter().filter(|a| a.agent_label.as_deref() == Some(label));
        let heartbeat = |a: &Agent| a.last_heartbeat_time.as_f64().unwrap_or(0.0);
        let newest = labelled().max_by(|a, b| heartbeat(a).total_cmp(&heartbeat(b)));
        Health {
            running: labelled().any(Agent::is_running),
            last_heartbeat_time: newest.map(|a| a.last_heartbeat_time.clone()),
        }
    }

    pub(super) fn status(&self) -> &'static str {
        if self.running {
            "RUNNING"
        } else {
            "NOT_RUNNING"
        }
    }

    /// What was seen of an agent that is not running, for the error that says so.
    pub(super) fn describe(&self) -> String {
        match &self.last_heartbeat_time {
            Some(t) => format!("its last heartbeat was at {t} (seconds since the epoch) and it is NOT_RUNNING"),
            None => "no agent with this label has sent a heartbeat".to_string(),
        }
    }
}

// The token the resource owns.

/// An agent token as the agent resource sees it: its value (when Dagster+ reveals it) and its scopes.
#[derive(Clone, Debug)]
pub(super) struct OwnedToken {
    pub(super) value: Option<Secret>,
    pub(super) scopes: Scopes,
}

/// The token with this id, unless it was revoked or deleted.
pub(super) async fn find_token(client: &Client, token_id: i64) -> Result<Option<OwnedToken>, Diagnostic> {
    let inventory = client.agent_token_inventory().await.during("Could not read agent tokens")?;
    Ok(inventory
        .tokens
        .iter()
        .find(|t| t.id == token_id && !t.revoked)
        .map(|token| OwnedToken { value: token.token.clone(), scopes: Scopes::granted(token, &inventory.deployments) }))
}

const ORGANIZATION_SCOPE: &str = "organization";
const ALL_BRANCH_DEPLOYMENTS_SCOPE: &str = "all_branch_deployments";
const DEPLOYMENT_SCOPE_PREFIX: &str = "deployment:";

/// What a token this resource owns may serve: all branch deployments, and these full deployments.
pub(super) fn owned_token_scopes(deployments: BTreeSet<String>) -> Scopes {
    Scopes { organization: false, all_branch_deployments: true, deployments }
}

/// Scopes as `token_scopes` shows them.
pub(super) fn scope_labels(scopes: &Scopes) -> BTreeSet<String> {
    let mut labels: BTreeSet<String> =
        scopes.deployments.iter().map(|d| format!("{DEPLOYMENT_SCOPE_PREFIX}{d}")).collect();
    if scopes.organization {
        labels.insert(ORGANIZATION_SCOPE.into());
    }
    if scopes.all_branch_deployments {
        labels.insert(ALL_BRANCH_DEPLOYMENTS_SCOPE.into());
    }
    labels
}

fn scopes_from_labels(labels: &BTreeSet<String>) -> Scopes {
    Scopes {
        organization: labels.contains(ORGANIZATION_SCOPE),
        all_branch_deployments: labels.contains(ALL_BRANCH_DEPLOYMENTS_SCOPE),
        deployments: labels
            .iter()
            .filter_map(|l| l.strip_prefix(DEPLOYMENT_SCOPE_PREFIX))
            .map(str::to_string)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_covers_the_schema_and_hides_the_token() {
        tfplugin::model::check_covers::<AgentState>(&super::super::schema::schema().block).unwrap();
        let token = "agent:acme:0123456789abcdef";
        let mut state = AgentState {
            token: Field::Known(Secret::new(token)),
            agent_token: Some(Secret::new(token)),
            ..AgentState::imported("bd".into())
        };
        state.render(Some("acme"));
        let shown = format!("{state:?}");
        assert!(!shown.contains("0123456789abcdef"), "Debug must not show the token: {shown}");
        assert!(state.dagster_yaml.as_ref().is_some_and(|y| y.expose().contains(token)));
    }

    #[test]
    fn scope_labels_round_trip() {
        let scopes = Scopes {
            organization: true,
            all_branch_deployments: true,
            deployments: ["prod".to_string(), "#12".to_string()].into(),
        };
        let labels = scope_labels(&scopes);
        assert_eq!(
            labels,
            ["all_branch_deployments", "deployment:#12", "deployment:prod", "organization"].map(String::from).into()
        );
        assert_eq!(scopes_from_labels(&labels), scopes);
    }

    #[test]
    fn health_takes_the_newest_heartbeat_and_any_running_replica() {
        let agent = |label: &str, status: &str, heartbeat: i64| Agent {
            id: label.into(),
            agent_label: Some(label.into()),
            status: status.into(),
            last_heartbeat_time: heartbeat.into(),
            errors: Vec::new(),
            metadata: Vec::new(),
        };
        let agents = [agent("bd", "RUNNING", 10), agent("bd", "NOT_RUNNING", 20), agent("other", "RUNNING", 30)];
        assert_eq!(Health::of("bd", &agents), Health { running: true, last_heartbeat_time: Some(20.into()) });
        assert_eq!(Health::of("none", &agents), Health::default());
        assert_eq!(Health::default().describe(), "no agent with this label has sent a heartbeat");
    }
}
