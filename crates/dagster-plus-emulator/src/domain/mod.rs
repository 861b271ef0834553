//! State transitions on [`crate::model::State`], free of GraphQL and HTTP so
//! they can be unit-tested and reused by the admin endpoints.

pub mod deployments;
pub mod tokens;

use thiserror::Error;

/// Why a domain operation was refused. The GraphQL layer maps each variant to
/// the union member the real API would return.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DomainError {
    #[error("Agent token with id {0} not found")]
    TokenNotFound(i64),
    #[error("Agent token with id {0} has been revoked")]
    TokenRevoked(i64),
    #[error("Deployment with id {0} not found")]
    DeploymentIdNotFound(i64),
    #[error("Deployment not found: {0}")]
    DeploymentNameNotFound(String),
    #[error("A deployment named {0:?} already exists")]
    DuplicateDeployment(String),
    #[error("Invalid deployment name {name:?}: {reason}")]
    InvalidDeploymentName { name: String, reason: &'static str },
    #[error("Invalid agent permission: {0}")]
    InvalidPermission(String),
}
