//! Ephemeral resources (Terraform 1.10 and later): values Terraform obtains in every run and never stores.

pub mod registry_credentials;
pub mod stored_secrets;

use tfplugin::EphemeralResourceHandle;

use crate::client::ProviderClient;

pub fn all() -> Vec<EphemeralResourceHandle<ProviderClient>> {
    vec![
        EphemeralResourceHandle::new(registry_credentials::RegistryCredentials),
        EphemeralResourceHandle::new(stored_secrets::StoredSecrets),
    ]
}
