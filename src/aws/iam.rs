//! The IAM calls of the registry resource: the CI user, its inline push policy and its access key.
//!
//! Single calls return the raw [`ApiError`] so that callers on create paths can wrap them in
//! [`super::retry::after_create`]; `NoSuchEntity` there means "not visible yet", elsewhere "gone".

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::types::{StatusType, Tag};
use aws_sdk_iam::Client;
use tfplugin::Context;
use tracing::{info, warn};

use super::error::{required, ApiError, Error, NameOperation, Result};
use super::owner::{self, Origin};
use super::policy::{url_decode, POLICY_NAME};
use super::retry;
use crate::secret::Secret;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub arn: String,
    pub path: String,
}

impl User {
    fn from_api(user: &aws_sdk_iam::types::User) -> User {
        User { name: user.user_name().to_string(), arn: user.arn().to_string(), path: user.path().to_string() }
    }
}

/// A key as `CreateAccessKey` returns it: the only time the secret is visible.
#[derive(Clone, Debug)]
pub struct NewAccessKey {
    pub id: String,
    pub secret: Secret,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub active: bool,
    /// Seconds since the epoch.
    pub created: i64,
}

fn tag_list(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| Error::Request(e.to_string())))
        .collect()
}

/// Creates the user, tagged with the marker naming `registry`. When the name is taken, a user carrying that
/// marker is adopted: it was made by an earlier attempt whose response was lost (the SDK retried the create
/// after a network error). Anyone else's user stays a conflict.
pub async fn create_user(
    ctx: &Context,
    client: &Client,
    name: &str,
    path: &str,
    tags: &BTreeMap<String, String>,
    registry: &str,
) -> Result<(User, Origin)> {
    let tags = tag_list(&owner::marked(tags, registry))?;
    let response =
        client.create_user().user_name(name).path(path).set_tags(Some(tags)).send().await.op("iam:CreateUser");
    let output = match response {
        Err(e) if e.is("EntityAlreadyExists") => {
            return adopt_user(ctx, client, name, registry).await.map(|u| (u, Origin::Adopted))
        }
        other => other?,
    };
    let user = User::from_api(required(output.user(), "iam:CreateUser", "User")?);
    info!(user = %user.name, arn = %user.arn, "IAM user created");
    Ok((user, Origin::Created))
}

async fn adopt_user(ctx: &Context, client: &Client, name: &str, registry: &str) -> Result<User> {
    // IAM just said the user exists, so `NoSuchEntity` here is propagation lag.
    let tags = retry::after_create(ctx, "iam:ListUserTags", || user_tags(client, name)).await?;
    if !owner::owned_by(&tags, registry) {
        return Err(Error::Conflict(format!(
            "an IAM user named `{name}` already exists and was not created by this provider for `{registry}`. The provider does not take over existing users: delete it, import the registry with `<repository>:{name}`, or set `user.name` to another name."
        )));
    }
    let user = retry::after_create(ctx, "iam:GetUser", || async {
        get_user(client, name).await?.ok_or_else(|| ApiError::not_found("iam:GetUser", "User"))
    })
    .await?;
    info!(user = %user.name, arn = %user.arn, registry, "adopting the IAM user an earlier attempt of this provider created (its response was lost)");
    Ok(user)
}

