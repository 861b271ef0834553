//! `dagsterbranch_agent`: the dedicated branch-deployment agent as a first-class object: the token it runs
//! with (owned by the resource unless one is given), its configuration rendered for Docker (`dagster.yaml`),
//! Kubernetes (Helm values) and ECS (CloudFormation parameters), and its health as Dagster+ reports it.

mod render;
mod schema;
mod secret_store;
mod state;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use cty::Path;
use tfplugin::{Context, Diagnostic, Diagnostics, Field, Plan, Resource, Schema};
use tracing::info;

use self::state::{find_agents, find_token, owned_token_scopes, scope_labels, AgentState, Health};
use super::agent_token::{apply_scopes, Scopes};
use super::shared::checks;
use crate::client::ProviderClient;
use crate::resources::shared::failure::{During, Failed};
use crate::secret::Secret;
use crate::wait::{self, Backoff, Poll, WaitError};

pub struct AgentResource;

/// How often create looks at the agent's health while waiting for it to run.
const HEARTBEAT_BACKOFF: Backoff =
    Backoff { first_delay: Duration::from_millis(250), max_delay: Duration::from_secs(5), jitter: false };

#[async_trait]
impl Resource for AgentResource {
    type Client = ProviderClient;
    type State = AgentState;
    type Identity = ();
    const IMPORTABLE: bool = true;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_agent"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &AgentState, diags: &mut Diagnostics) {
        secret_store::validate(config, diags);
        if !config.token.is_null() && !config.token_wo.is_null() {
            diags.attribute_error(
                Path::root().attr("token_wo"),
                "Conflicting agent tokens",
                "Set either `token` (stored in state) or `token_wo` (write-only, never stored), not both.",
            );
        }
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        plan: &mut Plan<AgentState>,
        diags: &mut Diagnostics,
    ) {
        checks::access_before_create(client, plan.is_create(), diags).await;
        let prior_deployments = plan.prior.as_ref().map(|p| &p.deployments);
        if let Field::Known(names) = &plan.planned.deployments {
            if prior_deployments != Some(&plan.planned.deployments) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                checks::full_deployment_names(client, &names, Path::root().attr("deployments"), diags).await;
            }
        }
        plan_token_scopes(plan);
        secret_store::plan(plan);
    }

    async fn create(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        planned: AgentState,
        diags: &mut Diagnostics,
    ) -> Option<AgentState> {
        converge(ctx, client, None, planned, diags).await
    }

    async fn read(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        mut state: AgentState,
        diags: &mut Diagnostics,
    ) -> Option<AgentState> {
        if let Some(token_id) = diags.capture(state.owned_token_id())? {
            let Some(token) = diags.capture(find_token(&client.dagster, token_id).await)? else {
                // The agent's own token is gone: the agent cannot run; plan it anew with a new token.
                info!(token_id, "the agent's token was revoked outside Terraform; the agent will be planned anew");
                return None;
            };
            state.set_token_scopes(&token);
        }
        diags.capture(secret_store::refresh(ctx, client, &mut state).await)?;
        let agents = diags.capture(find_agents(&client.dagster).await)?;
        state.set_health(&Health::of(state.label(), &agents));
        Some(state)
    }

    async fn update(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        prior: AgentState,
        planned: AgentState,
        diags: &mut Diagnostics,
    ) -> Option<AgentState> {
        converge(ctx, client, Some(&prior), planned, diags).await
    }

    async fn delete(&self, ctx: &Context, client: &ProviderClient, state: AgentState, diags: &mut Diagnostics) {
        diags.capture(secret_store::delete(ctx, client, &state).await);
        if diags.has_errors() {
            return;
        }
        let Some(Some(token_id)) = diags.capture(state.owned_token_id()) else { return };
        if diags.capture(revoke_owned_token(client, token_id).await).is_some() {
            info!(token_id, "agent's token revoked");
        }
    }

    /// `LABEL` adopts the agent and runs it with the configured `token` (or a new one the resource owns);
    /// `LABEL:TOKEN_ID` also adopts an existing token as the resource's own, revoked on destroy.
    async fn import(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        id: &str,
        diags: &mut Diagnostics,
    ) -> Option<AgentState> {
        let (label, token_id) = diags.capture(parse_import_id(id))?;
        let mut state = AgentState::imported(label);
        if let Some(token_id) = token_id {
            diags.capture(adopt_token(client, token_id, &mut state).await)?;
            state.render(client.organization.as_deref());
        } else {
            state.id = state.label.clone();
        }
        let agents = diags.capture(find_agents(&client.dagster).await)?;
        if !agents.iter().any(|a| a.agent_label.as_deref() == Some(state.label())) {
            diags.push(Diagnostic::warning(
                format!("No agent labelled `{}` has reported to Dagster+", state.label()),
                "The agent was imported anyway; check the label if one is running.",
            ));
        }
        Some(state)
    }
}

