//! `data "dagsterbranch_location_file"`: the code locations of a `dagster_cloud.yaml`, shaped for
//! `dynamic "code_location"`, on every Terraform version (`provider::dagsterbranch::location_file` is the
//! same from 1.8). Reads nothing remote; a bad file fails validate/plan naming the location and key.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cty::{Path, Type};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, DataSource, Diagnostic, Diagnostics, Field, Schema};

use crate::client::ProviderClient;
use crate::location_file::output::{object_type, ATTRIBUTES_DOC};
use crate::location_file::{apply_image_overrides, parse, LocationFileError, LocationObject, OverrideError};

pub struct LocationFileDataSource;

fn schema() -> Schema {
    Schema::new("The code locations of a `dagster_cloud.yaml` (the file `dagster-cloud deployment add-location --location-file` and `dagster-cloud ci` read), ready for `dynamic \"code_location\"` of `dagsterbranch_deployment`, with per-location image overrides and each location's `build` settings for CI. The file is checked against the keys the `dagster-cloud` CLI accepts; `defaults` are merged into each location as `dagster-cloud ci` merges them. A problem in the file fails validate or plan naming the location and key.")
        .attribute(Attribute::optional("path", Type::String, "Path of the file, relative to the directory Terraform runs in. Set this or `content`."))
        .attribute(Attribute::optional("content", Type::String, "The file's text, e.g. `file(\"${path.module}/dagster_cloud.yaml\")`. Set this or `path`."))
        .attribute(Attribute::optional("image_overrides", Type::map(Type::String), "Images by location name, replacing the file's; the key `*` gives the image of every location that has neither its own entry nor an image in the file. A key naming no location is an error."))
        .attribute(Attribute::computed("locations", Type::list(object_type()), &format!("The locations in file order. {ATTRIBUTES_DOC}")))
        .attribute(Attribute::computed("builds", Type::map(Type::object([("directory".to_string(), Type::String), ("registry".to_string(), Type::String)])), "Each location's `build` (`directory`, `registry`) by location name, for CI build steps; null where the file has none."))
        .attribute(Attribute::computed("location_names", Type::list(Type::String), "The location names in file order."))
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct LocationFileModel {
    path: Field<String>,
    content: Field<String>,
    image_overrides: Field<BTreeMap<String, String>>,
    locations: Option<Vec<LocationObject>>,
    builds: Option<BTreeMap<String, Build>>,
    location_names: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct Build {
    directory: Option<String>,
    registry: Option<String>,
}

fn file_error(attribute: &str, error: LocationFileError) -> Diagnostic {
    Diagnostic::error("Invalid dagster_cloud.yaml", error.to_string()).at(Path::root().attr(attribute))
}

fn override_error(error: OverrideError) -> Diagnostic {
    let path = Path::root().attr("image_overrides").key(error.key());
    Diagnostic::error("Invalid image override", error.to_string()).at(path)
}

/// The locations of `text` as objects, the overrides applied.
pub fn read_locations(text: &str, overrides: &BTreeMap<String, String>) -> Result<Vec<LocationObject>, ReadError> {
    let locations = parse(text).map_err(ReadError::File)?;
    let mut objects: Vec<LocationObject> = locations.iter().map(LocationObject::from_location).collect();
    apply_image_overrides(&mut objects, overrides).map_err(ReadError::Override)?;
    Ok(objects)
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    File(LocationFileError),
    #[error(transparent)]
    Override(OverrideError),
}

impl ReadError {
    fn into_diagnostic(self, file_attribute: &str) -> Diagnostic {
        match self {
            ReadError::File(e) => file_error(file_attribute, e),
            ReadError::Override(e) => override_error(e),
        }
    }
}

#[async_trait]
impl DataSource for LocationFileDataSource {
    type Client = ProviderClient;
    type Model = LocationFileModel;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_location_file"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    /// Exactly one of `path` and `content`; a known `content` is checked here already, so `terraform validate`
    /// reports a bad file.
    fn validate(&self, config: &LocationFileModel, diags: &mut Diagnostics) {
        if config.path.is_unknown() || config.content.is_unknown() {
            return;
        }
        match (config.path.known(), config.content.known()) {
            (Some(_), Some(_)) => diags.attribute_error(
                Path::root().attr("content"),
                "Conflicting location file",
                "Set `path` or `content`, not both.",
            ),
            (None, None) => diags.error("Missing location file", "Set `path` (a file) or `content` (its text)."),
            (None, Some(text)) => {
                let overrides = config.image_overrides.known().cloned().unwrap_or_default();
                let overrides = if config.image_overrides.is_unknown() { BTreeMap::new() } else { overrides };
                if let Err(e) = read_locations(text, &overrides) {
                    diags.push(e.into_diagnostic("content"));
                }
            }
            (Some(_), None) => {}
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        config: LocationFileModel,
        diags: &mut Diagnostics,
    ) -> Option<LocationFileModel> {
        let (text, attribute) = match (config.path.known(), config.content.known()) {
            (Some(path), None) => match std::fs::read_to_string(path) {
                Ok(text) => (text, "path"),
                Err(e) => {
                    let detail = format!("Could not read `{path}`: {e}.");
                    diags.attribute_error(Path::root().attr("path"), "Cannot read the location file", detail);
                    return None;
                }
            },
            (None, Some(text)) => (text.clone(), "content"),
            _ => {
                diags.error("Missing location file", "Set exactly one of `path` and `content`.");
                return None;
            }
        };
        let overrides = config.image_overrides.known().cloned().unwrap_or_default();
        let objects = match read_locations(&text, &overrides) {
            Ok(objects) => objects,
            Err(e) => {
                diags.push(e.into_diagnostic(attribute));
                return None;
            }
        };
        let builds = objects
            .iter()
            .map(|o| {
                (o.name.clone(), Build { directory: o.build_directory.clone(), registry: o.build_registry.clone() })
            })
            .collect();
        Some(LocationFileModel {
            location_names: Some(objects.iter().map(|o| o.name.clone()).collect()),
            builds: Some(builds),
            locations: Some(objects),
            ..config
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_covers_the_schema() {
        tfplugin::model::check_covers::<LocationFileModel>(&schema().block).unwrap();
    }

    #[test]
    fn validate_checks_known_content_and_the_choice_of_source() {
        let summaries = |model: LocationFileModel| {
            let mut diags = Diagnostics::new();
            LocationFileDataSource.validate(&model, &mut diags);
            diags.iter().map(|d| (d.summary.clone(), d.path.clone())).collect::<Vec<_>>()
        };
        let content = |text: &str| LocationFileModel { content: Field::Known(text.into()), ..Default::default() };
        assert!(summaries(content("locations:\n  - {location_name: a, code_source: {module_name: a}}\n")).is_empty());
        assert_eq!(
            summaries(content("locations:\n  - {location_name: a, code_source: x}\n")),
            [("Invalid dagster_cloud.yaml".to_string(), Some(Path::root().attr("content")))]
        );
        assert_eq!(summaries(LocationFileModel::default())[0].0, "Missing location file");
        let both = LocationFileModel { path: Field::Known("f".into()), ..content("locations: []") };
        assert_eq!(summaries(both)[0].0, "Conflicting location file");
        let unknown = LocationFileModel { content: Field::Unknown, ..Default::default() };
        assert!(summaries(unknown).is_empty(), "unknown content waits for plan");
        let overrides = LocationFileModel {
            image_overrides: Field::Known([("b".to_string(), "ghcr.io/a/b:1".to_string())].into()),
            ..content("locations:\n  - {location_name: a, code_source: {module_name: a}}\n")
        };
        assert_eq!(
            summaries(overrides),
            [("Invalid image override".to_string(), Some(Path::root().attr("image_overrides").key("b")))]
        );
    }
}
