//! Secret stores: a JSON document of secrets (the registry's CI secrets, the agent's token) in AWS Secrets
//! Manager (a secret) or SSM Parameter Store (a `SecureString` parameter), tagged with an ownership marker
//! like the registry's repository and user. Every write makes a new version; reads return the current value so that the resource can compare
//! its fingerprint without keeping the value in state.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tracing::info;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tfplugin::Context;

use super::clients::Clients;
use super::error::{ApiError, Error, Result};
use super::json_protocol::{request_token, JsonClient};
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

/// Who the store belongs to: the ownership tag (key and value) it is created with, which a later write
/// checks before taking over a store of the same name, and its description.
#[derive(Clone, Debug)]
pub struct StoreOwner {
    pub tag: &'static str,
    pub name: String,
    pub description: String,
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

/// Writes `document` as a new version, creating the store (with `owner`'s tag) when it does not exist. A
/// store of the same name made by someone else is refused.
pub async fn write(
    ctx: &Context,
    clients: &Clients,
    target: &StoreTarget,
    document: &Secret,
    owner: &StoreOwner,
) -> Result<StoredVersion> {
    match target.kind.as_str() {
        SECRETS_MANAGER => write_secret(ctx, &clients.secretsmanager, target, document, owner).await,
        _ => write_parameter(ctx, &clients.ssm, target, document, owner).await,
    }
}

/// The store's ARN, current version and value; `None` when it does not exist.
pub async fn read(ctx: &Context, clients: &Clients, target: &StoreTarget) -> Result<Option<(StoredVersion, Secret)>> {
    match target.kind.as_str() {
        SECRETS_MANAGER => read_secret(ctx, &clients.secretsmanager, &target.name).await,
        _ => read_parameter(ctx, &clients.ssm, &target.name).await,
    }
}

/// Deletes the store at once (no recovery window); a store already gone is fine.
pub async fn delete(ctx: &Context, clients: &Clients, target: &StoreTarget) -> Result<()> {
    let (result, gone) = match target.kind.as_str() {
        SECRETS_MANAGER => {
            let input = json!({"SecretId": target.name, "ForceDeleteWithoutRecovery": true});
            let result = clients
                .secretsmanager
                .call::<_, Value>(ctx, "DeleteSecret", "secretsmanager:DeleteSecret", &input)
                .await;
            (result, "ResourceNotFoundException")
        }
        _ => {
            let input = json!({"Name": target.name});
            (
                clients.ssm.call::<_, Value>(ctx, "DeleteParameter", "ssm:DeleteParameter", &input).await,
                "ParameterNotFound",
            )
        }
    };
    match result {
        Err(Error::Api(e)) if e.is(gone) => {}
        other => {
            other?;
        }
    }
    info!(store = %target.kind, name = %target.name, "secret store deleted");
    Ok(())
}

fn not_ours(kind: &str, name: &str, owner: &StoreOwner) -> Error {
    Error::Conflict(format!(
        "a {kind} named `{name}` already exists and was not created by this provider for `{}`. The provider does not take over existing secrets: delete it or choose another `secret_store.name`.",
        owner.name
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagAnswer {
    key: Option<String>,
    value: Option<String>,
}

fn tag_map(tags: Vec<TagAnswer>) -> BTreeMap<String, String> {
    tags.into_iter().filter_map(|t| Some((t.key?, t.value?))).collect()
}

fn marker_tags(owner: &StoreOwner) -> Vec<Tag> {
    vec![Tag { key: owner.tag.to_string(), value: owner.name.clone() }]
}

fn owned(tags: BTreeMap<String, String>, owner: &StoreOwner) -> bool {
    tags.get(owner.tag) == Some(&owner.name)
}

/// The answer of CreateSecret, UpdateSecret and GetSecretValue.
#[derive(Deserialize)]
struct SecretVersion {
    #[serde(rename = "ARN")]
    arn: Option<String>,
    #[serde(rename = "VersionId")]
    version_id: Option<String>,
    #[serde(rename = "SecretString")]
    secret_string: Option<Secret>,
}

impl SecretVersion {
    fn stored(&self, operation: &'static str) -> Result<StoredVersion> {
        let arn = self.arn.clone().ok_or_else(|| ApiError::missing(operation, "ARN"))?;
        let version = self.version_id.clone().ok_or_else(|| ApiError::missing(operation, "VersionId"))?;
        Ok(StoredVersion { arn, version })
    }
}

async fn write_secret(
    ctx: &Context,
    client: &JsonClient,
    target: &StoreTarget,
    document: &Secret,
    owner: &StoreOwner,
) -> Result<StoredVersion> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Create<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        kms_key_id: Option<&'a str>,
        secret_string: &'a str,
        description: String,
        tags: Vec<Tag>,
        client_request_token: String,
    }
    let create = Create {
        name: &target.name,
        kms_key_id: target.kms_key_id.as_deref(),
        secret_string: document.expose(),
        description: owner.description.clone(),
        tags: marker_tags(owner),
        client_request_token: request_token(),
    };
    match client.call::<_, SecretVersion>(ctx, "CreateSecret", "secretsmanager:CreateSecret", &create).await {
        Ok(answer) => {
            let stored = answer.stored("secretsmanager:CreateSecret")?;
            info!(name = %target.name, arn = %stored.arn, "Secrets Manager secret created");
            Ok(stored)
        }
        Err(Error::Api(e)) if e.is("ResourceExistsException") => {
            #[derive(Deserialize)]
            struct Described {
                #[serde(rename = "Tags", default)]
                tags: Vec<TagAnswer>,
            }
            let input = json!({"SecretId": target.name});
            let described: Described =
                client.call(ctx, "DescribeSecret", "secretsmanager:DescribeSecret", &input).await?;
            if !owned(tag_map(described.tags), owner) {
                return Err(not_ours("Secrets Manager secret", &target.name, owner));
            }
            // UpdateSecret rather than PutSecretValue: it also moves the secret to a changed KMS key.
            #[derive(Serialize)]
            #[serde(rename_all = "PascalCase")]
            struct Update<'a> {
                secret_id: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                kms_key_id: Option<&'a str>,
                secret_string: &'a str,
                client_request_token: String,
            }
            let update = Update {
                secret_id: &target.name,
                kms_key_id: target.kms_key_id.as_deref(),
                secret_string: document.expose(),
                client_request_token: request_token(),
            };
            let answer: SecretVersion =
                client.call(ctx, "UpdateSecret", "secretsmanager:UpdateSecret", &update).await?;
            let stored = answer.stored("secretsmanager:UpdateSecret")?;
            info!(name = %target.name, version = %stored.version, "Secrets Manager secret: new version");
            Ok(stored)
        }
        Err(e) => Err(e),
    }
}

async fn read_secret(ctx: &Context, client: &JsonClient, name: &str) -> Result<Option<(StoredVersion, Secret)>> {
    let input = json!({"SecretId": name});
    let answer: SecretVersion = match client.call(ctx, "GetSecretValue", "secretsmanager:GetSecretValue", &input).await
    {
        Err(Error::Api(e)) if e.is("ResourceNotFoundException") => return Ok(None),
        // A secret scheduled for deletion answers InvalidRequestException: it is gone for our purposes.
        Err(Error::Api(e)) if e.is("InvalidRequestException") => return Ok(None),
        other => other?,
    };
    let stored = answer.stored("secretsmanager:GetSecretValue")?;
    Ok(Some((stored, answer.secret_string.unwrap_or_else(|| Secret::new("")))))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    #[serde(rename = "ARN")]
    arn: Option<String>,
    version: i64,
    value: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GotParameter {
    parameter: Option<Parameter>,
}

async fn write_parameter(
    ctx: &Context,
    client: &JsonClient,
    target: &StoreTarget,
    document: &Secret,
    owner: &StoreOwner,
) -> Result<StoredVersion> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Put<'a> {
        name: &'a str,
        r#type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<&'a str>,
        value: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tags: Option<Vec<Tag>>,
        overwrite: bool,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct PutAnswer {
        version: i64,
    }
    let mut put = Put {
        name: &target.name,
        r#type: "SecureString",
        key_id: target.kms_key_id.as_deref(),
        value: document.expose(),
        description: Some(owner.description.clone()),
        tags: Some(marker_tags(owner)),
        overwrite: false,
    };
    // Tags cannot go with Overwrite, so the first write creates (with the marker) and later ones overwrite.
    let version = match client.call::<_, PutAnswer>(ctx, "PutParameter", "ssm:PutParameter", &put).await {
        Ok(answer) => answer.version,
        Err(Error::Api(e)) if e.is("ParameterAlreadyExists") => {
            #[derive(Deserialize)]
            struct Listed {
                #[serde(rename = "TagList", default)]
                tag_list: Vec<TagAnswer>,
            }
            let input = json!({"ResourceType": "Parameter", "ResourceId": target.name});
            let listed: Listed = client.call(ctx, "ListTagsForResource", "ssm:ListTagsForResource", &input).await?;
            if !owned(tag_map(listed.tag_list), owner) {
                return Err(not_ours("SSM parameter", &target.name, owner));
            }
            put.tags = None;
            put.description = None;
            put.overwrite = true;
            client.call::<_, PutAnswer>(ctx, "PutParameter", "ssm:PutParameter", &put).await?.version
        }
        Err(e) => return Err(e),
    };
    // PutParameter does not return the ARN; GetParameter does (without decryption: no value needed).
    let input = json!({"Name": target.name});
    let got: GotParameter = client.call(ctx, "GetParameter", "ssm:GetParameter", &input).await?;
    let arn = got.parameter.and_then(|p| p.arn).ok_or_else(|| ApiError::missing("ssm:GetParameter", "ARN"))?;
    info!(name = %target.name, version, "SSM parameter written");
    Ok(StoredVersion { arn, version: version.to_string() })
}

async fn read_parameter(ctx: &Context, client: &JsonClient, name: &str) -> Result<Option<(StoredVersion, Secret)>> {
    let input = json!({"Name": name, "WithDecryption": true});
    let got: GotParameter = match client.call(ctx, "GetParameter", "ssm:GetParameter", &input).await {
        Err(Error::Api(e)) if e.is("ParameterNotFound") => return Ok(None),
        other => other?,
    };
    let Some(parameter) = got.parameter else { return Ok(None) };
    let arn = parameter.arn.ok_or_else(|| ApiError::missing("ssm:GetParameter", "ARN"))?;
    let value = parameter.value.unwrap_or_else(|| Secret::new(""));
    Ok(Some((StoredVersion { arn, version: parameter.version.to_string() }, value)))
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
