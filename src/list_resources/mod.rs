//! List resources: what `terraform query` (Terraform 1.14+) can list and turn into configuration.

pub mod deployment;

use tfplugin::ListResourceHandle;

use crate::client::Configured;

pub fn all() -> Vec<ListResourceHandle<Configured>> {
    vec![ListResourceHandle::new(deployment::DeploymentList)]
}
