//! `dagsterbranch_agent`: the dedicated branch-deployment agent as a first-class object: the token it runs
//! with (owned by the resource unless one is given), its configuration rendered for Docker (`dagster.yaml`),
//! Kubernetes (Helm values) and ECS (CloudFormation parameters), and its health as Dagster+ reports it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cty::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};
use tfplugin::{Attribute, Block, Context, Diagnostic, Diagnostics, NestedBlock, Nesting, Resource, Schema, Validator};
use tracing::info;

use crate::dagster::agents::Agent;
use crate::provider::{configured, Configured, SharedConfig};
use crate::resources::agent_token::{apply_scopes, Scopes};
use crate::resources::{decode_change, decode_pair};

const DEFAULT_IMAGE: &str = "docker.io/dagster/dagster-cloud-agent:latest";
const DEFAULT_RUNNING_TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub struct AgentResource {
    schema: Schema,
    config: SharedConfig,
}

impl AgentResource {
    pub fn new(config: SharedConfig) -> Self {
        AgentResource { schema: schema(), config }
    }
}

fn positive(what: &'static str) -> Validator {
    Validator::new(format!("a positive {what}"), move |v| match v.as_number().and_then(cty::Number::to_i64) {
        Some(n) if n >= 1 => Ok(()),
        _ => Err(format!("expected a positive whole {what}.")),
    })
}

