//! The resource's state, and the one way it is read from Dagster+: [`find`] reads a deployment and its
//! workspace, [`flatten`] turns them into state. Read, apply, the list resource and the data source use them.

use serde::{Deserialize, Serialize};
use tfplugin::{Diagnostic, Field};

use super::location::{LocationBlock, LOAD_LOADED};
use crate::dagster::deployments::{BranchData, Commit, Deployment, DeploymentRead};
use crate::dagster::locations::Workspace;
use crate::dagster::{self, Client};
use crate::resources::shared::timeouts::Timeouts;

/// The resource's state, in the shape of the schema.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DeploymentState {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) deployment_id: Option<i64>,
    pub(super) status: Option<String>,
    pub(super) url: Option<String>,
    pub(super) repo: Option<String>,
    pub(super) branch: Option<String>,
    pub(super) base_deployment: Option<String>,
    pub(super) snapshot_base_condition: Option<String>,
    pub(super) branch_url: Option<String>,
    pub(super) on_destroy: Option<String>,
    pub(super) wait_for_load: Option<bool>,
    pub(super) commit: Option<CommitBlock>,
    pub(super) pull_request: Option<PullRequestBlock>,
    /// Always a list in a state the resource returns (Terraform has no null list block); `None` only in a
    /// plan whose blocks are not known yet.
    pub(super) code_location: Option<Vec<LocationBlock>>,
    pub(super) timeouts: Option<Timeouts>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CommitBlock {
    hash: Option<String>,
    timestamp: Option<serde_json::Number>,
    message: Option<String>,
    url: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
    author_avatar_url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PullRequestBlock {
    number: Option<String>,
    url: Option<String>,
    status: Option<String>,
}

/// What names a branch deployment independently of its generated name.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct DeploymentIdentity {
    pub repo: String,
    pub branch: String,
}

/// Why a deployment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error(transparent)]
    Api(#[from] dagster::Error),
    #[error("`{name}` is a {kind} deployment; this resource manages branch deployments only.")]
    NotBranch { name: String, kind: String },
}

impl From<FindError> for Diagnostic {
    fn from(error: FindError) -> Self {
        let summary = match error {
            FindError::Api(_) => "Could not read the branch deployment",
            FindError::NotBranch { .. } => "Not a branch deployment",
        };
        Diagnostic::error(summary, error.to_string())
    }
}

/// The deployment's address in Dagster+.
pub fn deployment_url(base_url: &str, name: &str) -> String {
    format!("{base_url}/{name}")
}

/// Reads the branch deployment `name` and its code locations; `None` when it is gone or being deleted.
/// `batched` lets the read come from a snapshot shared with other reads (refresh).
pub async fn find(client: &Client, name: &str, batched: bool) -> Result<Option<DeploymentRead>, FindError> {
    let Some(read) = client.read_deployment(name, batched).await? else { return Ok(None) };
    let deployment = &read.0;
    if deployment.is_pending_deletion() {
        return Ok(None);
    }
    if !deployment.is_branch() {
        return Err(FindError::NotBranch { name: name.to_string(), kind: deployment.deployment_type.clone() });
    }
    Ok(Some(read))
}

/// The state of a deployment and its code locations as Dagster+ reports them, starting from `prior` for
/// what Dagster+ does not return (inputs such as `on_destroy`, the configured order and spellings).
pub fn flatten(
    prior: &DeploymentState,
    deployment: &Deployment,
    workspace: &Workspace,
    base_url: &str,
) -> DeploymentState {
    let mut state = prior.clone();
    state.flatten_deployment(deployment, base_url);
    state.flatten_locations(workspace);
    state
}

/// [`find`] and [`flatten`]: the state of the deployment `prior` names, as it is now. A snapshot shared with
/// other reads (`batched`) is precise only for locations that have loaded, so a location last seen loading
/// or failing is always read directly.
pub async fn refresh(
    client: &Client,
    prior: &DeploymentState,
    batched: bool,
) -> Result<Option<DeploymentState>, FindError> {
    let settled = prior.locations().iter().all(|l| l.has_load_status(LOAD_LOADED));
    let found = find(client, prior.name.as_deref().unwrap_or_default(), batched && settled).await?;
    Ok(found.map(|read| flatten(prior, &read.0, &read.1, client.base_url())))
}

/// A live branch deployment as a listing finds it.
pub struct Listed {
    pub deployment: Deployment,
    pub git: BranchData,
}

impl Listed {
    pub fn identity(&self) -> DeploymentIdentity {
        DeploymentIdentity { repo: self.git.repo_name.clone(), branch: self.git.branch_name.clone() }
    }
}

