//! Branch deployments: the (repo, branch)-keyed upsert, lookups, and deletion
//! (which, for every deployment type, goes through `PENDING_DELETION`).

use super::{deployments, naming, DomainError};
use crate::model::{
    BranchInfo, Commit, Deployment, DeploymentAgentType, DeploymentStatus, DeploymentType, PullRequestStatus,
    SnapshotBaseDeploymentCondition, State,
};

/// The arguments of `createOrUpdateBranchDeployment`. `None` means "not sent"
/// (clients send explicit nulls for every flag they were not given), which
/// keeps the stored value on update.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchUpsert {
    pub repo_name: String,
    pub branch_name: String,
    pub branch_url: Option<String>,
    pub pull_request_url: Option<String>,
    pub pull_request_status: Option<PullRequestStatus>,
    pub pull_request_number: Option<String>,
    pub commit: Commit,
    pub base_deployment_name: Option<String>,
    pub snapshot_base_condition: Option<SnapshotBaseDeploymentCondition>,
}

/// Creates or updates the branch deployment of (repo, branch) and returns its id.
pub fn create_or_update(state: &mut State, input: BranchUpsert) -> Result<i64, DomainError> {
    if input.repo_name.trim().is_empty() || input.branch_name.trim().is_empty() {
        return Err(DomainError::InvalidBranchData("repoName and branchName must be non-empty".into()));
    }
    if input.commit.commit_hash.trim().is_empty() {
        return Err(DomainError::InvalidBranchData("commit.commitHash must be non-empty".into()));
    }
    let parent = match &input.base_deployment_name {
        Some(name) => Some(base_deployment(state, name)?),
        None => None,
    };

    // A (repo, branch) whose deployment is still being deleted gets a fresh
    // deployment (new id, same name) rather than the dying one.
    if let Some(dying) = find_index(state, &input.repo_name, &input.branch_name)
        .filter(|&i| state.deployments[i].deployment_status == DeploymentStatus::PendingDeletion)
    {
        let id = state.deployments[dying].deployment_id;
        remove_deployment(state, id);
    }

    match find_index(state, &input.repo_name, &input.branch_name) {
        Some(index) => {
            let deployment = &mut state.deployments[index];
            if let Some(info) = deployment.branch.as_mut() {
                update(info, input, parent.map(|(id, _)| id));
            }
            Ok(deployment.deployment_id)
        }
        None => create(state, input, parent),
    }
}

fn create(
    state: &mut State,
    input: BranchUpsert,
    parent: Option<(i64, DeploymentAgentType)>,
) -> Result<i64, DomainError> {
    let parent = parent.or_else(|| deployments::default_deployment(state).map(|d| (d.deployment_id, d.agent_type)));
    let mut name = naming::branch_deployment_name(&input.repo_name, &input.branch_name);
    if deployments::by_name(state, &name).is_some() {
        name = naming::branch_deployment_name_long(&input.repo_name, &input.branch_name);
    }
    if deployments::by_name(state, &name).is_some() {
        return Err(DomainError::DuplicateDeployment(name));
    }
    let info = BranchInfo {
        repo_name: input.repo_name,
        branch_name: input.branch_name,
        branch_url: input.branch_url,
        pull_request_url: input.pull_request_url,
        pull_request_status: input.pull_request_status,
        pull_request_number: input.pull_request_number,
        parent_deployment_id: parent.map(|(id, _)| id),
        snapshot_base_condition: input.snapshot_base_condition,
        commits: vec![input.commit],
    };
    let agent_type = parent.map_or(DeploymentAgentType::Hybrid, |(_, t)| t);
    let id = state.push_deployment(&name, DeploymentType::Branch, agent_type, Some(info));
    tracing::info!(deployment = %name, id, "created branch deployment");
    Ok(id)
}

fn update(info: &mut BranchInfo, input: BranchUpsert, parent_id: Option<i64>) {
    fn keep_or_set<T>(slot: &mut Option<T>, value: Option<T>) {
        if value.is_some() {
            *slot = value;
        }
    }
    keep_or_set(&mut info.branch_url, input.branch_url);
    keep_or_set(&mut info.pull_request_url, input.pull_request_url);
    keep_or_set(&mut info.pull_request_status, input.pull_request_status);
    keep_or_set(&mut info.pull_request_number, input.pull_request_number);
    keep_or_set(&mut info.snapshot_base_condition, input.snapshot_base_condition);
    keep_or_set(&mut info.parent_deployment_id, parent_id);
    // Re-sending the latest commit (e.g. only to close the PR) refreshes it
    // instead of growing the history.
    match info.commits.last_mut() {
        Some(last) if last.commit_hash == input.commit.commit_hash => *last = input.commit,
        _ => info.commits.push(input.commit),
    }
}

