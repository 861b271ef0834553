//! Deployment root fields (§6 of the API reference) and `DagsterCloudDeployment`.

use async_graphql::{Context, Enum, Object, SimpleObject, Union};

use super::context::{request, scope_error, store};
use super::errors::{DeploymentNotFoundError, PythonError, UnauthorizedError};
use super::scalars::GenericScalar;
use super::workspace::WorkspaceEntry;
use crate::domain::{deployments, DomainError};
use crate::model::{
    Commit, Deployment, DeploymentAgentType, DeploymentStatus, DeploymentType, PullRequestStatus, State,
};
use crate::scope;

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum OrganizationStatus {
    Active,
    ReadOnly,
    Suspended,
    PendingDeletion,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeploymentSettings {
    pub settings: Option<GenericScalar>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct BranchDeploymentGitMetadata {
    pub branch_name: String,
    pub repo_name: String,
    pub branch_url: Option<String>,
    pub pull_request_url: Option<String>,
    pub pull_request_status: Option<PullRequestStatus>,
    pub pull_request_number: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeploymentCommit {
    pub timestamp: f64,
    pub commit_hash: String,
    pub commit_message: Option<String>,
    pub commit_url: Option<String>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_avatar_url: Option<String>,
}

impl From<&Commit> for DeploymentCommit {
    fn from(c: &Commit) -> DeploymentCommit {
        DeploymentCommit {
            timestamp: c.timestamp,
            commit_hash: c.commit_hash.clone(),
            commit_message: c.commit_message.clone(),
            commit_url: c.commit_url.clone(),
            author_name: c.author_name.clone(),
            author_email: c.author_email.clone(),
            author_avatar_url: c.author_avatar_url.clone(),
        }
    }
}

// A deployment as seen by one request (the `can*` flags depend on the caller).
pub struct DeploymentObject {
    deployment: Deployment,
    organization: String,
    organization_id: i64,
    caller_is_admin: bool,
}

impl DeploymentObject {
    pub fn new(deployment: &Deployment, state: &State, caller_is_admin: bool) -> DeploymentObject {
        DeploymentObject {
            deployment: deployment.clone(),
            organization: state.organization.clone(),
            organization_id: state.organization_id,
            caller_is_admin,
        }
    }

    fn is_branch(&self) -> bool {
        self.deployment.deployment_type == DeploymentType::Branch
    }
}

#[Object(name = "DagsterCloudDeployment")]
impl DeploymentObject {
    async fn organization_id(&self) -> i64 {
        self.organization_id
    }
    async fn organization_name(&self) -> &str {
        &self.organization
    }
    async fn organization_status(&self) -> OrganizationStatus {
        OrganizationStatus::Active
    }
    async fn deployment_id(&self) -> i64 {
        self.deployment.deployment_id
    }
    async fn deployment_name(&self) -> &str {
        &self.deployment.deployment_name
    }
    async fn deployment_status(&self) -> DeploymentStatus {
        self.deployment.deployment_status
    }
    async fn deployment_type(&self) -> DeploymentType {
        self.deployment.deployment_type
    }
    async fn deployment_settings(&self) -> DeploymentSettings {
        DeploymentSettings { settings: Some(GenericScalar(self.deployment.settings.clone())) }
    }
    // `agentQueues` narrows to locations on those queues (null: the default queue).
    async fn workspace_entries(&self, agent_queues: Option<Vec<Option<String>>>) -> Vec<WorkspaceEntry> {
        self.deployment
            .locations
            .iter()
            .filter(|l| agent_queues.as_ref().is_none_or(|queues| queues.contains(&l.spec.agent_queue)))
            .map(|l| WorkspaceEntry::from_model(l, self.caller_is_admin))
            .collect()
    }
    async fn branch_deployment_git_metadata(&self) -> Option<BranchDeploymentGitMetadata> {
        self.deployment.branch.as_ref().map(|b| BranchDeploymentGitMetadata {
            branch_name: b.branch_name.clone(),
            repo_name: b.repo_name.clone(),
            branch_url: b.branch_url.clone(),
            pull_request_url: b.pull_request_url.clone(),
            pull_request_status: b.pull_request_status,
            pull_request_number: b.pull_request_number.clone(),
        })
    }
    async fn latest_commit(&self) -> Option<DeploymentCommit> {
        self.deployment.branch.as_ref().and_then(|b| b.commits.last()).map(DeploymentCommit::from)
    }
    // Newest first.
    async fn commits(&self) -> Vec<DeploymentCommit> {
        self.deployment
            .branch
            .as_ref()
            .map(|b| b.commits.iter().rev().map(DeploymentCommit::from).collect())
            .unwrap_or_default()
    }
    async fn is_branch_deployment(&self) -> bool {
        self.is_branch()
    }
    async fn agent_type(&self) -> DeploymentAgentType {
        self.deployment.agent_type
    }
    async fn parent_deployment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DeploymentObject>> {
        let Some(parent_id) = self.deployment.branch.as_ref().and_then(|b| b.parent_deployment_id) else {
            return Ok(None);
        };
        Ok(store(ctx)?.read(|state| {
            deployments::by_id(state, parent_id).map(|d| DeploymentObject::new(d, state, self.caller_is_admin))
        }))
    }
    async fn can_have_branch_deployments(&self) -> bool {
        !self.is_branch()
    }
    async fn can_edit_deployment_settings(&self) -> bool {
        self.caller_is_admin
    }
    async fn can_edit_deployment_permissions(&self) -> bool {
        self.caller_is_admin
    }
    async fn can_delete_deployment(&self) -> bool {
        self.caller_is_admin
    }
    async fn can_access_deployment(&self) -> bool {
        true
    }
}

#[derive(Union)]
pub enum DeploymentOrError {
    DagsterCloudDeployment(Box<DeploymentObject>),
    DeploymentNotFoundError(DeploymentNotFoundError),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
}

#[derive(Default)]
pub struct DeploymentQuery;

#[Object]
impl DeploymentQuery {
    // Every deployment of the organization, branch deployments included. The
    // arguments are the agent API's (§5.4): a name filter, and a flag the
    // emulator accepts but ignores (it has no serverless-only deployments).
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        deployment_names: Option<Vec<String>>,
        #[graphql(name = "includeAllServerlessDeployments")] _include_all_serverless: Option<bool>,
    ) -> async_graphql::Result<Vec<DeploymentObject>> {
        let admin = request(ctx)?.principal.is_admin();
        Ok(store(ctx)?.read(|state| {
            state
                .deployments
                .iter()
                .filter(|d| deployment_names.as_ref().is_none_or(|names| names.contains(&d.deployment_name)))
                .map(|d| DeploymentObject::new(d, state, admin))
                .collect()
        }))
    }

    // The non-branch deployments.
    async fn full_deployments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeploymentObject>> {
        let admin = request(ctx)?.principal.is_admin();
        Ok(store(ctx)?.read(|state| {
            deployments::full_deployments(state).map(|d| DeploymentObject::new(d, state, admin)).collect()
        }))
    }

    // The request's deployment scope. An unknown or contradictory scope is a
    // top-level error: there is no union to report it in.
    async fn current_deployment(&self, ctx: &Context<'_>) -> async_graphql::Result<DeploymentObject> {
        let req = request(ctx)?;
        let admin = req.principal.is_admin();
        store(ctx)?.read(|state| match scope::resolve(&req.scope, state) {
            Ok(d) => Ok(DeploymentObject::new(d, state, admin)),
            Err(e) => Err(scope_error(&e)),
        })
    }

    async fn deployment_by_name(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<DeploymentOrError> {
        let admin = request(ctx)?.principal.is_admin();
        Ok(store(ctx)?.read(|state| match deployments::by_name(state, &name) {
            Some(d) => DeploymentOrError::DagsterCloudDeployment(Box::new(DeploymentObject::new(d, state, admin))),
            None => DeploymentOrError::DeploymentNotFoundError(DeploymentNotFoundError {
                message: DomainError::DeploymentNameNotFound(name.clone()).to_string(),
            }),
        }))
    }
}

#[derive(Union)]
pub enum UpdateDeploymentAgentTypeResult {
    DagsterCloudDeployment(Box<DeploymentObject>),
    DeploymentNotFoundError(DeploymentNotFoundError),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(Default)]
pub struct DeploymentMutation;

#[Object]
impl DeploymentMutation {
    // Switching a deployment to SERVERLESS makes an image (or PEX) mandatory
    // for its code locations. `deploymentId` null means the request's scope.
    async fn update_deployment_agent_type(
        &self,
        ctx: &Context<'_>,
        deployment_agent_type: Option<DeploymentAgentType>,
        deployment_id: Option<i64>,
    ) -> async_graphql::Result<UpdateDeploymentAgentTypeResult> {
        let req = request(ctx)?;
        if !req.principal.is_admin() {
            return Ok(UpdateDeploymentAgentTypeResult::UnauthorizedError(UnauthorizedError::new(
                "Only organization admins can change a deployment's agent type",
            )));
        }
        let agent_type = deployment_agent_type.unwrap_or(DeploymentAgentType::Hybrid);
        let target = store(ctx)?.read(|state| match deployment_id {
            Some(id) => deployments::by_id(state, id)
                .map(|d| d.deployment_id)
                .ok_or_else(|| DomainError::DeploymentIdNotFound(id).to_string()),
            None => scope::resolve(&req.scope, state).map(|d| d.deployment_id).map_err(|e| e.to_string()),
        });
        let id = match target {
            Ok(id) => id,
            Err(message) => {
                return Ok(UpdateDeploymentAgentTypeResult::DeploymentNotFoundError(DeploymentNotFoundError {
                    message,
                }))
            }
        };
        Ok(
            match store(ctx)?.mutate(|state| {
                deployments::set_agent_type(state, id, agent_type)?;
                deployments::by_id(state, id)
                    .map(|d| DeploymentObject::new(d, state, true))
                    .ok_or(DomainError::DeploymentIdNotFound(id))
            }) {
                Ok(d) => UpdateDeploymentAgentTypeResult::DagsterCloudDeployment(Box::new(d)),
                Err(e) => UpdateDeploymentAgentTypeResult::PythonError(PythonError::from_mutation(&e)),
            },
        )
    }
}
