//! The registry's state model and how AWS objects are flattened into it.
//!
//! Computed attributes, and the configuration the plan reads (which may not be known yet), are `Field`s:
//! the plan must tell "not set" from "known after apply". Secrets stay wrapped so `Debug` never shows them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Number;
use tfplugin::Field;

use super::schema::{DEFAULT_ENCRYPTION, DEFAULT_PATH, DEFAULT_TAG_MUTABILITY};
use crate::aws::lifecycle::LifecycleRules;
use crate::aws::{ecr, names, policy};
use crate::resources::shared::secret_store::{store_record_accessors, SecretStoreBlock};
use crate::secret::Secret;

/// The resource's state, in the shape of the schema.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RegistryState {
    pub(super) id: Field<String>,
    pub(super) name: Option<String>,
    pub(super) image_tag_mutability: Option<String>,
    pub(super) scan_on_push: Option<bool>,
    pub(super) force_delete: Option<bool>,
    pub(super) tags: Option<BTreeMap<String, String>>,
    pub(super) allow_manifest_read: Option<bool>,
    pub(super) key_rotation: Field<String>,
    pub(super) wait_for_credentials: Option<bool>,
    pub(super) repository_url: Field<String>,
    pub(super) repository_arn: Field<String>,
    pub(super) registry_id: Field<String>,
    pub(super) registry_host: Field<String>,
    pub(super) user_name: Field<String>,
    pub(super) user_arn: Field<String>,
    pub(super) access_key_id: Field<String>,
    pub(super) secret_access_key: Field<Secret>,
    pub(super) ci_secrets: Field<BTreeMap<String, Secret>>,
    pub(super) push_policy_json: Field<String>,
    pub(super) lifecycle_policy_json: Field<String>,
    pub(super) encryption: Field<Encryption>,
    pub(super) lifecycle_policy: Field<Lifecycle>,
    pub(super) user: Field<UserBlock>,
    pub(super) store_secret_in_state: Option<bool>,
    pub(super) secret_store: Field<SecretStoreBlock>,
    pub(super) secret_store_arn: Field<String>,
    pub(super) secret_store_version: Field<String>,
    pub(super) secret_fingerprint: Field<String>,
}

/// The `encryption` block.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub(super) struct Encryption {
    #[serde(rename = "type")]
    pub(super) kind: Field<String>,
    pub(super) kms_key: Field<String>,
}

impl Encryption {
    /// ECR's encryption as the block records it: AES256 has no key.
    pub(super) fn of(repository: &ecr::Repository) -> Encryption {
        let kms_key = if repository.encryption_type == DEFAULT_ENCRYPTION { None } else { repository.kms_key.clone() };
        Encryption { kind: Field::Known(repository.encryption_type.clone()), kms_key: kms_key.into() }
    }

    pub(super) fn is_wholly_known(&self) -> bool {
        !self.kind.is_unknown() && !self.kms_key.is_unknown()
    }
}

/// The `lifecycle_policy` block. Numbers stay as given (a fraction that the validator rejects still decodes).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub(super) struct Lifecycle {
    pub(super) expire_untagged_after_days: Field<Number>,
    pub(super) keep_last_images: Field<Number>,
}

impl Lifecycle {
    pub(super) fn rules(&self) -> LifecycleRules {
        LifecycleRules {
            expire_untagged_after_days: self.expire_untagged_after_days.known().and_then(Number::as_i64),
            keep_last_images: self.keep_last_images.known().and_then(Number::as_i64),
        }
    }

    /// The block for the rules of a policy this provider rendered (on import).
    pub(super) fn of(rules: LifecycleRules) -> Lifecycle {
        Lifecycle {
            expire_untagged_after_days: rules.expire_untagged_after_days.map(Number::from).into(),
            keep_last_images: rules.keep_last_images.map(Number::from).into(),
        }
    }

    pub(super) fn is_wholly_known(&self) -> bool {
        !self.expire_untagged_after_days.is_unknown() && !self.keep_last_images.is_unknown()
    }
}

