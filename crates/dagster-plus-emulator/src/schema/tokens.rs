//! Agent-token root fields (§2.2 of the API reference) and their types.

use async_graphql::{Context, InputObject, Object, SimpleObject, Union};

use super::context::{require_token_admin, store};
use super::errors::{DagsterCloudTokenNotFoundError, PythonError, UnauthorizedError};
use super::grants::ScopedPermissionGrants;
use super::users::{admin_user, DagsterCloudUser};
use crate::domain::tokens::{self, PermissionChange};
use crate::domain::DomainError;
use crate::model::{AgentToken, PermissionDeploymentScope, PermissionGrant, State};
use crate::store::MutationError;
use crate::{clock, secret};

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "DagsterCloudAgentToken")]
pub struct AgentTokenObject {
    pub id: i64,
    pub token: String,
    pub created_by: Option<DagsterCloudUser>,
    pub create_timestamp: Option<f64>,
    pub revoked: bool,
    pub revoked_by: Option<DagsterCloudUser>,
    pub revoke_timestamp: Option<f64>,
    pub description: Option<String>,
    pub permissions: Option<ScopedPermissionGrants>,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "DagsterCloudAgentTokens")]
pub struct AgentTokenList {
    pub tokens: Vec<AgentTokenObject>,
}

#[derive(Union)]
pub enum CreateAgentTokenResult {
    DagsterCloudAgentToken(Box<AgentTokenObject>),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(Union)]
pub enum AgentTokensOrError {
    DagsterCloudAgentTokens(Box<AgentTokenList>),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
}

#[derive(Union)]
pub enum AgentTokenOrError {
    DagsterCloudAgentToken(Box<AgentTokenObject>),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
}

#[derive(Union)]
pub enum RevokeAgentTokenResult {
    DagsterCloudAgentToken(Box<AgentTokenObject>),
    DagsterCloudTokenNotFoundError(DagsterCloudTokenNotFoundError),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(Union)]
pub enum EditDescAgentTokenResult {
    DagsterCloudAgentToken(Box<AgentTokenObject>),
    DagsterCloudTokenNotFoundError(DagsterCloudTokenNotFoundError),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(Union)]
pub enum ModifyAgentTokenResult {
    DagsterCloudAgentToken(Box<AgentTokenObject>),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(InputObject, Clone, Debug)]
#[graphql(name = "CreateOrUpdateCloudAgentPermissionsInput")]
pub struct CreateOrUpdateAgentPermissionsInput {
    pub agent_token_id: i64,
    pub deployment_id: Option<i64>,
    pub grant: PermissionGrant,
    pub deployment_scope: PermissionDeploymentScope,
}

#[derive(InputObject, Clone, Debug)]
pub struct RemoveAgentPermissionsInput {
    pub agent_token_id: i64,
    pub deployment_id: Option<i64>,
    pub deployment_scope: PermissionDeploymentScope,
}

impl AgentTokenObject {
    fn from_model(token: &AgentToken, state: &State) -> AgentTokenObject {
        // Only the user token can create or revoke tokens, so it is always the actor.
        let admin = admin_user(&state.organization);
        AgentTokenObject {
            id: token.id,
            token: token.token.clone(),
            created_by: Some(admin.clone()),
            create_timestamp: Some(token.create_timestamp),
            revoked: token.revoked,
            revoked_by: token.revoked.then_some(admin),
            revoke_timestamp: token.revoke_timestamp,
            description: token.description.clone(),
            permissions: Some(ScopedPermissionGrants::from_model(&token.permissions, state.organization_id)),
        }
    }
}

// Runs a token mutation and renders the resulting token against the
// post-mutation state (for the organization id and user).
fn mutate_token(
    ctx: &Context<'_>,
    f: impl FnOnce(&mut State) -> Result<AgentToken, DomainError>,
) -> async_graphql::Result<Result<AgentTokenObject, MutationError>> {
    let store = store(ctx)?;
    Ok(store.mutate(|state| {
        let token = f(state)?;
        Ok(AgentTokenObject::from_model(&token, state))
    }))
}

