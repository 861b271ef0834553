//! List resources: what `terraform query` (Terraform 1.14+) can list and turn into configuration.

pub mod deployment;

use std::sync::Arc;

use tfplugin::ListResource;

use crate::provider::SharedConfig;

pub fn all(config: &SharedConfig) -> Vec<Arc<dyn ListResource>> {
    vec![Arc::new(deployment::DeploymentList::new(config.clone()))]
}
