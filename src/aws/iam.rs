//! The IAM calls of the registry resource: the CI user, its inline push policy and its access key.
//!
//! Single calls return the raw [`ApiError`] so that callers on create paths can wrap them in
//! [`super::retry::after_create`]; `NoSuchEntity` there means "not visible yet", elsewhere "gone".

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::types::{StatusType, Tag};
use aws_sdk_iam::Client;
use tfplugin::Context as OpContext;
use tracing::{info, warn};

use super::error::{required, ApiError, Context, Error, Result};
use super::policy::{url_decode, POLICY_NAME};
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

pub async fn create_user(client: &Client, name: &str, path: &str, tags: &BTreeMap<String, String>) -> Result<User> {
    let response = client.create_user().user_name(name).path(path).set_tags(Some(tag_list(tags)?)).send().await.op("iam:CreateUser");
    let output = match response {
        Err(e) if e.is("EntityAlreadyExists") => {
            return Err(Error::Conflict(format!(
                "an IAM user named `{name}` already exists. The provider does not take over existing users: delete it, import the registry with `<repository>:{name}`, or set `user.name` to another name."
            )))
        }
        other => other?,
    };
    let user = User::from_api(required(output.user(), "iam:CreateUser", "User")?);
    info!(user = %user.name, arn = %user.arn, "IAM user created");
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

/// Renames the user or moves it to another path; its keys and policies stay.
pub async fn update_user(client: &Client, name: &str, new_name: &str, new_path: &str) -> std::result::Result<(), ApiError> {
    client.update_user().user_name(name).new_user_name(new_name).new_path(new_path).send().await.op("iam:UpdateUser")?;
    info!(from = name, to = new_name, path = new_path, "IAM user updated");
    Ok(())
}

pub async fn user_tags(client: &Client, name: &str) -> std::result::Result<BTreeMap<String, String>, ApiError> {
    let tags = client.list_user_tags().user_name(name).into_paginator().items().send().try_collect().await.op("iam:ListUserTags")?;
    Ok(tags.into_iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

/// Makes the user's tags `desired`, reading the current ones first (IAM may have dropped them, as some
/// emulators do on rename).
pub async fn set_user_tags(client: &Client, name: &str, desired: &BTreeMap<String, String>) -> Result<()> {
    let current = user_tags(client, name).await?;
    let removed: Vec<String> = current.keys().filter(|k| !desired.contains_key(*k)).cloned().collect();
    if !removed.is_empty() {
        client.untag_user().user_name(name).set_tag_keys(Some(removed)).send().await.op("iam:UntagUser")?;
    }
    let changed: BTreeMap<String, String> =
        desired.iter().filter(|(k, v)| current.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
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

pub async fn create_access_key(client: &Client, user: &str) -> std::result::Result<NewAccessKey, ApiError> {
    let output = client.create_access_key().user_name(user).send().await.op("iam:CreateAccessKey")?;
    let Some(key) = output.access_key() else {
        return Err(ApiError::missing("iam:CreateAccessKey", "AccessKey"));
    };
    info!(user, access_key_id = key.access_key_id(), "access key created");
    Ok(NewAccessKey { id: key.access_key_id().to_string(), secret: Secret::new(key.secret_access_key()) })
}

/// The user's keys (always by user name: without it IAM lists the caller's keys).
pub async fn access_keys(client: &Client, user: &str) -> std::result::Result<Vec<KeyInfo>, ApiError> {
    let keys = client.list_access_keys().user_name(user).into_paginator().items().send().try_collect().await.op("iam:ListAccessKeys")?;
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
pub async fn delete_user(ctx: &OpContext, client: &Client, name: &str) -> Result<()> {
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
    let inline = client.list_user_policies().user_name(name).into_paginator().items().send().try_collect().await.op("iam:ListUserPolicies")?;
    for policy in inline {
        ignore_gone(client.delete_user_policy().user_name(name).policy_name(policy).send().await.op("iam:DeleteUserPolicy"))?;
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
        ignore_gone(client.detach_user_policy().user_name(name).policy_arn(policy).send().await.op("iam:DetachUserPolicy"))?;
    }
    let groups = client.list_groups_for_user().user_name(name).into_paginator().items().send().try_collect().await.op("iam:ListGroupsForUser")?;
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
