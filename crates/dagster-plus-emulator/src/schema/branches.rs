//! Branch-deployment root fields (§3): the upsert, lookups by repo and branch,
//! the list, and `deleteDeployment` (which serves full deployments too).

use async_graphql::{Context, ErrorExtensions, InputObject, Object, SimpleObject, Union};

use super::context::{may_modify, not_permitted, request, simulation, store};
use super::deployments::DeploymentObject;
use super::errors::{
    DeleteFinalDeploymentError, DeploymentLimitError, DeploymentNotFoundError, DuplicateDeploymentError, PythonError,
    UnauthorizedError,
};
use crate::auth::Principal;
use crate::clock;
use crate::domain::branches::{self, BranchUpsert};
use crate::domain::{access, deployments, DomainError};
use crate::model::{Commit, PullRequestStatus, SnapshotBaseDeploymentCondition};
use crate::store::MutationError;

#[derive(InputObject, Clone, Debug)]
pub struct CreateOrUpdateBranchDeploymentInput {
    pub repo_name: String,
    pub branch_name: String,
    pub branch_url: Option<String>,
    pub pull_request_url: Option<String>,
    pub pull_request_status: Option<PullRequestStatus>,
    pub pull_request_number: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct DeploymentCommitInput {
    pub commit_hash: String,
    pub timestamp: f64,
    pub commit_message: Option<String>,
    pub commit_url: Option<String>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_avatar_url: Option<String>,
}

#[derive(Union)]
pub enum CreateDeploymentResult {
    DagsterCloudDeployment(Box<DeploymentObject>),
    DeploymentNotFoundError(DeploymentNotFoundError),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
    DuplicateDeploymentError(DuplicateDeploymentError),
    DeploymentLimitError(DeploymentLimitError),
}

#[derive(Union)]
pub enum DeleteDeploymentResult {
    DagsterCloudDeployment(Box<DeploymentObject>),
    DeploymentNotFoundError(DeploymentNotFoundError),
    DeleteFinalDeploymentError(DeleteFinalDeploymentError),
    UnauthorizedError(UnauthorizedError),
    PythonError(PythonError),
}

#[derive(SimpleObject)]
pub struct BranchDeploymentsConnection {
    pub nodes: Vec<DeploymentObject>,
}

#[derive(Default)]
pub struct BranchQuery;

#[Object]
impl BranchQuery {
    // Non-null in the schema, so an unknown pair is a top-level error.
    async fn get_branch_deployment_name(
        &self,
        ctx: &Context<'_>,
        repo_name: String,
        branch_name: String,
    ) -> async_graphql::Result<String> {
        store(ctx)?
            .read(|state| {
                branches::by_repo_and_branch(state, &repo_name, &branch_name).map(|d| d.deployment_name.clone())
            })
            .ok_or_else(|| {
                async_graphql::Error::new(format!(
                    "No branch deployment for repository {repo_name:?} and branch {branch_name:?}"
                ))
                .extend_with(|_, ext| ext.set("code", "BRANCH_DEPLOYMENT_NOT_FOUND"))
            })
    }

