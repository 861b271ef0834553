//! Deployment root fields (§6 of the API reference) and `DagsterCloudDeployment`.

use async_graphql::{Context, Enum, ErrorExtensions, Object, SimpleObject, Union};

use super::context::{request, store};
use super::errors::{DeploymentNotFoundError, PythonError, UnauthorizedError};
use super::scalars::GenericScalar;
use crate::domain::{deployments, DomainError};
use crate::model::{
    Deployment, DeploymentAgentType, DeploymentStatus, DeploymentType, PullRequestStatus, State,
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

// A deployment as seen by one request (the `can*` flags depend on the caller).
pub struct DeploymentObject {
    deployment: Deployment,
    organization: String,
    organization_id: i64,
    caller_is_admin: bool,
}

impl DeploymentObject {
    fn new(deployment: &Deployment, state: &State, caller_is_admin: bool) -> DeploymentObject {
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
        DeploymentSettings {
            settings: Some(GenericScalar(serde_json::Value::Object(Default::default()))),
        }
    }
    async fn branch_deployment_git_metadata(&self) -> Option<BranchDeploymentGitMetadata> {
        None
    }
    async fn latest_commit(&self) -> Option<DeploymentCommit> {
        None
    }
    async fn commits(&self) -> Vec<DeploymentCommit> {
        Vec::new()
    }
    async fn is_branch_deployment(&self) -> bool {
        self.is_branch()
    }
    async fn agent_type(&self) -> DeploymentAgentType {
        self.deployment.agent_type
    }
    async fn parent_deployment(&self) -> Option<DeploymentObject> {
        None
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
    DagsterCloudDeployment(DeploymentObject),
    DeploymentNotFoundError(DeploymentNotFoundError),
    PythonError(PythonError),
    UnauthorizedError(UnauthorizedError),
}

#[derive(Default)]
pub struct DeploymentQuery;

#[Object]
impl DeploymentQuery {
    // Every deployment of the organization.
    async fn deployments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DeploymentObject>> {
        let admin = request(ctx)?.principal.is_admin();
        Ok(store(ctx)?.read(|state| {
            state
                .deployments
                .iter()
                .map(|d| DeploymentObject::new(d, state, admin))
                .collect()
        }))
    }

    // The non-branch deployments.
    async fn full_deployments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<DeploymentObject>> {
        let admin = request(ctx)?.principal.is_admin();
        Ok(store(ctx)?.read(|state| {
            deployments::full_deployments(state)
                .map(|d| DeploymentObject::new(d, state, admin))
                .collect()
        }))
    }

    // The request's deployment scope. An unknown or contradictory scope is a
    // top-level error: there is no union to report it in.
    async fn current_deployment(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<DeploymentObject> {
        let req = request(ctx)?;
        let admin = req.principal.is_admin();
        store(ctx)?.read(|state| match scope::resolve(&req.scope, state) {
            Ok(d) => Ok(DeploymentObject::new(d, state, admin)),
            Err(e) => {
                let code = e.code();
                Err(async_graphql::Error::new(e.to_string())
                    .extend_with(|_, ext| ext.set("code", code)))
            }
        })
    }

    async fn deployment_by_name(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<DeploymentOrError> {
        let admin = request(ctx)?.principal.is_admin();
        Ok(
            store(ctx)?.read(|state| match deployments::by_name(state, &name) {
                Some(d) => DeploymentOrError::DagsterCloudDeployment(DeploymentObject::new(
                    d, state, admin,
                )),
                None => DeploymentOrError::DeploymentNotFoundError(DeploymentNotFoundError {
                    message: DomainError::DeploymentNameNotFound(name.clone()).to_string(),
                }),
            }),
        )
    }
}
