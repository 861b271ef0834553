//! The `secret_store` block and `store_secret_in_state` that the registry (its CI secrets) and the agent (the
//! token it owns) share: schema, validation, plan, and the apply-time write, refresh and delete. Each
//! resource keeps the four attributes flat in its state (the schema's shape) and lends them here as a
//! [`StoreRecord`]; what a write needs beyond that (a new access key, the token's value) stays with it.

use cty::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Context, Diagnostic, Diagnostics, Field, NestedBlock, Nesting, Validator};
use tracing::info;

use crate::aws::clients::Clients;
use crate::aws::error::Error as AwsError;
use crate::aws::secret_store::{self, StoreOwner, StoreTarget};
use crate::secret::Secret;

/// The `secret_store` block.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct SecretStoreBlock {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub name: Field<String>,
    pub kms_key_id: Field<String>,
}

impl SecretStoreBlock {
    /// Where to write, when every setting is known.
    pub fn target(&self) -> Option<StoreTarget> {
        if self.kms_key_id.is_unknown() {
            return None;
        }
        Some(StoreTarget {
            kind: self.kind.known()?.clone(),
            name: self.name.known()?.clone(),
            kms_key_id: self.kms_key_id.known().cloned(),
        })
    }
}

/// `store()` and `set_store()` for a resource's state struct: its store attributes carry the schema names this
/// module gives them (`secret_store`, `secret_store_arn`, `secret_store_version`, `secret_fingerprint`).
macro_rules! store_record_accessors {
    ($state:ty) => {
        impl $state {
            /// The store's attributes, as the shared secret-store code works on them.
            pub(super) fn store(&self) -> $crate::resources::shared::secret_store::StoreRecord {
                $crate::resources::shared::secret_store::StoreRecord {
                    block: self.secret_store.clone(),
                    arn: self.secret_store_arn.clone(),
                    version: self.secret_store_version.clone(),
                    fingerprint: self.secret_fingerprint.clone(),
                }
            }

            pub(super) fn set_store(&mut self, record: $crate::resources::shared::secret_store::StoreRecord) {
                self.secret_store = record.block;
                self.secret_store_arn = record.arn;
                self.secret_store_version = record.version;
                self.secret_fingerprint = record.fingerprint;
            }
        }
    };
}
pub(crate) use store_record_accessors;

/// A resource's store attributes: the block and what the last write recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreRecord {
    pub block: Field<SecretStoreBlock>,
    pub arn: Field<String>,
    pub version: Field<String>,
    pub fingerprint: Field<String>,
}

impl StoreRecord {
    pub fn target(&self) -> Option<StoreTarget> {
        self.block.known().and_then(SecretStoreBlock::target)
    }

    /// Whether a store was written and is recorded.
    pub fn written(&self) -> bool {
        !self.arn.is_null()
    }

    /// Whether the plan writes the store (everything about it is unknown then).
    pub fn write_planned(&self) -> bool {
        self.version.is_unknown()
    }

    fn forget(&mut self) {
        self.arn = Field::Null;
        self.version = Field::Null;
        self.fingerprint = Field::Null;
    }
}