fn schema() -> Schema {
    let strings = || Type::List(Box::new(Type::String));
    Schema::new("The dedicated agent that serves branch deployments: its token, its configuration for Docker, Kubernetes and ECS, and its health as Dagster+ reports it.")
        .attribute(Attribute::computed("id", Type::String, "The agent label.").use_state_for_unknown())
        .attribute(Attribute::required("label", Type::String, "The agent label (`dagster_cloud_api.agent_label`), which also identifies it in Dagster+.").validator(Validator::not_blank()).validator(Validator::max_length(255)))
        .attribute(Attribute::optional("token", Type::String, "An existing agent token to run with. When omitted, the resource creates a token scoped to all branch deployments only (plus `deployments`) and revokes it on destroy.").sensitive().validator(Validator::string("an agent token", |s| {
            if s.starts_with("agent:") { Ok(()) } else { Err("An agent token starts with `agent:`; user tokens cannot run agents.".into()) }
        })))
        .attribute(Attribute::optional("deployments", Type::Set(Box::new(Type::String)), "Full deployments the agent also serves; empty for a branch-deployment-only agent.").default(Value::Set(Vec::new())).validator(Validator::each(Validator::not_blank())))
        .attribute(Attribute::optional("queues", strings(), "Additional agent queues the agent serves.").default(Value::List(Vec::new())).validator(Validator::each(Validator::not_blank())))
        .attribute(Attribute::optional("include_default_queue", Type::Bool, "Whether the agent also serves locations without an agent queue.").default(Value::Bool(true)))
        .attribute(Attribute::optional("replicas", Type::Number, "Number of agent replicas.").default(Value::Number(1i64.into())).validator(positive("number of replicas")))
        .attribute(Attribute::optional("branch_deployment_server_ttl_seconds", Type::Number, "How long an idle branch deployment's code server lives.").default(Value::Number(7200i64.into())).validator(positive("number of seconds")))
        .attribute(Attribute::optional("allowed_branch_deployment_locations", strings(), "Only these code locations are served in branch deployments (all when empty).").default(Value::List(Vec::new())).validator(Validator::each(Validator::not_blank())))
        .attribute(Attribute::optional("agent_image", Type::String, "Agent image used in the rendered Helm values.").default(Value::String(DEFAULT_IMAGE.into())).validator(Validator::string("an image reference", crate::image::check_reference)))
        .attribute(Attribute::optional("wait_for_running", Type::Bool, "Wait on create until Dagster+ reports an agent with this label as RUNNING (bounded by `timeouts.create`).").default(Value::Bool(false)))
        .attribute(Attribute::computed("token_id", Type::String, "The id of the token the resource owns; null when `token` is given.").use_state_for_unknown())
        .attribute(Attribute::computed("token_scopes", Type::Set(Box::new(Type::String)), "What the token the resource owns may serve, as Dagster+ reports it: `all_branch_deployments`, and `deployment:<name>` for each of `deployments`. A scope granted or removed outside Terraform shows here as drift, which the next apply undoes. Null when `token` is given."))
        .attribute(Attribute::computed("agent_token", Type::String, "The token the agent runs with.").sensitive())
        .attribute(Attribute::computed("dagster_yaml", Type::String, "The Docker agent's `dagster.yaml` (holds the token).").sensitive())
        .attribute(Attribute::computed("helm_values", Type::String, "Values for the `dagster-cloud-agent` Helm chart (holds the token).").sensitive())
        .attribute(Attribute::computed("ecs_parameters", Type::Map(Box::new(Type::String)), "Parameters for Dagster's ECS agent CloudFormation template (holds the token).").sensitive())
        .attribute(Attribute::computed("env", Type::Map(Box::new(Type::String)), "Environment variables the agent container needs (holds the token).").sensitive())
        .attribute(Attribute::computed("status", Type::String, "`RUNNING` or `NOT_RUNNING`, as last seen."))
        .attribute(Attribute::computed("last_heartbeat_time", Type::Number, "The agent's last heartbeat, in seconds since the Unix epoch; null if it never sent one."))
        .block(NestedBlock::new(
            "timeouts",
            Nesting::Single,
            Block::new("How long to wait for the agent.")
                .attribute(Attribute::optional("create", Type::String, "For example `10m` (the default).").validator(Validator::string("a duration", |s| super::deployment::parse_duration(s).map(|_| ())))),
        ))
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct AgentState {
    id: Option<String>,
    label: Option<String>,
    token: Option<String>,
    deployments: Option<BTreeSet<String>>,
    queues: Option<Vec<String>>,
    include_default_queue: Option<bool>,
    replicas: Option<i64>,
    branch_deployment_server_ttl_seconds: Option<i64>,
    allowed_branch_deployment_locations: Option<Vec<String>>,
    agent_image: Option<String>,
    wait_for_running: Option<bool>,
    token_id: Option<String>,
    token_scopes: Option<BTreeSet<String>>,
    agent_token: Option<String>,
    dagster_yaml: Option<String>,
    helm_values: Option<String>,
    ecs_parameters: Option<BTreeMap<String, String>>,
    env: Option<BTreeMap<String, String>>,
    status: Option<String>,
    last_heartbeat_time: Option<serde_json::Number>,
    timeouts: Option<Timeouts>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct Timeouts {
    create: Option<String>,
}

impl AgentState {
    fn label(&self) -> &str {
        self.label.as_deref().unwrap_or_default()
    }

    fn deployments(&self) -> Vec<String> {
        self.deployments.iter().flatten().cloned().collect()
    }

    fn queues(&self) -> Vec<String> {
        self.queues.clone().unwrap_or_default()
    }

    fn ttl(&self) -> i64 {
        self.branch_deployment_server_ttl_seconds.unwrap_or(7200)
    }

    fn owned_scopes(&self) -> Scopes {
        owned_token_scopes(self.deployments.clone().unwrap_or_default())
    }

    /// The scopes the owned token had when last seen; a state written before `token_scopes` existed (or
    /// imported without a token) assumes they were in line with `deployments`.
    fn seen_scopes(&self) -> Scopes {
        self.token_scopes.as_ref().map(scopes_from_labels).unwrap_or_else(|| self.owned_scopes())
    }

    /// Fills every rendered output from the arguments and the effective token.
    fn render(&mut self, organization: Option<&str>) {
        let token = self.agent_token.clone().unwrap_or_default();
        self.id = self.label.clone();
        self.dagster_yaml = Some(to_yaml(&self.dagster_yaml_document(&token)));
        self.helm_values = Some(to_yaml(&self.helm_document(&token)));
        self.ecs_parameters = Some(self.ecs_document(&token, organization));
        self.env = Some(BTreeMap::from([
            ("DAGSTER_HOME".to_string(), "/opt/dagster/dagster_home".to_string()),
            ("DAGSTER_CLOUD_AGENT_TOKEN".to_string(), token),
        ]));
    }

    /// The Docker agent's `dagster.yaml`, in the shape of Dagster's branch-deployment guide.
    fn dagster_yaml_document(&self, token: &str) -> Json {
        let mut api = Map::new();
        api.insert("agent_token".into(), token.into());
        api.insert("agent_label".into(), self.label().into());
        api.insert("branch_deployments".into(), true.into());
        let deployments = self.deployments();
        if !deployments.is_empty() {
            api.insert("deployments".into(), deployments.into());
        }
        let mut document = Map::new();
        document.insert(
            "instance_class".into(),
            json!({ "module": "dagster_cloud.instance", "class": "DagsterCloudAgentInstance" }),
        );
        document.insert("dagster_cloud_api".into(), api.into());
        if !self.queues().is_empty() || self.include_default_queue == Some(false) {
            document.insert(
                "agent_queues".into(),
                json!({ "include_default_queue": self.include_default_queue.unwrap_or(true), "additional_queues": self.queues() }),
            );
        }
        if let Some(locations) = self.allowed_branch_deployment_locations.as_ref().filter(|l| !l.is_empty()) {
            document.insert("allowed_branch_deployment_locations".into(), locations.clone().into());
        }
        if self.replicas.unwrap_or(1) != 1 {
            document.insert("agent_replicas".into(), self.replicas.into());
        }
        document.insert(
            "user_code_launcher".into(),
            json!({
                "module": "dagster_cloud.workspace.docker",
                "class": "DockerUserCodeLauncher",
                "config": {
                    "networks": ["dagster_cloud_agent"],
                    "server_ttl": { "branch_deployments": { "ttl_seconds": self.ttl() } }
                }
            }),
        );
        Json::Object(document)
    }

    fn helm_document(&self, token: &str) -> Json {
        let image = self.agent_image.as_deref().unwrap_or(DEFAULT_IMAGE);
        let (repository, tag) = split_image(image);
        let mut cloud = Map::new();
        cloud.insert("agentToken".into(), token.into());
        cloud.insert("agentLabel".into(), self.label().into());
        cloud.insert("branchDeployments".into(), true.into());
        let deployments = self.deployments();
        if !deployments.is_empty() {
            cloud.insert("deployments".into(), deployments.into());
        }
        if !self.queues().is_empty() || self.include_default_queue == Some(false) {
            cloud.insert(
                "agentQueues".into(),
                json!({ "includeDefaultQueue": self.include_default_queue.unwrap_or(true), "additionalQueues": self.queues() }),
            );
        }
        json!({
            "dagsterCloud": Json::Object(cloud),
            "dagsterCloudAgent": { "replicas": self.replicas.unwrap_or(1), "image": { "repository": repository, "tag": tag } },
            "workspace": { "serverTTL": { "enabled": true, "ttlSeconds": self.ttl() } }
        })
    }

    fn ecs_document(&self, token: &str, organization: Option<&str>) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("DagsterOrganization".to_string(), organization.unwrap_or_default().to_string()),
            // Empty means "serve branch deployments only" in Dagster's template.
            ("DagsterDeployment".to_string(), self.deployments().join(",")),
            ("EnableBranchDeployments".to_string(), "true".to_string()),
            ("AgentToken".to_string(), token.to_string()),
            ("NumReplicas".to_string(), self.replicas.unwrap_or(1).to_string()),
        ])
    }

    fn observe(&mut self, agents: &[Agent]) {
        let newest = agents.iter().filter(|a| a.agent_label.as_deref() == Some(self.label())).max_by(|a, b| {
            a.last_heartbeat_time.as_f64().unwrap_or(0.0).total_cmp(&b.last_heartbeat_time.as_f64().unwrap_or(0.0))
        });
        match newest {
            Some(agent) => {
                // Any replica running counts as running.
                let running = agents.iter().any(|a| a.agent_label.as_deref() == Some(self.label()) && a.is_running());
                self.status = Some(if running { "RUNNING" } else { "NOT_RUNNING" }.into());
                self.last_heartbeat_time = Some(agent.last_heartbeat_time.clone());
            }
            None => {
                self.status = Some("NOT_RUNNING".into());
                self.last_heartbeat_time = None;
            }
        }
    }
}

