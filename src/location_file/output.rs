//! The locations as Terraform objects whose attributes are named after `dagsterbranch_deployment`'s
//! `code_location` block, so that `dynamic "code_location"` copies them one for one, plus the `build`
//! settings a CI build step needs.

use std::collections::BTreeMap;

use cty::Type;
use serde::{Deserialize, Serialize};

use super::Location;

/// The key of `image_overrides` that applies to every location given neither its own entry nor an image in
/// the file (`*` cannot be a location name).
pub const ANY_LOCATION: &str = "*";

/// One location as the data source and `provider::dagsterbranch::location_file` return it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct LocationObject {
    pub name: String,
    pub image: Option<String>,
    pub module_name: Option<String>,
    pub package_name: Option<String>,
    pub python_file: Option<String>,
    pub autoload_defs_module_name: Option<String>,
    pub working_directory: Option<String>,
    pub executable_path: Option<String>,
    pub attribute: Option<String>,
    pub agent_queue: Option<String>,
    /// JSON text, as `code_location.container_context` takes it (compared by meaning there).
    pub container_context: Option<String>,
    pub build_directory: Option<String>,
    pub build_registry: Option<String>,
}

const STRING_ATTRIBUTES: [&str; 13] = [
    "name",
    "image",
    "module_name",
    "package_name",
    "python_file",
    "autoload_defs_module_name",
    "working_directory",
    "executable_path",
    "attribute",
    "agent_queue",
    "container_context",
    "build_directory",
    "build_registry",
];

/// The object type of one location.
pub fn object_type() -> Type {
    Type::object(STRING_ATTRIBUTES.iter().map(|name| (name.to_string(), Type::String)))
}

/// Markdown describing the object's attributes, for the schema and the function's documentation.
pub const ATTRIBUTES_DOC: &str = "Each object has the `code_location` block's attributes (`name`, `image`, `module_name`, `package_name`, `python_file`, `autoload_defs_module_name`, `working_directory`, `executable_path`, `attribute`, `agent_queue`, `container_context` as JSON text; null where the file has none) and the location's `build_directory` and `build_registry` for a CI build step.";

impl LocationObject {
    pub fn from_location(location: &Location) -> LocationObject {
        let source = |key: &str| (location.code_source.0 == key).then(|| location.code_source.1.clone());
        LocationObject {
            name: location.name.clone(),
            image: location.image.clone(),
            module_name: source("module_name"),
            package_name: source("package_name"),
            python_file: source("python_file"),
            autoload_defs_module_name: source("autoload_defs_module_name"),
            working_directory: location.working_directory.clone(),
            executable_path: location.executable_path.clone(),
            attribute: location.attribute.clone(),
            agent_queue: location.agent_queue.clone(),
            container_context: location
                .container_context
                .as_ref()
                .map(|c| serde_json::Value::Object(c.clone()).to_string()),
            build_directory: location.build_directory.clone(),
            build_registry: location.build_registry.clone(),
        }
    }
}

/// Why `image_overrides` cannot be applied; `key` is the override's key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("image_overrides[{key:?}]: the file has no location {key:?} (its locations: {known})")]
    UnknownLocation { key: String, known: String },
    #[error("image_overrides[{key:?}]: {why}")]
    BadImage { key: String, why: String },
}

impl OverrideError {
    pub fn key(&self) -> &str {
        match self {
            OverrideError::UnknownLocation { key, .. } | OverrideError::BadImage { key, .. } => key,
        }
    }
}

/// Sets each location's image from `overrides` (by location name), and the `*` entry's image on locations that
/// still have none. A key naming no location is an error, so that a renamed location cannot silently keep
/// the file's old image.
pub fn apply_image_overrides(
    locations: &mut [LocationObject],
    overrides: &BTreeMap<String, String>,
) -> Result<(), OverrideError> {
    for (key, image) in overrides {
        crate::image::check_reference(image).map_err(|why| OverrideError::BadImage { key: key.clone(), why })?;
        if key != ANY_LOCATION && !locations.iter().any(|l| &l.name == key) {
            let known = locations.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(OverrideError::UnknownLocation { key: key.clone(), known });
        }
    }
    for location in locations.iter_mut() {
        if let Some(image) = overrides.get(&location.name) {
            location.image = Some(image.clone());
        } else if location.image.is_none() {
            location.image = overrides.get(ANY_LOCATION).cloned();
        }
    }
    Ok(())
}
