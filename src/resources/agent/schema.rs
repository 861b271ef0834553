//! The `dagsterbranch_agent` schema, and the defaults an import starts from.

use cty::{Type, Value};
use tfplugin::{Attribute, Schema, Validator};

use crate::resources::shared::secret_store;
use crate::resources::shared::timeouts::{self, Operation};
use crate::resources::shared::validators::whole_number_at_least;

pub(super) const DEFAULT_IMAGE: &str = "docker.io/dagster/dagster-cloud-agent:latest";
pub(super) const DEFAULT_REPLICAS: i64 = 1;
pub(super) const DEFAULT_SERVER_TTL_SECONDS: i64 = 7200;
pub(super) const DEFAULT_INCLUDE_DEFAULT_QUEUE: bool = true;
pub(super) const DEFAULT_WAIT_FOR_RUNNING: bool = false;

/// The token value's shape; the message never quotes the value.
fn agent_token() -> Validator {
    Validator::string("an agent token", |s| {
        if s.starts_with("agent:") {
            Ok(())
        } else {
            Err("An agent token starts with `agent:`; user tokens cannot run agents.".into())
        }
    })
}

pub(super) fn schema() -> Schema {
    let strings = || Type::List(Box::new(Type::String));
    Schema::new("The dedicated agent that serves branch deployments: its token, its configuration for Docker, Kubernetes and ECS, and its health as Dagster+ reports it.")
        .attribute(Attribute::computed("id", Type::String, "The agent label.").use_state_for_unknown())
        .attribute(Attribute::required("label", Type::String, "The agent label (`dagster_cloud_api.agent_label`), which also identifies it in Dagster+.").validator(Validator::not_blank()).validator(Validator::max_length(255)))
        .attribute(Attribute::optional("token", Type::String, "An existing agent token to run with; it is stored in state, and so is everything rendered with it. When neither this nor `token_wo` is set, the resource creates a token scoped to all branch deployments only (plus `deployments`) and revokes it on destroy.").sensitive().validator(agent_token()))
        .attribute(Attribute::optional("token_wo", Type::String, "An existing agent token to run with, as a write-only argument (Terraform 1.11 and later): it is never stored in state or plan files, and can come from an ephemeral variable. Conflicts with `token`. Apply checks it with Dagster+ when it is first set and whenever `token_wo_version` changes. With it, nothing the resource records holds the token: `agent_token` is null, and `dagster_yaml`, `helm_values`, `ecs_parameters` and `env` refer to it instead of holding it: `dagster.yaml` reads the environment variable `DAGSTER_CLOUD_AGENT_TOKEN`, the Helm values name the Kubernetes secret `dagster-cloud-agent-token` (key `DAGSTER_CLOUD_AGENT_TOKEN`), and the ECS parameter `AgentToken` and `env` hold the placeholder `${DAGSTER_CLOUD_AGENT_TOKEN}` to substitute when deploying. Older Terraform versions would store it, so they are refused: use `token` there.").sensitive().write_only().stored_alternative("token").validator(agent_token()))
        .attribute(Attribute::optional("token_wo_version", Type::String, "Any value (a number or a string); changing it makes apply read `token_wo` again. Terraform stores no write-only value, so a new `token_wo` alone plans no change: bump this with it."))
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
        .attribute(Attribute::computed("agent_token", Type::String, "The token the agent runs with; null with `token_wo` or `store_secret_in_state = false`.").sensitive())
        .attribute(Attribute::computed("dagster_yaml", Type::String, "The Docker agent's `dagster.yaml` (holds the token; with `token_wo`, reads it from `DAGSTER_CLOUD_AGENT_TOKEN`).").sensitive())
        .attribute(Attribute::computed("helm_values", Type::String, "Values for the `dagster-cloud-agent` Helm chart (holds the token; with `token_wo`, names the secret `dagster-cloud-agent-token` instead).").sensitive())
        .attribute(Attribute::computed("ecs_parameters", Type::Map(Box::new(Type::String)), "Parameters for Dagster's ECS agent CloudFormation template (holds the token; with `token_wo`, `AgentToken` is the placeholder `${DAGSTER_CLOUD_AGENT_TOKEN}`).").sensitive())
        .attribute(Attribute::computed("env", Type::Map(Box::new(Type::String)), "Environment variables the agent container needs (holds the token; with `token_wo`, the placeholder `${DAGSTER_CLOUD_AGENT_TOKEN}`).").sensitive())
        .attribute(Attribute::computed("status", Type::String, "`RUNNING` or `NOT_RUNNING`, as last seen."))
        .attribute(Attribute::computed("last_heartbeat_time", Type::Number, "The agent's last heartbeat, in seconds since the Unix epoch; null if it never sent one."))
        .attributes(secret_store::attributes(
            "Keep the owned token in state (`agent_token`, and in the rendered outputs; the default). `false` needs a `secret_store`: state then holds no token, only the store's ARN, version and fingerprint, and the rendered outputs refer to the token as with `token_wo`.",
            "SHA-256 (hex) of the JSON document written to the store. A value changed or deleted outside Terraform shows as drift here (null), and the next apply writes the store again with the same token (read from Dagster+).",
        ))
        .block(secret_store::block("the token the resource owns (`{\"DAGSTER_CLOUD_AGENT_TOKEN\": \"agent:…\"}`, the shape ECS task `secrets` and External Secrets read a key from); only when neither `token` nor `token_wo` is set"))
        .block(timeouts::block("How long to wait for the agent.", &[(Operation::Create, "For example `10m` (the default).")]))
}