/// The owned token's scopes after apply: what `deployments` asks for, so that drift seen on refresh shows as
/// a change. A given token's scopes are not this resource's business.
fn plan_token_scopes(plan: &mut Plan<AgentState>) {
    // A write-only token is null in every plan; configuration is the one place that shows it.
    let given = match (&plan.planned.token, &plan.config.token_wo) {
        (Field::Known(_), _) | (_, Field::Known(_)) => Field::Known(()),
        (Field::Unknown, _) | (_, Field::Unknown) => Field::Unknown,
        (Field::Null, Field::Null) => Field::Null,
    };
    let planned = &mut plan.planned;
    let scopes = match (given, &planned.deployments) {
        (Field::Null, Field::Known(names)) => Field::Known(scope_labels(&owned_token_scopes(names.clone()))),
        // A token not known yet may still turn out null, and then the resource owns one.
        (Field::Null | Field::Unknown, _) => Field::Unknown,
        (Field::Known(()), _) => {
            // A given token replaces an owned one, which apply revokes.
            planned.token_id = None;
            Field::Null
        }
    };
    if plan.prior.as_ref().is_some_and(|prior| prior.token_scopes != scopes) {
        // Scope drift alone is a change too; the apply then reads the agent's health again.
        planned.status = Field::Unknown;
        planned.last_heartbeat_time = Field::Unknown;
    }
    planned.token_scopes = scopes;
}

/// Brings the token, rendered outputs and health to `planned`; returns the state that exists, also on
/// failure.
async fn converge(
    ctx: &Context,
    client: &ProviderClient,
    prior: Option<&AgentState>,
    planned: AgentState,
    diags: &mut Diagnostics,
) -> Option<AgentState> {
    let planned_store = planned.store();
    let mut state = planned;
    state.set_store(prior.map(AgentState::store).unwrap_or_default());
    state.token_id = prior.and_then(|p| p.token_id.clone());
    state.agent_token = prior.and_then(|p| p.agent_token.clone());
    state.token_scopes = prior.map_or(Field::Null, |p| p.token_scopes.clone());
    // Health is unknown in the plan; until it is read below, state records it as not seen.
    if state.status.is_unknown() {
        state.status = Field::Null;
    }
    if state.last_heartbeat_time.is_unknown() {
        state.last_heartbeat_time = Field::Null;
    }
    let owned = match state.owned_token_id() {
        Ok(owned) => owned,
        Err(d) => {
            diags.push(d);
            return prior.cloned();
        }
    };
    let given = state.token.known().or(state.token_wo.known()).cloned();
    match (given, owned) {
        (Some(given), owned) => {
            if !state.token_wo.is_null() {
                // Read from configuration on every apply that reaches here (a `token_wo_version` change
                // forces one), and checked before the owned token, if any, is given up for it.
                if let Err(d) = check_write_only_token(client, &given).await {
                    diags.push(d);
                    return prior.cloned();
                }
            }
            if let Some(token_id) = owned {
                if let Err(d) = revoke_owned_token(client, token_id).await {
                    diags.push(d);
                    return Some(state);
                }
                state.token_id = None;
            }
            // A write-only token must not reach state; the rendered configuration refers to it instead.
            state.agent_token = if state.token_wo.is_null() { Some(given) } else { None };
            state.token_scopes = Field::Null;
        }
        (_, Some(token_id)) => {
            let before = prior.map(AgentState::seen_scopes).unwrap_or_else(Scopes::new_token);
            if before != state.owned_scopes() {
                match apply_scopes(&client.dagster, token_id, &before, &state.owned_scopes()).await {
                    Ok(()) => state.token_scopes = Field::Known(scope_labels(&state.owned_scopes())),
                    Err(d) => diags.push(d),
                }
            }
        }
        (_, None) => {
            if let Err(d) = create_owned_token(client, &mut state).await {
                diags.push(d);
                // A token created before the failure is recorded so that it is not orphaned.
                if state.token_id.is_none() {
                    return prior.cloned();
                }
            }
        }
    }
    if state.token_id.is_some() || !planned_store.block.is_null() || prior.is_some_and(|p| !p.secret_store.is_null()) {
        if let Err(d) = secret_store::sync(ctx, client, prior, &planned_store, &mut state).await {
            diags.push(d);
        }
    }
    state.render(client.organization.as_deref());
    let creating = prior.is_none();
    if creating && state.wait_for_running == Some(true) && !diags.has_errors() {
        if let Err(d) = wait_for_running(ctx, client, &mut state).await {
            diags.push(d);
        }
        return Some(state);
    }
    match find_agents(&client.dagster).await {
        Ok(agents) => state.set_health(&Health::of(state.label(), &agents)),
        Err(d) => diags.push(d),
    }
    Some(state)
}

