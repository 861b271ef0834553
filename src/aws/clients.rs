//! AWS clients, built on first use from the provider's `aws` settings and the standard credential chain
//! (environment, shared files and profiles, SSO, credential_process, container and instance roles), then
//! cached for the life of the provider process.

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider as TlsProvider};
use tokio::sync::OnceCell;
use tracing::info;

use super::error::{Error, Result};
use super::json_protocol::{self, JsonClient};
use crate::client::AwsSettings;
use crate::secret::Secret;

/// IAM's token buckets are account-wide and small; the SDK's default of 3 attempts gives up on throttling
/// far too early for a busy account.
const MAX_ATTEMPTS: u32 = 10;

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub iam: aws_sdk_iam::Client,
    pub secretsmanager: JsonClient,
    pub ssm: JsonClient,
    sdk: SdkConfig,
}

impl Clients {
    async fn load(settings: &AwsSettings) -> Result<Clients> {
        // rustls with ring, the crypto the rest of the provider already links, instead of the SDK's default
        // aws-lc-rs; names resolved by the provider's resolver, not getaddrinfo (src/dns/). This client also
        // serves the credential providers that make HTTP calls (IMDS, SSO, STS).
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(TlsProvider::Rustls(CryptoMode::Ring))
            .build_with_resolver(crate::dns::Resolver::system());
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        // Fail here with a clear message rather than on the first call.
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::Config(
                "no AWS region is configured: set `region` in the provider's `aws` block, or AWS_REGION".to_string(),
            )
        })?;
        info!(%region, profile = ?settings.profile, endpoint = ?settings.endpoint_url, "AWS clients ready");
        Ok(Clients {
            ecr: aws_sdk_ecr::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            secretsmanager: JsonClient::new(&json_protocol::SECRETS_MANAGER, &sdk, &region)?,
            ssm: JsonClient::new(&json_protocol::SSM, &sdk, &region)?,
            sdk,
        })
    }

    /// STS and ECR clients that sign with the given access key instead of the provider's credentials: to
    /// check that a new key works, and to log in to the registry as the CI user.
    pub fn signing_with(&self, access_key_id: &str, secret: &Secret) -> (aws_sdk_sts::Client, aws_sdk_ecr::Client) {
        let credentials = aws_sdk_sts::config::Credentials::new(
            access_key_id,
            secret.expose(),
            None,
            None,
            "dagsterbranch-new-access-key",
        );
        let sts = aws_sdk_sts::config::Builder::from(&self.sdk).credentials_provider(credentials.clone()).build();
        let ecr = aws_sdk_ecr::config::Builder::from(&self.sdk).credentials_provider(credentials).build();
        (aws_sdk_sts::Client::from_conf(sts), aws_sdk_ecr::Client::from_conf(ecr))
    }
}

/// The clients of one provider instance, created when an AWS-backed resource first needs them. A failed
/// attempt is not cached, so a fixed environment works on the next operation.
#[derive(Default)]
pub struct LazyClients(OnceCell<Arc<Clients>>);

impl LazyClients {
    pub async fn get(&self, settings: &AwsSettings) -> Result<Arc<Clients>> {
        self.0.get_or_try_init(|| async { Clients::load(settings).await.map(Arc::new) }).await.cloned()
    }
}
