//! The secret store: the CI secrets written as JSON to Secrets Manager or SSM after the key exists, read
//! back (by fingerprint) to detect drift, moved when its type or name changes, deleted before the user.

use tfplugin::{Context, Field};
use tracing::info;

use super::error::{During, RegistryError};
use super::state::RegistryState;
use crate::aws::clients::Clients;
use crate::aws::error::Error as AwsError;
use crate::aws::secret_store::{self, StoreTarget};

/// Whether the plan writes the store: everything about it is left unknown by `plan::modify` then.
pub(super) fn write_planned(plan: &RegistryState) -> bool {
    plan.secret_store_version.is_unknown()
}

fn same_store(a: &StoreTarget, b: &StoreTarget) -> bool {
    a.kind == b.kind && a.name == b.name
}

/// Brings the store to `plan`: writes a new version when planned (then deletes a store of another type or
/// name that `prior` recorded), or deletes the store when the block was removed. `state.ci_secrets` must
/// hold the secrets to write.
pub(super) async fn sync(
    ctx: &Context,
    clients: &Clients,
    prior: Option<&RegistryState>,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let old = prior.filter(|p| !p.secret_store_arn.is_null()).and_then(RegistryState::store_target);
    let Some(target) = plan.store_target() else {
        if let Some(old) = old {
            secret_store::delete(ctx, clients, &old).await.during(RegistryError::DeleteSecretStore)?;
        }
        state.secret_store = plan.secret_store.clone();
        state.clear_store();
        return Ok(());
    };
    if !write_planned(plan) {
        state.secret_store = plan.secret_store.clone();
        return Ok(());
    }
    // Until the write succeeds the state records the prior store (to be deleted once a new one exists) or
    // none, never with a fingerprint, so a failure is repaired by the next apply and nothing is forgotten.
    match (prior, &old) {
        (Some(prior), Some(_)) => state.secret_store = prior.secret_store.clone(),
        _ => {
            state.secret_store = plan.secret_store.clone();
            state.clear_store();
        }
    }
    state.secret_fingerprint = Field::Null;
    let Some(secrets) = state.ci_secrets.known() else {
        return Err(RegistryError::NoSecretToStore(Box::new(AwsError::Config(
            "the secret access key is not known to this state (imported, or kept out of state); set or change `key_rotation` to mint a new key".to_string(),
        ))));
    };
    let document = secret_store::document(secrets);
    let written = secret_store::write(ctx, clients, &target, &document, plan.name())
        .await
        .during(RegistryError::WriteSecretStore)?;
    state.secret_store = plan.secret_store.clone();
    state.secret_store_arn = Field::Known(written.arn);
    state.secret_store_version = Field::Known(written.version);
    state.secret_fingerprint = Field::Known(secret_store::fingerprint(&document));
    if let Some(old) = old.filter(|old| !same_store(old, &target)) {
        secret_store::delete(ctx, clients, &old).await.during(RegistryError::DeleteSecretStore)?;
    }
    Ok(())
}

/// Reads the store the state records: a deleted store clears its ARN, version and fingerprint; a value that
/// is not the one written (by fingerprint) clears the fingerprint. Either shows as drift and makes the next
/// plan write the store again.
pub(super) async fn refresh(ctx: &Context, clients: &Clients, state: &mut RegistryState) -> Result<(), RegistryError> {
    if state.secret_store_arn.is_null() {
        return Ok(());
    }
    let Some(target) = state.store_target() else { return Ok(()) };
    match secret_store::read(ctx, clients, &target).await.during(RegistryError::ReadSecretStore)? {
        None => {
            info!(store = %target.kind, name = %target.name, "secret store deleted outside Terraform; it will be written again");
            state.clear_store();
        }
        Some((version, value)) => {
            state.secret_store_arn = Field::Known(version.arn);
            state.secret_store_version = Field::Known(version.version);
            let fingerprint = secret_store::fingerprint(&value);
            if state.secret_fingerprint.known() != Some(&fingerprint) {
                info!(store = %target.kind, name = %target.name, "secret store value changed outside Terraform; it will be written again");
                state.secret_fingerprint = Field::Null;
            }
        }
    }
    Ok(())
}

/// Deletes the store the state records (before the user, so no readable copy of a key outlives it).
pub(super) async fn delete(ctx: &Context, clients: &Clients, state: &RegistryState) -> Result<(), RegistryError> {
    if state.secret_store_arn.is_null() {
        return Ok(());
    }
    match state.store_target() {
        Some(target) => secret_store::delete(ctx, clients, &target).await.during(RegistryError::DeleteSecretStore),
        None => Ok(()),
    }
}
