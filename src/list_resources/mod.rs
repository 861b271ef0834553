//! List resources: what `terraform query` (Terraform 1.14+) can list and turn into configuration.

pub mod deployment;

use tfplugin::ListResourceHandle;

use crate::client::ProviderClient;

pub fn all() -> Vec<ListResourceHandle<ProviderClient>> {
    vec![ListResourceHandle::new(deployment::DeploymentList)]
}
