//! Plan refinement: predicts the computed values that follow from the configuration (the user name, the
//! documents, a kept key) and marks what a change re-creates (the repository's parts, the key).

use cty::Path;
use tfplugin::{Field, Plan};

use super::access_key;
use super::schema::DEFAULT_PATH;
use super::state::{Encryption, RegistryState};
use crate::aws::{names, policy};
use crate::resources::shared::secret_store;

/// Refines `plan.planned`; `dagster_url` goes into a kept key's `ci_secrets`.
pub(super) fn modify(plan: &mut Plan<RegistryState>, dagster_url: &str) {
    modify_parts(plan, dagster_url);
    modify_store(plan);
}

/// The secret store's computed values (see the shared `secret_store::plan`). A new key is written to the
/// store; a write without the secret in state needs a new key: the old secret cannot be recovered.
fn modify_store(plan: &mut Plan<RegistryState>) {
    let prior = plan.prior.as_ref().map(RegistryState::store);
    let mut record = plan.planned.store();
    let writes = secret_store::plan(prior.as_ref(), &mut record, plan.planned.access_key_id.is_unknown());
    plan.planned.set_store(record);
    if writes && plan.prior.as_ref().is_some_and(|p| p.secret_access_key.is_null()) {
        let planned = &mut plan.planned;
        planned.access_key_id = Field::Unknown;
        planned.secret_access_key = Field::Unknown;
        planned.ci_secrets = Field::Unknown;
    }
    plan.planned.withhold_secret();
}

fn modify_parts(plan: &mut Plan<RegistryState>, dagster_url: &str) {
    let planned = &mut plan.planned;
    let name = planned.name.clone();
    planned.id = known_or_unknown(name.clone());
    let user_name = match plan.config.user.known().map(|u| &u.name) {
        Some(Field::Unknown) => None,
        Some(Field::Known(configured)) => Some(configured.clone()),
        _ => name.as_deref().map(names::derived_user_name),
    };
    planned.user_name = known_or_unknown(user_name.clone());
    planned.lifecycle_policy_json = match &planned.lifecycle_policy {
        Field::Known(lifecycle) if lifecycle.is_wholly_known() => lifecycle.rules().render().into(),
        Field::Known(_) | Field::Unknown => Field::Unknown,
        Field::Null => Field::Null,
    };
    let Some(prior) = &plan.prior else { return };

    if encryption_changes(prior, planned, &plan.config) {
        plan.requires_replace.push(Path::root().attr("encryption"));
        return;
    }
    let key_configured = plan.config.encryption.known().is_some_and(|e| !e.kms_key.is_null());
    if let (false, Field::Known(encryption)) = (key_configured, &mut planned.encryption) {
        // Without a configured key AWS chose one at creation; it stays.
        encryption.kms_key = prior.kms_key().map(str::to_string).into();
    }

    // A repository deleted outside Terraform is re-created, with new values (said explicitly: the generic
    // planning keeps null computed values when the configuration did not change).
    if prior.repository_arn.is_null() {
        planned.repository_arn = Field::Unknown;
        planned.repository_url = Field::Unknown;
        planned.registry_id = Field::Unknown;
        planned.registry_host = Field::Unknown;
    }

    // The user keeps its ARN unless it is re-created, renamed or moved.
    let planned_path = planned.user.known().map(|u| &u.path);
    let user_moves = user_name.is_none()
        || planned_path.is_some_and(Field::is_unknown)
        || prior.user_name.known() != user_name.as_ref()
        || prior.user_path() != planned_path.and_then(Field::as_deref).unwrap_or(DEFAULT_PATH);
    planned.user_arn = match prior.user_arn.known() {
        Some(arn) if !user_moves => Field::Known(arn.clone()),
        _ => Field::Unknown,
    };

    planned.push_policy_json = match (prior.repository_arn.known(), planned.allow_manifest_read) {
        (Some(arn), Some(allow)) => Field::Known(policy::push_policy(arn, allow)),
        _ => Field::Unknown,
    };

    let rotation_changes =
        planned.key_rotation.is_unknown() || planned.key_rotation.as_deref() != prior.key_rotation.as_deref();
    let new_key = prior.user_arn.is_null() || prior.access_key_id.is_null() || rotation_changes;
    if new_key {
        planned.access_key_id = Field::Unknown;
        planned.secret_access_key = Field::Unknown;
        planned.ci_secrets = Field::Unknown;
        return;
    }
    planned.access_key_id = prior.access_key_id.clone();
    planned.secret_access_key = prior.secret_access_key.clone();
    planned.ci_secrets = match prior.repository_arn {
        Field::Known(_) => access_key::ci_secrets(prior, dagster_url).into(),
        _ => Field::Unknown,
    };
}

