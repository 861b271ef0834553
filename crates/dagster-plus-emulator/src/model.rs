//! Persisted domain data. The same structure is written to the state file and
//! served by `GET /_emulator/inventory`, so field names are camelCase like the API.
//!
//! The enums double as GraphQL enums: their names and values must match the
//! real schema exactly, and sharing them avoids a mapping layer that could drift.

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

/// Bumped when the state file layout changes incompatibly.
pub const STATE_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub format_version: u32,
    pub organization: String,
    pub organization_id: i64,
    pub next_deployment_id: i64,
    pub next_token_id: i64,
    pub next_grant_id: i64,
    pub deployments: Vec<Deployment>,
    pub agent_tokens: Vec<AgentToken>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: i64,
    pub deployment_name: String,
    pub deployment_type: DeploymentType,
    pub deployment_status: DeploymentStatus,
    pub agent_type: DeploymentAgentType,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentToken {
    pub id: i64,
    pub token: String,
    pub description: Option<String>,
    pub create_timestamp: f64,
    pub revoked: bool,
    pub revoke_timestamp: Option<f64>,
    pub permissions: TokenPermissions,
}

/// Mirrors `DagsterCloudScopedPermissionGrants` (minus the per-base-branch
/// list, which agent tokens cannot have).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPermissions {
    pub organization_permission_grant: Option<Grant>,
    pub all_branch_deployments_permission_grant: Option<Grant>,
    pub deployment_permission_grants: Vec<Grant>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: i64,
    pub deployment_id: Option<i64>,
    pub grant: PermissionGrant,
    pub deployment_scope: PermissionDeploymentScope,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PermissionGrant {
    CatalogViewer,
    Viewer,
    Launcher,
    Editor,
    Admin,
    Agent,
    Custom,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PermissionDeploymentScope {
    Deployment,
    Organization,
    AllBranchDeployments,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[graphql(name = "DagsterCloudDeploymentType")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentType {
    Production,
    Branch,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    Active,
    PendingDeletion,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentAgentType {
    Hybrid,
    Serverless,
}

impl State {
    /// A fresh organization with the seeded full deployment `prod` (id 1).
    pub fn new(organization: &str) -> State {
        let mut state = State {
            format_version: STATE_FORMAT_VERSION,
            organization: organization.to_owned(),
            organization_id: 1,
            next_deployment_id: 1,
            next_token_id: 1,
            next_grant_id: 1,
            deployments: Vec::new(),
            agent_tokens: Vec::new(),
        };
        state.push_full_deployment(crate::domain::deployments::DEFAULT_DEPLOYMENT);
        state
    }

    pub(crate) fn push_full_deployment(&mut self, name: &str) -> i64 {
        let id = self.next_deployment_id;
        self.next_deployment_id += 1;
        self.deployments.push(Deployment {
            deployment_id: id,
            deployment_name: name.to_owned(),
            deployment_type: DeploymentType::Production,
            deployment_status: DeploymentStatus::Active,
            agent_type: DeploymentAgentType::Hybrid,
        });
        id
    }

    pub(crate) fn allocate_grant_id(&mut self) -> i64 {
        let id = self.next_grant_id;
        self.next_grant_id += 1;
        id
    }
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PullRequestStatus {
    Open,
    Closed,
    Merged,
}
