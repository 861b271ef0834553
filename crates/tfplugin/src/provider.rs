//! What a provider implements: the `Provider` itself, whose `configure` builds the client every resource,
//! data source, list resource and ephemeral resource is handed, and the context passed to every operation.
//! The server (`crate::server`) translates protocol requests into calls on these traits.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::action::ActionHandle;
use crate::data_source::{DataSourceHandle, ListResourceHandle};
use crate::diag::Diagnostics;
use crate::ephemeral::EphemeralResourceHandle;
use crate::function::FunctionHandle;
use crate::resource::ResourceHandle;
use crate::schema::Schema;

/// Passed to every operation. Cancelled when Terraform sends StopProvider (for example after Ctrl-C), so
/// long waits end promptly and report what exists.
#[derive(Clone, Debug)]
pub struct Context {
    stop: CancellationToken,
}

/// Returned by waits that Terraform interrupted.
#[derive(Debug, thiserror::Error)]
#[error("the operation was interrupted by Terraform (StopProvider)")]
pub struct Interrupted;

impl Context {
    pub(crate) fn new(stop: CancellationToken) -> Self {
        Context { stop }
    }

    /// A context that is never cancelled, for unit tests of resource logic.
    pub fn detached() -> Self {
        Context { stop: CancellationToken::new() }
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when Terraform asks the provider to stop.
    pub async fn stopped(&self) {
        self.stop.cancelled().await
    }

    /// Sleeps unless interrupted first.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Interrupted> {
        tokio::select! {
            _ = self.stop.cancelled() => Err(Interrupted),
            _ = tokio::time::sleep(duration) => Ok(()),
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` builds from the provider block: the server keeps it and hands it to every call.
    type Client: Send + Sync + 'static;
    /// The provider block, in the shape of the schema. Attributes may be unknown (`model::Field` says so).
    type Config: DeserializeOwned + Send + Sync + 'static;

    /// The provider's type name, the prefix of its resource types (`dagsterbranch`).
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks that need more than one attribute; the config may hold unknowns.
    fn validate(&self, _config: &Self::Config, _diags: &mut Diagnostics) {}

    /// Builds the client from the provider block. Must not call remote APIs: Terraform configures providers
    /// for `plan` too. `None` (with an error in `diags`) leaves the provider unusable for this process.
    async fn configure(&self, ctx: &Context, config: Self::Config, diags: &mut Diagnostics) -> Option<Self::Client>;

    fn resources(&self) -> Vec<ResourceHandle<Self::Client>>;

    fn data_sources(&self) -> Vec<DataSourceHandle<Self::Client>> {
        Vec::new()
    }

    fn list_resources(&self) -> Vec<ListResourceHandle<Self::Client>> {
        Vec::new()
    }

    /// Ephemeral resources (Terraform ≥ 1.10); older clients never ask for them.
    fn ephemeral_resources(&self) -> Vec<EphemeralResourceHandle<Self::Client>> {
        Vec::new()
    }

    /// Provider-defined functions (Terraform ≥ 1.8); older clients refuse a configuration that calls one.
    fn functions(&self) -> Vec<FunctionHandle> {
        Vec::new()
    }

    /// Actions (Terraform ≥ 1.14); older clients never ask for them.
    fn actions(&self) -> Vec<ActionHandle<Self::Client>> {
        Vec::new()
    }
}