fn known_or_unknown(value: Option<String>) -> Field<String> {
    value.map_or(Field::Unknown, Field::Known)
}

/// Whether encryption (which ECR cannot change) differs between the prior state and the plan.
fn encryption_changes(prior: &RegistryState, planned: &RegistryState, config: &RegistryState) -> bool {
    if !wholly_known(&planned.encryption) || !wholly_known(&config.encryption) {
        return true;
    }
    if planned.encryption_type() != prior.encryption_type() {
        return true;
    }
    // Only a configured key counts: without one AWS picks its managed key, which is what prior has.
    config.kms_key().is_some_and(|key| Some(key) != prior.kms_key())
}

fn wholly_known(encryption: &Field<Encryption>) -> bool {
    match encryption {
        Field::Known(e) => e.is_wholly_known(),
        Field::Unknown => false,
        Field::Null => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::registry::schema::schema;
    use crate::resources::registry::state::UserBlock;
    use crate::resources::shared::secret_store::SecretStoreBlock;

    /// A state (or configuration) decoded from JSON, as the server would hand it over.
    fn state(json: serde_json::Value) -> RegistryState {
        let value = tfplugin::model::encode(&json, &schema().value_type()).unwrap();
        tfplugin::model::decode(&value).unwrap()
    }

    #[test]
    fn only_effective_encryption_changes_replace() {
        let aes = RegistryState::default();
        let kms = state(serde_json::json!({
            "name": "a/b", "encryption": { "type": "KMS", "kms_key": "arn:aws:kms:us-east-1:1:key/a" }
        }));
        let none = state(serde_json::json!({ "name": "a/b" }));
        let explicit_aes = state(serde_json::json!({ "name": "a/b", "encryption": { "type": "AES256" } }));
        let kms_default_key = state(serde_json::json!({ "name": "a/b", "encryption": { "type": "KMS" } }));
        let kms_other_key = state(
            serde_json::json!({ "name": "a/b", "encryption": { "type": "KMS", "kms_key": "arn:aws:kms:us-east-1:1:key/b" } }),
        );
        assert!(!encryption_changes(&aes, &none, &none));
        assert!(!encryption_changes(&aes, &explicit_aes, &explicit_aes), "AES256 spelled out is no change");
        assert!(encryption_changes(&aes, &kms_default_key, &kms_default_key));
        assert!(!encryption_changes(&kms, &kms_default_key, &kms_default_key), "AWS's chosen key is kept");
        assert!(encryption_changes(&kms, &kms_other_key, &kms_other_key));
        assert!(encryption_changes(&kms, &none, &none));
    }

    fn plan(prior: Option<RegistryState>, config: RegistryState) -> Plan<RegistryState> {
        Plan { prior, planned: config.clone(), config, requires_replace: Vec::new() }
    }

    #[test]
    fn create_predicts_the_id_the_user_name_and_the_lifecycle_policy() {
        let config = state(serde_json::json!({ "name": "dagster/app", "lifecycle_policy": { "keep_last_images": 3 } }));
        let mut plan = plan(None, config);
        modify(&mut plan, "https://acme.dagster.cloud");
        assert_eq!(plan.planned.id, Field::Known("dagster/app".to_string()));
        assert_eq!(plan.planned.user_name, Field::Known("dagster+app-ecr-push".to_string()));
        assert!(plan.planned.lifecycle_policy_json.as_deref().is_some_and(|p| p.contains("imageCountMoreThan")));

        let mut unknown_user = plan.config.clone();
        unknown_user.user = Field::Known(UserBlock { name: Field::Unknown, path: Field::Null });
        let mut plan = self::plan(None, unknown_user);
        modify(&mut plan, "https://acme.dagster.cloud");
        assert_eq!(plan.planned.user_name, Field::Unknown, "a user name not known yet");
    }

    #[test]
    fn an_update_keeps_the_key_unless_key_rotation_changes() {
        let prior = state(serde_json::json!({
            "name": "dagster/app", "key_rotation": "1", "allow_manifest_read": false,
            "repository_arn": "arn:aws:ecr:eu-west-1:1:repository/dagster/app",
            "user_name": "dagster+app-ecr-push", "user_arn": "arn:aws:iam::1:user/dagster+app-ecr-push",
            "access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t",
        }));
        let mut kept = plan(Some(prior.clone()), prior.clone());
        modify(&mut kept, "https://acme.dagster.cloud");
        assert_eq!(kept.planned.user_arn, prior.user_arn);
        assert_eq!(kept.planned.access_key_id, prior.access_key_id);
        let ci_secrets = kept.planned.ci_secrets.known().expect("known ci_secrets");
        assert_eq!(ci_secrets["DAGSTER_CLOUD_URL"].expose(), "https://acme.dagster.cloud");
        assert!(kept.planned.push_policy_json.as_deref().is_some_and(|p| p.contains("repository/dagster/app")));
        assert!(kept.requires_replace.is_empty());

        let mut rotated = plan(Some(prior.clone()), RegistryState { key_rotation: Field::Known("2".into()), ..prior });
        modify(&mut rotated, "https://acme.dagster.cloud");
        assert!(rotated.planned.access_key_id.is_unknown());
        assert!(rotated.planned.secret_access_key.is_unknown());
        assert!(rotated.planned.ci_secrets.is_unknown());
    }

    #[test]
    fn a_store_without_the_secret_in_state_plans_no_secret_and_a_new_key_for_repairs() {
        let config = state(serde_json::json!({
            "name": "dagster/app", "store_secret_in_state": false,
            "secret_store": { "type": "ssm", "name": "/ci/app" },
        }));
        let mut created = plan(None, config.clone());
        modify(&mut created, "https://acme.dagster.cloud");
        assert!(created.planned.secret_access_key.is_null() && created.planned.ci_secrets.is_null());
        assert!(created.planned.secret_store_version.is_unknown() && created.planned.secret_fingerprint.is_unknown());

        let prior = state(serde_json::json!({
            "name": "dagster/app", "store_secret_in_state": false, "allow_manifest_read": false,
            "secret_store": { "type": "ssm", "name": "/ci/app" },
            "repository_arn": "arn:aws:ecr:eu-west-1:1:repository/dagster/app",
            "user_name": "dagster+app-ecr-push", "user_arn": "arn:aws:iam::1:user/dagster+app-ecr-push",
            "access_key_id": "AKIAEXAMPLE", "secret_store_arn": "arn:aws:ssm:eu-west-1:1:parameter/ci/app",
            "secret_store_version": "1", "secret_fingerprint": "ab",
        }));
        let mut kept = plan(Some(prior.clone()), config.clone());
        modify(&mut kept, "https://acme.dagster.cloud");
        assert_eq!(kept.planned.access_key_id, prior.access_key_id, "nothing to write, the key stays");
        assert_eq!(kept.planned.secret_fingerprint, prior.secret_fingerprint);

        // Read found another value (fingerprint cleared): the store is written with a new key.
        let drifted = RegistryState { secret_fingerprint: Field::Null, ..prior.clone() };
        let mut repaired = plan(Some(drifted), config.clone());
        modify(&mut repaired, "https://acme.dagster.cloud");
        assert!(repaired.planned.access_key_id.is_unknown());
        assert!(repaired.planned.secret_access_key.is_null(), "still kept out of state");
        assert!(repaired.planned.secret_store_version.is_unknown());
        assert_eq!(repaired.planned.secret_store_arn, prior.secret_store_arn, "same store, same ARN");

        // Another name: a new store (unknown ARN).
        let mut moved_config = config;
        moved_config.secret_store = Field::Known(SecretStoreBlock {
            kind: Field::Known("ssm".into()),
            name: Field::Known("/ci/other".into()),
            kms_key_id: Field::Null,
        });
        let mut moved = plan(Some(prior), moved_config);
        modify(&mut moved, "https://acme.dagster.cloud");
        assert!(moved.planned.secret_store_arn.is_unknown());
    }
}
