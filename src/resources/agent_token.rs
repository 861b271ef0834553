//! `dagsterbranch_agent_token`: a Dagster+ agent token and the scopes it may act in.
//!
//! Dagster+ gives every new token an organization-wide AGENT grant; the resource then adds or removes
//! grants until the token has exactly the configured scopes. The description changes in place.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use cty::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, Diagnostic, Diagnostics, Resource, Schema, Validator};
use tracing::{info, warn};

use crate::dagster::deployments::FullDeployment;
use crate::dagster::tokens::{AgentToken, GrantScope};
use crate::dagster::{self, Client};
use crate::provider::{configured, SharedConfig};

pub struct AgentTokenResource {
    schema: Schema,
    config: SharedConfig,
}

impl AgentTokenResource {
    pub fn new(config: SharedConfig) -> Self {
        AgentTokenResource { schema: schema(), config }
    }
}

fn schema() -> Schema {
    Schema::new("A Dagster+ agent token. Agents authenticate with it; its scopes decide which deployments the agent may serve. The token value is sensitive and is known only to the Terraform state that created it.")
        .attribute(Attribute::computed("id", Type::String, "The token's numeric id in Dagster+.").use_state_for_unknown())
        .attribute(
            Attribute::optional("description", Type::String, "A description shown in the Dagster+ UI. Changed in place.")
                .validator(Validator::max_length(255)),
        )
        .attribute(
            Attribute::optional("organization", Type::Bool, "Whether the token may serve every deployment of the organization (Dagster+ grants this to new tokens by default).")
                .default(Value::Bool(true)),
        )
        .attribute(
            Attribute::optional("all_branch_deployments", Type::Bool, "Whether the token may serve all branch deployments.")
                .default(Value::Bool(false)),
        )
        .attribute(
            Attribute::optional("deployments", Type::Set(Box::new(Type::String)), "Names of full deployments (for example `prod`) the token may serve.")
                .default(Value::Set(Vec::new()))
                .validator(Validator::each(Validator::not_blank())),
        )
        .attribute(Attribute::computed("token", Type::String, "The agent token (`agent:ORG:…`).").sensitive().use_state_for_unknown())
        .attribute(Attribute::computed("create_timestamp", Type::Number, "When the token was created, in seconds since the Unix epoch.").use_state_for_unknown())
}

/// The resource's state, in the shape of the schema.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct AgentTokenState {
    id: Option<String>,
    description: Option<String>,
    organization: Option<bool>,
    all_branch_deployments: Option<bool>,
    deployments: Option<BTreeSet<String>>,
    token: Option<String>,
    create_timestamp: Option<serde_json::Number>,
}

/// The scopes a token has or should have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    pub organization: bool,
    pub all_branch_deployments: bool,
    pub deployments: BTreeSet<String>,
}

impl Scopes {
    /// What a new token has: Dagster+ grants every new token the organization scope.
    pub fn new_token() -> Scopes {
        Scopes { organization: true, ..Scopes::default() }
    }

    /// The scopes Dagster+ reports for `token`; `deployments` names the deployments its grants point at.
    pub fn granted(token: &AgentToken, deployments: &[FullDeployment]) -> Scopes {
        let grants = token.permissions.as_ref();
        Scopes {
            organization: grants.is_some_and(|g| g.organization_permission_grant.is_some()),
            all_branch_deployments: grants.is_some_and(|g| g.all_branch_deployments_permission_grant.is_some()),
            deployments: grants
                .map(|g| g.deployment_permission_grants.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|grant| grant.deployment_id)
                .map(|id| deployment_name(deployments, id))
                .collect(),
        }
    }
}

impl AgentTokenState {
    fn scopes(&self) -> Scopes {
        Scopes {
            organization: self.organization.unwrap_or(true),
            all_branch_deployments: self.all_branch_deployments.unwrap_or(false),
            deployments: self.deployments.clone().unwrap_or_default(),
        }
    }

    fn token_id(&self) -> Result<i64, Diagnostic> {
        let id = self.id.as_deref().unwrap_or_default();
        id.parse().map_err(|_| {
            Diagnostic::error("Invalid agent token id", format!("`{id}` is not a Dagster+ agent token id (a number)."))
                .at(Path::root().attr("id"))
        })
    }

