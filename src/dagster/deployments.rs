//! Deployments: full deployments (bases of branch deployments, targets of grants) and branch deployments
//! (create-or-update keyed by repository and branch, lookup, listing, deletion).

use serde::{Deserialize, Serialize};
use serde_json::json;

use std::collections::HashMap;
use std::sync::Arc;

use super::locations::{LoadStatus, Workspace};
use super::operations;
use super::{Client, Error, ErrorMember};

/// A branch deployment with its code locations, as one read of the resource needs it.
pub type DeploymentRead = Arc<(Deployment, Workspace)>;

/// Every branch deployment by name, from one list request.
pub type BranchDeploymentIndex = HashMap<String, DeploymentRead>;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullDeployment {
    pub deployment_id: i64,
    pub deployment_name: String,
}

/// A branch deployment's git metadata: sent as `branchData` of `createOrUpdateBranchDeployment` (every key,
/// null when unset, as the CLI does) and read back as `branchDeploymentGitMetadata`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BranchData {
    pub repo_name: String,
    pub branch_name: String,
    pub branch_url: Option<String>,
    pub pull_request_url: Option<String>,
    pub pull_request_status: Option<String>,
    /// A string on the wire, even though it is a number.
    pub pull_request_number: Option<String>,
}

/// `commit` of `createOrUpdateBranchDeployment`, also the shape read back as `latestCommit`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    pub commit_hash: String,
    /// Seconds since the epoch (a GraphQL Float), kept exactly as written.
    pub timestamp: serde_json::Number,
    pub commit_message: Option<String>,
    pub commit_url: Option<String>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_avatar_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentName {
    pub deployment_name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: i64,
    pub deployment_name: String,
    pub deployment_type: String,
    pub deployment_status: String,
    pub parent_deployment: Option<DeploymentName>,
    pub branch_deployment_git_metadata: Option<BranchData>,
    pub latest_commit: Option<Commit>,
}

impl Deployment {
    pub fn is_branch(&self) -> bool {
        self.deployment_type == "BRANCH"
    }

    pub fn is_pending_deletion(&self) -> bool {
        self.deployment_status == "PENDING_DELETION"
    }
}

#[derive(Deserialize)]
#[serde(tag = "__typename")]
enum DeploymentResult {
    DagsterCloudDeployment(Box<Deployment>),
    #[serde(untagged)]
    Error(ErrorMember),
}

