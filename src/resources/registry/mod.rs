//! `dagsterbranch_registry`: the manual's Amazon ECR path as one resource. A private ECR repository, an IAM
//! user that may only push to it (inline policy), and an access key for CI, with the variables CI needs.
//!
//! The parts are created in that order and each one is recorded as soon as it exists, so a failed create
//! leaves a (tainted) state that the next apply cleans up. Reads report each missing part separately
//! (a deleted repository, user, policy or key) and the next apply re-creates just that part.

mod access_key;
mod error;
mod plan;
mod repository;
mod schema;
mod secret_store;
mod state;
mod user;

use std::sync::Arc;

use async_trait::async_trait;
use cty::Path;
use tfplugin::{Context, Diagnostics, Field, Plan, Resource, Schema};
use tracing::{info, warn};

use self::error::{During, RegistryError};
use self::schema::DEFAULT_ENCRYPTION;
pub use self::state::RegistryState;
use self::state::UserBlock;
use crate::aws::clients::Clients;
use crate::aws::names;
use crate::client::ProviderClient;

pub struct RegistryResource;

async fn aws(client: &ProviderClient) -> Result<Arc<Clients>, RegistryError> {
    client.aws_clients().await.during(RegistryError::Setup)
}

/// Creates each part in turn, recording it in `state` as soon as it exists.
async fn create_parts(
    ctx: &Context,
    client: &ProviderClient,
    clients: &Clients,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    repository::create(&clients.ecr, plan, state).await?;
    user::create(ctx, &clients.iam, plan, state).await?;
    user::put_policy(ctx, &clients.iam, plan, state, true).await?;
    access_key::rotate(ctx, clients, state, plan.wait_for_credentials.unwrap_or(true), true).await?;
    state.ci_secrets = access_key::ci_secrets(state, &client.dagster_url).into();
    secret_store::sync(ctx, clients, None, plan, state).await
}

/// Brings the existing parts to `plan` and re-creates missing ones, recording each as it succeeds.
async fn update_parts(
    ctx: &Context,
    client: &ProviderClient,
    clients: &Clients,
    prior: &RegistryState,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    repository::update(&clients.ecr, prior, plan, state).await?;
    let fresh = user::update(ctx, &clients.iam, prior, plan, state).await?;
    state.tags = plan.tags.clone();
    // The policy is restored when it was edited or deleted out of band.
    user::put_policy(ctx, &clients.iam, plan, state, fresh).await?;
    if state.access_key_id.is_null() || plan.access_key_id.known().is_none() {
        access_key::rotate(ctx, clients, state, plan.wait_for_credentials.unwrap_or(true), fresh).await?;
    }
    state.key_rotation = plan.key_rotation.clone();
    state.ci_secrets = access_key::ci_secrets(state, &client.dagster_url).into();
    secret_store::sync(ctx, clients, Some(prior), plan, state).await
}

/// Reads every part back; `None` when neither the repository nor the user exists. `importing`: also take
/// the settings that configuration would otherwise give (lifecycle rules, manifest read, the key's id).
async fn find(
    ctx: &Context,
    clients: &Clients,
    prior: &RegistryState,
    importing: bool,
) -> Result<Option<RegistryState>, RegistryError> {
    let mut state = prior.clone();
    repository::refresh(&clients.ecr, prior, importing, &mut state).await?;
    if let Some(user) = user::refresh(&clients.iam, prior, importing, &mut state).await? {
        access_key::refresh(&clients.iam, &user, importing, &mut state).await?;
    }
    secret_store::refresh(ctx, clients, &mut state).await?;
    if state.repository_arn.is_null() && state.user_arn.is_null() {
        return Ok(None);
    }
    Ok(Some(state))
}

#[async_trait]
impl Resource for RegistryResource {
    type Client = ProviderClient;
    type State = RegistryState;
    type Identity = ();

