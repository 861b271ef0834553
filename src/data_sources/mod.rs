//! Data sources: read-only views for configurations and for clients without `terraform query`.

pub mod agents;
pub mod deployments;
pub mod location_file;

use tfplugin::DataSourceHandle;

use crate::client::ProviderClient;

pub fn all() -> Vec<DataSourceHandle<ProviderClient>> {
    vec![
        DataSourceHandle::new(agents::AgentsDataSource),
        DataSourceHandle::new(deployments::DeploymentsDataSource),
        DataSourceHandle::new(location_file::LocationFileDataSource),
    ]
}
