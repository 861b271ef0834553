//! The IAM user CI pushes as and its inline push policy: create (or adopt a lost attempt's), rename or move,
//! read back, delete.

use aws_sdk_iam::Client;
use tfplugin::{Context, Field};
use tracing::info;

use super::error::{During, RegistryError};
use super::schema::DEFAULT_PATH;
use super::state::{prefer_rendered, RegistryState, UserBlock};
use crate::aws::error::ApiError;
use crate::aws::owner::Origin;
use crate::aws::{iam, policy, retry};

/// Creates the user, recording it in `state`. It has no policy and no key yet.
pub(super) async fn create(
    ctx: &Context,
    iam: &Client,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<(), RegistryError> {
    let name = plan.effective_user_name();
    let tags = plan.tag_map();
    let (user, origin) = iam::create_user(ctx, iam, &name, plan.user_path(), &tags, plan.name())
        .await
        .during(RegistryError::CreateUser)?;
    if origin == Origin::Adopted {
        // Made by an earlier attempt, possibly of an earlier apply with another path or other tags.
        if user.path != plan.user_path() {
            iam::update_user(iam, &user.name, &user.name, plan.user_path(), plan.name())
                .await
                .during(RegistryError::CreateUser)?;
        }
        iam::set_user_tags(iam, &user.name, &tags, plan.name()).await.during(RegistryError::CreateUser)?;
    }
    state.user_name = Field::Known(user.name);
    state.user_arn = Field::Known(user.arn);
    state.user = plan.user.clone();
    // An adopted user gets its policy and key rewritten too (stray keys go in `access_key::rotate`).
    state.push_policy_json = Field::Null;
    state.clear_key();
    Ok(())
}

/// Brings the user to the plan: renames or moves it, updates its tags, or re-creates it when it was deleted
/// outside Terraform. Returns whether the user is new under its name (created or renamed), so that calls on
/// it retry until IAM shows it everywhere.
pub(super) async fn update(
    ctx: &Context,
    iam: &Client,
    prior: &RegistryState,
    plan: &RegistryState,
    state: &mut RegistryState,
) -> Result<bool, RegistryError> {
    if prior.user_arn.is_null() {
        create(ctx, iam, plan, state).await?;
        return Ok(true);
    }
    let name = plan.effective_user_name();
    let old_name = prior.user_name.known().cloned().unwrap_or_else(|| name.clone());
    let mut fresh = false;
    if old_name != name || prior.user_path() != plan.user_path() {
        iam::update_user(iam, &old_name, &name, plan.user_path(), plan.name()).await.during(RegistryError::MoveUser)?;
        state.user_name = Field::Known(name.clone());
        let user = retry::after_create(ctx, "iam:GetUser", || async {
            iam::get_user(iam, &name).await?.ok_or_else(|| ApiError::not_found("iam:GetUser", "user"))
        })
        .await
        .during(RegistryError::ReadMovedUser)?;
        state.user_arn = Field::Known(user.arn);
        fresh = true;
    }
    if fresh || prior.tag_map() != plan.tag_map() {
        iam::set_user_tags(iam, &name, &plan.tag_map(), plan.name()).await.during(RegistryError::SetUserTags)?;
    }
    state.user = plan.user.clone();
    Ok(fresh)
}

/// Writes the push policy when the state's differs from the one for `plan` (so an edited or deleted one is
/// restored). `fresh`: the user was just created or renamed, so `NoSuchEntity` means "not visible yet".
pub(super) async fn put_policy(
    ctx: &Context,
    iam: &Client,
    plan: &RegistryState,
    state: &mut RegistryState,
    fresh: bool,
) -> Result<(), RegistryError> {
    let (Some(arn), Some(user)) = (state.repository_arn.known(), state.user_name.known()) else { return Ok(()) };
    let allow_manifest_read = plan.allow_manifest_read.unwrap_or(false);
    let document = policy::push_policy(arn, allow_manifest_read);
    if state.push_policy_json.as_deref() != Some(document.as_str()) {
        if fresh {
            retry::after_create(ctx, "iam:PutUserPolicy", || iam::put_push_policy(iam, user, &document))
                .await
                .during(RegistryError::PutPushPolicy)?;
        } else {
            iam::put_push_policy(iam, user, &document).await.during(RegistryError::PutPushPolicy)?;
        }
        info!(user = %user, "push policy written");
    }
    state.push_policy_json = Field::Known(document);
    state.allow_manifest_read = Some(allow_manifest_read);
    Ok(())
}

/// Reads the user and its policy back into `state`; clears them (and the key) there when the user is gone.
/// `importing`: look the user up although the state has none, and take `user` and `allow_manifest_read`
/// from what exists. Returns the user's name when it exists.
pub(super) async fn refresh(
    iam: &Client,
    prior: &RegistryState,
    importing: bool,
    state: &mut RegistryState,
) -> Result<Option<String>, RegistryError> {
    // As for the repository: only a user this resource created is looked up, unless importing.
    let found = match prior.user_name.known() {
        Some(name) if !prior.user_arn.is_null() || importing => {
            iam::get_user(iam, name).await.during(RegistryError::Read)?
        }
        _ => None,
    };
    let Some(user) = found else {
        if !prior.user_arn.is_null() {
            info!(user = ?prior.user_name.as_deref(), "IAM user not found; it will be re-created");
        }
        state.clear_user();
        return Ok(None);
    };
    state.user_arn = Field::Known(user.arn.clone());
    if importing || user.path != prior.user_path() {
        let name = prior.configured_user_name().map(str::to_string);
        state.user = if importing && name.is_none() && user.path == DEFAULT_PATH {
            Field::Null
        } else {
            Field::Known(UserBlock { name: name.into(), path: Field::Known(user.path.clone()) })
        };
    }
    let remote = iam::push_policy(iam, &user.name).await.during(RegistryError::Read)?;
    if importing {
        state.allow_manifest_read = Some(remote.as_deref().is_some_and(policy::grants_manifest_read));
    }
    let expected =
        state.repository_arn.known().map(|arn| policy::push_policy(arn, state.allow_manifest_read.unwrap_or(false)));
    state.push_policy_json = prefer_rendered(remote, expected).into();
    Ok(Some(user.name))
}

/// Deletes the user with its policy and keys. Only a user this resource created (it has an ARN in state)
/// is deleted: a partial create that ran into someone else's user must not remove it.
pub(super) async fn delete(ctx: &Context, iam: &Client, state: &RegistryState) -> Result<(), RegistryError> {
    let (Some(_), Some(user)) = (state.user_arn.known(), state.user_name.known()) else { return Ok(()) };
    iam::delete_user(ctx, iam, user).await.during(RegistryError::DeleteUser)
}