    /// Takes what Dagster+ reports.
    fn refresh_from(&mut self, token: &AgentToken, deployments: &[FullDeployment]) {
        self.id = Some(token.id.to_string());
        self.description = token.description.clone();
        let scopes = Scopes::granted(token, deployments);
        self.organization = Some(scopes.organization);
        self.all_branch_deployments = Some(scopes.all_branch_deployments);
        self.deployments = Some(scopes.deployments);
        if let Some(secret) = &token.token {
            // Kept from creation; filled after import when the API reveals it.
            if self.token.is_none() {
                self.token = Some(secret.expose().to_string());
            }
        }
        if token.create_timestamp.is_some() {
            self.create_timestamp = token.create_timestamp.clone();
        }
    }
}

/// A deployment's name; a grant on a deployment that has since been deleted is shown by id so that it
/// appears as drift and is removed.
fn deployment_name(deployments: &[FullDeployment], id: i64) -> String {
    deployments
        .iter()
        .find(|d| d.deployment_id == id)
        .map(|d| d.deployment_name.clone())
        .unwrap_or_else(|| format!("#{id}"))
}

fn api_error(summary: &str, error: dagster::Error) -> Diagnostic {
    Diagnostic::error(summary, error.to_string())
}

/// Adds missing grants before removing surplus ones, so a token being re-scoped never loses access in
/// between.
pub async fn apply_scopes(
    client: &Client,
    token_id: i64,
    current: &Scopes,
    desired: &Scopes,
) -> Result<(), Diagnostic> {
    let deployment_ids = if desired.deployments.is_empty() && current.deployments.is_empty() {
        Vec::new()
    } else {
        client
            .agent_token_inventory()
            .await
            .map_err(|e| api_error("Could not list deployments", e))?
            .deployments
            .clone()
    };
    let id_of = |name: &str| -> Result<i64, Diagnostic> {
        if let Some(id) = name.strip_prefix('#').and_then(|n| n.parse().ok()) {
            return Ok(id);
        }
        deployment_ids.iter().find(|d| d.deployment_name == name).map(|d| d.deployment_id).ok_or_else(|| {
            let known: Vec<&str> = deployment_ids.iter().map(|d| d.deployment_name.as_str()).collect();
            Diagnostic::error(
                "Unknown deployment",
                format!("There is no full deployment named `{name}`. Known deployments: {}.", known.join(", ")),
            )
            .at(Path::root().attr("deployments"))
        })
    };
    let mut additions = Vec::new();
    let mut removals = Vec::new();
    if desired.organization && !current.organization {
        additions.push(GrantScope::Organization);
    }
    if !desired.organization && current.organization {
        removals.push(GrantScope::Organization);
    }
    if desired.all_branch_deployments && !current.all_branch_deployments {
        additions.push(GrantScope::AllBranchDeployments);
    }
    if !desired.all_branch_deployments && current.all_branch_deployments {
        removals.push(GrantScope::AllBranchDeployments);
    }
    for name in desired.deployments.difference(&current.deployments) {
        additions.push(GrantScope::Deployment(id_of(name)?));
    }
    for name in current.deployments.difference(&desired.deployments) {
        removals.push(GrantScope::Deployment(id_of(name)?));
    }
    for scope in additions {
        client
            .grant_agent_scope(token_id, scope)
            .await
            .map_err(|e| api_error("Could not grant the agent token a scope", e))?;
    }
    for scope in removals {
        client
            .remove_agent_scope(token_id, scope)
            .await
            .map_err(|e| api_error("Could not remove a scope from the agent token", e))?;
    }
    Ok(())
}

impl AgentTokenResource {
    fn client(&self) -> Result<Arc<crate::provider::Configured>, Diagnostic> {
        configured(&self.config)
    }

