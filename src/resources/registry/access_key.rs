//! The CI access key: created (or rotated) before the old one is deleted, optionally waited for until AWS
//! accepts it, read back, and turned into the `ci_secrets` CI needs. IAM allows two keys per user.

use std::collections::BTreeMap;

use tfplugin::{Context, Field};
use tracing::{info, warn};

use super::error::{During, RegistryError};
use super::state::RegistryState;
use crate::aws::clients::Clients;
use crate::aws::{credentials, iam, retry};
use crate::secret::Secret;

/// Creates a new key before deleting the old one, within IAM's limit of two keys per user: keys that the
/// state does not know (left by an interrupted rotation) are deleted first to make room. `wait`: wait until
/// the new key works; `fresh`: the user was just created or renamed, so `NoSuchEntity` means "not visible yet".
pub(super) async fn rotate(
    ctx: &Context,
    clients: &Clients,
    state: &mut RegistryState,
    wait: bool,
    fresh: bool,
) -> Result<(), RegistryError> {
    let Some(user) = state.user_name.known().cloned() else { return Ok(()) };
    let existing = if fresh {
        retry::after_create(ctx, "iam:ListAccessKeys", || iam::access_keys(&clients.iam, &user))
            .await
            .during(RegistryError::CreateAccessKey)?
    } else {
        iam::access_keys(&clients.iam, &user).await.during(RegistryError::CreateAccessKey)?
    };
    let current = state.access_key_id.known().cloned();
    if existing.len() >= 2 {
        for stray in existing.iter().filter(|k| Some(&k.id) != current.as_ref()) {
            warn!(user = %user, access_key_id = %stray.id, "deleting an access key the state does not know, to make room");
            iam::delete_access_key(&clients.iam, &user, &stray.id).await.during(RegistryError::CreateAccessKey)?;
        }
    }
    let key = iam::create_access_key_with_room(ctx, &clients.iam, &user, current.as_deref())
        .await
        .during(RegistryError::CreateAccessKey)?;
    state.access_key_id = Field::Known(key.id.clone());
    state.secret_access_key = Field::Known(key.secret.clone());
    // Recorded first: a failure below must not lose the only copy of the new secret.
    iam::delete_unknown_keys(&clients.iam, &user, &[current.as_deref(), Some(key.id.as_str())])
        .await
        .during(RegistryError::DeleteLostKeys)?;
    if wait {
        // On failure the old key stays, so CI keeps working until the new one does.
        credentials::wait_until_usable(ctx, clients, &key).await.during(RegistryError::KeyNotUsable)?;
    }
    for old in existing.iter().filter(|k| k.id != key.id) {
        iam::delete_access_key(&clients.iam, &user, &old.id).await.during(RegistryError::DeletePreviousKey)?;
    }
    Ok(())
}

/// Checks that the state's key still exists (clearing it when not, so the next apply mints one). On import,
/// takes the user's newest active key; its secret cannot be read back.
pub(super) async fn refresh(
    iam: &aws_sdk_iam::Client,
    user: &str,
    importing: bool,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let keys = iam::access_keys(iam, user).await.during(RegistryError::Read)?;
    if importing && state.access_key_id.is_null() {
        state.access_key_id = keys.iter().filter(|k| k.active).max_by_key(|k| k.created).map(|k| k.id.clone()).into();
    }
    if let Some(id) = state.access_key_id.known() {
        if !keys.iter().any(|k| &k.id == id) {
            info!(user = %user, access_key_id = %id, "access key deleted outside Terraform; a new one will be created");
            state.clear_key();
        }
    }
    Ok(())
}

/// The variables the manual tells users to store in their Git provider, from the key, the repository's
/// region and the Dagster+ URL; `None` when the secret is not known (after import).
pub(super) fn ci_secrets(state: &RegistryState, dagster_url: &str) -> Option<BTreeMap<String, Secret>> {
    let key_id = state.access_key_id.known()?;
    let secret = state.secret_access_key.known()?;
    let region = state.repository_arn.as_deref().and_then(arn_region)?;
    Some(BTreeMap::from([
        ("DAGSTER_CLOUD_URL".to_string(), Secret::new(dagster_url)),
        ("AWS_ACCESS_KEY".to_string(), Secret::new(key_id)),
        ("AWS_ACCESS_KEY_ID".to_string(), Secret::new(key_id)),
        ("AWS_SECRET_ACCESS_KEY".to_string(), secret.clone()),
        ("AWS_REGION".to_string(), Secret::new(region)),
    ]))
}

/// The region field of an ARN (`arn:partition:service:region:account:resource`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_secrets_have_the_manuals_names() {
        let state = RegistryState {
            access_key_id: Field::Known("AKIAEXAMPLE".into()),
            secret_access_key: Field::Known(Secret::new("s3cr3t")),
            repository_arn: Field::Known("arn:aws:ecr:eu-west-1:123456789012:repository/dagster/app".into()),
            ..RegistryState::default()
        };
        let secrets = ci_secrets(&state, "https://acme.dagster.cloud").unwrap();
        let plain: BTreeMap<&str, &str> = secrets.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(
            plain,
            BTreeMap::from([
                ("AWS_ACCESS_KEY", "AKIAEXAMPLE"),
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("AWS_REGION", "eu-west-1"),
                ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
                ("DAGSTER_CLOUD_URL", "https://acme.dagster.cloud"),
            ])
        );
        let imported = RegistryState { secret_access_key: Field::Null, ..state };
        assert_eq!(ci_secrets(&imported, "https://acme.dagster.cloud"), None, "no secret after import");
    }
}
