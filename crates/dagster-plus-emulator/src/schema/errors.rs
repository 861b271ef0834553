//! Error members of the result unions, and the `Error` interface they implement.

use async_graphql::{Interface, SimpleObject};

use crate::store::MutationError;

#[derive(SimpleObject, Clone, Debug)]
pub struct PythonError {
    pub message: String,
    pub class_name: Option<String>,
    pub stack: Vec<String>,
    pub cause: Option<Box<PythonError>>,
    pub causes: Vec<PythonError>,
    pub error_chain: Vec<ErrorChainLink>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ErrorChainLink {
    pub message: String,
    pub error: PythonError,
    pub is_explicit_link: bool,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct UnauthorizedError {
    pub message: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeploymentNotFoundError {
    pub message: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DagsterCloudTokenNotFoundError {
    pub message: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DuplicateDeploymentError {
    pub message: String,
}

// In the schema's unions; the emulator has no deployment limit, so it never returns it.
#[derive(SimpleObject, Clone, Debug)]
pub struct DeploymentLimitError {
    pub message: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DeleteFinalDeploymentError {
    pub message: String,
}

// `errors: [String]!`: nullable elements, as in the real schema.
#[derive(SimpleObject, Clone, Debug)]
pub struct InvalidLocationError {
    pub message: String,
    pub errors: Vec<Option<String>>,
}

impl InvalidLocationError {
    pub fn new(errors: Vec<String>) -> InvalidLocationError {
        InvalidLocationError {
            message: format!("Invalid location document: {}", errors.join("; ")),
            errors: errors.into_iter().map(Some).collect(),
        }
    }
}

// `interface Error { message: String! }`. Listing a type here is what makes
// the schema say `implements Error` for it.
#[derive(Interface)]
#[graphql(name = "Error", field(name = "message", ty = "&String"))]
pub enum ErrorInterface {
    PythonError(PythonError),
    ErrorChainLink(ErrorChainLink),
    UnauthorizedError(UnauthorizedError),
    DeploymentNotFoundError(DeploymentNotFoundError),
    DagsterCloudTokenNotFoundError(DagsterCloudTokenNotFoundError),
    DuplicateDeploymentError(DuplicateDeploymentError),
    DeploymentLimitError(DeploymentLimitError),
    DeleteFinalDeploymentError(DeleteFinalDeploymentError),
    InvalidLocationError(InvalidLocationError),
}

impl PythonError {
    // `class_name` imitates the Python exception class a real server would report.
    pub fn new(message: impl Into<String>, class_name: &str) -> PythonError {
        let message = message.into();
        PythonError {
            stack: vec![format!("  (dagster-plus-emulator) {class_name}: {message}\n")],
            message,
            class_name: Some(class_name.to_owned()),
            cause: None,
            causes: Vec::new(),
            error_chain: Vec::new(),
        }
    }

    // Persistence and domain failures that have no dedicated union member.
    pub fn from_mutation(err: &MutationError) -> PythonError {
        let class = match err {
            MutationError::Domain(_) => "DagsterCloudException",
            MutationError::Persist(_) => "EmulatorStateError",
        };
        PythonError::new(err.to_string(), class)
    }
}

impl UnauthorizedError {
    pub fn new(message: impl Into<String>) -> UnauthorizedError {
        UnauthorizedError { message: message.into() }
    }
}
