//! What can go wrong in a registry operation: the step that failed (the diagnostic's summary) and the AWS
//! error behind it (its detail), kept typed until the diagnostic is made.

use cty::Path;
use tfplugin::Diagnostic;

use crate::aws::error::Error as AwsError;
use crate::resources::shared::secret_store::StoreError;

/// A failed step. Each variant's message is the diagnostic's summary; its source, the detail.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("Cannot set up AWS access")]
    Setup(#[source] Box<AwsError>),
    #[error("Could not read the registry")]
    Read(#[source] Box<AwsError>),
    #[error("Could not create the ECR repository")]
    CreateRepository(#[source] Box<AwsError>),
    #[error("Could not change the image tag mutability")]
    SetTagMutability(#[source] Box<AwsError>),
    #[error("Could not change scan on push")]
    SetScanOnPush(#[source] Box<AwsError>),
    #[error("Could not update the repository's tags")]
    SetRepositoryTags(#[source] Box<AwsError>),
    #[error("Could not set the repository's lifecycle policy")]
    SetLifecyclePolicy(#[source] Box<AwsError>),
    #[error("Could not delete the ECR repository")]
    DeleteRepository(#[source] Box<AwsError>),
    #[error("Could not create the IAM user")]
    CreateUser(#[source] Box<AwsError>),
    #[error("Could not rename or move the IAM user")]
    MoveUser(#[source] Box<AwsError>),
    #[error("Could not read the renamed IAM user")]
    ReadMovedUser(#[source] Box<AwsError>),
    #[error("Could not update the IAM user's tags")]
    SetUserTags(#[source] Box<AwsError>),
    #[error("Could not set the IAM user's push policy")]
    PutPushPolicy(#[source] Box<AwsError>),
    #[error("Could not delete the IAM user")]
    DeleteUser(#[source] Box<AwsError>),
    #[error("Could not create the access key")]
    CreateAccessKey(#[source] Box<AwsError>),
    #[error("Could not delete access keys left by lost create attempts")]
    DeleteLostKeys(#[source] Box<AwsError>),
    #[error("The new access key did not start working")]
    KeyNotUsable(#[source] Box<AwsError>),
    #[error("Could not delete the previous access key")]
    DeletePreviousKey(#[source] Box<AwsError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegistryError> for Diagnostic {
    fn from(error: RegistryError) -> Self {
        if let RegistryError::Store(store) = error {
            return store.into();
        }
        let detail = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        let diagnostic = Diagnostic::error(error.to_string(), detail);
        match error {
            RegistryError::Setup(_) => diagnostic.at(Path::root()),
            _ => diagnostic,
        }
    }
}

/// Names the step an AWS call belongs to: `ecr::create(…).await.during(RegistryError::CreateRepository)?`.
pub trait During<T> {
    fn during(self, step: fn(Box<AwsError>) -> RegistryError) -> Result<T, RegistryError>;
}

impl<T, E: Into<AwsError>> During<T> for Result<T, E> {
    fn during(self, step: fn(Box<AwsError>) -> RegistryError) -> Result<T, RegistryError> {
        self.map_err(|e| step(Box::new(e.into())))
    }
}
