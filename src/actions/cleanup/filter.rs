//! Which branch deployments the cleanup action may touch. Checked twice: on the listing, and again on a fresh
//! read right before each write, so a deployment that changed in between (a new commit, a reopened pull
//! request, a different type) is left alone.

use std::collections::BTreeSet;
use std::fmt;

use crate::dagster::deployments::{BranchData, Deployment};

const SECONDS_PER_DAY: f64 = 86_400.0;

#[derive(Debug, Default)]
pub struct Filter {
    pub repo: Option<String>,
    /// `None` matches every status, including deployments without a pull request.
    pub statuses: Option<BTreeSet<String>>,
    /// Seconds since the epoch: only deployments whose last commit is older match.
    pub committed_before: Option<f64>,
}

/// Why a deployment is outside the filter.
#[derive(Debug, PartialEq)]
pub enum Mismatch {
    NotBranch(String),
    BeingDeleted,
    NoGitMetadata,
    OtherRepo(String),
    OtherStatus(Option<String>),
    NoCommit,
    RecentCommit(f64),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::NotBranch(kind) => write!(f, "it is a {kind} deployment, not a branch deployment"),
            Mismatch::BeingDeleted => write!(f, "it is already being deleted"),
            Mismatch::NoGitMetadata => write!(f, "it has no git metadata"),
            Mismatch::OtherRepo(repo) => write!(f, "its repository is `{repo}`"),
            Mismatch::OtherStatus(Some(status)) => write!(f, "its pull request is {status}"),
            Mismatch::OtherStatus(None) => write!(f, "it has no pull request status"),
            Mismatch::NoCommit => write!(f, "it has no commit"),
            Mismatch::RecentCommit(days) => write!(f, "its last commit is only {days:.1} days old"),
        }
    }
}

impl Filter {
    pub fn with_age(repo: Option<String>, statuses: Option<BTreeSet<String>>, days: Option<f64>, now: f64) -> Self {
        Filter { repo, statuses, committed_before: days.map(|d| now - d * SECONDS_PER_DAY) }
    }

    /// The deployment's git metadata when it matches, else why not. `now` only words the answer.
    pub fn check<'d>(&self, deployment: &'d Deployment, now: f64) -> Result<&'d BranchData, Mismatch> {
        if !deployment.is_branch() {
            return Err(Mismatch::NotBranch(deployment.deployment_type.clone()));
        }
        if deployment.is_pending_deletion() {
            return Err(Mismatch::BeingDeleted);
        }
        let git = deployment.branch_deployment_git_metadata.as_ref().ok_or(Mismatch::NoGitMetadata)?;
        if self.repo.as_ref().is_some_and(|r| *r != git.repo_name) {
            return Err(Mismatch::OtherRepo(git.repo_name.clone()));
        }
        if let Some(statuses) = &self.statuses {
            if !git.pull_request_status.as_ref().is_some_and(|s| statuses.contains(s)) {
                return Err(Mismatch::OtherStatus(git.pull_request_status.clone()));
            }
        }
        if let Some(cutoff) = self.committed_before {
            let committed = last_commit(deployment).ok_or(Mismatch::NoCommit)?;
            if committed >= cutoff {
                return Err(Mismatch::RecentCommit((now - committed) / SECONDS_PER_DAY));
            }
        }
        Ok(git)
    }
}

/// Seconds since the epoch of the deployment's last commit.
pub fn last_commit(deployment: &Deployment) -> Option<f64> {
    deployment.latest_commit.as_ref().and_then(|c| c.timestamp.as_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dagster::deployments::Commit;

    const NOW: f64 = 1_800_000_000.0;

    fn deployment(kind: &str, repo: &str, status: Option<&str>, days_old: f64) -> Deployment {
        Deployment {
            deployment_id: 1,
            deployment_name: "d".into(),
            deployment_type: kind.into(),
            deployment_status: "ACTIVE".into(),
            parent_deployment: None,
            branch_deployment_git_metadata: Some(BranchData {
                repo_name: repo.into(),
                branch_name: "b".into(),
                pull_request_status: status.map(str::to_string),
                ..BranchData::default()
            }),
            latest_commit: Some(Commit {
                commit_hash: "abc".into(),
                timestamp: serde_json::Number::from_f64(NOW - days_old * SECONDS_PER_DAY).unwrap(),
                commit_message: None,
                commit_url: None,
                author_name: None,
                author_email: None,
                author_avatar_url: None,
            }),
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let statuses = Some(["OPEN".to_string(), "MERGED".to_string()].into_iter().collect());
        let filter = Filter::with_age(Some("acme/x".into()), statuses, Some(30.0), NOW);
        assert!(filter.check(&deployment("BRANCH", "acme/x", Some("OPEN"), 31.0), NOW).is_ok());
        assert!(filter.check(&deployment("BRANCH", "acme/x", Some("MERGED"), 31.0), NOW).is_ok());
        let refused = [
            (deployment("PRODUCTION", "acme/x", Some("OPEN"), 31.0), Mismatch::NotBranch("PRODUCTION".into())),
            (deployment("BRANCH", "acme/y", Some("OPEN"), 31.0), Mismatch::OtherRepo("acme/y".into())),
            (deployment("BRANCH", "acme/x", Some("CLOSED"), 31.0), Mismatch::OtherStatus(Some("CLOSED".into()))),
            (deployment("BRANCH", "acme/x", None, 31.0), Mismatch::OtherStatus(None)),
            (deployment("BRANCH", "acme/x", Some("OPEN"), 29.0), Mismatch::RecentCommit(29.0)),
        ];
        for (d, expected) in refused {
            let got = filter.check(&d, NOW).expect_err("outside the filter");
            match (&got, &expected) {
                (Mismatch::RecentCommit(a), Mismatch::RecentCommit(b)) => assert!((a - b).abs() < 1e-6),
                _ => assert_eq!(got, expected),
            }
        }
        let mut deleting = deployment("BRANCH", "acme/x", Some("OPEN"), 31.0);
        deleting.deployment_status = "PENDING_DELETION".into();
        assert_eq!(filter.check(&deleting, NOW).unwrap_err(), Mismatch::BeingDeleted);
    }

    #[test]
    fn an_empty_filter_matches_any_live_branch_deployment() {
        let filter = Filter::default();
        assert!(filter.check(&deployment("BRANCH", "any", None, 0.0), NOW).is_ok());
        assert!(filter.check(&deployment("PRODUCTION", "any", None, 0.0), NOW).is_err());
    }
}
