//! A typed client for the Dagster+ GraphQL API, sending what the real clients send: `POST …/graphql` with
//! `{"query", "variables"}` and the `Dagster-Cloud-Api-Token` header; organization-level calls at the root
//! path, deployment-level calls under `/{deployment}/graphql` with the `Dagster-Cloud-Deployment` header.
//! One module per API area holds the types its operations return; the operations themselves are declared in
//! `operations`, their documents in `graphql/`.

pub mod agents;
mod cache;
mod connect;
pub mod deployments;
pub mod locations;
pub mod operations;
mod retry;
pub mod tokens;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use tfplugin::Context;
use tracing::{debug, warn};

use crate::secret::Secret;
use operations::Operation;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the Dagster+ API token is invalid or revoked ({url} answered HTTP 401). Check `api_token` or DAGSTER_CLOUD_API_TOKEN.")]
    Unauthenticated { url: String },
    #[error("the API token is not allowed to do this: {message}")]
    Unauthorized { message: String },
    #[error("Dagster+ reported an error: {message}")]
    Server { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("Dagster+ refused the request: {message}")]
    InvalidRequest { message: String },
    #[error("Dagster+ rejected the request: {message}")]
    GraphQl { message: String },
    #[error("could not reach Dagster+ at {url}: {}", connect::causes(.source))]
    Transport { url: String, source: reqwest::Error },
    #[error("nothing accepts connections at {url} (connection refused): {}. Check `url` or DAGSTER_CLOUD_URL, or start the server it names.", connect::causes(.source))]
    ConnectionRefused { url: String, source: reqwest::Error },
    #[error("the host `{host}` of {url} does not resolve ({cause}). Check `url` or DAGSTER_CLOUD_URL, or `organization` (which makes https://ORGANIZATION.dagster.cloud).")]
    UnknownHost { url: String, host: String, cause: String },
    #[error("the TLS handshake with {url} failed: {cause}. Check that `url` uses the scheme the server speaks (http or https) and that the server's certificate is trusted.")]
    Tls { url: String, cause: String },
    #[error("the API token belongs to the Dagster+ organization `{actual}`, but the provider is configured for `{expected}` (`organization` or DAGSTER_CLOUD_ORGANIZATION) at {url}. Use an API token of `{expected}`, or point `url` and `organization` at `{actual}`. Nothing was changed.")]
    WrongOrganization { url: String, expected: String, actual: String },
    #[error("unexpected HTTP {status} from {url}: {body}")]
    Http { url: String, status: u16, body: String },
    #[error("unexpected response from {url}: {detail}")]
    Decode { url: String, detail: String },
    /// The request may or may not have been carried out (the connection failed after it was sent).
    #[error(
        "the connection to {url} failed after `{operation}` was sent, so it may or may not have taken effect: {}",
        connect::causes(.source)
    )]
    Ambiguous { url: String, operation: String, source: reqwest::Error },
    #[error("interrupted by Terraform while waiting to retry `{operation}`")]
    Interrupted { operation: String },
}

/// How one attempt ended.
enum Attempt<T> {
    Done(Result<T, Error>),
    /// Not processed (throttled, gateway error, connection refused): try again after the wait.
    Retry {
        error: Error,
        wait: Option<std::time::Duration>,
    },
    /// Sent, but the answer was lost.
    Lost {
        url: String,
        source: reqwest::Error,
    },
}

#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    api_token: Secret,
    /// Terraform's stop signal, so waits between retries end when the user interrupts.
    stop: Context,
    generations: cache::Generations,
    token_inventory: cache::Snapshot<std::sync::Arc<tokens::TokenInventory>>,
    branch_deployments: cache::Snapshot<std::sync::Arc<deployments::BranchDeploymentIndex>>,
    /// The configured organization, which the token must belong to.
    expected_organization: Option<String>,
    /// Set once the token and organization were checked in this process (before the first write).
    access_verified: tokio::sync::OnceCell<()>,
}

#[derive(Deserialize)]
struct GraphQlResponse<T> {
    data: Option<T>,
    errors: Option<Vec<GraphQlError>>,
}

#[derive(Deserialize)]
struct GraphQlError {
    message: String,
}