const ORGANIZATION_SCOPE: &str = "organization";
const ALL_BRANCH_DEPLOYMENTS_SCOPE: &str = "all_branch_deployments";
const DEPLOYMENT_SCOPE_PREFIX: &str = "deployment:";

/// What a token this resource owns may serve: all branch deployments, and these full deployments.
fn owned_token_scopes(deployments: BTreeSet<String>) -> Scopes {
    Scopes { organization: false, all_branch_deployments: true, deployments }
}

/// Scopes as `token_scopes` shows them.
fn scope_labels(scopes: &Scopes) -> BTreeSet<String> {
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

/// `repo/name:tag` → (`repo/name`, `tag`); a digest or a missing tag renders as `latest`.
fn split_image(image: &str) -> (String, String) {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) if !image.contains('@') => {
            (image[..last_slash + i].to_string(), image[last_slash + i + 1..].to_string())
        }
        _ => (image.split('@').next().unwrap_or(image).to_string(), "latest".to_string()),
    }
}

/// `LABEL` or `LABEL:TOKEN_ID`; a label may itself hold colons, so only an all-digit last part is a token id.
fn parse_import_id(id: &str) -> Result<(String, Option<i64>), Diagnostic> {
    let id = id.trim();
    let (label, token_id) = match id.rsplit_once(':') {
        Some((label, digits)) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let token_id = digits
                .parse::<i64>()
                .map_err(|_| Diagnostic::error("Invalid import id", format!("`{digits}` is not an agent token id.")))?;
            (label, Some(token_id))
        }
        _ => (id, None),
    };
    if label.trim().is_empty() || label.chars().count() > 255 {
        return Err(Diagnostic::error(
            "Invalid import id",
            format!("`{id}` is not an agent label. Import with `LABEL` (the agent runs with the configured `token`) or `LABEL:TOKEN_ID` (the resource owns that token), e.g. `terraform import dagsterbranch_agent.branch branch-deployments:42`."),
        ));
    }
    Ok((label.to_string(), token_id))
}

