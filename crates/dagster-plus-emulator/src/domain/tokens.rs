//! Agent-token life cycle: mint, revoke, rename, and per-scope AGENT grants.

use super::{deployments, DomainError};
use crate::model::{AgentToken, Grant, PermissionDeploymentScope, PermissionGrant, State};

/// A requested grant change, as carried by `CreateOrUpdateCloudAgentPermissionsInput`
/// and `RemoveAgentPermissionsInput`.
#[derive(Clone, Copy, Debug)]
pub struct PermissionChange {
    pub token_id: i64,
    /// `0` and `None` both mean "no deployment" (the Go provider sends `0`).
    pub deployment_id: Option<i64>,
    pub scope: PermissionDeploymentScope,
}

pub fn find(state: &State, id: i64) -> Option<&AgentToken> {
    state.agent_tokens.iter().find(|t| t.id == id)
}

/// The non-revoked token with this secret value, used for authentication.
pub fn find_live_by_value<'a>(state: &'a State, value: &str) -> Option<&'a AgentToken> {
    state.agent_tokens.iter().find(|t| !t.revoked && t.token == value)
}

/// Mints a token; like Dagster+, every new token starts with an
/// ORGANIZATION-scoped AGENT grant.
pub fn create(state: &mut State, description: Option<String>, now: f64, secret_hex: &str) -> AgentToken {
    let id = state.next_token_id;
    state.next_token_id += 1;
    let org_grant = Grant {
        id: state.allocate_grant_id(),
        deployment_id: None,
        grant: PermissionGrant::Agent,
        deployment_scope: PermissionDeploymentScope::Organization,
    };
    let token = AgentToken {
        id,
        token: format!("agent:{}:{}", state.organization, secret_hex),
        description,
        create_timestamp: now,
        revoked: false,
        revoke_timestamp: None,
        permissions: crate::model::TokenPermissions {
            organization_permission_grant: Some(org_grant),
            ..Default::default()
        },
    };
    state.agent_tokens.push(token.clone());
    token
}

/// Revokes a token. Revoking again is accepted and keeps the first timestamp,
/// so a retried Terraform delete succeeds.
pub fn revoke(state: &mut State, id: i64, now: f64) -> Result<AgentToken, DomainError> {
    let token = find_mut(state, id)?;
    if !token.revoked {
        token.revoked = true;
        token.revoke_timestamp = Some(now);
    }
    Ok(token.clone())
}

pub fn edit_description(state: &mut State, id: i64, description: Option<String>) -> Result<AgentToken, DomainError> {
    let token = find_mut(state, id)?;
    token.description = description;
    Ok(token.clone())
}

/// Adds or replaces the grant for the change's scope; a replaced grant keeps its id.
pub fn set_permission(
    state: &mut State,
    change: PermissionChange,
    grant: PermissionGrant,
) -> Result<AgentToken, DomainError> {
    if grant != PermissionGrant::Agent {
        return Err(DomainError::InvalidPermission(format!("agent tokens only accept the AGENT grant, got {grant:?}")));
    }
    let deployment_id = normalized_deployment(change.deployment_id);
    live_token(state, change.token_id)?;
    validate_target(state, change.scope, deployment_id)?;
    let fresh_id = state.allocate_grant_id();
    let token = find_mut(state, change.token_id)?;
    let perms = &mut token.permissions;
    let slot = match change.scope {
        PermissionDeploymentScope::Organization => &mut perms.organization_permission_grant,
        PermissionDeploymentScope::AllBranchDeployments => &mut perms.all_branch_deployments_permission_grant,
        PermissionDeploymentScope::Deployment => {
            let existing = perms.deployment_permission_grants.iter_mut().find(|g| g.deployment_id == deployment_id);
            match existing {
                Some(g) => g.grant = grant,
                None => perms.deployment_permission_grants.push(Grant {
                    id: fresh_id,
                    deployment_id,
                    grant,
                    deployment_scope: change.scope,
                }),
            }
            return Ok(token.clone());
        }
    };
    match slot {
        Some(g) => g.grant = grant,
        None => *slot = Some(Grant { id: fresh_id, deployment_id: None, grant, deployment_scope: change.scope }),
    }
    Ok(token.clone())
}

/// Removes the grant matching the change's scope (and deployment). Removing a
/// grant that is not there is a no-op, so retried deletes converge.
pub fn remove_permission(state: &mut State, change: PermissionChange) -> Result<AgentToken, DomainError> {
    let deployment_id = normalized_deployment(change.deployment_id);
    live_token(state, change.token_id)?;
    if change.scope == PermissionDeploymentScope::Deployment && deployment_id.is_none() {
        return Err(DomainError::InvalidPermission("a DEPLOYMENT-scoped grant needs a deploymentId".into()));
    }
    let token = find_mut(state, change.token_id)?;
    let perms = &mut token.permissions;
    match change.scope {
        PermissionDeploymentScope::Organization => perms.organization_permission_grant = None,
        PermissionDeploymentScope::AllBranchDeployments => perms.all_branch_deployments_permission_grant = None,
        PermissionDeploymentScope::Deployment => {
            perms.deployment_permission_grants.retain(|g| g.deployment_id != deployment_id)
        }
    }
    Ok(token.clone())
}

