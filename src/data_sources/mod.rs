//! Data sources: read-only views for configurations and for clients without `terraform query`.

pub mod agents;
pub mod deployments;

use std::sync::Arc;

use tfplugin::DataSource;

use crate::provider::SharedConfig;

pub fn all(config: &SharedConfig) -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(agents::AgentsDataSource::new(config.clone())),
        Arc::new(deployments::DeploymentsDataSource::new(config.clone())),
    ]
}
