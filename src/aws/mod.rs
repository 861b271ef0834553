//! AWS access for the registry resource and the registry login credentials: lazily built clients, the ECR
//! and IAM calls they make, the push policy and lifecycle policy documents, naming rules, and the retries
//! AWS's eventual consistency needs.

pub mod clients;
pub mod credentials;
pub mod ecr;
pub mod error;
pub mod iam;
pub mod json_protocol;
pub mod lifecycle;
pub mod login;
pub mod names;
pub mod owner;
pub mod policy;
pub mod retry;
pub mod secret_store;
