//! Per-request data the resolvers need, and accessors for it.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions};

use super::errors::{PythonError, UnauthorizedError};
use crate::auth::Principal;
use crate::domain::access;
use crate::model::{Deployment, DeploymentAgentType, State};
use crate::scope::{self, RequestedScope, ScopeError};
use crate::simulation::{Simulation, SimulationSettings};
use crate::store::Store;

// Attached to every GraphQL request by the HTTP layer.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub principal: Principal,
    pub scope: RequestedScope,
}

pub fn store<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Store>> {
    ctx.data::<Arc<Store>>()
}

pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    ctx.data::<RequestContext>()
}

pub fn simulation(ctx: &Context<'_>) -> async_graphql::Result<SimulationSettings> {
    Ok(ctx.data::<Arc<Simulation>>()?.get())
}

// Token management is reserved to the user token; an agent token gets the
// `UnauthorizedError` union member, as a viewer would from Dagster+.
pub fn require_token_admin(ctx: &Context<'_>) -> async_graphql::Result<Result<(), UnauthorizedError>> {
    let principal = request(ctx)?.principal;
    Ok(if principal.is_admin() {
        Ok(())
    } else {
        Err(UnauthorizedError::new("Agent tokens are not authorized to manage agent tokens"))
    })
}

/// Whether the caller may change `deployment` (its locations, settings, life).
pub fn may_modify(principal: Principal, state: &State, deployment: &Deployment) -> bool {
    match principal {
        Principal::Admin => true,
        Principal::Agent { token_id } => access::token_covers(state, token_id, deployment),
    }
}

pub fn not_permitted(deployment_name: &str) -> UnauthorizedError {
    UnauthorizedError::new(format!("This agent token has no permission grant for deployment {deployment_name:?}"))
}

/// The deployment a deployment-scoped call acts on.
#[derive(Clone, Debug)]
pub struct ScopeTarget {
    pub deployment_id: i64,
    pub deployment_name: String,
    pub agent_type: DeploymentAgentType,
    /// Whether the caller may modify it.
    pub writable: bool,
}

pub fn scope_target(ctx: &Context<'_>) -> async_graphql::Result<Result<ScopeTarget, ScopeError>> {
    let req = request(ctx)?;
    Ok(store(ctx)?.read(|state| {
        scope::resolve(&req.scope, state).map(|d| ScopeTarget {
            deployment_id: d.deployment_id,
            deployment_name: d.deployment_name.clone(),
            agent_type: d.agent_type,
            writable: may_modify(req.principal, state, d),
        })
    }))
}

/// A scope failure where the field has no union to report it in.
pub fn scope_error(err: &ScopeError) -> async_graphql::Error {
    let code = err.code();
    async_graphql::Error::new(err.to_string()).extend_with(|_, ext| ext.set("code", code))
}

/// A scope failure reported as the `PythonError` member of a result union.
pub fn scope_python_error(err: &ScopeError) -> PythonError {
    PythonError::new(err.to_string(), "DeploymentNotFoundError")
}

/// The deployment name `agents` filters by: `None` for organization-level
/// requests (un-prefixed or `/{org}/graphql` without a deployment header).
pub fn agent_scope(ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
    match &request(ctx)?.scope {
        RequestedScope::Default => Ok(None),
        RequestedScope::Named(name) => Ok(Some(name.clone())),
        RequestedScope::Conflict { path, header } => {
            Err(scope_error(&ScopeError::Conflict { path: path.clone(), header: header.clone() }))
        }
    }
}
