//! The registry's schema: its attributes, their defaults, and the validators that check them at plan time.

use cty::{Type, Value};
use tfplugin::{Attribute, Block, NestedBlock, Nesting, Schema, Validator};

use crate::aws::{names, owner};
use crate::resources::shared::secret_store;
use crate::resources::shared::validators::whole_number_at_least;

pub(super) const DEFAULT_TAG_MUTABILITY: &str = "IMMUTABLE";
pub(super) const DEFAULT_ENCRYPTION: &str = "AES256";
pub(super) const DEFAULT_PATH: &str = "/";

pub(super) fn schema() -> Schema {
    Schema::new("A private Amazon ECR repository for branch-deployment images, an IAM user that may only push to it, and an access key for CI. `ci_secrets` holds the variables to store in your Git provider.\n\nThe secret access key is returned by AWS only when the key is created: it cannot be read back, so after `terraform import` it is empty. Set or change `key_rotation` to mint a new key.")
        .attribute(Attribute::computed("id", Type::String, "The repository name.").use_state_for_unknown())
        .attribute(
            Attribute::required("name", Type::String, "The repository name, for example `dagster/my-project`. Changing it replaces everything.")
                .requires_replace()
                .validator(Validator::string("an ECR repository name", names::check_repository_name)),
        )
        .attribute(
            Attribute::optional("image_tag_mutability", Type::String, "`IMMUTABLE` (CI tags are unique per commit) or `MUTABLE`.")
                .default(Value::from(DEFAULT_TAG_MUTABILITY))
                .validator(Validator::one_of(&[DEFAULT_TAG_MUTABILITY, "MUTABLE"])),
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
        .attributes(secret_store::attributes(
            "Keep `secret_access_key` and `ci_secrets` in state (the default, for compatibility). `false` needs a `secret_store`: state then holds no secret, only the store's ARN, version and fingerprint.",
            "SHA-256 (hex) of the JSON document written to the store. A value changed or deleted outside Terraform shows as drift here (null), and the next apply writes the store again: with the secret out of state that mints a new access key and deletes the old one.",
        ))
        .attribute(Attribute::computed("push_policy_json", Type::String, "The user's inline push policy as applied."))
        .attribute(Attribute::computed("lifecycle_policy_json", Type::String, "The repository's lifecycle policy as applied, if any."))
        .block(NestedBlock::new(
            "encryption",
            Nesting::Single,
            Block::new("Encryption at rest. Cannot change after creation: a change replaces the repository.")
                .attribute(
                    Attribute::optional("type", Type::String, "`AES256` or `KMS`.")
                        .default(Value::from(DEFAULT_ENCRYPTION))
                        .validator(Validator::one_of(&[DEFAULT_ENCRYPTION, "KMS"])),
                )
                .attribute(Attribute::optional_computed("kms_key", Type::String, "The KMS key ARN for `KMS`; AWS's managed `aws/ecr` key when not set.")),
        ))
        .block(NestedBlock::new(
            "lifecycle_policy",
            Nesting::Single,
            Block::new("Image clean-up, rendered as the repository's lifecycle policy. (Terraform reserves the name `lifecycle` for its own meta-argument.)")
                .attribute(Attribute::optional("expire_untagged_after_days", Type::Number, "Expire untagged images this many days after push.").validator(whole_number_at_least(1, "days")))
                .attribute(Attribute::optional("keep_last_images", Type::Number, "Keep only this many most recent images.").validator(whole_number_at_least(1, "images"))),
        ))
        .block(secret_store::block("`ci_secrets`"))
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
                        .default(Value::from(DEFAULT_PATH))
                        .validator(Validator::string("an IAM path", names::check_user_path)),
                ),
        ))
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
