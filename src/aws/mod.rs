//! AWS access for the registry resource: lazily built clients, the ECR and IAM calls it makes, the push
//! policy and lifecycle policy documents, naming rules, and the retries AWS's eventual consistency needs.

pub mod clients;
pub mod credentials;
pub mod ecr;
pub mod error;
pub mod iam;
pub mod lifecycle;
pub mod names;
pub mod owner;
pub mod policy;
pub mod retry;