fn to_yaml(document: &Json) -> String {
    serde_norway::to_string(&yaml_value(document)).unwrap_or_default()
}

/// Converts explicitly: serde_json's exact-number representation would otherwise serialize as an internal
/// marker object instead of a YAML number. Key order is kept.
fn yaml_value(value: &Json) -> serde_norway::Value {
    use serde_norway::Value as Yaml;
    match value {
        Json::Null => Yaml::Null,
        Json::Bool(b) => Yaml::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Yaml::Number(i.into()),
            (None, Some(f)) => Yaml::Number(f.into()),
            _ => Yaml::String(n.to_string()),
        },
        Json::String(s) => Yaml::String(s.clone()),
        Json::Array(items) => Yaml::Sequence(items.iter().map(yaml_value).collect()),
        Json::Object(map) => Yaml::Mapping(map.iter().map(|(k, v)| (Yaml::String(k.clone()), yaml_value(v))).collect()),
    }
}

/// The owned token's scopes after apply: what `deployments` asks for, so that drift seen on refresh shows as
/// a change. A given token's scopes are not this resource's business.
fn plan_token_scopes(plan: &mut tfplugin::Plan<'_>) {
    if plan.planned.is_null() {
        return;
    }
    let planned = match (plan.planned.get("token"), plan.planned.get("deployments")) {
        (Some(Value::Null) | None, Some(Value::Set(names))) if names.iter().all(|n| n.as_str().is_some()) => {
            let deployments = names.iter().filter_map(Value::as_str).map(str::to_string).collect();
            Value::Set(scope_labels(&owned_token_scopes(deployments)).into_iter().map(Value::String).collect())
        }
        // A token not known yet may still turn out null, and then the resource owns one.
        (Some(Value::Null | Value::Unknown(_)) | None, _) => Value::unknown(),
        _ => Value::Null,
    };
    if !plan.is_create() && plan.prior.get("token_scopes") != Some(&planned) {
        // Scope drift alone is a change too; the apply then reads the agent's health again.
        plan.set("status", Value::unknown());
        plan.set("last_heartbeat_time", Value::unknown());
    }
    plan.set("token_scopes", planned);
}

