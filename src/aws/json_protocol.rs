//! A client for AWS services that speak the JSON 1.1 protocol (a signed `POST /` whose `X-Amz-Target` header
//! names the operation), used for Secrets Manager and SSM. The provider needs five calls from each; their SDK
//! crates would add minutes of compile time for hundreds of unused operations. Credentials, region and
//! endpoint come from the same `SdkConfig` as the SDK clients, requests are signed by `aws-sigv4` (the SDK's
//! own signer) and errors become the same `ApiError` the SDK paths produce.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tfplugin::Context;

use super::error::{ApiError, Error, Result};
use super::retry;

/// How a service is addressed and named on the wire.
pub struct Service {
    /// The SigV4 signing name and the endpoint's first label (`secretsmanager`, `ssm`).
    pub signing_name: &'static str,
    /// The `X-Amz-Target` prefix (`secretsmanager`, `AmazonSSM`).
    pub target_prefix: &'static str,
    /// The service-specific endpoint variable the SDKs honour (`AWS_ENDPOINT_URL_SECRETS_MANAGER`).
    pub endpoint_variable: &'static str,
}

pub const SECRETS_MANAGER: Service = Service {
    signing_name: "secretsmanager",
    target_prefix: "secretsmanager",
    endpoint_variable: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
};

pub const SSM: Service =
    Service { signing_name: "ssm", target_prefix: "AmazonSSM", endpoint_variable: "AWS_ENDPOINT_URL_SSM" };

/// Transient failures (throttling, 5xx, lost connections) are retried for this long, as the SDK clients do.
const TRANSIENT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct JsonClient {
    service: &'static Service,
    http: reqwest::Client,
    sdk: SdkConfig,
    region: String,
    endpoint: String,
}

impl JsonClient {
    pub fn new(service: &'static Service, sdk: &SdkConfig, region: &str) -> Result<JsonClient> {
        let endpoint = std::env::var(service.endpoint_variable)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| sdk.endpoint_url().map(str::to_string))
            .unwrap_or_else(|| default_endpoint(service.signing_name, region));
        let http = reqwest::Client::builder()
            .user_agent(concat!("terraform-provider-dagsterbranch/", env!("CARGO_PKG_VERSION")))
            // The provider's own resolver, as for every other client (no glibc name lookup).
            .dns_resolver(std::sync::Arc::new(crate::dns::Resolver::system()))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTPS client for {}: {e}", service.signing_name)))?;
        Ok(JsonClient { service, http, sdk: sdk.clone(), region: region.to_string(), endpoint })
    }

    /// Calls `operation` (e.g. `GetSecretValue`), retrying transient failures. `label` names the call in
    /// errors and logs (`secretsmanager:GetSecretValue`).
    pub async fn call<I: Serialize, O: DeserializeOwned>(
        &self,
        ctx: &Context,
        operation: &'static str,
        label: &'static str,
        input: &I,
    ) -> Result<O> {
        let body = serde_json::to_vec(input).map_err(|e| Error::Request(format!("{label}: {e}")))?;
        let answer =
            retry::retry(ctx, label, TRANSIENT_TIMEOUT, ApiError::is_transient, || self.send(operation, label, &body))
                .await?;
        serde_json::from_slice(&answer).map_err(|e| Error::Api(ApiError::unparsable(label, &e.to_string())))
    }

    async fn send(&self, operation: &str, label: &'static str, body: &[u8]) -> std::result::Result<Vec<u8>, ApiError> {
        let target = format!("{}.{operation}", self.service.target_prefix);
        let headers = self.signed_headers(&target, label, body).await?;
        let mut request = self.http.post(&self.endpoint).body(body.to_vec());
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.map_err(|e| ApiError::transport(label, &e.to_string()))?;
        let status = response.status().as_u16();
        let header_code = response.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = response.bytes().await.map_err(|e| ApiError::transport(label, &e.to_string()))?;
        if (200..300).contains(&status) {
            return Ok(bytes.to_vec());
        }
        Err(ApiError::from_json_error(label, status, header_code.as_deref(), &bytes))
    }

    /// The request's headers with the SigV4 signature added.
    async fn signed_headers(
        &self,
        target: &str,
        label: &'static str,
        body: &[u8],
    ) -> std::result::Result<Vec<(String, String)>, ApiError> {
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| ApiError::credentials(label, "no AWS credentials provider is configured"))?;
        let credentials =
            provider.provide_credentials().await.map_err(|e| ApiError::credentials(label, &e.to_string()))?;
        let host = reqwest::Url::parse(&self.endpoint)
            .ok()
            .and_then(|url| {
                url.host_str().map(|h| match url.port() {
                    Some(port) => format!("{h}:{port}"),
                    None => h.to_string(),
                })
            })
            .ok_or_else(|| ApiError::credentials(label, &format!("invalid endpoint URL `{}`", self.endpoint)))?;
        let mut headers = vec![
            ("host".to_string(), host),
            ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("x-amz-target".to_string(), target.to_string()),
        ];
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ApiError::credentials(label, &e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| ApiError::credentials(label, &e.to_string()))?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(|e| ApiError::credentials(label, &e.to_string()))?.into_parts();
        headers.extend(instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())));
        // reqwest sets Host itself from the URL; sending it twice would be a malformed request.
        headers.retain(|(k, _)| k != "host");
        Ok(headers)
    }
}

/// The public endpoint of a service in a region (the China partition has its own domain).
fn default_endpoint(signing_name: &str, region: &str) -> String {
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://{signing_name}.{region}.{domain}")
}

/// A token for operations that take a `ClientRequestToken` (32–64 characters); the SDKs fill one in, raw
/// requests must send their own.
pub fn request_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_partition() {
        assert_eq!(default_endpoint("ssm", "eu-west-1"), "https://ssm.eu-west-1.amazonaws.com");
        assert_eq!(
            default_endpoint("secretsmanager", "cn-north-1"),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn request_tokens_have_the_length_the_api_wants() {
        let (a, b) = (request_token(), request_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