fn normalized_deployment(id: Option<i64>) -> Option<i64> {
    id.filter(|&id| id != 0)
}

fn find_mut(state: &mut State, id: i64) -> Result<&mut AgentToken, DomainError> {
    state.agent_tokens.iter_mut().find(|t| t.id == id).ok_or(DomainError::TokenNotFound(id))
}

fn live_token(state: &State, id: i64) -> Result<&AgentToken, DomainError> {
    match find(state, id) {
        None => Err(DomainError::TokenNotFound(id)),
        Some(t) if t.revoked => Err(DomainError::TokenRevoked(id)),
        Some(t) => Ok(t),
    }
}

fn validate_target(
    state: &State,
    scope: PermissionDeploymentScope,
    deployment_id: Option<i64>,
) -> Result<(), DomainError> {
    match (scope, deployment_id) {
        (PermissionDeploymentScope::Organization, Some(id)) => Err(DomainError::InvalidPermission(format!(
            "an ORGANIZATION-scoped grant takes no deploymentId (got {id})"
        ))),
        // A non-zero id here would be a per-base-branch grant, which Dagster+
        // offers to users and teams but not to agent tokens.
        (PermissionDeploymentScope::AllBranchDeployments, Some(id)) => Err(DomainError::InvalidPermission(format!(
            "agent tokens cannot be scoped to the branch deployments of one base deployment (deploymentId {id})"
        ))),
        (PermissionDeploymentScope::Deployment, None) => {
            Err(DomainError::InvalidPermission("a DEPLOYMENT-scoped grant needs a deploymentId".into()))
        }
        (PermissionDeploymentScope::Deployment, Some(id)) => {
            deployments::by_id(state, id).map(|_| ()).ok_or(DomainError::DeploymentIdNotFound(id))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(token_id: i64, deployment_id: Option<i64>, scope: PermissionDeploymentScope) -> PermissionChange {
        PermissionChange { token_id, deployment_id, scope }
    }

    #[test]
    fn grants_replace_in_place_and_remove() {
        let mut state = State::new("acme");
        let t = create(&mut state, None, 1.0, "00");
        let org_grant_id = t.permissions.organization_permission_grant.as_ref().map(|g| g.id);
        assert_eq!(t.token, "agent:acme:00");

        let all = change(t.id, Some(0), PermissionDeploymentScope::AllBranchDeployments);
        set_permission(&mut state, all, PermissionGrant::Agent).unwrap();
        let again = set_permission(&mut state, all, PermissionGrant::Agent).unwrap();
        let all_id = again.permissions.all_branch_deployments_permission_grant.as_ref().map(|g| g.id);
        assert!(all_id.is_some());
        assert_ne!(all_id, org_grant_id);

        let dep = change(t.id, Some(1), PermissionDeploymentScope::Deployment);
        set_permission(&mut state, dep, PermissionGrant::Agent).unwrap();
        let after = set_permission(&mut state, dep, PermissionGrant::Agent).unwrap();
        assert_eq!(after.permissions.deployment_permission_grants.len(), 1);

        let org = change(t.id, None, PermissionDeploymentScope::Organization);
        let removed = remove_permission(&mut state, org).unwrap();
        assert!(removed.permissions.organization_permission_grant.is_none());
        assert!(remove_permission(&mut state, org).is_ok());
    }

    #[test]
    fn rejects_bad_targets_and_revoked_tokens() {
        let mut state = State::new("acme");
        let t = create(&mut state, None, 1.0, "00");
        let missing = change(t.id, Some(99), PermissionDeploymentScope::Deployment);
        assert_eq!(
            set_permission(&mut state, missing, PermissionGrant::Agent).err(),
            Some(DomainError::DeploymentIdNotFound(99))
        );
        let per_base = change(t.id, Some(1), PermissionDeploymentScope::AllBranchDeployments);
        assert!(set_permission(&mut state, per_base, PermissionGrant::Agent).is_err());
        let org = change(t.id, None, PermissionDeploymentScope::Organization);
        assert!(set_permission(&mut state, org, PermissionGrant::Viewer).is_err());

        revoke(&mut state, t.id, 2.0).unwrap();
        let again = revoke(&mut state, t.id, 3.0).unwrap();
        assert_eq!(again.revoke_timestamp, Some(2.0));
        assert_eq!(
            set_permission(&mut state, org, PermissionGrant::Agent).err(),
            Some(DomainError::TokenRevoked(t.id))
        );
        assert!(find_live_by_value(&state, "agent:acme:00").is_none());
        assert_eq!(revoke(&mut state, 42, 1.0).err(), Some(DomainError::TokenNotFound(42)));
    }
}
