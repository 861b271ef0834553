//! `data "dagsterbranch_agents"`: every agent Dagster+ knows, with status, heartbeat and errors, for health
//! gating (for example a `precondition` that the branch-deployment agent is running).

use async_trait::async_trait;
use cty::Type;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, DataSource, Diagnostics, Schema};

use crate::client::ProviderClient;
use crate::dagster::agents::Agent;
use crate::resources::shared::failure::During;

pub struct AgentsDataSource;

fn schema() -> Schema {
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
    Schema::new("Every agent of the organization as Dagster+ reports it.")
        .attribute(Attribute::computed("agents", Type::List(Box::new(agent)), "The agents: `id`, `label`, `status` (`RUNNING` or `NOT_RUNNING`), `last_heartbeat_time` (seconds since the epoch), recent `errors` and served `queues`."))
}

/// The data source's value, in the shape of the schema.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AgentsModel {
    agents: Option<Vec<AgentEntry>>,
}

#[derive(Debug, Deserialize, Serialize)]
struct AgentEntry {
    id: String,
    label: Option<String>,
    status: String,
    last_heartbeat_time: serde_json::Number,
    errors: Vec<String>,
    queues: Vec<String>,
}

impl AgentEntry {
    fn flatten(agent: Agent) -> AgentEntry {
        AgentEntry {
            queues: agent.queues(),
            id: agent.id,
            label: agent.agent_label,
            status: agent.status,
            last_heartbeat_time: agent.last_heartbeat_time,
            errors: agent.errors.into_iter().map(|e| e.error.message).collect(),
        }
    }
}

#[async_trait]
impl DataSource for AgentsDataSource {
    type Client = ProviderClient;
    type Model = AgentsModel;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_agents"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        _config: AgentsModel,
        diags: &mut Diagnostics,
    ) -> Option<AgentsModel> {
        let agents = client.dagster.agents().await.during("Could not read the agents");
        let agents = diags.capture(agents)?;
        Some(AgentsModel { agents: Some(agents.into_iter().map(AgentEntry::flatten).collect()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_covers_the_schema() {
        tfplugin::model::check_covers::<AgentsModel>(&schema().block).unwrap();
    }
}
