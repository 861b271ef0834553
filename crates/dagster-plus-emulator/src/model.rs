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
    // Fields added after format version 1 default when absent, so older
    // state files still load.
    #[serde(default)]
    pub agents: Vec<Agent>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: i64,
    pub deployment_name: String,
    pub deployment_type: DeploymentType,
    pub deployment_status: DeploymentStatus,
    pub agent_type: DeploymentAgentType,
    /// Set while `deployment_status` is `PENDING_DELETION`: when the
    /// deployment disappears for good (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_completes_at: Option<f64>,
    /// Present exactly for `BRANCH` deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<BranchInfo>,
    #[serde(default)]
    pub locations: Vec<CodeLocation>,
    /// Deployment settings, an opaque document replaced by `setDeploymentSettings`.
    #[serde(default = "empty_object")]
    pub settings: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// What `createOrUpdateBranchDeployment` keeps about a branch deployment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BranchInfo {
    pub repo_name: String,
    pub branch_name: String,
    pub branch_url: Option<String>,
    pub pull_request_url: Option<String>,
    pub pull_request_status: Option<PullRequestStatus>,
    pub pull_request_number: Option<String>,
    pub parent_deployment_id: Option<i64>,
    pub snapshot_base_condition: Option<SnapshotBaseDeploymentCondition>,
    /// Oldest first; the last one is `latestCommit`.
    pub commits: Vec<Commit>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    pub commit_hash: String,
    pub timestamp: f64,
    pub commit_message: Option<String>,
    pub commit_url: Option<String>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_avatar_url: Option<String>,
}

/// A code location as deployed: its validated document plus the simulated
/// load state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CodeLocation {
    pub location_name: String,
    pub spec: LocationSpec,
    /// When the location was last added or updated.
    pub updated_at: f64,
    /// Bumped on every update; served as `versionKey`.
    pub revision: u64,
    pub load: LocationLoad,
}

/// The snake_case location document, validated. Field names follow the
/// document (and `CodeDeploymentMetadata`), not the GraphQL API.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LocationSpec {
    pub image: Option<String>,
    pub code_source: CodeSource,
    pub working_directory: Option<String>,
    pub executable_path: Option<String>,
    pub attribute: Option<String>,
    pub agent_queue: Option<String>,
    /// Always a JSON object (possibly empty).
    pub container_context: serde_json::Value,
    pub git: Option<GitInfo>,
    pub pex_metadata: Option<PexMetadata>,
    pub defs_state_info: Option<serde_json::Value>,
}

/// Exactly one code source, as `CodeDeploymentMetadata` requires.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CodeSource {
    pub kind: CodeSourceKind,
    pub value: String,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CodeSourceKind {
    #[default]
    PythonFile,
    PackageName,
    ModuleName,
    AutoloadDefsModuleName,
}

impl CodeSourceKind {
    pub const ALL: [CodeSourceKind; 4] = [
        CodeSourceKind::PythonFile,
        CodeSourceKind::PackageName,
        CodeSourceKind::ModuleName,
        CodeSourceKind::AutoloadDefsModuleName,
    ];

    /// The key in `code_source` and in `CodeDeploymentMetadata`.
    pub fn key(self) -> &'static str {
        match self {
            CodeSourceKind::PythonFile => "python_file",
            CodeSourceKind::PackageName => "package_name",
            CodeSourceKind::ModuleName => "module_name",
            CodeSourceKind::AutoloadDefsModuleName => "autoload_defs_module_name",
        }
    }
}

/// The document's `git` map (serialized as `GitMetadata`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct GitInfo {
    pub commit_hash: Option<String>,
    pub url: Option<String>,
    pub provider: Option<String>,
    pub repo_owner: Option<String>,
    pub repo_name: Option<String>,
    pub base_branch: Option<String>,
    pub defs_base_path: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PexMetadata {
    pub pex_tag: String,
    pub python_version: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocationLoad {
    pub status: RepositoryLocationLoadStatus,
    /// When a `LOADING` location finishes (seconds since the epoch).
    pub ready_at: f64,
    /// Set when the simulated load fails (decided when the location is updated).
    pub error: Option<String>,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepositoryLocationLoadStatus {
    Loading,
    Loaded,
}

/// An agent as the API lists it. Heartbeats create and refresh it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: String,
    pub agent_label: Option<String>,
    pub status: AgentStatus,
    pub last_heartbeat_time: f64,
    /// Deployments the agent heartbeats for; `None` means every deployment.
    pub deployments: Option<Vec<String>>,
    /// Values are JSON-encoded strings, as the API serves them.
    pub metadata: Vec<AgentMetadataEntry>,
    pub errors: Vec<AgentError>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AgentMetadataEntry {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AgentError {
    pub timestamp: Option<f64>,
    pub message: String,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentStatus {
    Running,
    NotRunning,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SnapshotBaseDeploymentCondition {
    OnCreate,
    OnUpdate,
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
            agents: Vec::new(),
        };
        state.push_full_deployment(crate::domain::deployments::DEFAULT_DEPLOYMENT);
        state
    }

    pub(crate) fn push_full_deployment(&mut self, name: &str) -> i64 {
        self.push_deployment(name, DeploymentType::Production, DeploymentAgentType::Hybrid, None)
    }

    pub(crate) fn push_deployment(
        &mut self,
        name: &str,
        deployment_type: DeploymentType,
        agent_type: DeploymentAgentType,
        branch: Option<BranchInfo>,
    ) -> i64 {
        let id = self.next_deployment_id;
        self.next_deployment_id += 1;
        self.deployments.push(Deployment {
            deployment_id: id,
            deployment_name: name.to_owned(),
            deployment_type,
            deployment_status: DeploymentStatus::Active,
            agent_type,
            deletion_completes_at: None,
            branch,
            locations: Vec::new(),
            settings: empty_object(),
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
