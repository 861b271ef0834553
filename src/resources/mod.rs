//! One module per resource type: schema, then create/read/update/delete, then import.

pub mod agent;
pub mod agent_token;
pub mod registry;
pub mod deployment;

use std::sync::Arc;

use tfplugin::Resource;

use crate::provider::SharedConfig;

/// Every managed resource type the provider serves.
pub fn all(config: &SharedConfig) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(agent::AgentResource::new(config.clone())),
        Arc::new(agent_token::AgentTokenResource::new(config.clone())),
        Arc::new(deployment::DeploymentResource::new(config.clone())),
        Arc::new(registry::RegistryResource::new(config.clone())),
    ]
}