fn token_not_found(err: &MutationError) -> Option<DagsterCloudTokenNotFoundError> {
    match err {
        MutationError::Domain(DomainError::TokenNotFound(_)) => {
            Some(DagsterCloudTokenNotFoundError { message: err.to_string() })
        }
        _ => None,
    }
}

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    // All agent tokens, revoked ones included (with `revoked: true`).
    async fn agent_tokens_or_error(&self, ctx: &Context<'_>) -> async_graphql::Result<AgentTokensOrError> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(AgentTokensOrError::UnauthorizedError(denied));
        }
        let tokens = store(ctx)?
            .read(|state| state.agent_tokens.iter().map(|t| AgentTokenObject::from_model(t, state)).collect());
        Ok(AgentTokensOrError::DagsterCloudAgentTokens(Box::new(AgentTokenList { tokens })))
    }

    // The schema has no not-found member here, so an unknown id is a `PythonError`.
    async fn agent_token_or_error(&self, ctx: &Context<'_>, token_id: i64) -> async_graphql::Result<AgentTokenOrError> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(AgentTokenOrError::UnauthorizedError(denied));
        }
        let found =
            store(ctx)?.read(|state| tokens::find(state, token_id).map(|t| AgentTokenObject::from_model(t, state)));
        Ok(match found {
            Some(token) => AgentTokenOrError::DagsterCloudAgentToken(Box::new(token)),
            None => AgentTokenOrError::PythonError(PythonError::new(
                DomainError::TokenNotFound(token_id).to_string(),
                "DagsterCloudTokenNotFoundError",
            )),
        })
    }
}

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    async fn create_agent_token(
        &self,
        ctx: &Context<'_>,
        description: Option<String>,
    ) -> async_graphql::Result<CreateAgentTokenResult> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(CreateAgentTokenResult::UnauthorizedError(denied));
        }
        let secret = match secret::random_hex32() {
            Ok(hex) => hex,
            Err(e) => return Ok(CreateAgentTokenResult::PythonError(PythonError::new(e.to_string(), "OSError"))),
        };
        let now = clock::now_seconds();
        let created = mutate_token(ctx, |state| Ok(tokens::create(state, description, now, &secret)))?;
        Ok(match created {
            Ok(token) => CreateAgentTokenResult::DagsterCloudAgentToken(Box::new(token)),
            Err(e) => CreateAgentTokenResult::PythonError(PythonError::from_mutation(&e)),
        })
    }

    async fn revoke_agent_token(
        &self,
        ctx: &Context<'_>,
        token_id: i64,
    ) -> async_graphql::Result<RevokeAgentTokenResult> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(RevokeAgentTokenResult::UnauthorizedError(denied));
        }
        let now = clock::now_seconds();
        Ok(match mutate_token(ctx, |state| tokens::revoke(state, token_id, now))? {
            Ok(token) => RevokeAgentTokenResult::DagsterCloudAgentToken(Box::new(token)),
            Err(e) => match token_not_found(&e) {
                Some(nf) => RevokeAgentTokenResult::DagsterCloudTokenNotFoundError(nf),
                None => RevokeAgentTokenResult::PythonError(PythonError::from_mutation(&e)),
            },
        })
    }

    async fn edit_agent_token_description(
        &self,
        ctx: &Context<'_>,
        description: Option<String>,
        token_id: i64,
    ) -> async_graphql::Result<EditDescAgentTokenResult> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(EditDescAgentTokenResult::UnauthorizedError(denied));
        }
        Ok(match mutate_token(ctx, |state| tokens::edit_description(state, token_id, description))? {
            Ok(token) => EditDescAgentTokenResult::DagsterCloudAgentToken(Box::new(token)),
            Err(e) => match token_not_found(&e) {
                Some(nf) => EditDescAgentTokenResult::DagsterCloudTokenNotFoundError(nf),
                None => EditDescAgentTokenResult::PythonError(PythonError::from_mutation(&e)),
            },
        })
    }

    async fn create_or_update_agent_permissions(
        &self,
        ctx: &Context<'_>,
        agent_permission: CreateOrUpdateAgentPermissionsInput,
    ) -> async_graphql::Result<ModifyAgentTokenResult> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(ModifyAgentTokenResult::UnauthorizedError(denied));
        }
        let change = PermissionChange {
            token_id: agent_permission.agent_token_id,
            deployment_id: agent_permission.deployment_id,
            scope: agent_permission.deployment_scope,
        };
        let grant = agent_permission.grant;
        modify_result(mutate_token(ctx, |state| tokens::set_permission(state, change, grant))?)
    }

    async fn remove_agent_permissions(
        &self,
        ctx: &Context<'_>,
        agent_permission: RemoveAgentPermissionsInput,
    ) -> async_graphql::Result<ModifyAgentTokenResult> {
        if let Err(denied) = require_token_admin(ctx)? {
            return Ok(ModifyAgentTokenResult::UnauthorizedError(denied));
        }
        let change = PermissionChange {
            token_id: agent_permission.agent_token_id,
            deployment_id: agent_permission.deployment_id,
            scope: agent_permission.deployment_scope,
        };
        modify_result(mutate_token(ctx, |state| tokens::remove_permission(state, change))?)
    }
}

fn modify_result(result: Result<AgentTokenObject, MutationError>) -> async_graphql::Result<ModifyAgentTokenResult> {
    Ok(match result {
        Ok(token) => ModifyAgentTokenResult::DagsterCloudAgentToken(Box::new(token)),
        Err(e) => ModifyAgentTokenResult::PythonError(PythonError::from_mutation(&e)),
    })
}
