//! One error type for every AWS call the provider makes, classified by the wire error code (and the HTTP
//! status, because some emulators answer denials in a shape the SDK cannot parse).

use std::time::Duration;

use aws_sdk_ecr::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A failed AWS API call.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {detail}")]
pub struct ApiError {
    pub operation: &'static str,
    /// The service's error code, e.g. `NoSuchEntity` or `RepositoryNotFoundException`.
    pub code: Option<String>,
    pub status: Option<u16>,
    detail: String,
}

impl ApiError {
    /// Works for every SDK crate: they all share smithy's `SdkError` type.
    pub fn from_sdk<E>(operation: &'static str, error: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = error.code().map(str::to_string);
        let status = error.raw_response().map(|r| r.status().as_u16());
        let detail = match (&code, error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            _ => match status {
                Some(status) => format!("HTTP {status}: {}", DisplayErrorContext(&error)),
                None => DisplayErrorContext(&error).to_string(),
            },
        };
        ApiError { operation, code, status, detail }
    }

    /// A response without a field the API promises.
    pub fn missing(operation: &'static str, field: &str) -> Self {
        ApiError { operation, code: None, status: None, detail: format!("the response has no {field}") }
    }

    /// A read that found nothing where a just-created object must be: `NoSuchEntity`, so create paths retry
    /// it as propagation lag.
    pub fn not_found(operation: &'static str, what: &str) -> Self {
        ApiError {
            operation,
            code: Some("NoSuchEntity".to_string()),
            status: None,
            detail: format!("no {what} (not visible yet)"),
        }
    }

    /// An error answer of a JSON-protocol service: the code is the `__type` field (or the
    /// `x-amzn-ErrorType` header) without its namespace, e.g. `ResourceNotFoundException`.
    pub fn from_json_error(operation: &'static str, status: u16, header_code: Option<&str>, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "__type")]
            kind: Option<String>,
            #[serde(alias = "Message")]
            message: Option<String>,
        }
        let answer: Option<Answer> = serde_json::from_slice(body).ok();
        let raw_code = answer.as_ref().and_then(|a| a.kind.clone()).or_else(|| header_code.map(str::to_string));
        let code = raw_code.map(|c| {
            let c = c.rsplit('#').next().unwrap_or_default();
            c.split(':').next().unwrap_or_default().to_string()
        });
        let message = answer.and_then(|a| a.message);
        let detail = match (&code, message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, _) => format!("HTTP {status}"),
        };
        ApiError { operation, code, status: Some(status), detail }
    }

    /// No answer at all (connection refused, reset, timed out).
    pub fn transport(operation: &'static str, detail: &str) -> Self {
        ApiError { operation, code: None, status: None, detail: detail.to_string() }
    }

    /// The request could not be signed (no credentials, a bad endpoint).
    pub fn credentials(operation: &'static str, detail: &str) -> Self {
        ApiError { operation, code: Some("CredentialsError".to_string()), status: None, detail: detail.to_string() }
    }

    /// A success answer that is not the JSON the operation promises.
    pub fn unparsable(operation: &'static str, detail: &str) -> Self {
        ApiError { operation, code: None, status: None, detail: format!("unexpected answer: {detail}") }
    }

    /// Worth another attempt: throttling, a server-side failure or no answer at all.
    pub fn is_transient(&self) -> bool {
        let throttled = matches!(
            self.code.as_deref(),
            Some("ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded")
        );
        throttled || self.status.is_some_and(|s| s >= 500) || (self.code.is_none() && self.status.is_none())
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// IAM: the user, key or policy does not exist (or is not visible yet).
    pub fn is_no_such_entity(&self) -> bool {
        self.is("NoSuchEntity")
    }

    pub fn is_repository_not_found(&self) -> bool {
        self.is("RepositoryNotFoundException")
    }

    pub fn is_access_denied(&self) -> bool {
        matches!(self.code.as_deref(), Some("AccessDenied" | "AccessDeniedException")) || self.status == Some(403)
    }

    /// A new access key that AWS does not know everywhere yet. A 403 without a parsable code counts too:
    /// some emulators send the denial as HTML.
    pub fn is_unknown_key(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("InvalidClientTokenId" | "InvalidAccessKeyId" | "UnrecognizedClientException")
        ) || (self.code.is_none() && self.status == Some(403))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{what} did not succeed within {}s; last error: {last}", .waited.as_secs())]
    Timeout { what: String, waited: Duration, last: ApiError },
    #[error("the operation was interrupted by Terraform")]
    Interrupted,
    #[error("AWS configuration: {0}")]
    Config(String),
    #[error("{operation} returned no {field}")]
    MissingField { operation: &'static str, field: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("invalid AWS request: {0}")]
    Request(String),
}

impl From<tfplugin::Interrupted> for Error {
    fn from(_: tfplugin::Interrupted) -> Self {
        Error::Interrupted
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Maps an SDK result into this module's error, naming the operation (`…send().await.op("iam:CreateUser")`).
pub trait NameOperation<T> {
    fn op(self, operation: &'static str) -> std::result::Result<T, ApiError>;
}

impl<T, E> NameOperation<T> for std::result::Result<T, SdkError<E>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn op(self, operation: &'static str) -> std::result::Result<T, ApiError> {
        self.map_err(|e| ApiError::from_sdk(operation, e))
    }
}

/// A required field of a response.
pub fn required<T>(value: Option<T>, operation: &'static str, field: &'static str) -> Result<T> {
    value.ok_or(Error::MissingField { operation, field })
}

#[cfg(test)]
impl ApiError {
    /// A canned error for unit tests.
    pub fn canned(code: &str, status: u16) -> Self {
        ApiError { operation: "Test", code: Some(code.to_string()), status: Some(status), detail: "canned".to_string() }
    }
}
