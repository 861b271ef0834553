//! `dagster_cloud.yaml`, the file in which teams already keep their code locations for
//! `dagster-cloud deployment add-location --location-file` and `dagster-cloud ci`.
//!
//! Accepted keys are the CLI's own model (`dagster_cloud_cli.config.models`, all `extra="forbid"`): a top
//! level of `locations` and optional `defaults`; per location `location_name`, `code_source` (exactly one of
//! `package_name`, `module_name`, `python_file`, `autoload_defs_module_name`), `working_directory`,
//! `executable_path`, `attribute`, `image`, `container_context`, `agent_queue` and `build` (`directory`,
//! `registry`). `defaults` merge into every location as `dagster-cloud ci` merges them. Unlike the CLI model,
//! a location without a code source is refused here, since neither Dagster+ nor `code_location` can deploy one.

mod defaults;
pub mod error;
pub mod output;

use serde_json::{Map, Value};

use error::describe;
pub use error::{LocationFileError, Place, Problem};
pub use output::{apply_image_overrides, LocationObject, OverrideError};

const CODE_SOURCES: [&str; 4] = ["package_name", "module_name", "python_file", "autoload_defs_module_name"];
const LOCATION_KEYS: [&str; 9] = [
    "location_name",
    "code_source",
    "build",
    "working_directory",
    "image",
    "executable_path",
    "attribute",
    "container_context",
    "agent_queue",
];
const DEFAULT_KEYS: [&str; 6] =
    ["build", "working_directory", "image", "executable_path", "container_context", "agent_queue"];
const BUILD_KEYS: [&str; 2] = ["directory", "registry"];

/// One location of the file, defaults merged in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Location {
    pub name: String,
    /// The code source's key (one of `CODE_SOURCES`) and value.
    pub code_source: (&'static str, String),
    pub image: Option<String>,
    pub working_directory: Option<String>,
    pub executable_path: Option<String>,
    pub attribute: Option<String>,
    pub agent_queue: Option<String>,
    pub container_context: Option<Map<String, Value>>,
    pub build_directory: Option<String>,
    pub build_registry: Option<String>,
}

/// Reads every location of a `dagster_cloud.yaml`; the first problem found is the error.
pub fn parse(text: &str) -> Result<Vec<Location>, LocationFileError> {
    let root: Value = serde_norway::from_str(text)
        .map_err(|e| LocationFileError::new(&Place::Root, "", Problem::Yaml(e.to_string())))?;
    if let Value::String(text) = &root {
        if !text.contains('\n') && (text.ends_with(".yaml") || text.ends_with(".yml")) {
            return Err(LocationFileError::new(&Place::Root, "", Problem::PathNotContent(text.clone())));
        }
    }
    let root = mapping(&root, &Place::Root, "")?;
    only_keys(root, &["locations", "defaults"], &Place::Root, "")?;
    let defaults = match root.get("defaults") {
        None | Some(Value::Null) => Map::new(),
        Some(value) => {
            let defaults = mapping(value, &Place::Defaults, "")?;
            only_keys(defaults, &DEFAULT_KEYS, &Place::Defaults, "")?;
            check_common(defaults, &Place::Defaults)?;
            defaults.clone()
        }
    };
    let entries = match root.get("locations") {
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(wrong_type(&Place::Root, "locations", "a list", other)),
        None => return Err(LocationFileError::new(&Place::Root, "locations", Problem::Missing)),
    };
    let mut locations: Vec<Location> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let name = entry.get("location_name").and_then(Value::as_str).map(str::to_string);
        let place = Place::Location { index, name };
        let raw = mapping(entry, &place, "")?;
        only_keys(raw, &LOCATION_KEYS, &place, "")?;
        check_common(raw, &place)?;
        let location = read_location(&defaults::merge(&defaults, raw), &place)?;
        if let Some(first) = locations.iter().position(|l| l.name == location.name) {
            return Err(LocationFileError::new(&place, "location_name", Problem::DuplicateName(first)));
        }
        locations.push(location);
    }
    Ok(locations)
}