    // Newest first; no pagination beyond `limit`, like the real field.
    async fn branch_deployments(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        pull_request_status: Option<PullRequestStatus>,
    ) -> async_graphql::Result<BranchDeploymentsConnection> {
        let admin = request(ctx)?.principal.is_admin();
        let limit = usize::try_from(limit).unwrap_or(0);
        Ok(BranchDeploymentsConnection {
            nodes: store(ctx)?.read(|state| {
                branches::list(state, limit, pull_request_status)
                    .into_iter()
                    .map(|d| DeploymentObject::new(d, state, admin))
                    .collect()
            }),
        })
    }
}

#[derive(Default)]
pub struct BranchMutation;

#[Object]
impl BranchMutation {
    // Keyed by (repoName, branchName): the same pair always updates the same
    // deployment. Explicit nulls keep stored values.
    async fn create_or_update_branch_deployment(
        &self,
        ctx: &Context<'_>,
        base_deployment_name: Option<String>,
        branch_data: CreateOrUpdateBranchDeploymentInput,
        commit: DeploymentCommitInput,
        snapshot_base_condition: Option<SnapshotBaseDeploymentCondition>,
    ) -> async_graphql::Result<CreateDeploymentResult> {
        let principal = request(ctx)?.principal;
        if let Principal::Agent { token_id } = principal {
            let allowed = store(ctx)?.read(|state| access::token_covers_branch_deployments(state, token_id));
            if !allowed {
                return Ok(CreateDeploymentResult::UnauthorizedError(UnauthorizedError::new(
                    "This agent token has no permission grant for branch deployments",
                )));
            }
        }
        let input = BranchUpsert {
            repo_name: branch_data.repo_name,
            branch_name: branch_data.branch_name,
            branch_url: branch_data.branch_url,
            pull_request_url: branch_data.pull_request_url,
            pull_request_status: branch_data.pull_request_status,
            pull_request_number: branch_data.pull_request_number,
            commit: Commit {
                commit_hash: commit.commit_hash,
                timestamp: commit.timestamp,
                commit_message: commit.commit_message,
                commit_url: commit.commit_url,
                author_name: commit.author_name,
                author_email: commit.author_email,
                author_avatar_url: commit.author_avatar_url,
            },
            base_deployment_name,
            snapshot_base_condition,
        };
        let admin = principal.is_admin();
        let result = store(ctx)?.mutate(|state| {
            let id = branches::create_or_update(state, input)?;
            deployments::by_id(state, id)
                .map(|d| DeploymentObject::new(d, state, admin))
                .ok_or(DomainError::DeploymentIdNotFound(id))
        });
        Ok(match result {
            Ok(deployment) => CreateDeploymentResult::DagsterCloudDeployment(Box::new(deployment)),
            Err(MutationError::Domain(e @ DomainError::DeploymentNameNotFound(_))) => {
                CreateDeploymentResult::DeploymentNotFoundError(DeploymentNotFoundError { message: e.to_string() })
            }
            Err(MutationError::Domain(e @ DomainError::DuplicateDeployment(_))) => {
                CreateDeploymentResult::DuplicateDeploymentError(DuplicateDeploymentError { message: e.to_string() })
            }
            Err(e) => CreateDeploymentResult::PythonError(PythonError::from_mutation(&e)),
        })
    }

    // Starts deletion: the reply shows `PENDING_DELETION`; the deployment is
    // gone once the simulated deletion delay has passed.
    async fn delete_deployment(
        &self,
        ctx: &Context<'_>,
        deployment_id: i64,
    ) -> async_graphql::Result<DeleteDeploymentResult> {
        let principal = request(ctx)?.principal;
        let allowed = store(ctx)?.read(|state| {
            deployments::by_id(state, deployment_id).map(|d| {
                let full_by_agent = !principal.is_admin() && d.branch.is_none();
                (d.deployment_name.clone(), may_modify(principal, state, d) && !full_by_agent)
            })
        });
        match allowed {
            None => {
                return Ok(DeleteDeploymentResult::DeploymentNotFoundError(DeploymentNotFoundError {
                    message: DomainError::DeploymentIdNotFound(deployment_id).to_string(),
                }))
            }
            Some((name, false)) => return Ok(DeleteDeploymentResult::UnauthorizedError(not_permitted(&name))),
            Some(_) => {}
        }
        let completes_at = clock::now_seconds() + simulation(ctx)?.deletion_delay_s();
        let admin = principal.is_admin();
        let result = store(ctx)?.mutate(|state| {
            let deployment = branches::request_deletion(state, deployment_id, completes_at)?;
            Ok(DeploymentObject::new(&deployment, state, admin))
        });
        Ok(match result {
            Ok(deployment) => DeleteDeploymentResult::DagsterCloudDeployment(Box::new(deployment)),
            Err(MutationError::Domain(e @ DomainError::DeploymentIdNotFound(_))) => {
                DeleteDeploymentResult::DeploymentNotFoundError(DeploymentNotFoundError { message: e.to_string() })
            }
            Err(MutationError::Domain(e @ DomainError::DeleteFinalDeployment(_))) => {
                DeleteDeploymentResult::DeleteFinalDeploymentError(DeleteFinalDeploymentError {
                    message: e.to_string(),
                })
            }
            Err(e) => DeleteDeploymentResult::PythonError(PythonError::from_mutation(&e)),
        })
    }
}
