//! `dagsterbranch_agent_token`: a Dagster+ agent token and the scopes it may act in.
//!
//! Dagster+ gives every new token an organization-wide AGENT grant; the resource then adds or removes
//! grants until the token has exactly the configured scopes. The description changes in place.

use std::collections::BTreeSet;

use async_trait::async_trait;
use cty::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, Diagnostic, Diagnostics, MoveSource, Plan, Resource, Schema, Validator};
use tracing::{info, warn};

use super::shared::checks;
use crate::client::ProviderClient;
use crate::dagster::deployments::FullDeployment;
use crate::dagster::tokens::{AgentToken, GrantScope};
use crate::dagster::Client;
use crate::resources::shared::failure::{During, Failed};
use crate::secret::Secret;

pub struct AgentTokenResource;

fn schema() -> Schema {
    Schema::new("A Dagster+ agent token. Agents authenticate with it; its scopes decide which deployments the agent may serve. The token value is sensitive and is known only to the Terraform state that created it.\n\nA token managed by the official provider moves here without being revoked or re-created (Terraform 1.8+): `moved { from = dagsterplus_agent_token.x  to = dagsterbranch_agent_token.x }`, with `description` set to its `name`.")
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
pub struct AgentTokenState {
    id: Option<String>,
    description: Option<String>,
    organization: Option<bool>,
    all_branch_deployments: Option<bool>,
    deployments: Option<BTreeSet<String>>,
    token: Option<Secret>,
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
                self.token = Some(secret.clone());
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

/// Reads the token back from Dagster+ (`find` and `flatten` in one, as the inventory call returns both the
/// token and the deployments its grants name); `Ok(None)` when it was revoked or deleted.
async fn find(client: &Client, state: &AgentTokenState) -> Result<Option<AgentTokenState>, Diagnostic> {
    let token_id = state.token_id()?;
    let inventory = client.agent_token_inventory().await.during("Could not read agent tokens")?;
    let Some(token) = inventory.tokens.iter().find(|t| t.id == token_id && !t.revoked) else {
        return Ok(None);
    };
    let mut refreshed = state.clone();
    refreshed.refresh_from(token, &inventory.deployments);
    Ok(Some(refreshed))
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
        client.agent_token_inventory().await.during("Could not list deployments")?.deployments.clone()
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
        client.grant_agent_scope(token_id, scope).await.during("Could not grant the agent token a scope")?;
    }
    for scope in removals {
        client.remove_agent_scope(token_id, scope).await.during("Could not remove a scope from the agent token")?;
    }
    Ok(())
}

#[async_trait]
impl Resource for AgentTokenResource {
    type Client = ProviderClient;
    type State = AgentTokenState;
    type Identity = ();
    const IMPORTABLE: bool = true;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_agent_token"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    /// `moved { from = dagsterplus_agent_token.x  to = dagsterbranch_agent_token.x }`: the same token, kept.
    fn move_state(&self, source: &MoveSource, diags: &mut Diagnostics) -> Option<AgentTokenState> {
        diags.capture(moved_from_dagsterplus(source))
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        plan: &mut Plan<AgentTokenState>,
        diags: &mut Diagnostics,
    ) {
        checks::access_before_create(client, plan.is_create(), diags).await;
        let prior = plan.prior.as_ref().and_then(|p| p.deployments.as_ref());
        if let Some(names) = plan.planned.deployments.as_ref().filter(|names| Some(*names) != prior) {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            checks::full_deployment_names(client, &names, Path::root().attr("deployments"), diags).await;
        }
    }

    async fn create(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        planned: AgentTokenState,
        diags: &mut Diagnostics,
    ) -> Option<AgentTokenState> {
        let deployments = planned.scopes().deployments;
        if let Err(d) = checks::full_deployments_exist(client, &deployments, Path::root().attr("deployments")).await {
            diags.push(d);
            return None;
        }
        let dagster = &client.dagster;
        let token = match dagster.create_agent_token(planned.description.as_deref()).await {
            Ok(token) => token,
            Err(e) => {
                diags.push(Failed::new("Could not create the agent token", e));
                return None;
            }
        };
        info!(token_id = token.id, "agent token created");
        let mut state = planned.clone();
        state.refresh_from(&token, &[]);
        // From here on the token exists: every path below returns it so that Terraform records it.
        if let Err(d) = apply_scopes(dagster, token.id, &state.scopes(), &planned.scopes()).await {
            diags.push(d);
            warn!(token_id = token.id, "agent token created but its scopes could not be set");
        }
        match find(dagster, &state).await {
            Ok(Some(refreshed)) => Some(refreshed),
            Ok(None) => Some(state),
            Err(d) => {
                diags.push(d);
                Some(state)
            }
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        state: AgentTokenState,
        diags: &mut Diagnostics,
    ) -> Option<AgentTokenState> {
        let found = diags.capture(find(&client.dagster, &state).await)?;
        if found.is_none() {
            info!("agent token revoked or deleted outside Terraform; it will be planned for creation");
        }
        found
    }

    async fn update(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        prior: AgentTokenState,
        planned: AgentTokenState,
        diags: &mut Diagnostics,
    ) -> Option<AgentTokenState> {
        let dagster = &client.dagster;
        let result = async {
            let token_id = prior.token_id()?;
            if prior.description != planned.description {
                dagster
                    .edit_agent_token_description(token_id, planned.description.as_deref())
                    .await
                    .during("Could not change the agent token's description")?;
            }
            if prior.scopes() != planned.scopes() {
                apply_scopes(dagster, token_id, &prior.scopes(), &planned.scopes()).await?;
            }
            Ok::<_, Diagnostic>(())
        }
        .await;
        if let Err(d) = result {
            diags.push(d);
        }
        // Read back what the token looks like now, so that state matches reality after a partial update too.
        match find(dagster, &prior).await {
            Ok(Some(state)) => Some(state),
            Ok(None) => {
                diags.error("Agent token disappeared", "The agent token was revoked while it was being updated.");
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    async fn delete(&self, _ctx: &Context, client: &ProviderClient, state: AgentTokenState, diags: &mut Diagnostics) {
        let result = async {
            let token_id = state.token_id()?;
            client.dagster.revoke_agent_token(token_id).await.during("Could not revoke the agent token")?;
            info!(token_id, "agent token revoked");
            Ok::<_, Diagnostic>(())
        }
        .await;
        if let Err(d) = result {
            diags.push(d);
        }
    }

    async fn import(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        id: &str,
        diags: &mut Diagnostics,
    ) -> Option<AgentTokenState> {
        if id.trim().parse::<i64>().is_err() {
            diags.error(
                "Invalid import id",
                format!("`{id}` is not an agent token id. Import with the numeric id shown in Dagster+, e.g. `terraform import dagsterbranch_agent_token.ci 42`."),
            );
            return None;
        }
        Some(AgentTokenState { id: Some(id.trim().to_string()), ..AgentTokenState::default() })
    }
}

/// The official provider (`dagster-io/dagsterplus`) and its agent token resource, whose state a `moved`
/// block can hand over.
const DAGSTERPLUS_PROVIDER: &str = "dagster-io/dagsterplus";
const DAGSTERPLUS_AGENT_TOKEN: &str = "dagsterplus_agent_token";

/// The state of a `dagsterplus_agent_token` in this resource's shape: `id` (the token id), `name` (the
/// description), `organization`, `all_branch_deployments`, `deployment_grants` (deployment names) and
/// `token` carry over; `create_timestamp` is filled by the refresh that follows the move.
fn moved_from_dagsterplus(source: &MoveSource) -> Result<AgentTokenState, Diagnostic> {
    let refuse = |detail: String| Diagnostic::error("Cannot move this state to dagsterbranch_agent_token", detail);
    let from_dagsterplus = source.provider_address.trim_start_matches("registry.terraform.io/") == DAGSTERPLUS_PROVIDER;
    if !from_dagsterplus || source.type_name != DAGSTERPLUS_AGENT_TOKEN {
        return Err(refuse(format!(
            "Only `{DAGSTERPLUS_AGENT_TOKEN}` of `{DAGSTERPLUS_PROVIDER}` moves here, not `{}` of `{}`.",
            source.type_name, source.provider_address
        )));
    }
    let state = &source.state;
    let text = |key: &str| state.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
    let flag = |key: &str, default: bool| state.get(key).and_then(serde_json::Value::as_bool).unwrap_or(default);
    let id = text("id").filter(|id| id.parse::<i64>().is_ok()).ok_or_else(|| {
        refuse(format!("The `{DAGSTERPLUS_AGENT_TOKEN}` state has no numeric `id` (the token id): {}", keys_of(state)))
    })?;
    let token = text("token")
        .ok_or_else(|| refuse(format!("The `{DAGSTERPLUS_AGENT_TOKEN}` state holds no `token` value to keep.")))?;
    let deployments = match state.get("deployment_grants") {
        None | Some(serde_json::Value::Null) => BTreeSet::new(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| refuse("`deployment_grants` must list deployment names (strings).".to_string()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(refuse("`deployment_grants` must list deployment names (strings).".to_string())),
    };
    Ok(AgentTokenState {
        id: Some(id),
        description: text("name"),
        organization: Some(flag("organization", true)),
        all_branch_deployments: Some(flag("all_branch_deployments", false)),
        deployments: Some(deployments),
        token: Some(Secret::new(token)),
        create_timestamp: None,
    })
}

/// The attribute names of a state, for a message that must not show its values.
fn keys_of(state: &serde_json::Value) -> String {
    let keys: Vec<&str> = state.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    format!("it has {}", if keys.is_empty() { "no attributes".to_string() } else { keys.join(", ") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(provider: &str, type_name: &str, state: serde_json::Value) -> MoveSource {
        MoveSource {
            provider_address: provider.to_string(),
            type_name: type_name.to_string(),
            schema_version: 0,
            state,
        }
    }

    #[test]
    fn a_dagsterplus_agent_token_moves_with_its_id_value_and_scopes() {
        let moved = moved_from_dagsterplus(&source(
            "registry.terraform.io/dagster-io/dagsterplus",
            "dagsterplus_agent_token",
            serde_json::json!({ "id": "42", "name": "ci", "organization": false, "all_branch_deployments": true,
                                "deployment_grants": ["prod"], "token": "agent:acme:0123" }),
        ))
        .unwrap();
        assert_eq!(moved.id.as_deref(), Some("42"));
        assert_eq!(moved.description.as_deref(), Some("ci"));
        assert_eq!((moved.organization, moved.all_branch_deployments), (Some(false), Some(true)));
        assert_eq!(moved.deployments, Some(BTreeSet::from(["prod".to_string()])));
        assert_eq!(moved.token.as_ref().map(Secret::expose), Some("agent:acme:0123"));
        let defaults = moved_from_dagsterplus(&source(
            "registry.terraform.io/dagster-io/dagsterplus",
            "dagsterplus_agent_token",
            serde_json::json!({ "id": "7", "name": "x", "token": "agent:acme:1" }),
        ))
        .unwrap();
        assert_eq!((defaults.organization, defaults.all_branch_deployments), (Some(true), Some(false)));
    }

    #[test]
    fn other_sources_and_incomplete_states_are_refused_without_showing_the_token() {
        let other = source("registry.terraform.io/hashicorp/null", "null_resource", serde_json::json!({}));
        assert!(moved_from_dagsterplus(&other).unwrap_err().detail.contains("null_resource"));
        let no_id = source(
            "registry.terraform.io/dagster-io/dagsterplus",
            "dagsterplus_agent_token",
            serde_json::json!({ "name": "x", "token": "agent:acme:secret" }),
        );
        let error = moved_from_dagsterplus(&no_id).unwrap_err();
        assert!(error.detail.contains("`id`") && !error.detail.contains("agent:acme:secret"), "{}", error.detail);
    }

    #[test]
    fn state_covers_the_schema_and_hides_the_token() {
        tfplugin::model::check_covers::<AgentTokenState>(&schema().block).unwrap();
        let state = AgentTokenState { token: Some(Secret::new("agent:acme:0123456789abcdef")), ..Default::default() };
        assert!(!format!("{state:?}").contains("0123456789abcdef"), "Debug must not show the token");
    }
}
