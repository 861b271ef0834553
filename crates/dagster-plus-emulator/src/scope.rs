//! Which deployment a request is scoped to, from the `/{deployment}/graphql`
//! path segment and the `Dagster-Cloud-Deployment` header.
//!
//! Resolution is lazy: org-level fields are served at every scope (the CLI
//! posts `deploymentByName` to the URL of the deployment it is deleting, which
//! may already be gone), and only deployment-scoped fields fail when the
//! requested deployment does not exist.

use thiserror::Error;

use crate::domain::deployments;
use crate::model::{Deployment, State};

pub const DEPLOYMENT_HEADER: &str = "Dagster-Cloud-Deployment";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestedScope {
    /// Un-prefixed `/graphql` (or `/{org}/graphql`) without a header: the default deployment.
    Default,
    Named(String),
    /// Path and header name different deployments; the real precedence is unknown,
    /// so the emulator refuses to guess.
    Conflict {
        path: String,
        header: String,
    },
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ScopeError {
    #[error("Deployment {name:?} does not exist in organization {organization:?}")]
    UnknownDeployment { name: String, organization: String },
    #[error("The URL path names deployment {path:?} but the Dagster-Cloud-Deployment header names {header:?}")]
    Conflict { path: String, header: String },
    #[error("Organization {organization:?} has no full deployment to serve unscoped requests")]
    NoDefault { organization: String },
}

impl ScopeError {
    /// Machine-readable code for the GraphQL error's `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ScopeError::UnknownDeployment { .. } | ScopeError::NoDefault { .. } => "DEPLOYMENT_NOT_FOUND",
            ScopeError::Conflict { .. } => "DEPLOYMENT_SCOPE_CONFLICT",
        }
    }
}

/// `dg` posts to `/{org}/graphql`, so a path segment equal to the organization
/// name is the organization, not a deployment.
pub fn requested(path_segment: Option<&str>, header: Option<&str>, organization: &str) -> RequestedScope {
    let path = path_segment.filter(|p| !p.is_empty() && *p != organization);
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    match (path, header) {
        (None, None) => RequestedScope::Default,
        (Some(name), None) | (None, Some(name)) => RequestedScope::Named(name.to_owned()),
        (Some(p), Some(h)) if p == h => RequestedScope::Named(p.to_owned()),
        (Some(p), Some(h)) => RequestedScope::Conflict { path: p.to_owned(), header: h.to_owned() },
    }
}

pub fn resolve<'a>(scope: &RequestedScope, state: &'a State) -> Result<&'a Deployment, ScopeError> {
    match scope {
        RequestedScope::Default => deployments::default_deployment(state)
            .ok_or_else(|| ScopeError::NoDefault { organization: state.organization.clone() }),
        RequestedScope::Named(name) => deployments::by_name(state, name).ok_or_else(|| ScopeError::UnknownDeployment {
            name: name.clone(),
            organization: state.organization.clone(),
        }),
        RequestedScope::Conflict { path, header } => {
            Err(ScopeError::Conflict { path: path.clone(), header: header.clone() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_segment_is_not_a_deployment() {
        assert_eq!(requested(Some("acme"), None, "acme"), RequestedScope::Default);
        assert_eq!(requested(Some("acme"), Some("prod"), "acme"), RequestedScope::Named("prod".into()));
        assert_eq!(requested(Some("prod"), Some("prod"), "acme"), RequestedScope::Named("prod".into()));
        assert!(matches!(requested(Some("a"), Some("b"), "acme"), RequestedScope::Conflict { .. }));
    }

    #[test]
    fn unknown_names_fail_to_resolve() {
        let state = State::new("acme");
        assert!(resolve(&RequestedScope::Default, &state).is_ok());
        let err = resolve(&RequestedScope::Named("nope".into()), &state).err();
        assert_eq!(err.map(|e| e.code()), Some("DEPLOYMENT_NOT_FOUND"));
    }
}
