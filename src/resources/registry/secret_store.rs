//! The registry's secret store: the CI secrets written as JSON after the key exists, read back (by
//! fingerprint) to detect drift, moved when its type or name changes, deleted before the user. The
//! mechanics are shared with the agent (`resources::shared::secret_store`); what is the registry's own is
//! the document, the owner tag and what to do without a secret.

use tfplugin::Context;

use super::error::RegistryError;
use super::state::RegistryState;
use crate::aws::clients::Clients;
use crate::aws::owner::OWNER_TAG;
use crate::aws::secret_store::{self, StoreOwner};
use crate::resources::shared::secret_store as shared;

fn owner(registry: &str) -> StoreOwner {
    StoreOwner {
        tag: OWNER_TAG,
        name: registry.to_string(),
        description: format!("CI secrets of the dagsterbranch registry {registry}"),
    }
}

/// Brings the store to `plan`; `state.ci_secrets` must hold the secrets to write.
pub(super) async fn sync(
    ctx: &Context,
    clients: &Clients,
    prior: Option<&RegistryState>,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let document = state.ci_secrets.known().map(secret_store::document).ok_or_else(|| {
        "the secret access key is not known to this state (imported, or kept out of state); set or change `key_rotation` to mint a new key".to_string()
    });
    let mut record = state.store();
    let result = shared::sync(
        ctx,
        clients,
        prior.map(RegistryState::store).as_ref(),
        &plan.store(),
        &mut record,
        document,
        &owner(plan.name()),
    )
    .await;
    state.set_store(record);
    Ok(result?)
}

pub(super) async fn refresh(ctx: &Context, clients: &Clients, state: &mut RegistryState) -> Result<(), RegistryError> {
    let mut record = state.store();
    let result = shared::refresh(ctx, clients, &mut record).await;
    state.set_store(record);
    Ok(result?)
}

/// Deletes the store the state records (before the user, so no readable copy of a key outlives it).
pub(super) async fn delete(ctx: &Context, clients: &Clients, state: &RegistryState) -> Result<(), RegistryError> {
    Ok(shared::delete(ctx, clients, &state.store()).await?)
}