/// The `user` block.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub(super) struct UserBlock {
    pub(super) name: Field<String>,
    pub(super) path: Field<String>,
}

impl RegistryState {
    pub(super) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    pub(super) fn tag_mutability(&self) -> &str {
        self.image_tag_mutability.as_deref().unwrap_or(DEFAULT_TAG_MUTABILITY)
    }

    pub(super) fn tag_map(&self) -> BTreeMap<String, String> {
        self.tags.clone().unwrap_or_default()
    }

    pub(super) fn encryption_type(&self) -> &str {
        self.encryption.known().and_then(|e| e.kind.as_deref()).unwrap_or(DEFAULT_ENCRYPTION)
    }

    pub(super) fn kms_key(&self) -> Option<&str> {
        self.encryption.known().and_then(|e| e.kms_key.as_deref())
    }

    pub(super) fn lifecycle_document(&self) -> Option<String> {
        self.lifecycle_policy.known().and_then(|l| l.rules().render())
    }

    /// Whether `secret_access_key` and `ci_secrets` are kept in state (the default).
    pub(super) fn secret_in_state(&self) -> bool {
        self.store_secret_in_state.unwrap_or(true)
    }

    /// Drops the secret from what is recorded when the configuration keeps it out of state.
    pub(super) fn withhold_secret(&mut self) {
        if !self.secret_in_state() {
            self.secret_access_key = Field::Null;
            self.ci_secrets = Field::Null;
        }
    }

    /// `user.name` as configured.
    pub(super) fn configured_user_name(&self) -> Option<&str> {
        self.user.known().and_then(|u| u.name.as_deref())
    }

    pub(super) fn user_path(&self) -> &str {
        self.user.known().and_then(|u| u.path.as_deref()).unwrap_or(DEFAULT_PATH)
    }

    /// The IAM user name for this configuration: `user.name`, else derived from the repository name.
    pub(super) fn effective_user_name(&self) -> String {
        self.configured_user_name().map_or_else(|| names::derived_user_name(self.name()), str::to_string)
    }

    /// Flattens the repository's identifiers.
    pub(super) fn set_repository(&mut self, repository: &ecr::Repository) {
        self.repository_arn = Field::Known(repository.arn.clone());
        self.repository_url = Field::Known(repository.uri.clone());
        self.registry_id = Field::Known(repository.registry_id.clone());
        self.registry_host = Field::Known(repository.registry_host());
    }

    pub(super) fn clear_repository(&mut self) {
        self.repository_arn = Field::Null;
        self.repository_url = Field::Null;
        self.registry_id = Field::Null;
        self.registry_host = Field::Null;
        self.lifecycle_policy_json = Field::Null;
    }

    /// Forgets the user and what hangs off it (its policy and key).
    pub(super) fn clear_user(&mut self) {
        self.user_arn = Field::Null;
        self.push_policy_json = Field::Null;
        self.clear_key();
    }

    pub(super) fn clear_key(&mut self) {
        self.access_key_id = Field::Null;
        self.secret_access_key = Field::Null;
        self.ci_secrets = Field::Null;
    }
}

store_record_accessors!(RegistryState);

/// A document read back from AWS: stored as this provider renders it when it means the same (so formatting
/// never shows as drift), else as read (so the next plan restores it).
pub(super) fn prefer_rendered(remote: Option<String>, rendered: Option<String>) -> Option<String> {
    match (remote, rendered) {
        (Some(remote), Some(rendered)) if policy::same_json(&remote, &rendered) => Some(rendered),
        (remote, _) => remote,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_documents_win_when_equivalent() {
        let rendered = policy::push_policy("arn:aws:ecr:us-east-1:1:repository/a", false);
        let spaced =
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&rendered).unwrap()).unwrap();
        assert_eq!(prefer_rendered(Some(spaced), Some(rendered.clone())), Some(rendered.clone()));
        assert_eq!(prefer_rendered(Some("{}".into()), Some(rendered)), Some("{}".into()));
        assert_eq!(prefer_rendered(None, Some("x".into())), None);
    }
}