async fn create_owned_token(client: &ProviderClient, state: &mut AgentState) -> Result<(), Diagnostic> {
    checks::full_deployments_exist(client, &state.owned_scopes().deployments, Path::root().attr("deployments")).await?;
    let dagster = &client.dagster;
    let token = dagster
        .create_agent_token(Some(&format!("branch deployment agent {}", state.label())))
        .await
        .during("Could not create the agent's token")?;
    info!(token_id = token.id, label = state.label(), "agent token created for the agent");
    state.token_id = Some(token.id.to_string());
    state.agent_token = token.token.clone();
    state.token_scopes = Field::Known(scope_labels(&Scopes::new_token()));
    apply_scopes(dagster, token.id, &Scopes::new_token(), &state.owned_scopes()).await?;
    state.token_scopes = Field::Known(scope_labels(&state.owned_scopes()));
    Ok(())
}

/// A write-only token must be an agent token of the organization that is not revoked: unlike `token`, it
/// cannot be looked at in state afterwards. Where Dagster+ does not reveal token values, there is nothing
/// to compare with and the check passes.
async fn check_write_only_token(client: &ProviderClient, token: &Secret) -> Result<(), Diagnostic> {
    let inventory = client.dagster.agent_token_inventory().await.during("Could not read agent tokens")?;
    if inventory.tokens.iter().all(|t| t.token.is_none()) {
        return Ok(());
    }
    let at = Path::root().attr("token_wo");
    match inventory.tokens.iter().find(|t| t.token.as_ref() == Some(token)) {
        Some(found) if !found.revoked => Ok(()),
        Some(found) => Err(Diagnostic::error(
            "The write-only agent token is revoked",
            format!("`token_wo` is agent token {}, which was revoked. Set a current token and change `token_wo_version`.", found.id),
        )
        .at(at)),
        None => Err(Diagnostic::error(
            "The write-only agent token is not known to Dagster+",
            "`token_wo` is not an agent token of this organization. Set one of its agent tokens and change `token_wo_version`.",
        )
        .at(at)),
    }
}

async fn revoke_owned_token(client: &ProviderClient, token_id: i64) -> Result<(), Failed> {
    client.dagster.revoke_agent_token(token_id).await.during("Could not revoke the agent's token")
}

/// Takes an existing token as the resource's own. Its value goes into the rendered configuration, and its
/// scopes must be those of a token this resource creates, which it keeps in line with `deployments`.
async fn adopt_token(client: &ProviderClient, token_id: i64, state: &mut AgentState) -> Result<(), Diagnostic> {
    let elsewhere = "Import the token as a `dagsterbranch_agent_token` and pass it in `token`, or import the agent by its label alone.";
    let token = find_token(&client.dagster, token_id).await?.ok_or_else(|| {
        Diagnostic::error(
            "Agent token not found",
            format!("Dagster+ has no agent token with id {token_id} that is not revoked."),
        )
    })?;
    let Some(value) = &token.value else {
        return Err(Diagnostic::error(
            "Agent token value not available",
            format!("Dagster+ did not return the value of agent token {token_id}, and the agent's configuration holds it. {elsewhere}"),
        ));
    };
    if token.scopes != owned_token_scopes(token.scopes.deployments.clone()) {
        let reach = if token.scopes.organization {
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
    state.agent_token = Some(value.clone());
    state.set_token_scopes(&token);
    state.deployments = Field::Known(token.scopes.deployments);
    Ok(())
}

/// Waits until Dagster+ reports an agent with this label as RUNNING; the state takes the health last seen.
async fn wait_for_running(ctx: &Context, client: &ProviderClient, state: &mut AgentState) -> Result<(), Diagnostic> {
    let timeout = state.running_timeout();
    let label = state.label().to_string();
    // What the last look saw, for the state and for the error that says the agent is not running.
    let last_seen: Mutex<Option<Health>> = Mutex::new(None);
    let result = wait::until(ctx, timeout, HEARTBEAT_BACKOFF, || {
        let (dagster, label, last_seen) = (&client.dagster, label.as_str(), &last_seen);
        async move {
            let health = Health::of(label, &find_agents(dagster).await?);
            let running = health.running;
            *last_seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(health);
            Ok(if running { Poll::Ready(()) } else { Poll::Pending })
        }
    })
    .await;
    let last_seen = last_seen.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(health) = &last_seen {
        state.set_health(health);
    }
    let seen = last_seen.unwrap_or_default().describe();
    match result {
        Ok(()) => Ok(()),
        Err(WaitError::Failed(d)) => Err(d),
        Err(WaitError::TimedOut(waited)) => Err(Diagnostic::error(
            format!("Agent `{label}` is not running"),
            format!("After waiting {}s, {seen}. Start the agent with the rendered configuration, or set `wait_for_running = false`.", waited.as_secs()),
        )
        .at(Path::root().attr("wait_for_running"))),
        Err(WaitError::Interrupted) => {
            Err(Diagnostic::error(format!("Interrupted while waiting for agent `{label}`"), seen))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
