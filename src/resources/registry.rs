//! `dagsterbranch_registry`: the manual's Amazon ECR path as one resource. A private ECR repository, an IAM
//! user that may only push to it (inline policy), and an access key for CI, with the variables CI needs.
//!
//! The parts are created in that order and each one is recorded as soon as it exists, so a failed create
//! leaves a (tainted) state that the next apply cleans up. Reads report each missing part separately
//! (a deleted repository, user, policy or key) and the next apply re-creates just that part.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use cty::{Path, Type, Value};
use serde::{Deserialize, Serialize, Serializer};
use tfplugin::{
    Attribute, Block, Context, Diagnostic, Diagnostics, NestedBlock, Nesting, Plan, Resource, Schema, Validator,
};
use tracing::{info, warn};

use crate::aws::clients::{Clients, LazyClients};
use crate::aws::error::{ApiError, Error};
use crate::aws::lifecycle::LifecycleRules;
use crate::aws::owner::{self, Origin};
use crate::aws::{credentials, ecr, iam, names, policy, retry};
use crate::provider::{configured, Configured, SharedConfig};
use crate::secret::Secret;

pub struct RegistryResource {
    schema: Schema,
    config: SharedConfig,
    clients: LazyClients,
}

impl RegistryResource {
    pub fn new(config: SharedConfig) -> Self {
        RegistryResource { schema: schema(), config, clients: LazyClients::default() }
    }
}

const DEFAULT_PATH: &str = "/";
const DEFAULT_ENCRYPTION: &str = "AES256";

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

fn schema() -> Schema {
    Schema::new("A private Amazon ECR repository for branch-deployment images, an IAM user that may only push to it, and an access key for CI. `ci_secrets` holds the variables to store in your Git provider.\n\nThe secret access key is returned by AWS only when the key is created: it cannot be read back, so after `terraform import` it is empty. Set or change `key_rotation` to mint a new key.")
        .attribute(Attribute::computed("id", Type::String, "The repository name.").use_state_for_unknown())
        .attribute(
            Attribute::required("name", Type::String, "The repository name, for example `dagster/my-project`. Changing it replaces everything.")
                .requires_replace()
                .validator(Validator::string("an ECR repository name", names::check_repository_name)),
        )
        .attribute(
            Attribute::optional("image_tag_mutability", Type::String, "`IMMUTABLE` (CI tags are unique per commit) or `MUTABLE`.")
                .default(string("IMMUTABLE"))
                .validator(Validator::one_of(&["IMMUTABLE", "MUTABLE"])),
        )
        .attribute(Attribute::optional("scan_on_push", Type::Bool, "Scan each pushed image for vulnerabilities.").default(Value::Bool(false)))
        .attribute(
            Attribute::optional("force_delete", Type::Bool, "Delete the repository on destroy even if it holds images. Kept in state, so destroy uses the value of the last apply.")
                .default(Value::Bool(true)),
        )
        .attribute(
            Attribute::optional("tags", Type::Map(Box::new(Type::String)), "Tags for the repository and the IAM user (at most 50; keys must not start with `aws:`).")
                .validator(tags_validator()),
        )
        .attribute(
            Attribute::optional("allow_manifest_read", Type::Bool, "Also allow `ecr:BatchGetImage` (reading manifests), which some clients (buildx, manifest lists, re-pushing an existing tag) need while pushing. Layers stay unreadable, so images still cannot be pulled.")
                .default(Value::Bool(false)),
        )
        .attribute(Attribute::optional("key_rotation", Type::String, "Any value; changing it creates a new access key, waits for it to work, then deletes the old one (AWS allows two keys per user)."))
        .attribute(
            Attribute::optional("wait_for_credentials", Type::Bool, "After creating a key, wait (at most a few minutes) until AWS accepts it for `sts:GetCallerIdentity` and `ecr:GetAuthorizationToken`, so CI can use it at once.")
                .default(Value::Bool(true)),
        )
        .attribute(Attribute::computed("repository_url", Type::String, "The repository URL to push to (`<registry_host>/<name>`).").use_state_for_unknown())
        .attribute(Attribute::computed("repository_arn", Type::String, "The repository ARN.").use_state_for_unknown())
        .attribute(Attribute::computed("registry_id", Type::String, "The AWS account id of the registry.").use_state_for_unknown())
        .attribute(Attribute::computed("registry_host", Type::String, "The registry host CI logs in to.").use_state_for_unknown())
        .attribute(Attribute::computed("user_name", Type::String, "The IAM user's name: `user.name`, or derived from the repository name (`/` becomes `+`, `-ecr-push` is appended, long names are shortened with a hash)."))
        .attribute(Attribute::computed("user_arn", Type::String, "The IAM user's ARN."))
        .attribute(Attribute::computed("access_key_id", Type::String, "The CI access key id."))
        .attribute(Attribute::computed("secret_access_key", Type::String, "The CI secret access key. Known only to the state that created the key (empty after import).").sensitive())
        .attribute(
            Attribute::computed("ci_secrets", Type::Map(Box::new(Type::String)), "The secrets to put in your Git provider: `DAGSTER_CLOUD_URL`, `AWS_ACCESS_KEY`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION`. Empty after import until `key_rotation` mints a key.")
                .sensitive(),
        )
        .attribute(Attribute::computed("push_policy_json", Type::String, "The user's inline push policy as applied."))
        .attribute(Attribute::computed("lifecycle_policy_json", Type::String, "The repository's lifecycle policy as applied, if any."))
        .block(NestedBlock::new(
            "encryption",
            Nesting::Single,
            Block::new("Encryption at rest. Cannot change after creation: a change replaces the repository.")
                .attribute(
                    Attribute::optional("type", Type::String, "`AES256` or `KMS`.")
                        .default(string(DEFAULT_ENCRYPTION))
                        .validator(Validator::one_of(&["AES256", "KMS"])),
                )
                .attribute(Attribute::optional_computed("kms_key", Type::String, "The KMS key ARN for `KMS`; AWS's managed `aws/ecr` key when not set.")),
        ))
        .block(NestedBlock::new(
            "lifecycle_policy",
            Nesting::Single,
            Block::new("Image clean-up, rendered as the repository's lifecycle policy. (Terraform reserves the name `lifecycle` for its own meta-argument.)")
                .attribute(Attribute::optional("expire_untagged_after_days", Type::Number, "Expire untagged images this many days after push.").validator(positive_whole_number()))
                .attribute(Attribute::optional("keep_last_images", Type::Number, "Keep only this many most recent images.").validator(positive_whole_number())),
        ))
        .block(NestedBlock::new(
            "user",
            Nesting::Single,
            Block::new("The IAM user CI pushes as.")
                .attribute(
                    Attribute::optional("name", Type::String, "The user name; derived from the repository name when not set.")
                        .validator(Validator::string("an IAM user name", names::check_user_name)),
                )
                .attribute(
                    Attribute::optional("path", Type::String, "The IAM path, for example `/dagster/`.")
                        .default(string(DEFAULT_PATH))
                        .validator(Validator::string("an IAM path", names::check_user_path)),
                ),
        ))
}

