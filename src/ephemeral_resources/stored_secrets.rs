//! `ephemeral "dagsterbranch_stored_secrets"`: the JSON object a secret store holds (for example the CI
//! secrets `dagsterbranch_registry` wrote with `store_secret_in_state = false`), read from AWS Secrets Manager
//! or SSM Parameter Store in every run and never written to state or plan files.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cty::{Path, Type};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, Diagnostic, Diagnostics, EphemeralResource, Opened, Schema, Validator};

use crate::aws::error::Error as AwsError;
use crate::aws::secret_store::{self, StoreTarget};
use crate::client::ProviderClient;
use crate::secret::Secret;

pub struct StoredSecrets;

pub fn schema() -> Schema {
    Schema::new("The values a secret store holds, as a map: a JSON object of strings in an AWS Secrets Manager secret or an SSM `SecureString` parameter, such as the CI secrets `dagsterbranch_registry` writes with a `secret_store`. As an ephemeral resource (Terraform 1.10 and later) it is read afresh in every plan and apply and never stored in state or plan files; use it in provider blocks, provisioners and write-only arguments.")
        .attribute(
            Attribute::required("type", Type::String, "`secretsmanager` (an AWS Secrets Manager secret) or `ssm` (an SSM Parameter Store parameter, decrypted).")
                .validator(Validator::one_of(&[secret_store::SECRETS_MANAGER, secret_store::SSM])),
        )
        .attribute(
            Attribute::required("name", Type::String, "The secret's or parameter's name or ARN. Use `dagsterbranch_registry.<name>.secret_store_arn` for a registry's store: it is known only once the store exists, so Terraform opens this resource only then.")
                .validator(Validator::not_blank()),
        )
        .attribute(Attribute::computed("values", Type::Map(Box::new(Type::String)), "The stored JSON object, key by key (for the registry: `AWS_ACCESS_KEY_ID`, its alias `AWS_ACCESS_KEY`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` and `DAGSTER_CLOUD_URL`).").sensitive())
        .attribute(Attribute::computed("arn", Type::String, "The ARN of the secret or parameter."))
        .attribute(Attribute::computed("version", Type::String, "The version read: the Secrets Manager `VersionId` or the SSM parameter `Version`."))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct StoredSecretsModel {
    r#type: Option<String>,
    name: Option<String>,
    values: Option<BTreeMap<String, Secret>>,
    arn: Option<String>,
    version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoredSecretsError {
    #[error("Cannot set up AWS access")]
    Setup(#[source] Box<AwsError>),
    #[error("Could not read the secret store")]
    Read(#[source] Box<AwsError>),
    #[error("No such secret store")]
    Missing { kind: String, name: String },
    #[error("The secret store does not hold a JSON object of strings")]
    NotAnObject { kind: String, name: String },
}

impl From<StoredSecretsError> for Diagnostic {
    fn from(error: StoredSecretsError) -> Self {
        let summary = error.to_string();
        match &error {
            StoredSecretsError::Setup(source) | StoredSecretsError::Read(source) => {
                Diagnostic::error(summary, source.to_string())
            }
            StoredSecretsError::Missing { kind, name } => Diagnostic::error(
                summary,
                format!("There is no {kind} store named `{name}` (or it is scheduled for deletion)."),
            )
            .at(Path::root().attr("name")),
            // The message never quotes the value.
            StoredSecretsError::NotAnObject { kind, name } => Diagnostic::error(
                summary,
                format!(
                    "The {kind} store `{name}` holds something other than a JSON object whose values are all strings."
                ),
            )
            .at(Path::root().attr("name")),
        }
    }
}

async fn read(
    ctx: &Context,
    client: &ProviderClient,
    config: &StoredSecretsModel,
) -> Result<(String, String, BTreeMap<String, Secret>), StoredSecretsError> {
    let clients = client.aws_clients().await.map_err(|e| StoredSecretsError::Setup(Box::new(e)))?;
    // Both are required, so Terraform opens the resource only with both known.
    let (kind, name) = (config.r#type.clone().unwrap_or_default(), config.name.clone().unwrap_or_default());
    let target = StoreTarget { kind: kind.clone(), name: name.clone(), kms_key_id: None };
    let Some((version, value)) =
        secret_store::read(ctx, &clients, &target).await.map_err(|e| StoredSecretsError::Read(Box::new(e)))?
    else {
        return Err(StoredSecretsError::Missing { kind, name });
    };
    let values: BTreeMap<String, Secret> =
        serde_json::from_str(value.expose()).map_err(|_| StoredSecretsError::NotAnObject { kind, name })?;
    Ok((version.arn, version.version, values))
}

#[async_trait]
impl EphemeralResource for StoredSecrets {
    type Client = ProviderClient;
    type Model = StoredSecretsModel;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_stored_secrets"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn open(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        mut config: StoredSecretsModel,
        diags: &mut Diagnostics,
    ) -> Option<Opened<StoredSecretsModel>> {
        let (arn, version, values) = diags.capture(read(ctx, client, &config).await)?;
        config.values = Some(values);
        config.arn = Some(arn);
        config.version = Some(version);
        Some(Opened::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_covers_the_schema() {
        tfplugin::model::check_covers::<StoredSecretsModel>(&schema().block).unwrap();
    }

    #[test]
    fn values_never_show_in_debug_output() {
        let model = StoredSecretsModel {
            r#type: Some("ssm".to_string()),
            name: Some("/ci/x".to_string()),
            values: Some(BTreeMap::from([("K".to_string(), Secret::new("stored-value"))])),
            arn: None,
            version: None,
        };
        assert!(!format!("{model:?}").contains("stored-value"));
    }

    #[test]
    fn a_store_that_is_not_an_object_of_strings_is_named_without_its_value() {
        let diagnostic =
            Diagnostic::from(StoredSecretsError::NotAnObject { kind: "ssm".to_string(), name: "/ci/x".to_string() });
        assert_eq!(diagnostic.path, Some(Path::root().attr("name")));
    }
}
