//! Scoped permission grant types (`DagsterCloudScopedPermissionGrant[s]`).

use async_graphql::SimpleObject;

use crate::model::{Grant, PermissionDeploymentScope, PermissionGrant, TokenPermissions};

// "If the deploymentId is null, then this represents an organization grant."
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "DagsterCloudScopedPermissionGrant")]
pub struct ScopedPermissionGrant {
    pub id: i64,
    pub organization_id: i64,
    pub deployment_id: Option<i64>,
    pub grant: PermissionGrant,
    pub custom_role_id: Option<String>,
    pub location_grants: Vec<LocationScopedGrant>,
    pub deployment_scope: PermissionDeploymentScope,
    pub owner_definitions_role_handle: Option<PermissionRoleHandle>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct LocationScopedGrant {
    pub location_name: String,
    pub grant: PermissionGrant,
    pub custom_role_id: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PermissionRoleHandle {
    pub grant: PermissionGrant,
    pub custom_role_id: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "DagsterCloudScopedPermissionGrants")]
pub struct ScopedPermissionGrants {
    pub organization_permission_grant: Option<ScopedPermissionGrant>,
    pub all_branch_deployments_permission_grant: Option<ScopedPermissionGrant>,
    pub per_base_branch_deployments_permission_grants: Vec<ScopedPermissionGrant>,
    pub deployment_permission_grants: Vec<ScopedPermissionGrant>,
}

impl ScopedPermissionGrant {
    fn from_model(grant: &Grant, organization_id: i64) -> ScopedPermissionGrant {
        ScopedPermissionGrant {
            id: grant.id,
            organization_id,
            deployment_id: grant.deployment_id,
            grant: grant.grant,
            custom_role_id: None,
            location_grants: Vec::new(),
            deployment_scope: grant.deployment_scope,
            owner_definitions_role_handle: None,
        }
    }
}

impl ScopedPermissionGrants {
    pub fn from_model(perms: &TokenPermissions, organization_id: i64) -> ScopedPermissionGrants {
        let convert = |g: &Grant| ScopedPermissionGrant::from_model(g, organization_id);
        ScopedPermissionGrants {
            organization_permission_grant: perms.organization_permission_grant.as_ref().map(convert),
            all_branch_deployments_permission_grant: perms
                .all_branch_deployments_permission_grant
                .as_ref()
                .map(convert),
            // Agent tokens cannot hold per-base-branch grants.
            per_base_branch_deployments_permission_grants: Vec::new(),
            deployment_permission_grants: perms.deployment_permission_grants.iter().map(convert).collect(),
        }
    }
}