/// Which URL a call goes to.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    Organization,
    Deployment(&'a str),
}

/// The error members of Dagster+ result unions, shared by every operation.
#[derive(Debug, Deserialize)]
#[serde(tag = "__typename")]
#[expect(clippy::enum_variant_names, reason = "the variants are the schema's `__typename`s")]
pub enum ErrorMember {
    UnauthorizedError {
        message: String,
    },
    PythonError {
        message: String,
    },
    DagsterCloudTokenNotFoundError {
        message: String,
    },
    DeploymentNotFoundError {
        message: String,
    },
    InvalidLocationError {
        message: String,
        #[serde(default)]
        errors: Vec<Option<String>>,
    },
    DeleteFinalDeploymentError {
        message: String,
    },
    DuplicateDeploymentError {
        message: String,
    },
    DeploymentLimitError {
        message: String,
    },
}

impl From<ErrorMember> for Error {
    fn from(member: ErrorMember) -> Self {
        match member {
            ErrorMember::UnauthorizedError { message } => Error::Unauthorized { message },
            ErrorMember::PythonError { message } => Error::Server { message },
            ErrorMember::DagsterCloudTokenNotFoundError { message }
            | ErrorMember::DeploymentNotFoundError { message } => Error::NotFound { message },
            ErrorMember::InvalidLocationError { message, errors } => {
                let details: Vec<String> = errors.into_iter().flatten().collect();
                Error::InvalidRequest { message: if details.is_empty() { message } else { details.join("; ") } }
            }
            ErrorMember::DeleteFinalDeploymentError { message }
            | ErrorMember::DuplicateDeploymentError { message }
            | ErrorMember::DeploymentLimitError { message } => Error::InvalidRequest { message },
        }
    }
}