fn positive_whole_number() -> Validator {
    Validator::new("a whole number of at least 1", |value| match value.as_number() {
        Some(n) if n.is_integer() && n.to_i64().is_some_and(|i| i >= 1) => Ok(()),
        Some(n) => Err(format!("{n} is not allowed here; use a whole number of at least 1.")),
        None => Ok(()),
    })
}

const MAX_TAGS: usize = 50;

fn tags_validator() -> Validator {
    Validator::new("AWS tags", |value| {
        let Some(tags) = value.as_map() else { return Ok(()) };
        if tags.len() > MAX_TAGS {
            return Err(format!("{} tags are set; AWS allows at most {MAX_TAGS}.", tags.len()));
        }
        for (key, tag_value) in tags {
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(format!("The tag key `{key}` uses the `aws:` prefix, which AWS reserves."));
            }
            if owner::is_reserved(key) {
                return Err(format!(
                    "The tag key `{key}` uses the `{}` prefix, which the provider reserves for its ownership marker.",
                    owner::RESERVED_PREFIX
                ));
            }
            if key.is_empty() || key.chars().count() > 128 {
                return Err(format!("The tag key `{key}` must have 1 to 128 characters."));
            }
            if tag_value.as_str().is_some_and(|v| v.chars().count() > 256) {
                return Err(format!("The value of tag `{key}` has more than 256 characters."));
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------------------
// State

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
struct Encryption {
    #[serde(rename = "type")]
    kind: Option<String>,
    kms_key: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, Serialize)]
struct Lifecycle {
    expire_untagged_after_days: Option<i64>,
    keep_last_images: Option<i64>,
}

impl Lifecycle {
    fn rules(&self) -> LifecycleRules {
        LifecycleRules {
            expire_untagged_after_days: self.expire_untagged_after_days,
            keep_last_images: self.keep_last_images,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
struct UserBlock {
    name: Option<String>,
    path: Option<String>,
}

/// The resource's state, in the shape of the schema. Secrets stay wrapped so `Debug` never shows them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct RegistryState {
    id: Option<String>,
    name: Option<String>,
    image_tag_mutability: Option<String>,
    scan_on_push: Option<bool>,
    force_delete: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
    allow_manifest_read: Option<bool>,
    key_rotation: Option<String>,
    wait_for_credentials: Option<bool>,
    repository_url: Option<String>,
    repository_arn: Option<String>,
    registry_id: Option<String>,
    registry_host: Option<String>,
    user_name: Option<String>,
    user_arn: Option<String>,
    access_key_id: Option<String>,
    #[serde(serialize_with = "expose_secret")]
    secret_access_key: Option<Secret>,
    #[serde(serialize_with = "expose_secrets")]
    ci_secrets: Option<BTreeMap<String, Secret>>,
    push_policy_json: Option<String>,
    lifecycle_policy_json: Option<String>,
    encryption: Option<Encryption>,
    lifecycle_policy: Option<Lifecycle>,
    user: Option<UserBlock>,
}

/// Secrets leave their wrapper only here, on the way into Terraform's state.
fn expose_secret<S: Serializer>(secret: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    secret.as_ref().map(Secret::expose).serialize(serializer)
}

fn expose_secrets<S: Serializer>(secrets: &Option<BTreeMap<String, Secret>>, serializer: S) -> Result<S::Ok, S::Error> {
    secrets.as_ref().map(|m| m.iter().map(|(k, v)| (k, v.expose())).collect::<BTreeMap<_, _>>()).serialize(serializer)
}

impl RegistryState {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    fn user_path(&self) -> &str {
        self.user.as_ref().and_then(|u| u.path.as_deref()).unwrap_or(DEFAULT_PATH)
    }

    fn tag_map(&self) -> BTreeMap<String, String> {
        self.tags.clone().unwrap_or_default()
    }

    fn encryption_type(&self) -> &str {
        self.encryption.as_ref().and_then(|e| e.kind.as_deref()).unwrap_or(DEFAULT_ENCRYPTION)
    }

    fn lifecycle_document(&self) -> Option<String> {
        self.lifecycle_policy.map(|l| l.rules()).and_then(|r| r.render())
    }

    fn set_repository(&mut self, repository: &ecr::Repository) {
        self.repository_arn = Some(repository.arn.clone());
        self.repository_url = Some(repository.uri.clone());
        self.registry_id = Some(repository.registry_id.clone());
        self.registry_host = Some(repository.registry_host());
    }

    fn clear_repository(&mut self) {
        self.repository_arn = None;
        self.repository_url = None;
        self.registry_id = None;
        self.registry_host = None;
        self.lifecycle_policy_json = None;
    }

    fn clear_key(&mut self) {
        self.access_key_id = None;
        self.secret_access_key = None;
        self.ci_secrets = None;
    }

    /// Recomputes `ci_secrets` from the key, the repository's region and the Dagster+ URL; empty when the
    /// secret is unknown (after import).
    fn refresh_ci_secrets(&mut self, dagster_url: &str) {
        self.ci_secrets =
            match (&self.access_key_id, &self.secret_access_key, self.repository_arn.as_deref().and_then(arn_region)) {
                (Some(id), Some(secret), Some(region)) => Some(ci_secrets(dagster_url, id, secret, region)),
                _ => None,
            };
    }
}

/// The variables the manual tells users to store in their Git provider.
fn ci_secrets(dagster_url: &str, key_id: &str, secret: &Secret, region: &str) -> BTreeMap<String, Secret> {
    BTreeMap::from([
        ("DAGSTER_CLOUD_URL".to_string(), Secret::new(dagster_url)),
        ("AWS_ACCESS_KEY".to_string(), Secret::new(key_id)),
        ("AWS_ACCESS_KEY_ID".to_string(), Secret::new(key_id)),
        ("AWS_SECRET_ACCESS_KEY".to_string(), secret.clone()),
        ("AWS_REGION".to_string(), Secret::new(region)),
    ])
}

/// The region field of an ARN (`arn:partition:service:region:account:resource`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The IAM user name for a configuration: `user.name`, else derived from the repository name.
fn effective_user_name(repository: &str, user: Option<&UserBlock>) -> String {
    user.and_then(|u| u.name.clone()).unwrap_or_else(|| names::derived_user_name(repository))
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/// A failed step: what the provider was doing, and why it failed.
struct Failure {
    summary: &'static str,
    error: Box<Error>,
}

impl Failure {
    fn diagnostic(&self) -> Diagnostic {
        Diagnostic::error(self.summary, self.error.to_string())
    }
}

trait During<T> {
    fn during(self, summary: &'static str) -> Result<T, Failure>;
}

impl<T, E: Into<Error>> During<T> for Result<T, E> {
    fn during(self, summary: &'static str) -> Result<T, Failure> {
        self.map_err(|e| Failure { summary, error: Box::new(e.into()) })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Plan helpers

fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, name| v.get(name))
}

/// A known, non-null string at `path`.
fn known_str<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get_path(value, path).and_then(Value::as_str)
}

fn is_unknown(value: &Value, path: &[&str]) -> bool {
    get_path(value, path).is_some_and(|v| !v.is_wholly_known())
}

fn opt_string(value: Option<&str>) -> Value {
    value.map_or(Value::Null, string)
}

fn set_nested(planned: &mut Value, block: &str, name: &str, value: Value) {
    if let Value::Object(attrs) = planned {
        if let Some(Value::Object(inner)) = attrs.get_mut(block) {
            inner.insert(name.to_string(), value);
        }
    }
}

impl RegistryResource {
    fn encode(&self, state: &RegistryState, diags: &mut Diagnostics) -> Option<Value> {
        match tfplugin::encode(state, &self.schema.value_type()) {
            Ok(value) => Some(value),
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    async fn session(&self) -> Result<(Arc<Configured>, Arc<Clients>), Diagnostic> {
        let config = configured(&self.config)?;
        let clients = self
            .clients
            .get(&config.aws)
            .await
            .map_err(|e| Diagnostic::error("Cannot set up AWS access", e.to_string()).at(Path::root()))?;
        Ok((config, clients))
    }

    /// Whether encryption (which ECR cannot change) differs between the prior state and the plan.
    fn encryption_changes(prior: &RegistryState, planned: &Value, config: &Value) -> bool {
        if is_unknown(planned, &["encryption"]) || is_unknown(config, &["encryption"]) {
            return true;
        }
        let planned_type = known_str(planned, &["encryption", "type"]).unwrap_or(DEFAULT_ENCRYPTION);
        if planned_type != prior.encryption_type() {
            return true;
        }
        // Only a configured key counts: without one AWS picks its managed key, which is what prior has.
        let prior_key = prior.encryption.as_ref().and_then(|e| e.kms_key.as_deref());
        known_str(config, &["encryption", "kms_key"]).is_some_and(|key| Some(key) != prior_key)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Create, read, update, delete

impl RegistryResource {
    /// Creates each part in turn, recording it in `state` as soon as it exists.
    async fn create_parts(
        &self,
        ctx: &Context,
        config: &Configured,
        clients: &Clients,
        plan: &RegistryState,
        state: &mut RegistryState,
    ) -> Result<(), Failure> {
        self.create_repository(clients, plan, state).await?;
        self.create_user(ctx, clients, plan, state).await?;
        self.put_policy(ctx, clients, plan, state, true).await?;
        self.rotate_key(ctx, clients, state, plan.wait_for_credentials.unwrap_or(true), true).await?;
        state.refresh_ci_secrets(&config.dagster_url);
        Ok(())
    }

    async fn create_repository(
        &self,
        clients: &Clients,
        plan: &RegistryState,
        state: &mut RegistryState,
    ) -> Result<(), Failure> {
        let kms_key = plan.encryption.as_ref().and_then(|e| e.kms_key.clone());
        let tags = plan.tag_map();
        let spec = ecr::RepositorySpec {
            name: plan.name(),
            tag_mutability: plan.image_tag_mutability.as_deref().unwrap_or("IMMUTABLE"),
            scan_on_push: plan.scan_on_push.unwrap_or(false),
            encryption_type: plan.encryption_type(),
            kms_key: kms_key.as_deref(),
            tags: &tags,
        };
        let (repository, origin) =
            ecr::create(&clients.ecr, &spec).await.during("Could not create the ECR repository")?;
        state.set_repository(&repository);
        state.image_tag_mutability = Some(repository.tag_mutability.clone());
        state.scan_on_push = Some(repository.scan_on_push);
        state.tags = plan.tags.clone();
        state.encryption = plan.encryption.clone().map(|mut e| {
            e.kms_key =
                if repository.encryption_type == DEFAULT_ENCRYPTION { None } else { repository.kms_key.clone() };
            e
        });
        if origin == Origin::Adopted {
            // Made by an earlier attempt, possibly of an earlier apply with other settings.
            self.align_adopted_repository(clients, plan, &repository, state).await?;
        }
        state.lifecycle_policy_json = None;
        let document = plan.lifecycle_document();
        // An adopted repository may hold a policy that the plan no longer has.
        if document.is_some() || origin == Origin::Adopted {
            ecr::set_lifecycle_policy(&clients.ecr, plan.name(), document.as_deref())
                .await
                .during("Could not set the repository's lifecycle policy")?;
        }
        state.lifecycle_policy = plan.lifecycle_policy;
        state.lifecycle_policy_json = document;
        Ok(())
    }

    /// Brings an adopted repository's changeable settings to the plan. Encryption cannot change: the state
    /// records the repository's own, so a differing plan replaces it.
    async fn align_adopted_repository(
        &self,
        clients: &Clients,
        plan: &RegistryState,
        repository: &ecr::Repository,
        state: &mut RegistryState,
    ) -> Result<(), Failure> {
        let name = plan.name();
        let mutability = plan.image_tag_mutability.as_deref().unwrap_or("IMMUTABLE");
        if repository.tag_mutability != mutability {
            ecr::set_tag_mutability(&clients.ecr, name, mutability)
                .await
                .during("Could not change the image tag mutability")?;
            state.image_tag_mutability = Some(mutability.to_string());
        }
        let scan_on_push = plan.scan_on_push.unwrap_or(false);
        if repository.scan_on_push != scan_on_push {
            ecr::set_scan_on_push(&clients.ecr, name, scan_on_push).await.during("Could not change scan on push")?;
            state.scan_on_push = Some(scan_on_push);
        }
        ecr::set_tags(&clients.ecr, &repository.arn, &plan.tag_map(), name)
            .await
            .during("Could not update the repository's tags")?;
        if repository.encryption_type != plan.encryption_type() || state.encryption.is_some() {
            let kms_key =
                if repository.encryption_type == DEFAULT_ENCRYPTION { None } else { repository.kms_key.clone() };
            state.encryption = Some(Encryption { kind: Some(repository.encryption_type.clone()), kms_key });
        }
        Ok(())
    }

    async fn create_user(
        &self,
        ctx: &Context,
        clients: &Clients,
        plan: &RegistryState,
        state: &mut RegistryState,
    ) -> Result<(), Failure> {
        const SUMMARY: &str = "Could not create the IAM user";
        let name = effective_user_name(plan.name(), plan.user.as_ref());
        let tags = plan.tag_map();
        let (user, origin) =
            iam::create_user(ctx, &clients.iam, &name, plan.user_path(), &tags, plan.name()).await.during(SUMMARY)?;
        if origin == Origin::Adopted {
            // Made by an earlier attempt, possibly of an earlier apply with another path or other tags.
            if user.path != plan.user_path() {
                iam::update_user(&clients.iam, &user.name, &user.name, plan.user_path(), plan.name())
                    .await
                    .during(SUMMARY)?;
            }
            iam::set_user_tags(&clients.iam, &user.name, &tags, plan.name()).await.during(SUMMARY)?;
        }
        state.user_name = Some(user.name);
        state.user_arn = Some(user.arn);
        state.user = plan.user.clone();
        // A new user has no policy and no key yet; an adopted one gets both rewritten (stray keys go in
        // `rotate_key`).
        state.push_policy_json = None;
        state.clear_key();
        Ok(())
    }

    /// Writes the push policy when the state's differs from the one for `plan`. `fresh`: the user was just
    /// created or renamed, so `NoSuchEntity` means "not visible yet".
    async fn put_policy(
        &self,
        ctx: &Context,
        clients: &Clients,
        plan: &RegistryState,
        state: &mut RegistryState,
        fresh: bool,
    ) -> Result<(), Failure> {
        let (Some(arn), Some(user)) = (state.repository_arn.clone(), state.user_name.clone()) else { return Ok(()) };
        let allow_manifest_read = plan.allow_manifest_read.unwrap_or(false);
        let document = policy::push_policy(&arn, allow_manifest_read);
        if state.push_policy_json.as_deref() != Some(document.as_str()) {
            const SUMMARY: &str = "Could not set the IAM user's push policy";
            if fresh {
                retry::after_create(ctx, "iam:PutUserPolicy", || iam::put_push_policy(&clients.iam, &user, &document))
                    .await
                    .during(SUMMARY)?;
            } else {
                iam::put_push_policy(&clients.iam, &user, &document).await.during(SUMMARY)?;
            }
            info!(user = %user, "push policy written");
        }
        state.push_policy_json = Some(document);
        state.allow_manifest_read = Some(allow_manifest_read);
        Ok(())
    }

    /// Creates a new key before deleting the old one, within IAM's limit of two keys per user: keys that
    /// the state does not know (left by an interrupted rotation) are deleted first to make room.
    async fn rotate_key(
        &self,
        ctx: &Context,
        clients: &Clients,
        state: &mut RegistryState,
        wait: bool,
        fresh: bool,
    ) -> Result<(), Failure> {
        const SUMMARY: &str = "Could not create the access key";
        let Some(user) = state.user_name.clone() else { return Ok(()) };
        let existing = if fresh {
            retry::after_create(ctx, "iam:ListAccessKeys", || iam::access_keys(&clients.iam, &user))
                .await
                .during(SUMMARY)?
        } else {
            iam::access_keys(&clients.iam, &user).await.during(SUMMARY)?
        };
        let current = state.access_key_id.clone();
        if existing.len() >= 2 {
            for stray in existing.iter().filter(|k| Some(&k.id) != current.as_ref()) {
                warn!(user = %user, access_key_id = %stray.id, "deleting an access key the state does not know, to make room");
                iam::delete_access_key(&clients.iam, &user, &stray.id).await.during(SUMMARY)?;
            }
        }
        let key =
            iam::create_access_key_with_room(ctx, &clients.iam, &user, current.as_deref()).await.during(SUMMARY)?;
        state.access_key_id = Some(key.id.clone());
        state.secret_access_key = Some(key.secret.clone());
        // Recorded first: a failure below must not lose the only copy of the new secret.
        iam::delete_unknown_keys(&clients.iam, &user, &[current.as_deref(), Some(key.id.as_str())])
            .await
            .during("Could not delete access keys left by lost create attempts")?;
        if wait {
            // On failure the old key stays, so CI keeps working until the new one does.
            credentials::wait_until_usable(ctx, clients, &key)
                .await
                .during("The new access key did not start working")?;
        }
        for old in existing.iter().filter(|k| k.id != key.id) {
            iam::delete_access_key(&clients.iam, &user, &old.id)
                .await
                .during("Could not delete the previous access key")?;
        }
        Ok(())
    }

    /// Brings the existing parts to `plan` and re-creates missing ones.
    async fn update_parts(
        &self,
        ctx: &Context,
        config: &Configured,
        clients: &Clients,
        prior: &RegistryState,
        plan: &RegistryState,
        state: &mut RegistryState,
    ) -> Result<(), Failure> {
        let name = plan.name();
        // Repository.
        match prior.repository_arn.clone() {
            None => self.create_repository(clients, plan, state).await?,
            Some(arn) => {
                if prior.image_tag_mutability != plan.image_tag_mutability {
                    let mutability = plan.image_tag_mutability.as_deref().unwrap_or("IMMUTABLE");
                    ecr::set_tag_mutability(&clients.ecr, name, mutability)
                        .await
                        .during("Could not change the image tag mutability")?;
                    state.image_tag_mutability = plan.image_tag_mutability.clone();
                }
                if prior.scan_on_push != plan.scan_on_push {
                    ecr::set_scan_on_push(&clients.ecr, name, plan.scan_on_push.unwrap_or(false))
                        .await
                        .during("Could not change scan on push")?;
                    state.scan_on_push = plan.scan_on_push;
                }
                if prior.tag_map() != plan.tag_map() {
                    ecr::set_tags(&clients.ecr, &arn, &plan.tag_map(), name)
                        .await
                        .during("Could not update the repository's tags")?;
                }
                let document = plan.lifecycle_document();
                if prior.lifecycle_policy_json != document {
                    ecr::set_lifecycle_policy(&clients.ecr, name, document.as_deref())
                        .await
                        .during("Could not set the repository's lifecycle policy")?;
                }
                state.lifecycle_policy = plan.lifecycle_policy;
                state.lifecycle_policy_json = document;
                state.encryption = plan.encryption.clone();
            }
        }
        // User.
        let user_name = effective_user_name(name, plan.user.as_ref());
        let mut fresh = false;
        match prior.user_arn {
            None => {
                self.create_user(ctx, clients, plan, state).await?;
                fresh = true;
            }
            Some(_) => {
                let old_name = prior.user_name.clone().unwrap_or_else(|| user_name.clone());
                if old_name != user_name || prior.user_path() != plan.user_path() {
                    iam::update_user(&clients.iam, &old_name, &user_name, plan.user_path(), name)
                        .await
                        .during("Could not rename or move the IAM user")?;
                    state.user_name = Some(user_name.clone());
                    let user = retry::after_create(ctx, "iam:GetUser", || async {
                        iam::get_user(&clients.iam, &user_name)
                            .await?
                            .ok_or_else(|| ApiError::not_found("iam:GetUser", "user"))
                    })
                    .await
                    .during("Could not read the renamed IAM user")?;
                    state.user_arn = Some(user.arn);
                    fresh = true;
                }
                if fresh || prior.tag_map() != plan.tag_map() {
                    iam::set_user_tags(&clients.iam, &user_name, &plan.tag_map(), name)
                        .await
                        .during("Could not update the IAM user's tags")?;
                }
                state.user = plan.user.clone();
            }
        }
        state.tags = plan.tags.clone();
        // Policy (restored when edited or deleted out of band) and key.
        self.put_policy(ctx, clients, plan, state, fresh).await?;
        if state.access_key_id.is_none() || plan.access_key_id.is_none() {
            self.rotate_key(ctx, clients, state, plan.wait_for_credentials.unwrap_or(true), fresh).await?;
        }
        state.key_rotation = plan.key_rotation.clone();
        state.refresh_ci_secrets(&config.dagster_url);
        Ok(())
    }

    /// Reads every part back. `importing`: also take the settings that configuration would otherwise give
    /// (lifecycle rules, manifest read, the existing key's id).
    async fn refresh(
        &self,
        clients: &Clients,
        prior: &RegistryState,
        importing: bool,
    ) -> Result<Option<RegistryState>, Failure> {
        const SUMMARY: &str = "Could not read the registry";
        let mut state = prior.clone();
        let name = prior.name().to_string();
        // Only parts this resource created (recorded with an ARN) are looked up, so a failed create or a
        // deleted part never adopts an object someone else made under the same name; import is the way
        // to take one over.
        let repository = if prior.repository_arn.is_some() || importing {
            ecr::describe(&clients.ecr, &name).await.during(SUMMARY)?
        } else {
            None
        };
        match repository {
            Some(repository) => {
                state.set_repository(&repository);
                state.image_tag_mutability = Some(repository.tag_mutability.clone());
                state.scan_on_push = Some(repository.scan_on_push);
                if state.encryption.is_some() || repository.encryption_type != DEFAULT_ENCRYPTION {
                    let kms_key = if repository.encryption_type == DEFAULT_ENCRYPTION {
                        None
                    } else {
                        repository.kms_key.clone()
                    };
                    state.encryption = Some(Encryption { kind: Some(repository.encryption_type.clone()), kms_key });
                }
                let tags = ecr::tags(&clients.ecr, &repository.arn).await.during(SUMMARY)?;
                state.tags = if tags.is_empty() && prior.tags.is_none() { None } else { Some(tags) };
                let remote = ecr::lifecycle_policy(&clients.ecr, &name).await.during(SUMMARY)?;
                if importing {
                    state.lifecycle_policy = remote.as_deref().and_then(LifecycleRules::parse).map(|r| Lifecycle {
                        expire_untagged_after_days: r.expire_untagged_after_days,
                        keep_last_images: r.keep_last_images,
                    });
                }
                state.lifecycle_policy_json = prefer_rendered(remote, state.lifecycle_document());
            }
            None => {
                if prior.repository_arn.is_some() {
                    info!(repository = %name, "ECR repository not found; it will be re-created");
                }
                state.clear_repository();
            }
        }
        let user = match &prior.user_name {
            Some(user_name) if prior.user_arn.is_some() || importing => {
                iam::get_user(&clients.iam, user_name).await.during(SUMMARY)?
            }
            _ => None,
        };
        match user {
            Some(user) => {
                state.user_arn = Some(user.arn.clone());
                if importing || user.path != prior.user_path() {
                    let name = prior.user.as_ref().and_then(|u| u.name.clone());
                    if importing && name.is_none() && user.path == DEFAULT_PATH {
                        state.user = None;
                    } else {
                        state.user = Some(UserBlock { name, path: Some(user.path.clone()) });
                    }
                }
                let remote = iam::push_policy(&clients.iam, &user.name).await.during(SUMMARY)?;
                if importing {
                    state.allow_manifest_read = Some(remote.as_deref().is_some_and(policy::grants_manifest_read));
                }
                let expected = state
                    .repository_arn
                    .as_deref()
                    .map(|arn| policy::push_policy(arn, state.allow_manifest_read.unwrap_or(false)));
                state.push_policy_json = prefer_rendered(remote, expected);
                let keys = iam::access_keys(&clients.iam, &user.name).await.during(SUMMARY)?;
                if importing && state.access_key_id.is_none() {
                    // The newest active key; its secret cannot be read back.
                    state.access_key_id =
                        keys.iter().filter(|k| k.active).max_by_key(|k| k.created).map(|k| k.id.clone());
                }
                if let Some(id) = &state.access_key_id {
                    if !keys.iter().any(|k| &k.id == id) {
                        info!(user = %user.name, access_key_id = %id, "access key deleted outside Terraform; a new one will be created");
                        state.clear_key();
                    }
                }
            }
            None => {
                if prior.user_arn.is_some() {
                    info!(user = ?prior.user_name, "IAM user not found; it will be re-created");
                }
                state.user_arn = None;
                state.push_policy_json = None;
                state.clear_key();
            }
        }
        if state.repository_arn.is_none() && state.user_arn.is_none() {
            return Ok(None);
        }
        Ok(Some(state))
    }
}

/// A document read back from AWS: stored as this provider renders it when it means the same (so formatting
/// never shows as drift), else as read (so the next plan restores it).
fn prefer_rendered(remote: Option<String>, rendered: Option<String>) -> Option<String> {
    match (remote, rendered) {
        (Some(remote), Some(rendered)) if policy::same_json(&remote, &rendered) => Some(rendered),
        (remote, _) => remote,
    }
}

#[async_trait]
impl Resource for RegistryResource {
    fn type_name(&self) -> &'static str {
        "dagsterbranch_registry"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let encryption_type = get_path(config, &["encryption", "type"]);
        let kms_key = get_path(config, &["encryption", "kms_key"]);
        // A null type means the default, AES256.
        let aes = encryption_type.is_some_and(|t| t.is_null() || t.as_str() == Some(DEFAULT_ENCRYPTION));
        if aes && kms_key.is_some_and(|k| !k.is_null()) {
            diags.attribute_error(
                Path::root().attr("encryption").attr("kms_key"),
                "KMS key with AES256 encryption",
                "`kms_key` applies only to `type = \"KMS\"`. Remove it, or set `type = \"KMS\"`.",
            );
        }
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut Plan<'_>, _diags: &mut Diagnostics) {
        let name = known_str(&plan.planned, &["name"]).map(str::to_string);
        plan.set("id", name.as_deref().map_or_else(Value::unknown, string));
        let user_name = match get_path(plan.config, &["user", "name"]) {
            Some(v) if !v.is_known() => None,
            Some(Value::String(configured)) => Some(configured.clone()),
            _ => name.as_deref().map(names::derived_user_name),
        };
        plan.set("user_name", user_name.as_deref().map_or_else(Value::unknown, string));
        let lifecycle = if is_unknown(&plan.planned, &["lifecycle_policy"]) {
            Value::unknown()
        } else {
            let rules =
                tfplugin::decode::<Option<Lifecycle>>(plan.planned.get("lifecycle_policy").unwrap_or(&Value::Null));
            opt_string(rules.ok().flatten().and_then(|l| l.rules().render()).as_deref())
        };
        plan.set("lifecycle_policy_json", lifecycle);
        if plan.is_create() {
            return;
        }
        let Ok(prior) = tfplugin::decode::<RegistryState>(plan.prior) else { return };

        if Self::encryption_changes(&prior, &plan.planned, plan.config) {
            plan.requires_replace.push(Path::root().attr("encryption"));
            return;
        }
        if get_path(plan.config, &["encryption", "kms_key"]).is_none_or(Value::is_null) {
            let prior_key = prior.encryption.as_ref().and_then(|e| e.kms_key.as_deref());
            set_nested(&mut plan.planned, "encryption", "kms_key", opt_string(prior_key));
        }

        // A repository deleted outside Terraform is re-created, with new values (said explicitly: the
        // generic planning keeps null computed values when the configuration did not change).
        if prior.repository_arn.is_none() {
            for attribute in ["repository_arn", "repository_url", "registry_id", "registry_host"] {
                plan.set(attribute, Value::unknown());
            }
        }

        // The user keeps its ARN unless it is re-created, renamed or moved.
        let planned_path = known_str(&plan.planned, &["user", "path"]).unwrap_or(DEFAULT_PATH);
        let user_moves = user_name.is_none()
            || is_unknown(&plan.planned, &["user", "path"])
            || prior.user_name != user_name
            || prior.user_path() != planned_path;
        let user_arn = match (&prior.user_arn, user_moves) {
            (Some(arn), false) => string(arn),
            _ => Value::unknown(),
        };
        plan.set("user_arn", user_arn);

        let allow = get_path(&plan.planned, &["allow_manifest_read"]).and_then(Value::as_bool);
        let push_policy = match (&prior.repository_arn, allow) {
            (Some(arn), Some(allow)) => string(&policy::push_policy(arn, allow)),
            _ => Value::unknown(),
        };
        plan.set("push_policy_json", push_policy);

        let rotation_changes = is_unknown(&plan.planned, &["key_rotation"])
            || known_str(&plan.planned, &["key_rotation"]) != prior.key_rotation.as_deref();
        let new_key = prior.user_arn.is_none() || prior.access_key_id.is_none() || rotation_changes;
        if new_key {
            for attribute in ["access_key_id", "secret_access_key", "ci_secrets"] {
                plan.set(attribute, Value::unknown());
            }
            return;
        }
        plan.set("access_key_id", opt_string(prior.access_key_id.as_deref()));
        plan.set("secret_access_key", opt_string(prior.secret_access_key.as_ref().map(Secret::expose)));
        let ci = match (configured(&self.config), prior.repository_arn.is_some()) {
            (Ok(config), true) => {
                let mut refreshed = prior.clone();
                refreshed.refresh_ci_secrets(&config.dagster_url);
                match tfplugin::encode(&refreshed, &self.schema.value_type()) {
                    Ok(value) => value.get("ci_secrets").cloned().unwrap_or(Value::Null),
                    Err(_) => Value::unknown(),
                }
            }
            _ => Value::unknown(),
        };
        plan.set("ci_secrets", ci);
    }

    async fn create(&self, ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let plan = match tfplugin::decode::<RegistryState>(planned) {
            Ok(plan) => plan,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let (config, clients) = match self.session().await {
            Ok(session) => session,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let mut state = plan.clone();
        state.id = plan.name.clone();
        state.user_name = Some(effective_user_name(plan.name(), plan.user.as_ref()));
        state.clear_repository();
        state.user_arn = None;
        state.push_policy_json = None;
        state.clear_key();
        if let Err(failure) = self.create_parts(ctx, &config, &clients, &plan, &mut state).await {
            diags.push(failure.diagnostic());
            if state.repository_arn.is_none() && state.user_arn.is_none() {
                return None;
            }
            // Recorded as tainted: the next apply deletes what exists and starts again.
            warn!(repository = plan.name(), "registry only partly created; recording what exists");
        }
        self.encode(&state, diags)
    }

    async fn read(&self, _ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let result = async {
            let prior = tfplugin::decode::<RegistryState>(state)?;
            let (_, clients) = self.session().await?;
            self.refresh(&clients, &prior, false).await.map_err(|f| f.diagnostic())
        }
        .await;
        match result {
            Ok(Some(refreshed)) => self.encode(&refreshed, diags),
            Ok(None) => {
                info!("repository and IAM user deleted outside Terraform; the registry will be planned for creation");
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    }

    async fn update(&self, ctx: &Context, prior: &Value, planned: &Value, diags: &mut Diagnostics) -> Value {
        let decoded = tfplugin::decode::<RegistryState>(prior)
            .and_then(|p| tfplugin::decode::<RegistryState>(planned).map(|n| (p, n)));
        let (before, after) = match decoded {
            Ok(pair) => pair,
            Err(d) => {
                diags.push(d);
                return prior.clone();
            }
        };
        let (config, clients) = match self.session().await {
            Ok(session) => session,
            Err(d) => {
                diags.push(d);
                return prior.clone();
            }
        };
        // Settings that live only in state (force_delete, wait_for_credentials, …) are taken as planned;
        // the parts are updated one by one and recorded as they succeed.
        let mut state = before.clone();
        state.force_delete = after.force_delete;
        state.wait_for_credentials = after.wait_for_credentials;
        if let Err(failure) = self.update_parts(ctx, &config, &clients, &before, &after, &mut state).await {
            diags.push(failure.diagnostic());
        }
        self.encode(&state, diags).unwrap_or_else(|| prior.clone())
    }

    async fn delete(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics) {
        let result = async {
            let state = tfplugin::decode::<RegistryState>(state)?;
            let (_, clients) = self.session().await?;
            // Only a user this resource created (it has an ARN in state) is deleted; a partial create that
            // ran into someone else's user must not remove it.
            if let (Some(_), Some(user)) = (&state.user_arn, &state.user_name) {
                iam::delete_user(ctx, &clients.iam, user)
                    .await
                    .during("Could not delete the IAM user")
                    .map_err(|f| f.diagnostic())?;
            }
            if state.repository_arn.is_some() {
                ecr::delete(&clients.ecr, state.name(), state.force_delete.unwrap_or(true))
                    .await
                    .during("Could not delete the ECR repository")
                    .map_err(|f| f.diagnostic())?;
            }
            Ok::<_, Diagnostic>(())
        }
        .await;
        if let Err(d) = result {
            diags.push(d);
        }
    }

    async fn import(&self, _ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
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
        let state = RegistryState {
            id: Some(repository.to_string()),
            name: Some(repository.to_string()),
            force_delete: Some(true),
            wait_for_credentials: Some(true),
            user_name: Some(user.unwrap_or(&derived).to_string()),
            user: user.filter(|u| *u != derived).map(|u| UserBlock { name: Some(u.to_string()), path: None }),
            ..RegistryState::default()
        };
        let clients = match self.session().await {
            Ok((_, clients)) => clients,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        match self.refresh(&clients, &state, true).await {
            Ok(Some(imported)) if imported.repository_arn.is_some() => self.encode(&imported, diags),
            Ok(_) => {
                diags.error(
                    "Cannot import the registry",
                    format!("There is no ECR repository named `{repository}` in this account and region."),
                );
                None
            }
            Err(failure) => {
                diags.push(failure.diagnostic());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_secrets_have_the_manuals_names() {
        let mut state = RegistryState {
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key: Some(Secret::new("s3cr3t")),
            repository_arn: Some("arn:aws:ecr:eu-west-1:123456789012:repository/dagster/app".into()),
            ..RegistryState::default()
        };
        state.refresh_ci_secrets("https://acme.dagster.cloud");
        let secrets = state.ci_secrets.clone().unwrap();
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
        assert!(!format!("{state:?}").contains("s3cr3t"), "Debug must not show the secret");
        let encoded = tfplugin::encode(&state, &schema().value_type()).unwrap();
        assert_eq!(encoded.get("secret_access_key").and_then(Value::as_str), Some("s3cr3t"));
    }

    #[test]
    fn rendered_documents_win_when_equivalent() {
        let rendered = policy::push_policy("arn:aws:ecr:us-east-1:1:repository/a", false);
        let spaced =
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&rendered).unwrap()).unwrap();
        assert_eq!(prefer_rendered(Some(spaced), Some(rendered.clone())), Some(rendered.clone()));
        assert_eq!(prefer_rendered(Some("{}".into()), Some(rendered)), Some("{}".into()));
        assert_eq!(prefer_rendered(None, Some("x".into())), None);
    }

    fn value(json: serde_json::Value) -> Value {
        tfplugin::encode(&json, &schema().value_type()).unwrap()
    }

    #[test]
    fn only_effective_encryption_changes_replace() {
        let aes = RegistryState::default();
        let kms = RegistryState {
            encryption: Some(Encryption {
                kind: Some("KMS".into()),
                kms_key: Some("arn:aws:kms:us-east-1:1:key/a".into()),
            }),
            ..RegistryState::default()
        };
        let none = value(serde_json::json!({ "name": "a/b" }));
        let explicit_aes = value(serde_json::json!({ "name": "a/b", "encryption": { "type": "AES256" } }));
        let kms_default_key = value(serde_json::json!({ "name": "a/b", "encryption": { "type": "KMS" } }));
        let kms_other_key = value(
            serde_json::json!({ "name": "a/b", "encryption": { "type": "KMS", "kms_key": "arn:aws:kms:us-east-1:1:key/b" } }),
        );
        assert!(!RegistryResource::encryption_changes(&aes, &none, &none));
        assert!(
            !RegistryResource::encryption_changes(&aes, &explicit_aes, &explicit_aes),
            "AES256 spelled out is no change"
        );
        assert!(RegistryResource::encryption_changes(&aes, &kms_default_key, &kms_default_key));
        assert!(
            !RegistryResource::encryption_changes(&kms, &kms_default_key, &kms_default_key),
            "AWS's chosen key is kept"
        );
        assert!(RegistryResource::encryption_changes(&kms, &kms_other_key, &kms_other_key));
        assert!(RegistryResource::encryption_changes(&kms, &none, &none));
    }

    #[test]
    fn aes256_with_a_kms_key_is_rejected_at_the_attribute() {
        let resource = RegistryResource::new(SharedConfig::default());
        let config = tfplugin::encode(
            &serde_json::json!({ "name": "dagster/app", "encryption": { "type": "AES256", "kms_key": "arn:aws:kms:us-east-1:1:key/x" } }),
            &schema().value_type(),
        )
        .unwrap();
        let mut diags = Diagnostics::new();
        resource.validate(&config, &mut diags);
        let error = diags.iter().next().expect("an error");
        assert_eq!(error.path, Some(Path::root().attr("encryption").attr("kms_key")));
    }
}