/// The checks a location's own keys and `defaults` share, made before merging so that an error points at
/// the text that has it.
fn check_common(map: &Map<String, Value>, place: &Place) -> Result<(), LocationFileError> {
    for key in ["working_directory", "image", "executable_path", "attribute", "agent_queue"] {
        string(map, key, place)?;
    }
    if let Some(value) = present(map, "container_context") {
        mapping(value, place, "container_context")?;
    }
    if let Some(value) = present(map, "build") {
        let build = mapping(value, place, "build")?;
        only_keys(build, &BUILD_KEYS, place, "build")?;
        for key in BUILD_KEYS {
            if let Some(v) = present(build, key) {
                v.as_str().ok_or_else(|| wrong_type(place, &format!("build.{key}"), "a string", v))?;
            }
        }
    }
    Ok(())
}

fn read_location(map: &Map<String, Value>, place: &Place) -> Result<Location, LocationFileError> {
    let name = string(map, "location_name", place)?
        .ok_or_else(|| LocationFileError::new(place, "location_name", Problem::Missing))?;
    if name.trim().is_empty() {
        return Err(LocationFileError::new(place, "location_name", Problem::Empty));
    }
    let image = string(map, "image", place)?;
    if let Some(image) = &image {
        crate::image::check_reference(image)
            .map_err(|why| LocationFileError::new(place, "image", Problem::Image(why)))?;
    }
    let build = present(map, "build").and_then(Value::as_object);
    let build_value = |key: &str| build.and_then(|b| b.get(key)).and_then(Value::as_str).map(str::to_string);
    Ok(Location {
        code_source: code_source(map, place)?,
        image,
        working_directory: string(map, "working_directory", place)?,
        executable_path: string(map, "executable_path", place)?,
        attribute: string(map, "attribute", place)?,
        agent_queue: string(map, "agent_queue", place)?,
        container_context: present(map, "container_context").and_then(Value::as_object).cloned(),
        build_directory: build_value("directory"),
        build_registry: build_value("registry"),
        name,
    })
}

fn code_source(map: &Map<String, Value>, place: &Place) -> Result<(&'static str, String), LocationFileError> {
    let value = present(map, "code_source")
        .ok_or_else(|| LocationFileError::new(place, "code_source", Problem::CodeSource("none is set".into())))?;
    let source = mapping(value, place, "code_source")?;
    only_keys(source, &CODE_SOURCES, place, "code_source")?;
    let mut set = Vec::new();
    for key in CODE_SOURCES {
        // Like the CLI, an empty string counts as not set.
        if let Some(v) =
            string(source, key, place).map_err(|e| LocationFileError { key: format!("code_source.{key}"), ..e })?
        {
            if !v.is_empty() {
                set.push((key, v));
            }
        }
    }
    match set.len() {
        1 => Ok(set.remove(0)),
        0 => Err(LocationFileError::new(place, "code_source", Problem::CodeSource("none is set".into()))),
        _ => {
            let keys: Vec<&str> = set.iter().map(|(k, _)| *k).collect();
            Err(LocationFileError::new(
                place,
                "code_source",
                Problem::CodeSource(format!("{} are set", keys.join(" and "))),
            ))
        }
    }
}

/// The value at `key` unless absent or null.
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn string(map: &Map<String, Value>, key: &str, place: &Place) -> Result<Option<String>, LocationFileError> {
    match present(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(place, key, "a string", other)),
    }
}

fn mapping<'a>(value: &'a Value, place: &Place, key: &str) -> Result<&'a Map<String, Value>, LocationFileError> {
    value.as_object().ok_or_else(|| wrong_type(place, key, "a mapping", value))
}

fn only_keys(map: &Map<String, Value>, allowed: &[&str], place: &Place, parent: &str) -> Result<(), LocationFileError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => {
            let key = if parent.is_empty() { key.clone() } else { format!("{parent}.{key}") };
            Err(LocationFileError::new(place, key, Problem::UnexpectedKey { allowed: allowed.join(", ") }))
        }
    }
}

fn wrong_type(place: &Place, key: &str, expected: &'static str, got: &Value) -> LocationFileError {
    LocationFileError::new(place, key, Problem::WrongType { expected, got: describe(got) })
}

#[cfg(test)]
mod tests;