    fn encode(&self, state: &AgentTokenState, diags: &mut Diagnostics) -> Option<Value> {
        match tfplugin::encode(state, &self.schema.value_type()) {
            Ok(value) => Some(value),
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    /// Reads the token back from Dagster+; `Ok(None)` when it was revoked or deleted.
    async fn fetch(&self, client: &Client, state: &AgentTokenState) -> Result<Option<AgentTokenState>, Diagnostic> {
        let token_id = state.token_id()?;
        let inventory =
            client.agent_token_inventory().await.map_err(|e| api_error("Could not read agent tokens", e))?;
        let Some(token) = inventory.tokens.iter().find(|t| t.id == token_id && !t.revoked) else {
            return Ok(None);
        };
        let mut refreshed = state.clone();
        refreshed.refresh_from(token, &inventory.deployments);
        Ok(Some(refreshed))
    }
}

#[async_trait]
impl Resource for AgentTokenResource {
    fn type_name(&self) -> &'static str {
        "dagsterbranch_agent_token"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut tfplugin::Plan<'_>, diags: &mut Diagnostics) {
        super::check_access_before_create(&self.config, plan, diags).await;
        super::check_full_deployment_names(&self.config, plan, "deployments", diags).await;
    }

    async fn create(&self, _ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let configured =
            diags.capture(self.client().and_then(|c| tfplugin::decode::<AgentTokenState>(planned).map(|p| (c, p))))?;
        let (config, plan) = configured;
        let client = &config.dagster;
        if let Err(d) = super::ensure_full_deployments_exist(&config, &plan.scopes().deployments).await {
            diags.push(d);
            return None;
        }
        let token = match client.create_agent_token(plan.description.as_deref()).await {
            Ok(token) => token,
            Err(e) => {
                diags.push(api_error("Could not create the agent token", e));
                return None;
            }
        };
        info!(token_id = token.id, "agent token created");
        let mut state = plan.clone();
        state.refresh_from(&token, &[]);
        // From here on the token exists: every path below returns it so that Terraform records it.
        if let Err(d) = apply_scopes(client, token.id, &state.scopes(), &plan.scopes()).await {
            diags.push(d);
            warn!(token_id = token.id, "agent token created but its scopes could not be set");
        }
        let refreshed = match self.fetch(client, &state).await {
            Ok(Some(refreshed)) => refreshed,
            Ok(None) => state,
            Err(d) => {
                diags.push(d);
                state
            }
        };
        self.encode(&refreshed, diags)
    }

    async fn read(&self, _ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let config = self.client()?;
            let current = tfplugin::decode::<AgentTokenState>(state)?;
            self.fetch(&config.dagster, &current).await
        }
        .await;
        match result {
            Ok(Some(refreshed)) => self.encode(&refreshed, diags),
            Ok(None) => {
                info!("agent token revoked or deleted outside Terraform; it will be planned for creation");
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    async fn update(&self, _ctx: &Context, prior: &Value, planned: &Value, diags: &mut Diagnostics) -> Value {
        let result = async {
            let config = self.client()?;
            let before = tfplugin::decode::<AgentTokenState>(prior)?;
            let after = tfplugin::decode::<AgentTokenState>(planned)?;
            let token_id = before.token_id()?;
            let client = &config.dagster;
            if before.description != after.description {
                client
                    .edit_agent_token_description(token_id, after.description.as_deref())
                    .await
                    .map_err(|e| api_error("Could not change the agent token's description", e))?;
            }
            if before.scopes() != after.scopes() {
                apply_scopes(client, token_id, &before.scopes(), &after.scopes()).await?;
            }
            self.fetch(client, &before).await
        }
        .await;
        match result {
            Ok(Some(state)) => self.encode(&state, diags).unwrap_or_else(|| prior.clone()),
            Ok(None) => {
                diags.error("Agent token disappeared", "The agent token was revoked while it was being updated.");
                prior.clone()
            }
            Err(d) => {
                diags.push(d);
                // Re-read what the token looks like now so that state matches reality after a partial update.
                self.read(&Context::detached(), prior, diags).await.unwrap_or_else(|| prior.clone())
            }
        }
    }

    async fn delete(&self, _ctx: &Context, state: &Value, diags: &mut Diagnostics) {
        let result = async {
            let config = self.client()?;
            let token_id = tfplugin::decode::<AgentTokenState>(state)?.token_id()?;
            config
                .dagster
                .revoke_agent_token(token_id)
                .await
                .map_err(|e| api_error("Could not revoke the agent token", e))?;
            info!(token_id, "agent token revoked");
            Ok::<_, Diagnostic>(())
        }
        .await;
        if let Err(d) = result {
            diags.push(d);
        }
    }

    async fn import(&self, _ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        if id.trim().parse::<i64>().is_err() {
            diags.error(
                "Invalid import id",
                format!("`{id}` is not an agent token id. Import with the numeric id shown in Dagster+, e.g. `terraform import dagsterbranch_agent_token.ci 42`."),
            );
            return None;
        }
        let state = AgentTokenState { id: Some(id.trim().to_string()), ..AgentTokenState::default() };
        self.encode(&state, diags)
    }
}
