//! The ECR calls of the registry resource: one private repository, its settings, tags and lifecycle
//! policy.

use std::collections::BTreeMap;

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Tag,
};
use aws_sdk_ecr::Client;
use tracing::info;

use super::error::{required, Error, NameOperation, Result};
use super::owner::{self, Origin};

/// A repository as ECR reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    pub arn: String,
    pub uri: String,
    pub registry_id: String,
    pub tag_mutability: String,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
}

impl Repository {
    fn from_api(repository: &aws_sdk_ecr::types::Repository, operation: &'static str) -> Result<Repository> {
        let encryption = repository.encryption_configuration();
        Ok(Repository {
            arn: required(repository.repository_arn(), operation, "repositoryArn")?.to_string(),
            uri: required(repository.repository_uri(), operation, "repositoryUri")?.to_string(),
            registry_id: required(repository.registry_id(), operation, "registryId")?.to_string(),
            tag_mutability: repository.image_tag_mutability().map_or("MUTABLE", |m| m.as_str()).to_string(),
            scan_on_push: repository.image_scanning_configuration().is_some_and(|c| c.scan_on_push()),
            encryption_type: encryption.map_or("AES256", |e| e.encryption_type().as_str()).to_string(),
            kms_key: encryption.and_then(|e| e.kms_key()).map(str::to_string),
        })
    }

    /// `<registry>.dkr.ecr.<region>.amazonaws.com` (or `.com.cn`): the host CI logs in to, taken from the
    /// URI so that it is right in every partition.
    pub fn registry_host(&self) -> String {
        self.uri.split('/').next().unwrap_or_default().to_string()
    }
}

/// What to create.
pub struct RepositorySpec<'a> {
    pub name: &'a str,
    pub tag_mutability: &'a str,
    pub scan_on_push: bool,
    pub encryption_type: &'a str,
    pub kms_key: Option<&'a str>,
    pub tags: &'a BTreeMap<String, String>,
}

fn tag_list(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| Error::Request(e.to_string())))
        .collect()
}

/// Creates the repository, tagged with the marker naming it. When the name is taken, a repository carrying
/// that marker is adopted: it was made by an earlier attempt whose response was lost (the SDK retried the
/// create after a network error). Anyone else's repository stays a conflict.
pub async fn create(client: &Client, spec: &RepositorySpec<'_>) -> Result<(Repository, Origin)> {
    let mut encryption = EncryptionConfiguration::builder().encryption_type(EncryptionType::from(spec.encryption_type));
    if let Some(key) = spec.kms_key {
        encryption = encryption.kms_key(key);
    }
    let response = client
        .create_repository()
        .repository_name(spec.name)
        .image_tag_mutability(ImageTagMutability::from(spec.tag_mutability))
        .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(spec.scan_on_push).build())
        .encryption_configuration(encryption.build().map_err(|e| Error::Request(e.to_string()))?)
        .set_tags(Some(tag_list(&owner::marked(spec.tags, spec.name))?))
        .send()
        .await
        .op("ecr:CreateRepository");
    let response = match response {
        Err(e) if e.is("RepositoryAlreadyExistsException") => {
            return adopt(client, spec.name).await.map(|r| (r, Origin::Adopted))
        }
        other => other?,
    };
    let repository = Repository::from_api(
        required(response.repository(), "ecr:CreateRepository", "repository")?,
        "ecr:CreateRepository",
    )?;
    info!(name = spec.name, arn = %repository.arn, "ECR repository created");
    Ok((repository, Origin::Created))
}

async fn adopt(client: &Client, name: &str) -> Result<Repository> {
    let conflict = || {
        Error::Conflict(format!(
            "an ECR repository named `{name}` already exists and was not created by this provider for this registry. Import it (`terraform import <address> {name}`) or choose another name."
        ))
    };
    // Gone again in between: someone else's, deleted concurrently; the next apply creates it.
    let repository = describe(client, name).await?.ok_or_else(conflict)?;
    if !owner::owned_by(&all_tags(client, &repository.arn).await?, name) {
        return Err(conflict());
    }
    info!(name, arn = %repository.arn, "adopting the ECR repository an earlier attempt of this provider created (its response was lost)");
    Ok(repository)
}

