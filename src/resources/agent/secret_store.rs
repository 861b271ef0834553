//! The agent's secret store: the token the resource owns, as `{"DAGSTER_CLOUD_AGENT_TOKEN": …}` in Secrets
//! Manager or SSM. The mechanics are shared with the registry (`resources::shared::secret_store`); the
//! agent's own part is that its token can always be read back from Dagster+, so drift is repaired with the
//! same token rather than a new one.

use std::collections::BTreeMap;

use cty::Path;
use tfplugin::{Context, Diagnostic, Diagnostics, Plan};

use super::state::{find_token, AgentState};
use crate::aws::secret_store::{self, StoreOwner};
use crate::client::ProviderClient;
use crate::resources::shared::secret_store::{self as shared, StoreError, StoreRecord};
use crate::secret::Secret;

/// The ownership tag of an agent's store; its value is the agent label.
const OWNER_TAG: &str = "dagsterbranch:agent";

/// The name the token has in the stored JSON: the agent's environment variable.
const TOKEN_KEY: &str = "DAGSTER_CLOUD_AGENT_TOKEN";

fn owner(label: &str) -> StoreOwner {
    StoreOwner {
        tag: OWNER_TAG,
        name: label.to_string(),
        description: format!("Agent token of the dagsterbranch agent {label}"),
    }
}

/// A store holds only the token the resource owns, and keeping it out of state needs a store.
pub(super) fn validate(config: &AgentState, diags: &mut Diagnostics) {
    shared::validate(config.store_secret_in_state, &config.secret_store, "the agent's token", diags);
    if !config.secret_store.is_null() && (!config.token.is_null() || !config.token_wo.is_null()) {
        diags.attribute_error(
            Path::root().attr("secret_store"),
            "A secret store needs a token the resource owns",
            "`secret_store` writes the token this resource creates; with `token` or `token_wo` the token comes from elsewhere and is stored there. Remove `secret_store`, or the given token.",
        );
    }
}

/// Plans the store: written when the resource creates its token, or when the store changed or drifted.
/// The token itself is planned null when it is kept out of state.
pub(super) fn plan(plan: &mut Plan<AgentState>) {
    let prior = plan.prior.as_ref().map(AgentState::store);
    let creates_token = plan.prior.as_ref().is_none_or(|p| p.token_id.is_none());
    let mut record = plan.planned.store();
    shared::plan(prior.as_ref(), &mut record, creates_token);
    plan.planned.set_store(record);
    if plan.planned.store_secret_in_state == Some(false) {
        plan.planned.agent_token = None;
    }
}

/// The owned token's value: as created in this apply, or read back from Dagster+.
async fn token_value(client: &ProviderClient, state: &AgentState) -> Result<Option<Secret>, Diagnostic> {
    if let Some(token) = &state.agent_token {
        return Ok(Some(token.clone()));
    }
    let Some(token_id) = state.owned_token_id()? else { return Ok(None) };
    Ok(find_token(&client.dagster, token_id).await?.and_then(|t| t.value))
}

/// Brings the store to the plan after the token exists, then drops the token from state if it is kept out
/// of it (or fetches it back when it is wanted in state again).
pub(super) async fn sync(
    ctx: &Context,
    client: &ProviderClient,
    prior: Option<&AgentState>,
    planned: &StoreRecord,
    state: &mut AgentState,
) -> Result<(), Diagnostic> {
    let prior_store = prior.map(AgentState::store);
    let touches_store = !planned.block.is_null() || prior_store.as_ref().is_some_and(StoreRecord::written);
    let needs_value = planned.write_planned() || (state.token_in_state() && state.agent_token.is_none());
    let value = if needs_value && state.token_id.is_some() { token_value(client, state).await? } else { None };
    if touches_store {
        let clients = client.aws_clients().await.map_err(|e| StoreError::Setup(Box::new(e)))?;
        let document = value
            .clone()
            .map(|token| secret_store::document(&BTreeMap::from([(TOKEN_KEY.to_string(), token)])))
            .ok_or_else(|| {
                "Dagster+ did not return the value of the agent's token, so it cannot be stored.".to_string()
            });
        let mut record = prior_store.clone().unwrap_or_default();
        let result =
            shared::sync(ctx, &clients, prior_store.as_ref(), planned, &mut record, document, &owner(state.label()))
                .await;
        state.set_store(record);
        result?;
    }
    state.agent_token =
        if state.store_secret_in_state == Some(false) { None } else { state.agent_token.take().or(value) };
    Ok(())
}

/// Reads the store back (drift by fingerprint, or deleted).
pub(super) async fn refresh(ctx: &Context, client: &ProviderClient, state: &mut AgentState) -> Result<(), Diagnostic> {
    let mut record = state.store();
    if !record.written() {
        return Ok(());
    }
    let clients = client.aws_clients().await.map_err(|e| StoreError::Setup(Box::new(e)))?;
    let result = shared::refresh(ctx, &clients, &mut record).await;
    state.set_store(record);
    Ok(result?)
}

/// Deletes the store the state records, before the token is revoked.
pub(super) async fn delete(ctx: &Context, client: &ProviderClient, state: &AgentState) -> Result<(), Diagnostic> {
    let record = state.store();
    if !record.written() {
        return Ok(());
    }
    let clients = client.aws_clients().await.map_err(|e| StoreError::Setup(Box::new(e)))?;
    Ok(shared::delete(ctx, &clients, &record).await?)
}
