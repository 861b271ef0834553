//! The `dagsterbranch_agent` schema, and the defaults an import starts from.

use cty::{Type, Value};
use tfplugin::{Attribute, Schema, Validator};

use crate::resources::shared::timeouts::{self, Operation};
use crate::resources::shared::validators::whole_number_at_least;

pub(super) const DEFAULT_IMAGE: &str = "docker.io/dagster/dagster-cloud-agent:latest";
pub(super) const DEFAULT_REPLICAS: i64 = 1;
pub(super) const DEFAULT_SERVER_TTL_SECONDS: i64 = 7200;
pub(super) const DEFAULT_INCLUDE_DEFAULT_QUEUE: bool = true;
pub(super) const DEFAULT_WAIT_FOR_RUNNING: bool = false;

pub(super) fn schema() -> Schema {
    let strings = || Type::List(Box::new(Type::String));
    Schema::new("The dedicated agent that serves branch deployments: its token, its configuration for Docker, Kubernetes and ECS, and its health as Dagster+ reports it.")
        .attribute(Attribute::computed("id", Type::String, "The agent label.").use_state_for_unknown())
        .attribute(Attribute::required("label", Type::String, "The agent label (`dagster_cloud_api.agent_label`), which also identifies it in Dagster+.").validator(Validator::not_blank()).validator(Validator::max_length(255)))
        .attribute(Attribute::optional("token", Type::String, "An existing agent token to run with. When omitted, the resource creates a token scoped to all branch deployments only (plus `deployments`) and revokes it on destroy.").sensitive().validator(Validator::string("an agent token", |s| {
            if s.starts_with("agent:") { Ok(()) } else { Err("An agent token starts with `agent:`; user tokens cannot run agents.".into()) }
        })))
        .attribute(Attribute::optional("deployments", Type::Set(Box::new(Type::String)), "Full deployments the agent also serves; empty for a branch-deployment-only agent.").default(Value::Set(Vec::new())).validator(Validator::each(Validator::not_blank())))
        .attribute(Attribute::optional("queues", strings(), "Additional agent queues the agent serves.").default(Value::List(Vec::new())).validator(Validator::each(Validator::not_blank())))
        .attribute(Attribute::optional("include_default_queue", Type::Bool, "Whether the agent also serves locations without an agent queue.").default(Value::Bool(DEFAULT_INCLUDE_DEFAULT_QUEUE)))
        .attribute(Attribute::optional("replicas", Type::Number, "Number of agent replicas.").default(Value::Number(DEFAULT_REPLICAS.into())).validator(whole_number_at_least(1, "replicas")))
        .attribute(Attribute::optional("branch_deployment_server_ttl_seconds", Type::Number, "How long an idle branch deployment's code server lives.").default(Value::Number(DEFAULT_SERVER_TTL_SECONDS.into())).validator(whole_number_at_least(1, "seconds")))
        .attribute(Attribute::optional("allowed_branch_deployment_locations", strings(), "Only these code locations are served in branch deployments (all when empty).").default(Value::List(Vec::new())).validator(Validator::each(Validator::not_blank())))
        .attribute(Attribute::optional("agent_image", Type::String, "Agent image used in the rendered Helm values.").default(Value::String(DEFAULT_IMAGE.into())).validator(Validator::string("an image reference", crate::image::check_reference)))
        .attribute(Attribute::optional("wait_for_running", Type::Bool, "Wait on create until Dagster+ reports an agent with this label as RUNNING (bounded by `timeouts.create`).").default(Value::Bool(DEFAULT_WAIT_FOR_RUNNING)))
        .attribute(Attribute::computed("token_id", Type::String, "The id of the token the resource owns; null when `token` is given.").use_state_for_unknown())
        .attribute(Attribute::computed("token_scopes", Type::Set(Box::new(Type::String)), "What the token the resource owns may serve, as Dagster+ reports it: `all_branch_deployments`, and `deployment:<name>` for each of `deployments`. A scope granted or removed outside Terraform shows here as drift, which the next apply undoes. Null when `token` is given."))
        .attribute(Attribute::computed("agent_token", Type::String, "The token the agent runs with.").sensitive())
        .attribute(Attribute::computed("dagster_yaml", Type::String, "The Docker agent's `dagster.yaml` (holds the token).").sensitive())
        .attribute(Attribute::computed("helm_values", Type::String, "Values for the `dagster-cloud-agent` Helm chart (holds the token).").sensitive())
        .attribute(Attribute::computed("ecs_parameters", Type::Map(Box::new(Type::String)), "Parameters for Dagster's ECS agent CloudFormation template (holds the token).").sensitive())
        .attribute(Attribute::computed("env", Type::Map(Box::new(Type::String)), "Environment variables the agent container needs (holds the token).").sensitive())
        .attribute(Attribute::computed("status", Type::String, "`RUNNING` or `NOT_RUNNING`, as last seen."))
        .attribute(Attribute::computed("last_heartbeat_time", Type::Number, "The agent's last heartbeat, in seconds since the Unix epoch; null if it never sent one."))
        .block(timeouts::block("How long to wait for the agent.", &[(Operation::Create, "For example `10m` (the default).")]))
}