/// The repository, or `None` when it does not exist.
pub async fn describe(client: &Client, name: &str) -> Result<Option<Repository>> {
    let response = client.describe_repositories().repository_names(name).send().await.op("ecr:DescribeRepositories");
    match response {
        Err(e) if e.is_repository_not_found() => Ok(None),
        Err(e) => Err(e.into()),
        // Guard against an API (or emulator) that answers with other repositories.
        Ok(output) => output
            .repositories()
            .iter()
            .find(|r| r.repository_name() == Some(name))
            .map(|r| Repository::from_api(r, "ecr:DescribeRepositories"))
            .transpose(),
    }
}

pub async fn set_tag_mutability(client: &Client, name: &str, mutability: &str) -> Result<()> {
    client
        .put_image_tag_mutability()
        .repository_name(name)
        .image_tag_mutability(ImageTagMutability::from(mutability))
        .send()
        .await
        .op("ecr:PutImageTagMutability")?;
    Ok(())
}

pub async fn set_scan_on_push(client: &Client, name: &str, scan_on_push: bool) -> Result<()> {
    client
        .put_image_scanning_configuration()
        .repository_name(name)
        .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(scan_on_push).build())
        .send()
        .await
        .op("ecr:PutImageScanningConfiguration")?;
    Ok(())
}

async fn all_tags(client: &Client, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = client.list_tags_for_resource().resource_arn(arn).send().await.op("ecr:ListTagsForResource")?;
    Ok(output.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

/// The repository's tags as the `tags` attribute shows them: without the provider's own keys.
pub async fn tags(client: &Client, arn: &str) -> Result<BTreeMap<String, String>> {
    Ok(owner::user_tags(all_tags(client, arn).await?))
}

/// Makes the repository's tags `desired` plus the ownership marker, reading the current ones first.
/// Provider-owned keys are never removed.
pub async fn set_tags(client: &Client, arn: &str, desired: &BTreeMap<String, String>, registry: &str) -> Result<()> {
    let current = all_tags(client, arn).await?;
    let (removed, changed) = owner::tag_changes(&current, desired, registry);
    if !removed.is_empty() {
        client.untag_resource().resource_arn(arn).set_tag_keys(Some(removed)).send().await.op("ecr:UntagResource")?;
    }
    if !changed.is_empty() {
        client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tag_list(&changed)?))
            .send()
            .await
            .op("ecr:TagResource")?;
    }
    Ok(())
}

/// The lifecycle policy text, or `None` when the repository has none.
pub async fn lifecycle_policy(client: &Client, name: &str) -> Result<Option<String>> {
    match client.get_lifecycle_policy().repository_name(name).send().await.op("ecr:GetLifecyclePolicy") {
        Ok(output) => Ok(output.lifecycle_policy_text().map(str::to_string)),
        Err(e) if e.is("LifecyclePolicyNotFoundException") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Puts the policy, or removes it for `None`.
pub async fn set_lifecycle_policy(client: &Client, name: &str, policy: Option<&str>) -> Result<()> {
    match policy {
        Some(text) => {
            client
                .put_lifecycle_policy()
                .repository_name(name)
                .lifecycle_policy_text(text)
                .send()
                .await
                .op("ecr:PutLifecyclePolicy")?;
        }
        None => {
            match client.delete_lifecycle_policy().repository_name(name).send().await.op("ecr:DeleteLifecyclePolicy") {
                Ok(_) => {}
                Err(e) if e.is("LifecyclePolicyNotFoundException") => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Deletes the repository; one that is already gone counts as deleted. Without `force`, a repository that
/// still holds images is kept and the error says so.
pub async fn delete(client: &Client, name: &str, force: bool) -> Result<()> {
    match client.delete_repository().repository_name(name).force(force).send().await.op("ecr:DeleteRepository") {
        Ok(_) => {
            info!(name, force, "ECR repository deleted");
            Ok(())
        }
        Err(e) if e.is_repository_not_found() => Ok(()),
        Err(e) if e.is("RepositoryNotEmptyException") => Err(Error::Conflict(format!(
            "the ECR repository `{name}` still holds images and `force_delete` is false in state. Set `force_delete = true` and apply before destroying, or delete the images first."
        ))),
        Err(e) => Err(e.into()),
    }
}
