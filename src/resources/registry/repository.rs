//! The ECR repository and its lifecycle policy: create (or adopt a lost attempt's), bring to the plan,
//! read back, delete.

use aws_sdk_ecr::Client;
use tfplugin::Field;
use tracing::info;

use super::error::{During, RegistryError};
use super::schema::DEFAULT_ENCRYPTION;
use super::state::{prefer_rendered, Encryption, Lifecycle, RegistryState};
use crate::aws::ecr;
use crate::aws::lifecycle::LifecycleRules;
use crate::aws::owner::Origin;

/// Creates the repository with its lifecycle policy, recording it in `state` as soon as it exists.
pub(super) async fn create(ecr: &Client, plan: &RegistryState, state: &mut RegistryState) -> Result<(), RegistryError> {
    let tags = plan.tag_map();
    let spec = ecr::RepositorySpec {
        name: plan.name(),
        tag_mutability: plan.tag_mutability(),
        scan_on_push: plan.scan_on_push.unwrap_or(false),
        encryption_type: plan.encryption_type(),
        kms_key: plan.kms_key(),
        tags: &tags,
    };
    let (repository, origin) = ecr::create(ecr, &spec).await.during(RegistryError::CreateRepository)?;
    state.set_repository(&repository);
    state.image_tag_mutability = Some(repository.tag_mutability.clone());
    state.scan_on_push = Some(repository.scan_on_push);
    state.tags = plan.tags.clone();
    state.encryption = plan.encryption.clone().map(|mut e| {
        e.kms_key = Encryption::of(&repository).kms_key;
        e
    });
    if origin == Origin::Adopted {
        // Made by an earlier attempt, possibly of an earlier apply with other settings.
        align_adopted(ecr, plan, &repository, state).await?;
    }
    state.lifecycle_policy_json = Field::Null;
    let document = plan.lifecycle_document();
    // An adopted repository may hold a policy that the plan no longer has.
    if document.is_some() || origin == Origin::Adopted {
        ecr::set_lifecycle_policy(ecr, plan.name(), document.as_deref())
            .await
            .during(RegistryError::SetLifecyclePolicy)?;
    }
    state.lifecycle_policy = plan.lifecycle_policy.clone();
    state.lifecycle_policy_json = document.into();
    Ok(())
}

/// Brings an adopted repository's changeable settings to the plan. Encryption cannot change: the state
/// records the repository's own, so a differing plan replaces it.
async fn align_adopted(
    ecr: &Client,
    plan: &RegistryState,
    repository: &ecr::Repository,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let name = plan.name();
    let mutability = plan.tag_mutability();
    if repository.tag_mutability != mutability {
        ecr::set_tag_mutability(ecr, name, mutability).await.during(RegistryError::SetTagMutability)?;
        state.image_tag_mutability = Some(mutability.to_string());
    }
    let scan_on_push = plan.scan_on_push.unwrap_or(false);
    if repository.scan_on_push != scan_on_push {
        ecr::set_scan_on_push(ecr, name, scan_on_push).await.during(RegistryError::SetScanOnPush)?;
        state.scan_on_push = Some(scan_on_push);
    }
    ecr::set_tags(ecr, &repository.arn, &plan.tag_map(), name).await.during(RegistryError::SetRepositoryTags)?;
    if repository.encryption_type != plan.encryption_type() || !state.encryption.is_null() {
        state.encryption = Field::Known(Encryption::of(repository));
    }
    Ok(())
}

/// Brings the repository to the plan, or re-creates it when it was deleted outside Terraform.
pub(super) async fn update(
    ecr: &Client,
    prior: &RegistryState,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let Some(arn) = prior.repository_arn.known() else { return create(ecr, plan, state).await };
    let name = plan.name();
    if prior.image_tag_mutability != plan.image_tag_mutability {
        ecr::set_tag_mutability(ecr, name, plan.tag_mutability()).await.during(RegistryError::SetTagMutability)?;
        state.image_tag_mutability = plan.image_tag_mutability.clone();
    }
    if prior.scan_on_push != plan.scan_on_push {
        ecr::set_scan_on_push(ecr, name, plan.scan_on_push.unwrap_or(false))
            .await
            .during(RegistryError::SetScanOnPush)?;
        state.scan_on_push = plan.scan_on_push;
    }
    if prior.tag_map() != plan.tag_map() {
        ecr::set_tags(ecr, arn, &plan.tag_map(), name).await.during(RegistryError::SetRepositoryTags)?;
    }
    let document = plan.lifecycle_document();
    if prior.lifecycle_policy_json.as_deref() != document.as_deref() {
        ecr::set_lifecycle_policy(ecr, name, document.as_deref()).await.during(RegistryError::SetLifecyclePolicy)?;
    }
    state.lifecycle_policy = plan.lifecycle_policy.clone();
    state.lifecycle_policy_json = document.into();
    state.encryption = plan.encryption.clone();
    Ok(())
}

/// Reads the repository back into `state`; clears it there when it is gone. `importing`: look it up although
/// the state has none, and take the lifecycle rules from its policy.
pub(super) async fn refresh(
    ecr: &Client,
    prior: &RegistryState,
    importing: bool,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let name = prior.name();
    // Only a repository this resource created (recorded with an ARN) is looked up, so a failed create or a
    // deleted repository never adopts one someone else made under the same name; import takes one over.
    let found = if !prior.repository_arn.is_null() || importing {
        ecr::describe(ecr, name).await.during(RegistryError::Read)?
    } else {
        None
    };
    let Some(repository) = found else {
        if !prior.repository_arn.is_null() {
            info!(repository = %name, "ECR repository not found; it will be re-created");
        }
        state.clear_repository();
        return Ok(());
    };
    state.set_repository(&repository);
    state.image_tag_mutability = Some(repository.tag_mutability.clone());
    state.scan_on_push = Some(repository.scan_on_push);
    if !state.encryption.is_null() || repository.encryption_type != DEFAULT_ENCRYPTION {
        state.encryption = Field::Known(Encryption::of(&repository));
    }
    let tags = ecr::tags(ecr, &repository.arn).await.during(RegistryError::Read)?;
    state.tags = if tags.is_empty() && prior.tags.is_none() { None } else { Some(tags) };
    let remote = ecr::lifecycle_policy(ecr, name).await.during(RegistryError::Read)?;
    if importing {
        state.lifecycle_policy = remote.as_deref().and_then(LifecycleRules::parse).map(Lifecycle::of).into();
    }
    state.lifecycle_policy_json = prefer_rendered(remote, state.lifecycle_document()).into();
    Ok(())
}

/// Deletes the repository when this resource created it; `force_delete` (from state) decides whether one
/// that still holds images goes too.
pub(super) async fn delete(ecr: &Client, state: &RegistryState) -> Result<(), RegistryError> {
    if state.repository_arn.is_null() {
        return Ok(());
    }
    ecr::delete(ecr, state.name(), state.force_delete.unwrap_or(true)).await.during(RegistryError::DeleteRepository)
}
