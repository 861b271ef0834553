//! What the provider's `configure` builds and the protocol layer hands to every resource, data source and
//! list resource: the Dagster+ client, the resolved organization and URL, and the AWS settings.

use std::sync::Arc;

use crate::aws::clients::{Clients, LazyClients};
use crate::aws::error::Error as AwsError;
use crate::dagster;

/// AWS settings, resolved through the standard credential chain only when an AWS resource needs them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// One endpoint for every AWS service (for example a local emulator).
    pub endpoint_url: Option<String>,
}

/// What resources get from the provider once Terraform has configured it.
pub struct ProviderClient {
    pub dagster: dagster::Client,
    /// The organization, when configured (the agent's ECS parameters name it).
    pub organization: Option<String>,
    /// The resolved Dagster+ base URL (`url`, else `https://ORG.dagster.cloud`), as CI needs it.
    pub dagster_url: String,
    /// Settings for the AWS-backed resources; resolved into clients only when one of them runs.
    pub aws: AwsSettings,
    /// Full deployment names, fetched once per provider process for plan-time checks.
    full_deployment_names: tokio::sync::OnceCell<Vec<String>>,
    /// AWS clients, built from `aws` when an AWS-backed resource first needs them.
    aws_clients: LazyClients,
}

impl ProviderClient {
    pub fn new(dagster: dagster::Client, organization: Option<String>, dagster_url: String, aws: AwsSettings) -> Self {
        ProviderClient {
            dagster,
            organization,
            dagster_url,
            aws,
            full_deployment_names: tokio::sync::OnceCell::new(),
            aws_clients: LazyClients::default(),
        }
    }

    /// The AWS clients (built on first use; a failure is not cached).
    pub async fn aws_clients(&self) -> Result<Arc<Clients>, AwsError> {
        self.aws_clients.get(&self.aws).await
    }

    /// Names in `names` that are not full deployments of the organization (fetched once per process).
    pub async fn unknown_full_deployments<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<String>, dagster::Error> {
        let known = self
            .full_deployment_names
            .get_or_try_init(|| async {
                let deployments = self.dagster.full_deployments().await?;
                Ok::<_, dagster::Error>(deployments.into_iter().map(|d| d.deployment_name).collect())
            })
            .await?;
        Ok(names.into_iter().filter(|n| !known.iter().any(|k| k == n)).map(str::to_string).collect())
    }

    pub fn known_full_deployments(&self) -> Vec<String> {
        self.full_deployment_names.get().cloned().unwrap_or_default()
    }
}