fn base_deployment(state: &State, name: &str) -> Result<(i64, DeploymentAgentType), DomainError> {
    let base = deployments::by_name(state, name)
        .filter(|d| d.deployment_status == DeploymentStatus::Active)
        .ok_or_else(|| DomainError::DeploymentNameNotFound(name.to_owned()))?;
    if base.deployment_type != DeploymentType::Production {
        return Err(DomainError::InvalidBaseDeployment(name.to_owned()));
    }
    Ok((base.deployment_id, base.agent_type))
}

fn find_index(state: &State, repo_name: &str, branch_name: &str) -> Option<usize> {
    state
        .deployments
        .iter()
        .position(|d| d.branch.as_ref().is_some_and(|b| b.repo_name == repo_name && b.branch_name == branch_name))
}

pub fn by_repo_and_branch<'a>(state: &'a State, repo_name: &str, branch_name: &str) -> Option<&'a Deployment> {
    find_index(state, repo_name, branch_name).map(|i| &state.deployments[i])
}

/// Branch deployments, newest first, optionally only those whose pull request
/// has `status`.
pub fn list(state: &State, limit: usize, status: Option<PullRequestStatus>) -> Vec<&Deployment> {
    state
        .deployments
        .iter()
        .rev()
        .filter(|d| match (&d.branch, status) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(b), Some(wanted)) => b.pull_request_status == Some(wanted),
        })
        .take(limit)
        .collect()
}

/// Starts deleting a deployment: it stays visible as `PENDING_DELETION` until
/// `completes_at`. Deleting it again changes nothing, so retries succeed.
pub fn request_deletion(state: &mut State, deployment_id: i64, completes_at: f64) -> Result<Deployment, DomainError> {
    let target = deployments::by_id(state, deployment_id).ok_or(DomainError::DeploymentIdNotFound(deployment_id))?;
    if target.deployment_status == DeploymentStatus::PendingDeletion {
        return Ok(target.clone());
    }
    if target.deployment_type == DeploymentType::Production {
        let other_full = deployments::full_deployments(state)
            .any(|d| d.deployment_id != deployment_id && d.deployment_status == DeploymentStatus::Active);
        if !other_full {
            return Err(DomainError::DeleteFinalDeployment(target.deployment_name.clone()));
        }
    }
    let target = state
        .deployments
        .iter_mut()
        .find(|d| d.deployment_id == deployment_id)
        .ok_or(DomainError::DeploymentIdNotFound(deployment_id))?;
    target.deployment_status = DeploymentStatus::PendingDeletion;
    target.deletion_completes_at = Some(completes_at);
    tracing::info!(deployment = %target.deployment_name, id = deployment_id, "deployment pending deletion");
    Ok(target.clone())
}

pub fn has_due_deletions(state: &State, now: f64) -> bool {
    state.deployments.iter().any(|d| d.deletion_completes_at.is_some_and(|t| t <= now))
}

/// Removes the deployments whose deletion is due.
pub fn complete_due_deletions(state: &mut State, now: f64) {
    let due: Vec<i64> = state
        .deployments
        .iter()
        .filter(|d| d.deletion_completes_at.is_some_and(|t| t <= now))
        .map(|d| d.deployment_id)
        .collect();
    for id in due {
        remove_deployment(state, id);
    }
}

