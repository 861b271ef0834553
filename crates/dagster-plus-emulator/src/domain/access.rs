//! What an agent token's grants let it touch. (The user token may do anything;
//! that distinction lives in [`crate::auth`].)

use super::tokens;
use crate::model::{Deployment, DeploymentType, State};

/// Whether the token holds an AGENT grant covering `deployment`: an
/// ORGANIZATION grant covers all, ALL_BRANCH_DEPLOYMENTS covers branch
/// deployments, a DEPLOYMENT grant covers its own deployment.
pub fn token_covers(state: &State, token_id: i64, deployment: &Deployment) -> bool {
    let Some(token) = tokens::find(state, token_id).filter(|t| !t.revoked) else {
        return false;
    };
    let perms = &token.permissions;
    perms.organization_permission_grant.is_some()
        || (deployment.deployment_type == DeploymentType::Branch
            && perms.all_branch_deployments_permission_grant.is_some())
        || perms.deployment_permission_grants.iter().any(|g| g.deployment_id == Some(deployment.deployment_id))
}

/// Whether the token may create branch deployments (any of them).
pub fn token_covers_branch_deployments(state: &State, token_id: i64) -> bool {
    tokens::find(state, token_id).filter(|t| !t.revoked).is_some_and(|t| {
        t.permissions.organization_permission_grant.is_some()
            || t.permissions.all_branch_deployments_permission_grant.is_some()
    })
}
