//! `location_file(content, image_overrides)`: the same objects as `data.dagsterbranch_location_file`'s
//! `locations`, for Terraform ≥ 1.8 configurations that prefer an expression to a data source.

use std::collections::BTreeMap;

use cty::Type;
use tfplugin::{Function, FunctionError, Parameter, Signature};

use crate::data_sources::location_file::{read_locations, ReadError};
use crate::location_file::output::{object_type, ATTRIBUTES_DOC};
use crate::location_file::LocationObject;

pub struct LocationFile;

impl Function for LocationFile {
    type Args = (String, Option<BTreeMap<String, String>>);
    type Return = Vec<LocationObject>;

    fn name(&self) -> &'static str {
        "location_file"
    }

    fn signature(&self) -> Signature {
        Signature::new(
            "The code locations of a dagster_cloud.yaml, for dynamic \"code_location\"",
            format!("Reads the text of a `dagster_cloud.yaml` (the file `dagster-cloud deployment add-location --location-file` reads) and returns its locations in file order, ready for `dynamic \"code_location\"` of `dagsterbranch_deployment`; the same as the `locations` of `data.dagsterbranch_location_file`. {ATTRIBUTES_DOC} A problem in the file fails naming the location and key."),
            Type::list(object_type()),
        )
        .parameter(Parameter::new("content", Type::String, "The file's text, e.g. `file(\"${path.module}/dagster_cloud.yaml\")`."))
        .parameter(
            Parameter::new("image_overrides", Type::map(Type::String), "Images by location name, replacing the file's; the key `*` gives the image of every location without its own entry or an image in the file; `{}` or `null` for none. A key naming no location is an error.")
                .allow_null(),
        )
    }

    fn call(&self, (content, overrides): Self::Args) -> Result<Vec<LocationObject>, FunctionError> {
        read_locations(&content, &overrides.unwrap_or_default()).map_err(|e| match e {
            ReadError::File(e) => FunctionError::argument(0, format!("invalid dagster_cloud.yaml: {e}")),
            ReadError::Override(e) => FunctionError::argument(1, e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "locations:\n  - location_name: etl\n    code_source: {module_name: etl.defs}\n";

    #[test]
    fn returns_the_locations_with_overrides() {
        let overrides = BTreeMap::from([("etl".to_string(), "ghcr.io/acme/etl:1".to_string())]);
        let objects = LocationFile.call((FILE.into(), Some(overrides))).unwrap();
        assert_eq!(objects[0].image.as_deref(), Some("ghcr.io/acme/etl:1"));
        assert_eq!(objects[0].module_name.as_deref(), Some("etl.defs"));
        assert!(LocationFile.call((FILE.into(), None)).unwrap()[0].image.is_none());
    }

    #[test]
    fn errors_blame_the_file_or_the_overrides() {
        let bad_file = LocationFile.call(("locations:\n  - location_name: etl\n".into(), None)).unwrap_err();
        assert_eq!(bad_file.argument, Some(0));
        assert!(bad_file.text.contains(r#"locations[0] ("etl"): code_source"#), "{}", bad_file.text);
        let overrides = BTreeMap::from([("other".to_string(), "ghcr.io/acme/etl:1".to_string())]);
        assert_eq!(LocationFile.call((FILE.into(), Some(overrides))).unwrap_err().argument, Some(1));
    }
}
