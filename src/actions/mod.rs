//! Actions (Terraform 1.14 and later): operations run on purpose with `terraform apply -invoke=action.T.N`
//! or from an `action_trigger`, which change Dagster+ but no Terraform state.

pub mod cleanup;
pub mod redeploy;

use tfplugin::ActionHandle;

use crate::client::ProviderClient;

pub fn all() -> Vec<ActionHandle<ProviderClient>> {
    vec![ActionHandle::new(cleanup::CleanupAction), ActionHandle::new(redeploy::RedeployAction)]
}
