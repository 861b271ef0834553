//! Provider-defined functions (Terraform ≥ 1.8): `provider::dagsterbranch::<name>(…)`. Pure string and file
//! work that CI recipes would otherwise spell out in interpolations; no call reaches Dagster+.

pub mod image_reference;
pub mod location_file;

use tfplugin::FunctionHandle;

pub fn all() -> Vec<FunctionHandle> {
    vec![FunctionHandle::new(image_reference::ImageReference), FunctionHandle::new(location_file::LocationFile)]
}