impl Client {
    pub fn new(
        base_url: &str,
        api_token: Secret,
        expected_organization: Option<String>,
        stop: Context,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("terraform-provider-dagsterbranch/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            // Not getaddrinfo: the static release binary must not load the host's NSS modules (src/dns/).
            .dns_resolver(std::sync::Arc::new(crate::dns::Resolver::system()))
            .build()
            .map_err(|source| Error::Transport { url: base_url.to_string(), source })?;
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_token,
            stop,
            generations: cache::Generations::default(),
            token_inventory: cache::Snapshot::default(),
            branch_deployments: cache::Snapshot::default(),
            expected_organization,
            access_verified: tokio::sync::OnceCell::new(),
        })
    }

    /// Checks, once per process, that the API token is accepted at this URL and belongs to the configured
    /// organization. Runs before the first mutation, and at plan time for objects about to be created, so a
    /// wrong token, URL or organization is reported before anything is written.
    pub async fn verify_access(&self) -> Result<(), Error> {
        self.access_verified
            .get_or_try_init(|| async {
                let actual = self.organization_name().await?;
                match &self.expected_organization {
                    Some(expected) if *expected != actual => {
                        Err(Error::WrongOrganization { url: self.base_url.clone(), expected: expected.clone(), actual })
                    }
                    _ => Ok(()),
                }
            })
            .await
            .copied()
    }

    /// The organization the API token belongs to, from the deployment it resolves to at the root path.
    async fn organization_name(&self) -> Result<String, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Current {
            organization_name: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            current_deployment: Current,
        }
        // Sent directly: `execute_in` checks access before mutations, which would make this recursive.
        let data: Data =
            self.send_with_retries(Scope::Organization, &operations::ORGANIZATION_NAME, serde_json::json!({})).await?;
        Ok(data.current_deployment.organization_name)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one organization-level operation and decodes its `data`.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        operation: &Operation,
        variables: serde_json::Value,
    ) -> Result<T, Error> {
        self.execute_in(Scope::Organization, operation, variables).await
    }

    /// Sends one operation to the given scope and decodes its `data`, retrying what was not processed and,
    /// for repeatable operations, what was lost on the way back.
    pub async fn execute_in<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        operation: &Operation,
        variables: serde_json::Value,
    ) -> Result<T, Error> {
        if !operation.is_mutation() {
            return self.send_with_retries(scope, operation, variables).await;
        }
        self.verify_access().await?;
        // Whatever a mutation changes, cached reads must not hide it: snapshots taken before it and those
        // taken while it was in flight (which may or may not see it) are both invalidated.
        self.generations.mutated();
        let result = self.send_with_retries(scope, operation, variables).await;
        self.generations.mutated();
        result
    }

    async fn send_with_retries<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        operation: &Operation,
        variables: serde_json::Value,
    ) -> Result<T, Error> {
        let repeatable = operation.is_repeatable();
        let name = operation.name;
        let mut attempt = 1;
        loop {
            let (error, wait) = match self.attempt(scope, operation, &variables).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { error, wait } => (error, wait),
                Attempt::Lost { url, source } if !repeatable => {
                    return Err(Error::Ambiguous { url, operation: name.to_string(), source })
                }
                Attempt::Lost { url, source } => (Error::Transport { url, source }, None),
            };
            if attempt >= retry::MAX_ATTEMPTS {
                return Err(error);
            }
            let wait = wait.unwrap_or_else(|| retry::backoff(attempt));
            warn!(operation = name, attempt, wait_ms = wait.as_millis() as u64, error = %error, "Dagster+ request failed; retrying");
            if self.stop.sleep(wait).await.is_err() {
                return Err(Error::Interrupted { operation: name.to_string() });
            }
            attempt += 1;
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        operation: &Operation,
        variables: &serde_json::Value,
    ) -> Attempt<T> {
        let (document, operation) = (operation.document, operation.name);
        let url = match scope {
            Scope::Organization => format!("{}/graphql", self.base_url),
            Scope::Deployment(name) => format!("{}/{name}/graphql", self.base_url),
        };
        let mut request = self
            .http
            .post(&url)
            .header("Dagster-Cloud-Api-Token", self.api_token.expose())
            .json(&serde_json::json!({ "query": document, "variables": variables }));
        if let Scope::Deployment(name) = scope {
            request = request.header("Dagster-Cloud-Deployment", name);
        }
        debug!(operation, url = %url, "Dagster+ request");
        let response = match request.send().await {
            Ok(response) => response,
            // Never connected: nothing was sent. Retried unless no retry can help.
            Err(source) if source.is_connect() => {
                let error = match connect::permanent(&source, &url).await {
                    None => return Attempt::Retry { error: Error::Transport { url, source }, wait: None },
                    Some(connect::Permanent::RefusedOnLoopback) => Error::ConnectionRefused { url, source },
                    Some(connect::Permanent::UnknownHost { host, cause }) => Error::UnknownHost { url, host, cause },
                    Some(connect::Permanent::Tls { cause }) => Error::Tls { url, cause },
                };
                return Attempt::Done(Err(error));
            }
            Err(source) => return Attempt::Lost { url, source },
        };
        let status = response.status();
        debug!(operation, status = status.as_u16(), "Dagster+ response");
        if retry::retryable_status(status.as_u16()) {
            let wait =
                retry::retry_after(response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()));
            let body = response.text().await.unwrap_or_default().chars().take(200).collect();
            return Attempt::Retry { error: Error::Http { url, status: status.as_u16(), body }, wait };
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(source) => return Attempt::Lost { url, source },
        };
        Attempt::Done(decode_response(url, status, &body))
    }
}

fn decode_response<T: DeserializeOwned>(url: String, status: reqwest::StatusCode, body: &[u8]) -> Result<T, Error> {
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Error::Unauthenticated { url });
    }
    let parsed: GraphQlResponse<T> = match serde_json::from_slice(body) {
        Ok(parsed) => parsed,
        Err(e) if status.is_success() => return Err(Error::Decode { url, detail: e.to_string() }),
        Err(_) => {
            let body = String::from_utf8_lossy(body).chars().take(500).collect();
            return Err(Error::Http { url, status: status.as_u16(), body });
        }
    };
    if let Some(errors) = parsed.errors.filter(|e| !e.is_empty()) {
        let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ");
        return Err(Error::GraphQl { message });
    }
    parsed.data.ok_or_else(|| Error::Decode { url, detail: format!("HTTP {status} without `data`") })
}