/// A failed store step; the message is the diagnostic's summary, the AWS error its detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Cannot set up AWS access")]
    Setup(#[source] Box<AwsError>),
    #[error("Could not write the secret store")]
    Write(#[source] Box<AwsError>),
    #[error("Could not read the secret store")]
    Read(#[source] Box<AwsError>),
    #[error("Could not delete the secret store")]
    Delete(#[source] Box<AwsError>),
    #[error("No secret to write to the secret store")]
    NoSecret(String),
}

impl From<StoreError> for Diagnostic {
    fn from(error: StoreError) -> Self {
        let detail = match &error {
            StoreError::NoSecret(why) => why.clone(),
            _ => std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default(),
        };
        Diagnostic::error(error.to_string(), detail)
    }
}

/// `store_secret_in_state` and the three computed attributes, with the two descriptions that depend on the
/// resource: what `store_secret_in_state` keeps, and what repairing drift does.
pub fn attributes(in_state: &'static str, fingerprint: &'static str) -> Vec<Attribute> {
    vec![
        Attribute::optional("store_secret_in_state", Type::Bool, in_state).default(Value::Bool(true)),
        Attribute::computed("secret_store_arn", Type::String, "The ARN of the secret store (Secrets Manager secret or SSM parameter), when `secret_store` is set."),
        Attribute::computed("secret_store_version", Type::String, "The store's version this provider last wrote: the Secrets Manager `VersionId` or the SSM parameter `Version`."),
        Attribute::computed("secret_fingerprint", Type::String, fingerprint),
    ]
}

/// The `secret_store` block; `what` says what is written.
pub fn block(what: &str) -> NestedBlock {
    NestedBlock::new(
        "secret_store",
        Nesting::Single,
        Block::new(format!("Also write {what} as one JSON object to AWS Secrets Manager or SSM Parameter Store (a `SecureString`), tagged with the provider's ownership marker. Each change writes a new version; destroy deletes the store without a recovery window. Changing `type` or `name` writes the new store, then deletes the old one."))
            .attribute(
                Attribute::required("type", Type::String, "`secretsmanager` or `ssm`.")
                    .validator(Validator::one_of(&[secret_store::SECRETS_MANAGER, secret_store::SSM])),
            )
            .attribute(Attribute::required("name", Type::String, "The secret's name (Secrets Manager: letters, digits and `/_+=.@-`), or the parameter's name (SSM: starts with `/`)."))
            .attribute(Attribute::optional("kms_key_id", Type::String, "The KMS key to encrypt with; AWS's managed key for the service when not set.")),
    )
}

/// The store's name must suit its type; keeping the secret out of state needs a store to put it in.
pub fn validate(
    store_secret_in_state: Option<bool>,
    block: &Field<SecretStoreBlock>,
    secret: &str,
    diags: &mut Diagnostics,
) {
    if store_secret_in_state == Some(false) && block.is_null() {
        diags.attribute_error(
            Path::root().attr("store_secret_in_state"),
            "Secret kept out of state without a secret store",
            format!("`store_secret_in_state = false` leaves {secret} nowhere. Add a `secret_store` block, or remove `store_secret_in_state`."),
        );
    }
    let Some(store) = block.known() else { return };
    let (Some(kind), Some(name)) = (store.kind.known(), store.name.known()) else { return };
    if ![secret_store::SECRETS_MANAGER, secret_store::SSM].contains(&kind.as_str()) {
        return; // the attribute's own validator names it
    }
    if let Err(problem) = secret_store::check_name(kind, name) {
        diags.attribute_error(Path::root().attr("secret_store").attr("name"), "Invalid secret store name", problem);
    }
}

/// Plans the store's computed attributes: kept when nothing is written; unknown when the store is written
/// (a new secret, `force`; a changed type, name or key; a store deleted or changed outside Terraform).
/// Returns whether the plan writes the store.
pub fn plan(prior: Option<&StoreRecord>, planned: &mut StoreRecord, force: bool) -> bool {
    match &planned.block {
        Field::Null => {
            planned.forget();
            false
        }
        Field::Unknown => {
            unknown(planned);
            true
        }
        Field::Known(_) => {
            let prior_target = prior.and_then(StoreRecord::target);
            let target = planned.target();
            let needs_write = force
                || target.is_none()
                || prior_target != target
                || prior.is_none_or(|p| p.arn.is_null() || p.fingerprint.is_null());
            if needs_write {
                let same_store =
                    matches!((&prior_target, &target), (Some(a), Some(b)) if a.kind == b.kind && a.name == b.name);
                let arn = prior.filter(|_| same_store).map(|p| p.arn.clone()).unwrap_or(Field::Null);
                unknown(planned);
                if !arn.is_null() {
                    planned.arn = arn;
                }
            } else if let Some(prior) = prior {
                planned.arn = prior.arn.clone();
                planned.version = prior.version.clone();
                planned.fingerprint = prior.fingerprint.clone();
            }
            needs_write
        }
    }
}

fn unknown(planned: &mut StoreRecord) {
    planned.arn = Field::Unknown;
    planned.version = Field::Unknown;
    planned.fingerprint = Field::Unknown;
}

fn same_store(a: &StoreTarget, b: &StoreTarget) -> bool {
    a.kind == b.kind && a.name == b.name
}

/// Brings the store to `planned`: writes `document` as a new version when the plan says so (then deletes a
/// store of another type or name that `prior` recorded), or deletes the store when the block was removed.
/// `state` starts as the prior record (or empty on create) and always ends as what exists.
pub async fn sync(
    ctx: &Context,
    clients: &Clients,
    prior: Option<&StoreRecord>,
    planned: &StoreRecord,
    state: &mut StoreRecord,
    document: Result<Secret, String>,
    owner: &StoreOwner,
) -> Result<(), StoreError> {
    let old = prior.filter(|p| p.written()).and_then(StoreRecord::target);
    let Some(target) = planned.target() else {
        if let Some(old) = old {
            secret_store::delete(ctx, clients, &old).await.map_err(|e| StoreError::Delete(Box::new(e)))?;
        }
        *state = StoreRecord { block: planned.block.clone(), ..StoreRecord::default() };
        return Ok(());
    };
    if !planned.write_planned() {
        state.block = planned.block.clone();
        return Ok(());
    }
    // Until the write succeeds the state records the prior store (to be deleted once a new one exists) or
    // none, never with a fingerprint, so a failure is repaired by the next apply and nothing is forgotten.
    match (prior, &old) {
        (Some(prior), Some(_)) => *state = prior.clone(),
        _ => *state = StoreRecord { block: planned.block.clone(), ..StoreRecord::default() },
    }
    state.fingerprint = Field::Null;
    let document = document.map_err(StoreError::NoSecret)?;
    let written = secret_store::write(ctx, clients, &target, &document, owner)
        .await
        .map_err(|e| StoreError::Write(Box::new(e)))?;
    *state = StoreRecord {
        block: planned.block.clone(),
        arn: Field::Known(written.arn),
        version: Field::Known(written.version),
        fingerprint: Field::Known(secret_store::fingerprint(&document)),
    };
    if let Some(old) = old.filter(|old| !same_store(old, &target)) {
        secret_store::delete(ctx, clients, &old).await.map_err(|e| StoreError::Delete(Box::new(e)))?;
    }
    Ok(())
}

/// Reads the store `state` records: a deleted store clears its ARN, version and fingerprint; a value that
/// is not the one written (by fingerprint) clears the fingerprint. Either shows as drift and makes the next
/// plan write the store again.
pub async fn refresh(ctx: &Context, clients: &Clients, state: &mut StoreRecord) -> Result<(), StoreError> {
    if !state.written() {
        return Ok(());
    }
    let Some(target) = state.target() else { return Ok(()) };
    match secret_store::read(ctx, clients, &target).await.map_err(|e| StoreError::Read(Box::new(e)))? {
        None => {
            info!(store = %target.kind, name = %target.name, "secret store deleted outside Terraform; it will be written again");
            state.forget();
        }
        Some((version, value)) => {
            state.arn = Field::Known(version.arn);
            state.version = Field::Known(version.version);
            if state.fingerprint.known() != Some(&secret_store::fingerprint(&value)) {
                info!(store = %target.kind, name = %target.name, "secret store value changed outside Terraform; it will be written again");
                state.fingerprint = Field::Null;
            }
        }
    }
    Ok(())
}

/// Deletes the store `state` records.
pub async fn delete(ctx: &Context, clients: &Clients, state: &StoreRecord) -> Result<(), StoreError> {
    match state.target().filter(|_| state.written()) {
        Some(target) => secret_store::delete(ctx, clients, &target).await.map_err(|e| StoreError::Delete(Box::new(e))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, name: &str, written: bool) -> StoreRecord {
        let block = SecretStoreBlock {
            kind: Field::Known(kind.to_string()),
            name: Field::Known(name.to_string()),
            kms_key_id: Field::Null,
        };
        let known = |v: &str| if written { Field::Known(v.to_string()) } else { Field::Null };
        StoreRecord { block: Field::Known(block), arn: known("arn:x"), version: known("1"), fingerprint: known("ab") }
    }

    #[test]
    fn a_plan_writes_only_when_something_changed() {
        let prior = record("ssm", "/ci/a", true);
        let mut same = record("ssm", "/ci/a", false);
        assert!(!plan(Some(&prior), &mut same, false), "nothing changed");
        assert_eq!(same.version, Field::Known("1".to_string()));
        let mut forced = record("ssm", "/ci/a", false);
        assert!(plan(Some(&prior), &mut forced, true), "a new secret");
        assert_eq!(forced.arn, prior.arn, "same store, same ARN");
        assert!(forced.version.is_unknown() && forced.fingerprint.is_unknown());
        let mut moved = record("secretsmanager", "ci/a", false);
        assert!(plan(Some(&prior), &mut moved, false), "another store");
        assert!(moved.arn.is_unknown());
        let mut drifted_prior = prior.clone();
        drifted_prior.fingerprint = Field::Null;
        assert!(plan(Some(&drifted_prior), &mut record("ssm", "/ci/a", false), false), "drift is repaired");
        let mut removed = StoreRecord::default();
        assert!(!plan(Some(&prior), &mut removed, false));
        assert!(removed.arn.is_null());
    }
}