/// Branch deployments, newest first: `limit` are read (those of one pull request status, if given), then
/// those of other repositories and those being deleted are left out.
pub async fn find_all(
    client: &Client,
    repo: Option<&str>,
    pull_request_status: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, dagster::Error> {
    let deployments = client.branch_deployments(limit, pull_request_status).await?;
    Ok(deployments
        .into_iter()
        .filter(|d| !d.is_pending_deletion())
        .filter_map(|deployment| {
            let git = deployment.branch_deployment_git_metadata.clone()?;
            repo.is_none_or(|r| r == git.repo_name).then_some(Listed { deployment, git })
        })
        .collect())
}

impl DeploymentState {
    /// What import starts from: the name, for read to complete.
    pub fn named(name: String) -> DeploymentState {
        DeploymentState {
            id: Some(name.clone()),
            name: Some(name),
            code_location: Some(Vec::new()),
            ..DeploymentState::default()
        }
    }

    pub fn identity(&self) -> Option<DeploymentIdentity> {
        Some(DeploymentIdentity { repo: self.repo.clone()?, branch: self.branch.clone()? })
    }

    pub fn locations(&self) -> &[LocationBlock] {
        self.code_location.as_deref().unwrap_or_default()
    }

    pub fn locations_mut(&mut self) -> &mut [LocationBlock] {
        self.code_location.as_deref_mut().unwrap_or_default()
    }

    /// The git metadata sent with `createOrUpdateBranchDeployment`; `pull_request_status` overrides the
    /// configured status (on destroy with `on_destroy = "close"`).
    pub fn branch_data(&self, pull_request_status: Option<&str>) -> BranchData {
        let pull_request = self.pull_request.clone().unwrap_or_default();
        BranchData {
            repo_name: self.repo.clone().unwrap_or_default(),
            branch_name: self.branch.clone().unwrap_or_default(),
            branch_url: self.branch_url.clone(),
            pull_request_url: pull_request.url,
            pull_request_status: pull_request_status.map(str::to_string).or(pull_request.status),
            pull_request_number: pull_request.number,
        }
    }

    pub fn commit_input(&self) -> Commit {
        let commit = self.commit.clone().unwrap_or_default();
        Commit {
            commit_hash: commit.hash.unwrap_or_default(),
            timestamp: commit.timestamp.unwrap_or_else(|| serde_json::Number::from(0)),
            commit_message: commit.message,
            commit_url: commit.url,
            author_name: commit.author_name,
            author_email: commit.author_email,
            author_avatar_url: commit.author_avatar_url,
        }
    }

    /// `snapshotBaseCondition` as the API spells it.
    pub fn snapshot_condition(&self) -> Option<&'static str> {
        match self.snapshot_base_condition.as_deref() {
            Some("on_create") => Some("ON_CREATE"),
            Some("on_update") => Some("ON_UPDATE"),
            _ => None,
        }
    }

    /// Takes the deployment's own fields from Dagster+.
    pub fn flatten_deployment(&mut self, deployment: &Deployment, base_url: &str) {
        let name = deployment.deployment_name.clone();
        self.url = Some(deployment_url(base_url, &name));
        self.id = Some(name.clone());
        self.name = Some(name);
        self.deployment_id = Some(deployment.deployment_id);
        self.status = Some(deployment.deployment_status.clone());
        if let Some(parent) = &deployment.parent_deployment {
            self.base_deployment = Some(parent.deployment_name.clone());
        }
        self.on_destroy.get_or_insert_with(|| "delete".into());
        self.wait_for_load.get_or_insert(true);
        if let Some(git) = &deployment.branch_deployment_git_metadata {
            self.repo = Some(git.repo_name.clone());
            self.branch = Some(git.branch_name.clone());
            self.branch_url = git.branch_url.clone();
            let pull_request = PullRequestBlock {
                number: git.pull_request_number.clone(),
                url: git.pull_request_url.clone(),
                status: git.pull_request_status.clone(),
            };
            // Without a configured pull request, an open status with nothing else is Dagster+'s default.
            let nothing_configured = self.pull_request.is_none()
                && pull_request.number.is_none()
                && pull_request.url.is_none()
                && matches!(pull_request.status.as_deref(), None | Some("OPEN"));
            self.pull_request = if nothing_configured { None } else { Some(pull_request) };
        }
        if let Some(latest) = &deployment.latest_commit {
            let prior_timestamp = self.commit.as_ref().and_then(|c| c.timestamp.clone());
            // Keep the configured spelling of an equal number (1718000000 vs 1718000000.0).
            let timestamp = match prior_timestamp {
                Some(prior) if numbers_equal(&prior, &latest.timestamp) => prior,
                _ => latest.timestamp.clone(),
            };
            self.commit = Some(CommitBlock {
                hash: Some(latest.commit_hash.clone()),
                timestamp: Some(timestamp),
                message: latest.commit_message.clone(),
                url: latest.commit_url.clone(),
                author_name: latest.author_name.clone(),
                author_email: latest.author_email.clone(),
                author_avatar_url: latest.author_avatar_url.clone(),
            });
        }
    }

    /// Takes the code locations from Dagster+, in the configured order, with unknown ones appended so that
    /// locations added outside Terraform show up as changes.
    fn flatten_locations(&mut self, workspace: &Workspace) {
        let prior = self.locations();
        let mut flattened = Vec::new();
        for configured in prior {
            if let Some(deployed) = workspace.locations.iter().find(|d| d.name == configured.name()) {
                flattened.push(LocationBlock::from_deployed(
                    deployed,
                    Some(configured),
                    workspace.status(&deployed.name),
                ));
            }
        }
        for deployed in &workspace.locations {
            if !prior.iter().any(|p| p.name() == deployed.name) {
                flattened.push(LocationBlock::from_deployed(deployed, None, workspace.status(&deployed.name)));
            }
        }
        self.code_location = Some(flattened);
    }

    /// What an apply would record, with every computed value made up instead of read from Dagster+: the
    /// benchmark's schema twin of this resource (`dagsterbranch_bench_deployment`), which makes no API call.
    #[cfg(feature = "bench")]
    pub fn settled_offline(mut self, new_deployment_id: i64) -> DeploymentState {
        let deployment_id = *self.deployment_id.get_or_insert(new_deployment_id);
        let name = format!("{}-{deployment_id:06x}", self.branch.as_deref().unwrap_or("branch"));
        self.url = Some(deployment_url("https://bench.dagster.cloud", &name));
        self.id = Some(name.clone());
        self.name = Some(name);
        self.status = Some("ACTIVE".into());
        for location in self.locations_mut() {
            location.load_status = Field::Known(LOAD_LOADED.into());
        }
        self
    }

    /// A load status the plan left unknown becomes null: a recorded state must be wholly known.
    pub fn forget_unknown_load_statuses(&mut self) {
        for location in self.locations_mut() {
            if location.load_status.is_unknown() {
                location.load_status = Field::Null;
            }
        }
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.to_string().parse::<cty::Number>(), b.to_string().parse::<cty::Number>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema;
    use super::*;
    use crate::dagster::locations::{DeployedLocation, LoadStatus};

    #[test]
    fn the_state_covers_the_schema() {
        tfplugin::model::check_covers::<DeploymentState>(&schema::schema().block).unwrap();
        let identity = DeploymentIdentity { repo: "acme/data".into(), branch: "main".into() };
        let value = tfplugin::model::encode(&identity, &schema::identity_schema().value_type()).unwrap();
        assert_eq!(tfplugin::model::decode::<DeploymentIdentity>(&value).unwrap(), identity);
    }

    fn deployment(timestamp: &str) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "deploymentId": 7, "deploymentName": "acme-feature-x", "deploymentType": "BRANCH",
            "deploymentStatus": "ACTIVE", "parentDeployment": {"deploymentName": "prod"},
            "branchDeploymentGitMetadata": {"repoName": "acme/data", "branchName": "feature/x", "branchUrl": null,
                "pullRequestUrl": null, "pullRequestStatus": "OPEN", "pullRequestNumber": null},
            "latestCommit": {"commitHash": "abc", "timestamp": serde_json::from_str::<serde_json::Value>(timestamp).unwrap(),
                "commitMessage": null, "commitUrl": null, "authorName": null, "authorEmail": null, "authorAvatarUrl": null}
        }))
        .unwrap()
    }

    #[test]
    fn flatten_takes_what_dagster_reports_and_keeps_configured_spellings() {
        let configured = LocationBlock { name: Field::Known("etl".into()), ..LocationBlock::default() };
        let mut prior = DeploymentState::named("acme-feature-x".into());
        prior.code_location = Some(vec![configured]);
        prior.commit = Some(CommitBlock { timestamp: Some("1718000000".parse().unwrap()), ..CommitBlock::default() });
        let deployed = |name: &str| DeployedLocation { name: name.into(), ..DeployedLocation::default() };
        let workspace = Workspace {
            locations: vec![deployed("outside"), deployed("etl")],
            statuses: vec![("etl".into(), LoadStatus::Loaded), ("outside".into(), LoadStatus::Loading)],
        };
        let state = flatten(&prior, &deployment("1718000000.0"), &workspace, "http://dagster");
        assert_eq!(state.url.as_deref(), Some("http://dagster/acme-feature-x"));
        assert_eq!(state.identity(), Some(DeploymentIdentity { repo: "acme/data".into(), branch: "feature/x".into() }));
        assert_eq!(state.on_destroy.as_deref(), Some("delete"));
        assert_eq!(state.pull_request, None, "Dagster+'s default pull request is not shown");
        assert_eq!(state.commit.as_ref().and_then(|c| c.timestamp.as_ref()).unwrap().to_string(), "1718000000");
        let names: Vec<&str> = state.locations().iter().map(LocationBlock::name).collect();
        assert_eq!(names, ["etl", "outside"], "configured order first, then locations made outside Terraform");
        assert!(state.locations()[0].has_load_status(LOAD_LOADED));
    }
}
