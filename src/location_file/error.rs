//! What can be wrong with a `dagster_cloud.yaml`, said the way a reader finds it in the file: the location by
//! index and name, then the key (`locations[1] ("etl"): code_source: expected a mapping, got a string`).

use std::fmt;

/// Where in the file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The top level of the file.
    Root,
    /// The `defaults` mapping.
    Defaults,
    /// One entry of `locations`, with its `location_name` when it has a readable one.
    Location { index: usize, name: Option<String> },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Root => f.write_str("the file"),
            Place::Defaults => f.write_str("defaults"),
            Place::Location { index, name: Some(name) } => write!(f, "locations[{index}] ({name:?})"),
            Place::Location { index, name: None } => write!(f, "locations[{index}]"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("expected {expected}, got {got}")]
    WrongType { expected: &'static str, got: &'static str },
    #[error("unexpected key (allowed: {allowed})")]
    UnexpectedKey { allowed: String },
    #[error("missing (required)")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("set exactly one of package_name, module_name, python_file, autoload_defs_module_name ({0})")]
    CodeSource(String),
    #[error("the name is also used by locations[{0}]")]
    DuplicateName(usize),
    #[error("{0}")]
    Image(String),
    /// The whole text is one line naming a YAML file: a path was passed where the file's text belongs.
    #[error(
        "got the text {0:?}, which looks like a file name; pass the file's content (`file(\"...\")`) or use `path`"
    )]
    PathNotContent(String),
}

/// A problem at a place, under a key path (`code_source`, `build.registry`; empty for the place itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LocationFileError {
    pub place: Place,
    pub key: String,
    pub problem: Problem,
}

impl fmt::Display for LocationFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key.as_str() {
            "" => write!(f, "{}: {}", self.place, self.problem),
            key => write!(f, "{}: {key}: {}", self.place, self.problem),
        }
    }
}

impl LocationFileError {
    pub fn new(place: &Place, key: impl Into<String>, problem: Problem) -> Self {
        LocationFileError { place: place.clone(), key: key.into(), problem }
    }
}

/// How a YAML value is described in "expected …, got …".
pub fn describe(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}
