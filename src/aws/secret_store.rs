//! The registry's secret store: the CI secrets as one JSON document in AWS Secrets Manager (a secret) or SSM
//! Parameter Store (a `SecureString` parameter), tagged with the ownership marker like the repository and the
//! user. Every write makes a new version; reads return the current value so that the resource can compare
//! its fingerprint without keeping the value in state.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tracing::info;

use super::clients::Clients;
use super::error::{ApiError, Error, NameOperation, Result};
use super::owner;
use crate::secret::Secret;

pub const SECRETS_MANAGER: &str = "secretsmanager";
pub const SSM: &str = "ssm";

/// Where the secrets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreTarget {
    /// `secretsmanager` or `ssm`.
    pub kind: String,
    pub name: String,
    pub kms_key_id: Option<String>,
}

/// A written (or read) version of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVersion {
    pub arn: String,
    pub version: String,
}

/// The document written to the store: the CI secrets as a JSON object (keys sorted).
pub fn document(secrets: &BTreeMap<String, Secret>) -> Secret {
    let plain: BTreeMap<&str, &str> = secrets.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    Secret::new(serde_json::to_string(&plain).unwrap_or_default())
}

/// SHA-256 hex of the document, which identifies the value without revealing it.
pub fn fingerprint(document: &Secret) -> String {
    Sha256::digest(document.expose().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `document` as a new version, creating the store (with the marker naming `registry`) when it does
/// not exist. A store of the same name made by someone else is refused.
pub async fn write(
    clients: &Clients,
    target: &StoreTarget,
    document: &Secret,
    registry: &str,
) -> Result<StoredVersion> {
    match target.kind.as_str() {
        SECRETS_MANAGER => write_secret(&clients.secretsmanager, target, document, registry).await,
        _ => write_parameter(&clients.ssm, target, document, registry).await,
    }
}

/// The store's ARN, current version and value; `None` when it does not exist.
pub async fn read(clients: &Clients, target: &StoreTarget) -> Result<Option<(StoredVersion, Secret)>> {
    match target.kind.as_str() {
        SECRETS_MANAGER => read_secret(&clients.secretsmanager, &target.name).await,
        _ => read_parameter(&clients.ssm, &target.name).await,
    }
}

/// Deletes the store at once (no recovery window); a store already gone is fine.
pub async fn delete(clients: &Clients, target: &StoreTarget) -> Result<()> {
    match target.kind.as_str() {
        SECRETS_MANAGER => {
            let result = clients
                .secretsmanager
                .delete_secret()
                .secret_id(&target.name)
                .force_delete_without_recovery(true)
                .send()
                .await
                .op("secretsmanager:DeleteSecret");
            match result {
                Err(e) if e.is("ResourceNotFoundException") => {}
                other => {
                    other?;
                }
            }
        }
        _ => {
            let result = clients.ssm.delete_parameter().name(&target.name).send().await.op("ssm:DeleteParameter");
            match result {
                Err(e) if e.is("ParameterNotFound") => {}
                other => {
                    other?;
                }
            }
        }
    }
    info!(store = %target.kind, name = %target.name, "secret store deleted");
    Ok(())
}

fn not_ours(kind: &str, name: &str, registry: &str) -> Error {
    Error::Conflict(format!(
        "a {kind} named `{name}` already exists and was not created by this provider for `{registry}`. The provider does not take over existing secrets: delete it or choose another `secret_store.name`."
    ))
}

async fn write_secret(
    client: &aws_sdk_secretsmanager::Client,
    target: &StoreTarget,
    document: &Secret,
    registry: &str,
) -> Result<StoredVersion> {
    use aws_sdk_secretsmanager::types::Tag;
    let tags = owner::marked(&BTreeMap::new(), registry)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let created = client
        .create_secret()
        .name(&target.name)
        .set_kms_key_id(target.kms_key_id.clone())
        .secret_string(document.expose())
        .description(format!("CI secrets of the dagsterbranch registry {registry}"))
        .set_tags(Some(tags))
        .send()
        .await
        .op("secretsmanager:CreateSecret");
    match created {
        Ok(output) => {
            let arn = output.arn().ok_or_else(|| ApiError::missing("secretsmanager:CreateSecret", "ARN"))?;
            let version =
                output.version_id().ok_or_else(|| ApiError::missing("secretsmanager:CreateSecret", "VersionId"))?;
            info!(name = %target.name, %arn, "Secrets Manager secret created");
            Ok(StoredVersion { arn: arn.to_string(), version: version.to_string() })
        }
        Err(e) if e.is("ResourceExistsException") => {
            let described =
                client.describe_secret().secret_id(&target.name).send().await.op("secretsmanager:DescribeSecret")?;
            let tags: BTreeMap<String, String> =
                described.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect();
            if !owner::owned_by(&tags, registry) {
                return Err(not_ours("Secrets Manager secret", &target.name, registry));
            }
            let output = client
                .put_secret_value()
                .secret_id(&target.name)
                .secret_string(document.expose())
                .send()
                .await
                .op("secretsmanager:PutSecretValue")?;
            let arn = output.arn().ok_or_else(|| ApiError::missing("secretsmanager:PutSecretValue", "ARN"))?;
            let version =
                output.version_id().ok_or_else(|| ApiError::missing("secretsmanager:PutSecretValue", "VersionId"))?;
            info!(name = %target.name, %version, "Secrets Manager secret: new version");
            Ok(StoredVersion { arn: arn.to_string(), version: version.to_string() })
        }
        Err(e) => Err(e.into()),
    }
}

async fn read_secret(client: &aws_sdk_secretsmanager::Client, name: &str) -> Result<Option<(StoredVersion, Secret)>> {
    let output = match client.get_secret_value().secret_id(name).send().await.op("secretsmanager:GetSecretValue") {
        Err(e) if e.is("ResourceNotFoundException") => return Ok(None),
        // A secret scheduled for deletion answers InvalidRequestException: it is gone for our purposes.
        Err(e) if e.is("InvalidRequestException") => return Ok(None),
        other => other?,
    };
    let arn = output.arn().ok_or_else(|| ApiError::missing("secretsmanager:GetSecretValue", "ARN"))?;
    let version = output.version_id().ok_or_else(|| ApiError::missing("secretsmanager:GetSecretValue", "VersionId"))?;
    let value = Secret::new(output.secret_string().unwrap_or_default());
    Ok(Some((StoredVersion { arn: arn.to_string(), version: version.to_string() }, value)))
}

async fn write_parameter(
    client: &aws_sdk_ssm::Client,
    target: &StoreTarget,
    document: &Secret,
    registry: &str,
) -> Result<StoredVersion> {
    use aws_sdk_ssm::types::{ParameterType, Tag};
    let tags = owner::marked(&BTreeMap::new(), registry)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Request(e.to_string()))?;
    // Tags cannot go with Overwrite, so the first write creates (with the marker) and later ones overwrite.
    let created = client
        .put_parameter()
        .name(&target.name)
        .r#type(ParameterType::SecureString)
        .set_key_id(target.kms_key_id.clone())
        .value(document.expose())
        .description(format!("CI secrets of the dagsterbranch registry {registry}"))
        .set_tags(Some(tags))
        .send()
        .await
        .op("ssm:PutParameter");
    let version = match created {
        Ok(output) => output.version(),
        Err(e) if e.is("ParameterAlreadyExists") => {
            let listed = client
                .list_tags_for_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                .resource_id(&target.name)
                .send()
                .await
                .op("ssm:ListTagsForResource")?;
            let tags: BTreeMap<String, String> =
                listed.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            if !owner::owned_by(&tags, registry) {
                return Err(not_ours("SSM parameter", &target.name, registry));
            }
            client
                .put_parameter()
                .name(&target.name)
                .r#type(ParameterType::SecureString)
                .set_key_id(target.kms_key_id.clone())
                .value(document.expose())
                .overwrite(true)
                .send()
                .await
                .op("ssm:PutParameter")?
                .version()
        }
        Err(e) => return Err(e.into()),
    };
    // PutParameter does not return the ARN; GetParameter does (without decryption: no value needed).
    let got = client.get_parameter().name(&target.name).send().await.op("ssm:GetParameter")?;
    let arn = got.parameter().and_then(|p| p.arn()).ok_or_else(|| ApiError::missing("ssm:GetParameter", "ARN"))?;
    info!(name = %target.name, version, "SSM parameter written");
    Ok(StoredVersion { arn: arn.to_string(), version: version.to_string() })
}

async fn read_parameter(client: &aws_sdk_ssm::Client, name: &str) -> Result<Option<(StoredVersion, Secret)>> {
    let output = match client.get_parameter().name(name).with_decryption(true).send().await.op("ssm:GetParameter") {
        Err(e) if e.is("ParameterNotFound") => return Ok(None),
        other => other?,
    };
    let Some(parameter) = output.parameter() else { return Ok(None) };
    let arn = parameter.arn().ok_or_else(|| ApiError::missing("ssm:GetParameter", "ARN"))?;
    let value = Secret::new(parameter.value().unwrap_or_default());
    Ok(Some((StoredVersion { arn: arn.to_string(), version: parameter.version().to_string() }, value)))
}

/// Plan-time check of a store name for its type.
pub fn check_name(kind: &str, name: &str) -> std::result::Result<(), String> {
    match kind {
        SSM => {
            if !name.starts_with('/') {
                return Err(format!(
                    "The SSM parameter name `{name}` must start with `/` (a hierarchical name, e.g. `/ci/dagster/registry`)."
                ));
            }
            if name.len() > 1011 {
                return Err(format!("The SSM parameter name `{name}` is longer than 1011 characters."));
            }
            if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c))) {
                return Err(format!(
                    "The SSM parameter name `{name}` contains `{c}`; only letters, digits and `_.-/` are allowed."
                ));
            }
            if name.to_ascii_lowercase().starts_with("/aws") || name.to_ascii_lowercase().starts_with("/ssm") {
                return Err(format!("The SSM parameter name `{name}` uses a prefix AWS reserves (`/aws`, `/ssm`)."));
            }
            Ok(())
        }
        _ => {
            if name.is_empty() || name.len() > 512 {
                return Err(format!("The Secrets Manager secret name `{name}` must have 1 to 512 characters."));
            }
            if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c))) {
                return Err(format!(
                    "The Secrets Manager secret name `{name}` contains `{c}`; only letters, digits and `/_+=.@-` are allowed."
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_sorted_json() {
        let secrets = BTreeMap::from([("B".to_string(), Secret::new("2")), ("A".to_string(), Secret::new("1"))]);
        let doc = document(&secrets);
        assert_eq!(doc.expose(), r#"{"A":"1","B":"2"}"#);
        // sha256('{"A":"1","B":"2"}')
        assert_eq!(fingerprint(&doc).len(), 64);
        assert_eq!(fingerprint(&Secret::new("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn names_are_checked_for_their_store() {
        assert!(check_name(SSM, "/ci/dagster").is_ok());
        assert!(check_name(SSM, "ci/dagster").unwrap_err().contains("must start with `/`"));
        assert!(check_name(SSM, "/ci dagster").is_err());
        assert!(check_name(SECRETS_MANAGER, "ci/dagster-registry").is_ok());
        assert!(check_name(SECRETS_MANAGER, "ci dagster").unwrap_err().contains("contains ` `"));
        assert!(check_name(SECRETS_MANAGER, "").is_err());
    }
}
