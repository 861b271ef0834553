//! One module per resource type: schema, then create/read/update/delete, then import.

pub mod agent_token;

use std::sync::Arc;

use tfplugin::Resource;

use crate::provider::SharedConfig;

/// Every managed resource type the provider serves.
pub fn all(config: &SharedConfig) -> Vec<Arc<dyn Resource>> {
    vec![Arc::new(agent_token::AgentTokenResource::new(config.clone()))]
}
