//! `data "dagsterbranch_agents"`: every agent Dagster+ knows, with status, heartbeat and errors, for health
//! gating (for example a `precondition` that the branch-deployment agent is running).

use async_trait::async_trait;
use cty::{Type, Value};
use serde::Serialize;
use tfplugin::{Attribute, Context, DataSource, Diagnostic, Diagnostics, Schema};

use crate::provider::{configured, SharedConfig};

pub struct AgentsDataSource {
    schema: Schema,
    config: SharedConfig,
}

impl AgentsDataSource {
    pub fn new(config: SharedConfig) -> Self {
        let strings = Type::List(Box::new(Type::String));
        let agent = Type::object(
            [
                ("id", Type::String),
                ("label", Type::String),
                ("status", Type::String),
                ("last_heartbeat_time", Type::Number),
                ("errors", strings.clone()),
                ("queues", strings),
            ]
            .into_iter()
            .map(|(k, t)| (k.to_string(), t)),
        );
        let schema = Schema::new("Every agent of the organization as Dagster+ reports it.")
            .attribute(Attribute::computed("agents", Type::List(Box::new(agent)), "The agents: `id`, `label`, `status` (`RUNNING` or `NOT_RUNNING`), `last_heartbeat_time` (seconds since the epoch), recent `errors` and served `queues`."));
        AgentsDataSource { schema, config }
    }
}

#[derive(Serialize)]
struct Agents {
    agents: Vec<AgentEntry>,
}

#[derive(Serialize)]
struct AgentEntry {
    id: String,
    label: Option<String>,
    status: String,
    last_heartbeat_time: serde_json::Number,
    errors: Vec<String>,
    queues: Vec<String>,
}

#[async_trait]
impl DataSource for AgentsDataSource {
    fn type_name(&self) -> &'static str {
        "dagsterbranch_agents"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, _ctx: &Context, _config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let provider = configured(&self.config)?;
            let agents = provider
                .dagster
                .agents()
                .await
                .map_err(|e| Diagnostic::error("Could not read the agents", e.to_string()))?;
            let agents = agents
                .into_iter()
                .map(|a| AgentEntry {
                    queues: a.queues(),
                    id: a.id,
                    label: a.agent_label,
                    status: a.status,
                    last_heartbeat_time: a.last_heartbeat_time,
                    errors: a.errors.into_iter().map(|e| e.error.message).collect(),
                })
                .collect();
            tfplugin::encode(&Agents { agents }, &self.schema.value_type())
        }
        .await;
        diags.capture(result)
    }
}