    const IMPORTABLE: bool = true;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_registry"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &RegistryState, diags: &mut Diagnostics) {
        crate::resources::shared::secret_store::validate(
            config.store_secret_in_state,
            &config.secret_store,
            "the secret access key",
            diags,
        );
        let Some(encryption) = config.encryption.known() else { return };
        // A null type means the default, AES256.
        let aes = match &encryption.kind {
            Field::Null => true,
            Field::Known(kind) => kind == DEFAULT_ENCRYPTION,
            Field::Unknown => false,
        };
        if aes && !encryption.kms_key.is_null() {
            diags.attribute_error(
                Path::root().attr("encryption").attr("kms_key"),
                "KMS key with AES256 encryption",
                "`kms_key` applies only to `type = \"KMS\"`. Remove it, or set `type = \"KMS\"`.",
            );
        }
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        plan: &mut Plan<RegistryState>,
        _diags: &mut Diagnostics,
    ) {
        plan::modify(plan, &client.dagster_url);
    }

    async fn create(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        planned: RegistryState,
        diags: &mut Diagnostics,
    ) -> Option<RegistryState> {
        let clients = diags.capture(aws(client).await)?;
        let mut state = planned.clone();
        state.id = planned.name.clone().into();
        state.user_name = Field::Known(planned.effective_user_name());
        state.clear_repository();
        state.clear_user();
        state.set_store(Default::default());
        let result = create_parts(ctx, client, &clients, &planned, &mut state).await;
        state.withhold_secret();
        if let Err(error) = result {
            diags.push(error);
            if state.repository_arn.is_null() && state.user_arn.is_null() {
                return None;
            }
            // Recorded as tainted: the next apply deletes what exists and starts again.
            warn!(repository = planned.name(), "registry only partly created; recording what exists");
        }
        Some(state)
    }

    async fn read(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        state: RegistryState,
        diags: &mut Diagnostics,
    ) -> Option<RegistryState> {
        let clients = diags.capture(aws(client).await)?;
        let found = diags.capture(find(ctx, &clients, &state, false).await)?;
        if found.is_none() {
            info!("repository and IAM user deleted outside Terraform; the registry will be planned for creation");
        }
        found
    }

    async fn update(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        prior: RegistryState,
        planned: RegistryState,
        diags: &mut Diagnostics,
    ) -> Option<RegistryState> {
        let clients = diags.capture(aws(client).await)?;
        // Settings that live only in state (force_delete, wait_for_credentials) are taken as planned; the
        // parts are updated one by one and recorded as they succeed.
        let mut state = prior.clone();
        state.force_delete = planned.force_delete;
        state.wait_for_credentials = planned.wait_for_credentials;
        state.store_secret_in_state = planned.store_secret_in_state;
        let result = update_parts(ctx, client, &clients, &prior, &planned, &mut state).await;
        // Also on failure: a key minted before a failed store write is recorded by id only.
        state.withhold_secret();
        if let Err(error) = result {
            diags.push(error);
        }
        Some(state)
    }

    async fn delete(&self, ctx: &Context, client: &ProviderClient, state: RegistryState, diags: &mut Diagnostics) {
        let result = async {
            let clients = aws(client).await?;
            secret_store::delete(ctx, &clients, &state).await?;
            user::delete(ctx, &clients.iam, &state).await?;
            repository::delete(&clients.ecr, &state).await
        }
        .await;
        if let Err(error) = result {
            diags.push(error);
        }
    }

    /// By repository name, optionally followed by `:` and the IAM user's name when it is not the derived one.
    async fn import(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        id: &str,
        diags: &mut Diagnostics,
    ) -> Option<RegistryState> {
        let (repository, user) = match id.trim().split_once(':') {
            Some((repository, user)) => (repository, Some(user)),
            None => (id.trim(), None),
        };
        let problems =
            [names::check_repository_name(repository).err(), user.and_then(|u| names::check_user_name(u).err())];
        if let Some(problem) = problems.into_iter().flatten().next() {
            diags.error(
                "Invalid import id",
                format!("{problem} Import with the repository name, optionally followed by `:` and the IAM user name, e.g. `terraform import dagsterbranch_registry.ci dagster/app` or `dagster/app:ci-pusher`."),
            );
            return None;
        }
        let derived = names::derived_user_name(repository);
        let skeleton = RegistryState {
            id: Field::Known(repository.to_string()),
            name: Some(repository.to_string()),
            force_delete: Some(true),
            wait_for_credentials: Some(true),
            store_secret_in_state: Some(true),
            user_name: Field::Known(user.unwrap_or(&derived).to_string()),
            user: user
                .filter(|u| *u != derived)
                .map(|u| UserBlock { name: Field::Known(u.to_string()), path: Field::Null })
                .into(),
            ..RegistryState::default()
        };
        let clients = diags.capture(aws(client).await)?;
        match diags.capture(find(ctx, &clients, &skeleton, true).await)? {
            Some(imported) if !imported.repository_arn.is_null() => Some(imported),
            _ => {
                diags.error(
                    "Cannot import the registry",
                    format!("There is no ECR repository named `{repository}` in this account and region."),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cty::Value;

    use super::*;
    use crate::secret::Secret;

    #[test]
    fn state_covers_the_schema() {
        tfplugin::model::check_covers::<RegistryState>(&schema::schema().block).unwrap();
    }

    #[test]
    fn debug_shows_no_secret_and_state_keeps_them() {
        let mut state = RegistryState {
            access_key_id: Field::Known("AKIAEXAMPLE".into()),
            secret_access_key: Field::Known(Secret::new("s3cr3t")),
            repository_arn: Field::Known("arn:aws:ecr:eu-west-1:123456789012:repository/dagster/app".into()),
            ..RegistryState::default()
        };
        state.ci_secrets = access_key::ci_secrets(&state, "https://acme.dagster.cloud").into();
        assert!(!format!("{state:?}").contains("s3cr3t"), "Debug must not show the secret");
        let encoded = tfplugin::model::encode(&state, &schema::schema().value_type()).unwrap();
        assert_eq!(encoded.get("secret_access_key").and_then(Value::as_str), Some("s3cr3t"));
        let ci_secrets = encoded.get("ci_secrets").and_then(Value::as_map).unwrap();
        assert_eq!(ci_secrets.get("AWS_SECRET_ACCESS_KEY").and_then(Value::as_str), Some("s3cr3t"));
    }

    #[test]
    fn aes256_with_a_kms_key_is_rejected_at_the_attribute() {
        let config = serde_json::json!({
            "name": "dagster/app", "encryption": { "type": "AES256", "kms_key": "arn:aws:kms:us-east-1:1:key/x" }
        });
        let value = tfplugin::model::encode(&config, &schema::schema().value_type()).unwrap();
        let config: RegistryState = tfplugin::model::decode(&value).unwrap();
        let mut diags = Diagnostics::new();
        RegistryResource.validate(&config, &mut diags);
        let error = diags.iter().next().expect("an error");
        assert_eq!(error.path, Some(Path::root().attr("encryption").attr("kms_key")));
    }

    #[test]
    fn debug_of_a_stored_state_shows_no_secret() {
        let mut state = RegistryState {
            access_key_id: Field::Known("AKIAEXAMPLE".into()),
            secret_access_key: Field::Known(Secret::new("s3cr3t")),
            repository_arn: Field::Known("arn:aws:ecr:eu-west-1:123456789012:repository/dagster/app".into()),
            store_secret_in_state: Some(false),
            secret_fingerprint: Field::Known("ab".into()),
            ..RegistryState::default()
        };
        state.ci_secrets = access_key::ci_secrets(&state, "https://acme.dagster.cloud").into();
        assert!(!format!("{state:?}").contains("s3cr3t"));
        state.withhold_secret();
        let encoded = tfplugin::model::encode(&state, &schema::schema().value_type()).unwrap();
        assert!(!format!("{encoded:?}").contains("s3cr3t"), "kept out of state");
        assert!(encoded.get("secret_access_key").is_some_and(Value::is_null));
    }

    #[test]
    fn bad_store_settings_are_rejected_at_the_attribute() {
        let cases = [
            (
                serde_json::json!({ "name": "a/b", "store_secret_in_state": false }),
                Path::root().attr("store_secret_in_state"),
            ),
            (
                serde_json::json!({ "name": "a/b", "secret_store": { "type": "ssm", "name": "ci/app" } }),
                Path::root().attr("secret_store").attr("name"),
            ),
            (
                serde_json::json!({ "name": "a/b", "secret_store": { "type": "secretsmanager", "name": "ci app" } }),
                Path::root().attr("secret_store").attr("name"),
            ),
        ];
        for (config, path) in cases {
            let value = tfplugin::model::encode(&config, &schema::schema().value_type()).unwrap();
            let config: RegistryState = tfplugin::model::decode(&value).unwrap();
            let mut diags = Diagnostics::new();
            RegistryResource.validate(&config, &mut diags);
            assert_eq!(diags.iter().next().expect("an error").path, Some(path));
        }
    }
}