impl Client {
    /// The organization's full (non-branch) deployments.
    pub async fn full_deployments(&self) -> Result<Vec<FullDeployment>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            full_deployments: Vec<FullDeployment>,
        }
        let data: Data = self.execute(&operations::FULL_DEPLOYMENTS, json!({})).await?;
        Ok(data.full_deployments)
    }

    /// Creates the branch deployment of (repository, branch), or updates it; returns its name.
    pub async fn create_or_update_branch_deployment(
        &self,
        branch: &BranchData,
        commit: &Commit,
        base_deployment: Option<&str>,
        snapshot_base_condition: Option<&str>,
    ) -> Result<Deployment, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            create_or_update_branch_deployment: DeploymentResult,
        }
        let variables = json!({
            "branchData": branch,
            "commit": commit,
            "baseDeploymentName": base_deployment,
            "snapshotBaseCondition": snapshot_base_condition,
        });
        let data: Data = self.execute(&operations::CREATE_OR_UPDATE_BRANCH_DEPLOYMENT, variables).await?;
        match data.create_or_update_branch_deployment {
            DeploymentResult::DagsterCloudDeployment(d) => Ok(*d),
            DeploymentResult::Error(e) => Err(e.into()),
        }
    }

    /// A deployment by name; `None` when it does not exist.
    pub async fn deployment_by_name(&self, name: &str) -> Result<Option<Deployment>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            deployment_by_name: DeploymentResult,
        }
        let data: Data = self.execute(&operations::DEPLOYMENT_BY_NAME, json!({ "name": name })).await?;
        match data.deployment_by_name {
            DeploymentResult::DagsterCloudDeployment(d) => Ok(Some(*d)),
            DeploymentResult::Error(ErrorMember::DeploymentNotFoundError { .. }) => Ok(None),
            DeploymentResult::Error(e) => Err(e.into()),
        }
    }

    /// A branch deployment and its code locations; `None` when it does not exist. With `batched`, reads
    /// after the first few in a process are served from one list of all branch deployments; a name the
    /// list does not have (pending deletion, a full deployment) is still read on its own.
    pub async fn read_deployment(&self, name: &str, batched: bool) -> Result<Option<DeploymentRead>, Error> {
        if batched && self.generations.deployment_read() {
            let index = self
                .branch_deployments
                .get_or_fetch(self.generations.current(), || async {
                    self.branch_deployment_index().await.map(Arc::new)
                })
                .await;
            match index {
                Ok(index) => {
                    if let Some(read) = index.get(name) {
                        return Ok(Some(read.clone()));
                    }
                }
                // The individual read below reports this resource's own error, if any.
                Err(e) => tracing::debug!(error = %e, "branch deployment list unavailable; reading one by one"),
            }
        }
        // Both at once: at a remote API's latency a read costs one round trip instead of two. A deployment
        // that does not exist makes the workspace read fail; its answer is then not needed.
        let (deployment, workspace) = tokio::join!(self.deployment_by_name(name), self.workspace(name));
        let Some(deployment) = deployment? else { return Ok(None) };
        Ok(Some(Arc::new((deployment, workspace?))))
    }

    async fn branch_deployment_index(&self) -> Result<BranchDeploymentIndex, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Entry {
            location_name: String,
            serialized_deployment_metadata: String,
            has_load_error: bool,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Node {
            #[serde(flatten)]
            deployment: Deployment,
            workspace_entries: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Nodes {
            nodes: Vec<Node>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            branch_deployments: Nodes,
        }
        let data: Data = self.execute(&operations::BRANCH_DEPLOYMENT_INDEX, json!({})).await?;
        let mut index = HashMap::new();
        for node in data.branch_deployments.nodes {
            let mut workspace = Workspace::default();
            for entry in node.workspace_entries {
                // The list has no load status; an entry without a load error is a loaded one. Locations still
                // loading are read on their own by the resource, which knows when to ask.
                let status = if entry.has_load_error { LoadStatus::Failed(String::new()) } else { LoadStatus::Loaded };
                workspace.statuses.push((entry.location_name.clone(), status));
                workspace
                    .locations
                    .push(self.deployed_location(entry.location_name, &entry.serialized_deployment_metadata)?);
            }
            index.insert(node.deployment.deployment_name.clone(), Arc::new((node.deployment, workspace)));
        }
        Ok(index)
    }

    /// The generated name of the branch deployment of (repository, branch); `None` when there is none.
    pub async fn branch_deployment_name(&self, repo: &str, branch: &str) -> Result<Option<String>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            get_branch_deployment_name: Option<String>,
        }
        let variables = json!({ "repoName": repo, "branchName": branch });
        match self.execute::<Data>(&operations::BRANCH_DEPLOYMENT_NAME, variables).await {
            Ok(data) => Ok(data.get_branch_deployment_name.filter(|n| !n.is_empty())),
            // The field is non-null, so a server without such a deployment answers with an error.
            Err(Error::GraphQl { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The branch deployment of (repository, branch) that is live (not being deleted); `None` when there is
    /// none.
    pub async fn live_branch_deployment(&self, repo: &str, branch: &str) -> Result<Option<Deployment>, Error> {
        let Some(name) = self.branch_deployment_name(repo, branch).await? else { return Ok(None) };
        Ok(self.deployment_by_name(&name).await?.filter(|d| d.is_branch() && !d.is_pending_deletion()))
    }

    /// Branch deployments, newest first, optionally only those with a pull request in one state.
    pub async fn branch_deployments(
        &self,
        limit: i64,
        pull_request_status: Option<&str>,
    ) -> Result<Vec<Deployment>, Error> {
        #[derive(Deserialize)]
        struct Nodes {
            nodes: Vec<Deployment>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            branch_deployments: Nodes,
        }
        let variables = json!({ "limit": limit, "pullRequestStatus": pull_request_status });
        let data: Data = self.execute(&operations::BRANCH_DEPLOYMENTS, variables).await?;
        Ok(data.branch_deployments.nodes)
    }

    /// Deletes a branch deployment. Refuses anything that is not a branch deployment, whatever the caller
    /// passes: no code path of this provider can delete a full deployment.
    pub async fn delete_branch_deployment(&self, name: &str) -> Result<(), Error> {
        let Some(deployment) = self.deployment_by_name(name).await? else {
            return Ok(());
        };
        if !deployment.is_branch() {
            return Err(Error::InvalidRequest {
                message: format!(
                    "`{name}` is a {} deployment, not a branch deployment; refusing to delete it",
                    deployment.deployment_type
                ),
            });
        }
        #[derive(Deserialize)]
        #[serde(tag = "__typename")]
        enum DeleteResult {
            DagsterCloudDeployment {},
            #[serde(untagged)]
            Error(ErrorMember),
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            delete_deployment: DeleteResult,
        }
        let variables = json!({ "deploymentId": deployment.deployment_id });
        let data: Data = self.execute(&operations::DELETE_DEPLOYMENT, variables).await?;
        match data.delete_deployment {
            DeleteResult::DagsterCloudDeployment {}
            | DeleteResult::Error(ErrorMember::DeploymentNotFoundError { .. }) => Ok(()),
            DeleteResult::Error(e) => Err(e.into()),
        }
    }
}