impl AgentResource {
    fn encode(&self, state: &AgentState, diags: &mut Diagnostics) -> Option<Value> {
        diags.capture(tfplugin::encode(state, &self.schema.value_type()))
    }

    async fn create_owned_token(&self, config: &Configured, state: &mut AgentState) -> Result<(), Diagnostic> {
        super::ensure_full_deployments_exist(config, &state.owned_scopes().deployments).await?;
        let client = &config.dagster;
        let token = client
            .create_agent_token(Some(&format!("branch deployment agent {}", state.label())))
            .await
            .map_err(|e| Diagnostic::error("Could not create the agent's token", e.to_string()))?;
        info!(token_id = token.id, label = state.label(), "agent token created for the agent");
        state.token_id = Some(token.id.to_string());
        state.agent_token = token.token.as_ref().map(|t| t.expose().to_string());
        state.token_scopes = Some(scope_labels(&Scopes::new_token()));
        apply_scopes(client, token.id, &Scopes::new_token(), &state.owned_scopes()).await?;
        state.token_scopes = Some(scope_labels(&state.owned_scopes()));
        Ok(())
    }

    async fn revoke_owned_token(&self, config: &Configured, token_id: &str) -> Result<(), Diagnostic> {
        let id: i64 = token_id
            .parse()
            .map_err(|_| Diagnostic::error("Invalid token id in state", format!("`{token_id}` is not a token id.")))?;
        config
            .dagster
            .revoke_agent_token(id)
            .await
            .map_err(|e| Diagnostic::error("Could not revoke the agent's token", e.to_string()))
    }

    /// Takes an existing token as the resource's own. Its value goes into the rendered configuration, and its
    /// scopes must be those of a token this resource creates, which it keeps in line with `deployments`.
    async fn adopt_token(&self, config: &Configured, token_id: i64, state: &mut AgentState) -> Result<(), Diagnostic> {
        let elsewhere = "Import the token as a `dagsterbranch_agent_token` and pass it in `token`, or import the agent by its label alone.";
        let inventory = config
            .dagster
            .agent_token_inventory()
            .await
            .map_err(|e| Diagnostic::error("Could not read agent tokens", e.to_string()))?;
        let token = inventory.tokens.iter().find(|t| t.id == token_id && !t.revoked).ok_or_else(|| {
            Diagnostic::error(
                "Agent token not found",
                format!("Dagster+ has no agent token with id {token_id} that is not revoked."),
            )
        })?;
        let Some(secret) = &token.token else {
            return Err(Diagnostic::error(
                "Agent token value not available",
                format!("Dagster+ did not return the value of agent token {token_id}, and the agent's configuration holds it. {elsewhere}"),
            ));
        };
        let granted = Scopes::granted(token, &inventory.deployments);
        if granted != owned_token_scopes(granted.deployments.clone()) {
            let reach = if granted.organization {
                "may serve every deployment of the organization"
            } else {
                "may not serve branch deployments"
            };
            return Err(Diagnostic::error(
                "Agent token has other scopes",
                format!("Agent token {token_id} {reach}; a token this resource owns serves all branch deployments and, besides them, only the full deployments in `deployments`. {elsewhere}"),
            ));
        }
        state.token_id = Some(token_id.to_string());
        state.agent_token = Some(secret.expose().to_string());
        state.token_scopes = Some(scope_labels(&granted));
        state.deployments = Some(granted.deployments);
        Ok(())
    }

