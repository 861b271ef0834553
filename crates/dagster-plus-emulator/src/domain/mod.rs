//! State transitions on [`crate::model::State`], free of GraphQL and HTTP so
//! they can be unit-tested and reused by the admin endpoints.

pub mod access;
pub mod agents;
pub mod branches;
pub mod deployments;
pub mod glob;
pub mod location_document;
pub mod locations;
pub mod naming;
pub mod timed;
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
    #[error("Cannot delete {0:?}: it is the organization's last full deployment")]
    DeleteFinalDeployment(String),
    #[error("Deployment {0:?} cannot be a base deployment: only full deployments can have branch deployments")]
    InvalidBaseDeployment(String),
    #[error("Invalid branch deployment data: {0}")]
    InvalidBranchData(String),
    #[error("Location {0:?} does not exist in this deployment")]
    LocationNotFound(String),
    #[error("Invalid agent heartbeat: {0}")]
    InvalidHeartbeat(String),
    #[error("No agent with label {0:?}")]
    AgentNotFound(String),
}
