//! Managed resources: one module (or folder, for resources that manage several API objects) per type, each
//! reading like the scaffolding's example resource: schema, then create/read/update/delete, then import.

pub mod agent;
pub mod agent_token;
#[cfg(feature = "bench")]
pub mod bench;
pub mod deployment;
pub mod registry;
pub mod shared;

use tfplugin::ResourceHandle;

use crate::client::ProviderClient;

/// Every managed resource type the provider serves.
pub fn all() -> Vec<ResourceHandle<ProviderClient>> {
    vec![
        ResourceHandle::new(agent::AgentResource),
        ResourceHandle::new(agent_token::AgentTokenResource),
        ResourceHandle::new(deployment::DeploymentResource),
        ResourceHandle::new(registry::RegistryResource),
        #[cfg(feature = "bench")] // benchmark-only null_resource twin (bench/run)
        ResourceHandle::new(bench::BenchResource),
        #[cfg(feature = "bench")] // benchmark-only schema twin of the deployment (bench/run)
        ResourceHandle::new(bench::BenchDeploymentResource),
    ]
}
