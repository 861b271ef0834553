//! Data sources: read-only views for configurations and for clients without `terraform query`.

pub mod agents;
pub mod deployments;

use tfplugin::DataSourceHandle;

use crate::client::Configured;

pub fn all() -> Vec<DataSourceHandle<Configured>> {
    vec![DataSourceHandle::new(agents::AgentsDataSource), DataSourceHandle::new(deployments::DeploymentsDataSource)]
}
