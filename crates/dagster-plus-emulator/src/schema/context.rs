//! Per-request data the resolvers need, and accessors for it.

use std::sync::Arc;

use async_graphql::Context;

use super::errors::UnauthorizedError;
use crate::auth::Principal;
use crate::scope::RequestedScope;
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

// Token management is reserved to the user token; an agent token gets the
// `UnauthorizedError` union member, as a viewer would from Dagster+.
pub fn require_token_admin(
    ctx: &Context<'_>,
) -> async_graphql::Result<Result<(), UnauthorizedError>> {
    let principal = request(ctx)?.principal;
    Ok(if principal.is_admin() {
        Ok(())
    } else {
        Err(UnauthorizedError::new(
            "Agent tokens are not authorized to manage agent tokens",
        ))
    })
}