/// The user, or `None` when it does not exist.
pub async fn get_user(client: &Client, name: &str) -> std::result::Result<Option<User>, ApiError> {
    match client.get_user().user_name(name).send().await.op("iam:GetUser") {
        Ok(output) => Ok(output.user().map(User::from_api)),
        Err(e) if e.is_no_such_entity() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Renames the user or moves it to another path; its keys and policies stay. A retried rename whose first
/// attempt went through meets `NoSuchEntity` for the old name: the user under the new name and path with
/// this registry's marker is that first attempt's result.
pub async fn update_user(client: &Client, name: &str, new_name: &str, new_path: &str, registry: &str) -> Result<()> {
    match client
        .update_user()
        .user_name(name)
        .new_user_name(new_name)
        .new_path(new_path)
        .send()
        .await
        .op("iam:UpdateUser")
    {
        Ok(_) => {}
        Err(e) if e.is_no_such_entity() && name != new_name => {
            let done = match get_user(client, new_name).await? {
                Some(user) if user.path == new_path => owner::owned_by(&user_tags(client, new_name).await?, registry),
                _ => false,
            };
            if !done {
                return Err(e.into());
            }
        }
        Err(e) => return Err(e.into()),
    }
    info!(from = name, to = new_name, path = new_path, "IAM user updated");
    Ok(())
}

pub async fn user_tags(client: &Client, name: &str) -> std::result::Result<BTreeMap<String, String>, ApiError> {
    let tags = client
        .list_user_tags()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .op("iam:ListUserTags")?;
    Ok(tags.into_iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

/// Makes the user's tags `desired` plus the ownership marker, reading the current ones first (IAM may have
/// dropped them, as some emulators do on rename). Provider-owned keys are never removed.
pub async fn set_user_tags(
    client: &Client,
    name: &str,
    desired: &BTreeMap<String, String>,
    registry: &str,
) -> Result<()> {
    let current = user_tags(client, name).await?;
    let (removed, changed) = owner::tag_changes(&current, desired, registry);
    if !removed.is_empty() {
        client.untag_user().user_name(name).set_tag_keys(Some(removed)).send().await.op("iam:UntagUser")?;
    }
    if !changed.is_empty() {
        client.tag_user().user_name(name).set_tags(Some(tag_list(&changed)?)).send().await.op("iam:TagUser")?;
    }
    Ok(())
}

/// Writes the inline push policy (PutUserPolicy overwrites, so this also restores an edited one).
pub async fn put_push_policy(client: &Client, user: &str, document: &str) -> std::result::Result<(), ApiError> {
    client
        .put_user_policy()
        .user_name(user)
        .policy_name(POLICY_NAME)
        .policy_document(document)
        .send()
        .await
        .op("iam:PutUserPolicy")?;
    Ok(())
}

/// The inline push policy as stored (decoded), or `None` when the user has none.
pub async fn push_policy(client: &Client, user: &str) -> std::result::Result<Option<String>, ApiError> {
    match client.get_user_policy().user_name(user).policy_name(POLICY_NAME).send().await.op("iam:GetUserPolicy") {
        Ok(output) => Ok(Some(url_decode(output.policy_document()))),
        Err(e) if e.is_no_such_entity() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn create_access_key(client: &Client, user: &str) -> std::result::Result<NewAccessKey, ApiError> {
    let output = client.create_access_key().user_name(user).send().await.op("iam:CreateAccessKey")?;
    let Some(key) = output.access_key() else {
        return Err(ApiError::missing("iam:CreateAccessKey", "AccessKey"));
    };
    info!(user, access_key_id = key.access_key_id(), "access key created");
    Ok(NewAccessKey { id: key.access_key_id().to_string(), secret: Secret::new(key.secret_access_key()) })
}

/// How often `CreateAccessKey` is tried again after `LimitExceeded` freed a slot.
const KEY_ATTEMPTS: u32 = 3;

/// Creates a key for a user whose only wanted key is `keep` (the state's). The SDK repeats a create whose
/// response was lost, so a lost attempt can take a slot with a key whose secret nobody has: when that
/// leaves no room (`LimitExceeded`), every key but `keep` is deleted and the create tried again. Keys such
/// attempts leave next to the returned one are removed by [`delete_unknown_keys`], which the caller runs
/// once it has recorded the new key.
pub async fn create_access_key_with_room(
    ctx: &Context,
    client: &Client,
    user: &str,
    keep: Option<&str>,
) -> Result<NewAccessKey> {
    let mut attempt = 1;
    loop {
        match retry::after_create(ctx, "iam:CreateAccessKey", || create_access_key(client, user)).await {
            Err(Error::Api(e)) if e.is("LimitExceeded") && attempt < KEY_ATTEMPTS => {
                if delete_unknown_keys(client, user, &[keep]).await? == 0 {
                    return Err(e.into());
                }
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Deletes the user's keys that are not in `known` (the state's key and a just-created one): they were
/// created by attempts whose response was lost, have no known secret and only take one of the two slots.
/// Returns how many were deleted.
pub async fn delete_unknown_keys(client: &Client, user: &str, known: &[Option<&str>]) -> Result<usize> {
    let mut deleted = 0;
    for key in access_keys(client, user).await? {
        if known.contains(&Some(key.id.as_str())) {
            continue;
        }
        info!(user, access_key_id = %key.id, "deleting an access key whose secret was never received (a create whose response was lost)");
        delete_access_key(client, user, &key.id).await?;
        deleted += 1;
    }
    Ok(deleted)
}

/// The user's keys (always by user name: without it IAM lists the caller's keys).
pub async fn access_keys(client: &Client, user: &str) -> std::result::Result<Vec<KeyInfo>, ApiError> {
    let keys = client
        .list_access_keys()
        .user_name(user)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .op("iam:ListAccessKeys")?;
    Ok(keys
        .iter()
        .filter_map(|k| {
            Some(KeyInfo {
                id: k.access_key_id()?.to_string(),
                active: k.status() != Some(&StatusType::Inactive),
                created: k.create_date().map_or(0, |d| d.secs()),
            })
        })
        .collect())
}

/// Deletes a key; one that is already gone counts as deleted.
pub async fn delete_access_key(client: &Client, user: &str, id: &str) -> std::result::Result<(), ApiError> {
    match client.delete_access_key().user_name(user).access_key_id(id).send().await.op("iam:DeleteAccessKey") {
        Ok(_) => {
            info!(user, access_key_id = id, "access key deleted");
            Ok(())
        }
        Err(e) if e.is_no_such_entity() => Ok(()),
        Err(e) => Err(e),
    }
}

/// How often `DeleteUser` is retried after a `DeleteConflict` (something was attached concurrently).
const DELETE_ATTEMPTS: u32 = 3;

/// Deletes the user with everything that blocks `DeleteUser`: access keys, inline and attached policies,
/// group memberships and the console login profile. A user that is already gone counts as deleted.
pub async fn delete_user(ctx: &Context, client: &Client, name: &str) -> Result<()> {
    for attempt in 1..=DELETE_ATTEMPTS {
        match detach_everything(client, name).await {
            Err(e) if e.is_no_such_entity() => return Ok(()),
            other => other?,
        }
        match client.delete_user().user_name(name).send().await.op("iam:DeleteUser") {
            Ok(_) => {
                info!(user = name, "IAM user deleted");
                return Ok(());
            }
            Err(e) if e.is_no_such_entity() => return Ok(()),
            Err(e) if e.is("DeleteConflict") && attempt < DELETE_ATTEMPTS => {
                warn!(user = name, error = %e, "user still has attachments; cleaning up again");
                ctx.sleep(Duration::from_secs(2)).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Everything `DeleteUser` refuses to delete. A list call's `NoSuchEntity` (user gone) is returned; an
/// item that vanished in between is skipped.
async fn detach_everything(client: &Client, name: &str) -> std::result::Result<(), ApiError> {
    for key in access_keys(client, name).await? {
        delete_access_key(client, name, &key.id).await?;
    }
    let inline = client
        .list_user_policies()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .op("iam:ListUserPolicies")?;
    for policy in inline {
        ignore_gone(
            client.delete_user_policy().user_name(name).policy_name(policy).send().await.op("iam:DeleteUserPolicy"),
        )?;
    }
    let attached = client
        .list_attached_user_policies()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .op("iam:ListAttachedUserPolicies")?;
    for policy in attached.iter().filter_map(|p| p.policy_arn()) {
        ignore_gone(
            client.detach_user_policy().user_name(name).policy_arn(policy).send().await.op("iam:DetachUserPolicy"),
        )?;
    }
    let groups = client
        .list_groups_for_user()
        .user_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .op("iam:ListGroupsForUser")?;
    for group in groups {
        ignore_gone(
            client
                .remove_user_from_group()
                .user_name(name)
                .group_name(group.group_name())
                .send()
                .await
                .op("iam:RemoveUserFromGroup"),
        )?;
    }
    ignore_gone(client.delete_login_profile().user_name(name).send().await.op("iam:DeleteLoginProfile"))?;
    Ok(())
}

fn ignore_gone<T>(result: std::result::Result<T, ApiError>) -> std::result::Result<(), ApiError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_no_such_entity() => Ok(()),
        Err(e) => Err(e),
    }
}