// Removing a deployment takes its locations with it (they live inside it) and
// drops agent-token grants that point at it, as a cascade would.
fn remove_deployment(state: &mut State, id: i64) {
    if let Some(pos) = state.deployments.iter().position(|d| d.deployment_id == id) {
        let gone = state.deployments.remove(pos);
        tracing::info!(deployment = %gone.deployment_name, id, "deployment deleted");
    }
    for token in &mut state.agent_tokens {
        token.permissions.deployment_permission_grants.retain(|g| g.deployment_id != Some(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(hash: &str) -> Commit {
        Commit {
            commit_hash: hash.into(),
            timestamp: 1.0,
            commit_message: None,
            commit_url: None,
            author_name: None,
            author_email: None,
            author_avatar_url: None,
        }
    }

    fn upsert(branch: &str, hash: &str) -> BranchUpsert {
        BranchUpsert {
            repo_name: "acme/app".into(),
            branch_name: branch.into(),
            branch_url: None,
            pull_request_url: None,
            pull_request_status: Some(PullRequestStatus::Open),
            pull_request_number: Some("17".into()),
            commit: commit(hash),
            base_deployment_name: None,
            snapshot_base_condition: None,
        }
    }

    #[test]
    fn upsert_is_keyed_by_repo_and_branch() {
        let mut state = State::new("acme");
        let id = create_or_update(&mut state, upsert("feature/x", "a")).unwrap();
        let mut again = upsert("feature/x", "b");
        again.pull_request_number = None;
        again.pull_request_status = Some(PullRequestStatus::Closed);
        assert_eq!(create_or_update(&mut state, again).unwrap(), id);
        let info = deployments::by_id(&state, id).and_then(|d| d.branch.clone()).unwrap();
        assert_eq!(info.commits.len(), 2);
        assert_eq!(info.pull_request_number.as_deref(), Some("17"), "null keeps");
        assert_eq!(info.pull_request_status, Some(PullRequestStatus::Closed));
        assert_eq!(info.parent_deployment_id, Some(1), "defaults to prod");
        // The same commit again refreshes instead of appending.
        create_or_update(&mut state, upsert("feature/x", "b")).unwrap();
        let commits = deployments::by_id(&state, id).and_then(|d| d.branch.as_ref().map(|b| b.commits.len()));
        assert_eq!(commits, Some(2));

        // That upsert re-opened the pull request.
        assert_eq!(list(&state, 10, None).len(), 1);
        assert_eq!(list(&state, 10, Some(PullRequestStatus::Open)).len(), 1);
        assert_eq!(list(&state, 10, Some(PullRequestStatus::Closed)).len(), 0);
        assert_eq!(list(&state, 0, None).len(), 0);
    }

    #[test]
    fn unknown_or_branch_bases_are_refused() {
        let mut state = State::new("acme");
        let mut bad = upsert("b", "a");
        bad.base_deployment_name = Some("nope".into());
        assert_eq!(create_or_update(&mut state, bad), Err(DomainError::DeploymentNameNotFound("nope".into())));
        let id = create_or_update(&mut state, upsert("b", "a")).unwrap();
        let name = deployments::by_id(&state, id).map(|d| d.deployment_name.clone()).unwrap();
        let mut on_branch = upsert("c", "a");
        on_branch.base_deployment_name = Some(name);
        assert!(matches!(create_or_update(&mut state, on_branch), Err(DomainError::InvalidBaseDeployment(_))));
        assert_eq!(state.deployments.len(), 2);
    }

    #[test]
    fn deletion_is_pending_then_final() {
        let mut state = State::new("acme");
        let id = create_or_update(&mut state, upsert("b", "a")).unwrap();
        let pending = request_deletion(&mut state, id, 10.0).unwrap();
        assert_eq!(pending.deployment_status, DeploymentStatus::PendingDeletion);
        assert!(!has_due_deletions(&state, 9.0));
        assert!(has_due_deletions(&state, 10.0));
        complete_due_deletions(&mut state, 10.0);
        assert!(deployments::by_id(&state, id).is_none());
        assert_eq!(request_deletion(&mut state, 1, 1.0).err(), Some(DomainError::DeleteFinalDeployment("prod".into())));
        assert_eq!(request_deletion(&mut state, 99, 1.0).err(), Some(DomainError::DeploymentIdNotFound(99)));
    }

    #[test]
    fn recreating_a_dying_branch_gives_a_fresh_deployment() {
        let mut state = State::new("acme");
        let id = create_or_update(&mut state, upsert("b", "a")).unwrap();
        request_deletion(&mut state, id, 100.0).unwrap();
        let fresh = create_or_update(&mut state, upsert("b", "a")).unwrap();
        assert_ne!(fresh, id);
        let d = deployments::by_id(&state, fresh).unwrap();
        assert_eq!(d.deployment_status, DeploymentStatus::Active);
        assert_eq!(state.deployments.len(), 2);
    }
}