    /// Waits until Dagster+ reports an agent with this label as RUNNING.
    async fn wait_for_running(
        &self,
        ctx: &Context,
        config: &Configured,
        state: &mut AgentState,
    ) -> Result<(), Diagnostic> {
        let timeout = state
            .timeouts
            .as_ref()
            .and_then(|t| t.create.as_deref())
            .and_then(|t| super::deployment::parse_duration(t).ok())
            .unwrap_or(DEFAULT_RUNNING_TIMEOUT);
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(250);
        loop {
            let agents = config
                .dagster
                .agents()
                .await
                .map_err(|e| Diagnostic::error("Could not read the agents", e.to_string()))?;
            state.observe(&agents);
            if state.status.as_deref() == Some("RUNNING") {
                return Ok(());
            }
            let seen = match &state.last_heartbeat_time {
                Some(t) => format!("its last heartbeat was at {t} (seconds since the epoch) and it is NOT_RUNNING"),
                None => "no agent with this label has sent a heartbeat".to_string(),
            };
            if Instant::now() >= deadline {
                return Err(Diagnostic::error(
                    format!("Agent `{}` is not running", state.label()),
                    format!("After waiting {}s, {seen}. Start the agent with the rendered configuration, or set `wait_for_running = false`.", timeout.as_secs()),
                )
                .at(Path::root().attr("wait_for_running")));
            }
            if ctx.sleep(delay.min(deadline.saturating_duration_since(Instant::now()))).await.is_err() {
                return Err(Diagnostic::error(
                    format!("Interrupted while waiting for agent `{}`", state.label()),
                    seen,
                ));
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Brings the token, rendered outputs and health to `planned`; returns the state that exists, also on
    /// failure.
    async fn converge(
        &self,
        ctx: &Context,
        config: &Configured,
        prior: Option<&AgentState>,
        planned: &AgentState,
        diags: &mut Diagnostics,
    ) -> Option<AgentState> {
        let mut state = planned.clone();
        state.token_id = prior.and_then(|p| p.token_id.clone());
        state.agent_token = prior.and_then(|p| p.agent_token.clone());
        state.token_scopes = prior.and_then(|p| p.token_scopes.clone());
        if let Some(given) = &planned.token {
            if let Some(owned) = state.token_id.take() {
                if let Err(d) = self.revoke_owned_token(config, &owned).await {
                    diags.push(d);
                    state.token_id = Some(owned);
                    return Some(state);
                }
            }
            state.agent_token = Some(given.clone());
            state.token_scopes = None;
        } else if let Some(owned) = state.token_id.clone() {
            let before = prior.map(AgentState::seen_scopes).unwrap_or_else(Scopes::new_token);
            if before != state.owned_scopes() {
                match apply_scopes(&config.dagster, owned.parse().unwrap_or_default(), &before, &state.owned_scopes())
                    .await
                {
                    Ok(()) => state.token_scopes = Some(scope_labels(&state.owned_scopes())),
                    Err(d) => diags.push(d),
                }
            }
        } else if let Err(d) = self.create_owned_token(config, &mut state).await {
            diags.push(d);
            // A token created before the failure is recorded so that it is not orphaned.
            if state.token_id.is_none() {
                return prior.cloned();
            }
        }
        state.render(config.organization.as_deref());
        let creating = prior.is_none();
        if creating && planned.wait_for_running == Some(true) && !diags.has_errors() {
            if let Err(d) = self.wait_for_running(ctx, config, &mut state).await {
                diags.push(d);
            }
            return Some(state);
        }
        match config.dagster.agents().await {
            Ok(agents) => state.observe(&agents),
            Err(e) => diags.push(Diagnostic::error("Could not read the agents", e.to_string())),
        }
        Some(state)
    }
}

#[async_trait]
impl Resource for AgentResource {
    fn type_name(&self) -> &'static str {
        "dagsterbranch_agent"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut tfplugin::Plan<'_>, diags: &mut Diagnostics) {
        super::check_access_before_create(&self.config, plan, diags).await;
        super::check_full_deployment_names(&self.config, plan, "deployments", diags).await;
        plan_token_scopes(plan);
    }

    async fn create(&self, ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let (config, plan) = diags.capture(decode_pair::<AgentState>(&self.config, planned))?;
        let state = self.converge(ctx, &config, None, &plan, diags).await?;
        self.encode(&state, diags)
    }

    async fn read(&self, _ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let (config, mut current) = decode_pair::<AgentState>(&self.config, state)?;
            if let Some(token_id) = &current.token_id {
                let inventory = config
                    .dagster
                    .agent_token_inventory()
                    .await
                    .map_err(|e| Diagnostic::error("Could not read agent tokens", e.to_string()))?;
                let Some(token) = inventory.tokens.iter().find(|t| t.id.to_string() == *token_id && !t.revoked) else {
                    // The agent's own token is gone: the agent cannot run; plan it anew with a new token.
                    return Ok(None);
                };
                current.token_scopes = Some(scope_labels(&Scopes::granted(token, &inventory.deployments)));
            }
            let agents = config
                .dagster
                .agents()
                .await
                .map_err(|e| Diagnostic::error("Could not read the agents", e.to_string()))?;
            current.observe(&agents);
            Ok::<_, Diagnostic>(Some(current))
        }
        .await;
        match result {
            Ok(Some(current)) => self.encode(&current, diags),
            Ok(None) => None,
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    async fn update(&self, ctx: &Context, prior: &Value, planned: &Value, diags: &mut Diagnostics) -> Value {
        let decoded = decode_change::<AgentState>(&self.config, prior, planned);
        let (config, before, after) = match decoded {
            Ok(triple) => triple,
            Err(d) => {
                diags.push(d);
                return prior.clone();
            }
        };
        match self.converge(ctx, &config, Some(&before), &after, diags).await {
            Some(state) => self.encode(&state, diags).unwrap_or_else(|| prior.clone()),
            None => prior.clone(),
        }
    }

    async fn delete(&self, _ctx: &Context, state: &Value, diags: &mut Diagnostics) {
        let result = async {
            let (config, current) = decode_pair::<AgentState>(&self.config, state)?;
            if let Some(token_id) = &current.token_id {
                self.revoke_owned_token(&config, token_id).await?;
                info!(token_id, "agent's token revoked");
            }
            Ok::<_, Diagnostic>(())
        }
        .await;
        if let Err(d) = result {
            diags.push(d);
        }
    }

    /// `LABEL` adopts the agent and runs it with the configured `token` (or a new one the resource owns);
    /// `LABEL:TOKEN_ID` also adopts an existing token as the resource's own, revoked on destroy.
    async fn import(&self, _ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let (label, token_id) = parse_import_id(id)?;
            let config = configured(&self.config)?;
            let mut state = AgentState { label: Some(label), ..AgentState::default() };
            if let Some(token_id) = token_id {
                self.adopt_token(&config, token_id, &mut state).await?;
                state.render(config.organization.as_deref());
            } else {
                state.id = state.label.clone();
            }
            let agents = config
                .dagster
                .agents()
                .await
                .map_err(|e| Diagnostic::error("Could not read the agents", e.to_string()))?;
            if !agents.iter().any(|a| a.agent_label.as_deref() == Some(state.label())) {
                diags.push(Diagnostic::warning(
                    format!("No agent labelled `{}` has reported to Dagster+", state.label()),
                    "The agent was imported anyway; check the label if one is running.",
                ));
            }
            Ok::<_, Diagnostic>(state)
        }
        .await;
        match result {
            Ok(state) => {
                let value = self.encode(&state, diags)?;
                Some(self.schema.with_defaults(value))
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(
            split_image("docker.io/dagster/dagster-cloud-agent:1.13.27"),
            ("docker.io/dagster/dagster-cloud-agent".into(), "1.13.27".into())
        );
        assert_eq!(split_image("localhost:5000/agent"), ("localhost:5000/agent".into(), "latest".into()));
    }

    #[test]
    fn import_ids_split_into_label_and_token_id() {
        assert_eq!(parse_import_id("branch-deployments").unwrap(), ("branch-deployments".into(), None));
        assert_eq!(parse_import_id(" branch-deployments:42 ").unwrap(), ("branch-deployments".into(), Some(42)));
        assert_eq!(parse_import_id("team:branch").unwrap(), ("team:branch".into(), None));
        assert_eq!(parse_import_id("team:branch:7").unwrap(), ("team:branch".into(), Some(7)));
        assert_eq!(parse_import_id("agent:").unwrap(), ("agent:".into(), None));
        assert!(parse_import_id(":42").is_err());
        assert!(parse_import_id("  ").is_err());
        assert!(parse_import_id("a:99999999999999999999").is_err());
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
    fn rendering_is_deterministic() {
        let mut a = AgentState {
            label: Some("bd".into()),
            agent_token: Some("agent:o:1".into()),
            queues: Some(vec!["q".into()]),
            ..AgentState::default()
        };
        let mut b = a.clone();
        a.render(Some("o"));
        b.render(Some("o"));
        assert_eq!(a.dagster_yaml, b.dagster_yaml);
        assert_eq!(a.helm_values, b.helm_values);
    }
}
