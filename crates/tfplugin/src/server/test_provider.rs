//! The provider the server's tests run: no configuration, no client, and whatever resources, ephemeral
//! resources, functions and actions a test hands it.

use async_trait::async_trait;

use crate::action::ActionHandle;
use crate::diag::Diagnostics;
use crate::ephemeral::EphemeralResourceHandle;
use crate::function::FunctionHandle;
use crate::provider::{Context, Provider};
use crate::resource::ResourceHandle;
use crate::schema::Schema;

pub(super) struct TestProvider {
    pub(super) resources: fn() -> Vec<ResourceHandle<()>>,
    pub(super) ephemeral_resources: fn() -> Vec<EphemeralResourceHandle<()>>,
    pub(super) functions: fn() -> Vec<FunctionHandle>,
    pub(super) actions: fn() -> Vec<ActionHandle<()>>,
}

impl Default for TestProvider {
    fn default() -> Self {
        TestProvider { resources: Vec::new, ephemeral_resources: Vec::new, functions: Vec::new, actions: Vec::new }
    }
}

#[derive(serde::Deserialize)]
pub(super) struct NoConfig {}

#[async_trait]
impl Provider for TestProvider {
    type Client = ();
    type Config = NoConfig;
    fn type_name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new("test")
    }
    async fn configure(&self, _: &Context, _: NoConfig, _: &mut Diagnostics) -> Option<()> {
        Some(())
    }
    fn resources(&self) -> Vec<ResourceHandle<()>> {
        (self.resources)()
    }
    fn ephemeral_resources(&self) -> Vec<EphemeralResourceHandle<()>> {
        (self.ephemeral_resources)()
    }
    fn functions(&self) -> Vec<FunctionHandle> {
        (self.functions)()
    }
    fn actions(&self) -> Vec<ActionHandle<()>> {
        (self.actions)()
    }
}
