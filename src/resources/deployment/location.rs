//! A `code_location` block: the document `addOrUpdateLocationFromDocument` takes, the container context
//! compared by meaning, and the block as Dagster+ reports a deployed location.

use std::collections::BTreeSet;

use cty::Path;
use serde::{Deserialize, Serialize};
use tfplugin::{Diagnostics, Field};

use crate::dagster::locations::{DeployedLocation, LoadStatus};

/// `load_status` of a location whose last load failed, and of one that loaded.
pub const LOAD_ERROR: &str = "ERROR";
pub const LOAD_LOADED: &str = "LOADED";

/// Every attribute is a `Field`: plan-time code tells a value that is not known yet from one not set.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct LocationBlock {
    pub name: Field<String>,
    pub image: Field<String>,
    pub module_name: Field<String>,
    pub package_name: Field<String>,
    pub python_file: Field<String>,
    pub autoload_defs_module_name: Field<String>,
    pub working_directory: Field<String>,
    pub executable_path: Field<String>,
    pub attribute: Field<String>,
    pub agent_queue: Field<String>,
    pub container_context: Field<String>,
    pub load_status: Field<String>,
    pub git: Option<GitBlock>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct GitBlock {
    pub commit_hash: Field<String>,
    pub url: Field<String>,
}

/// Parses a container context written as JSON or YAML into its meaning (a JSON object).
pub fn parse_container_context(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => serde_norway::from_str(text).map_err(|e| format!("not valid JSON or YAML: {e}"))?,
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err("the container context must be an object, e.g. `{\"k8s\": {\"namespace\": \"branch\"}}`.".into())
    }
}

/// Whether two container-context texts mean the same thing.
pub fn same_container_context(a: &str, b: &str) -> bool {
    matches!((parse_container_context(a), parse_container_context(b)), (Ok(x), Ok(y)) if x == y)
}

pub fn location_path(index: usize) -> Path {
    Path::root().attr("code_location").index(index as i64)
}

/// Adds the fields that are set, leaving unset ones out of the document.
fn insert_present(map: &mut serde_json::Map<String, serde_json::Value>, fields: &[(&str, &Field<String>)]) {
    for (key, value) in fields {
        if let Some(v) = value.known() {
            map.insert((*key).into(), v.clone().into());
        }
    }
}

impl LocationBlock {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    pub fn has_load_status(&self, status: &str) -> bool {
        self.load_status.as_deref() == Some(status)
    }

    /// The code sources, by attribute name, of which exactly one must be set.
    fn code_sources(&self) -> [(&'static str, &Field<String>); 4] {
        [
            ("module_name", &self.module_name),
            ("package_name", &self.package_name),
            ("python_file", &self.python_file),
            ("autoload_defs_module_name", &self.autoload_defs_module_name),
        ]
    }

    /// The snake_case document `addOrUpdateLocationFromDocument` takes.
    pub fn document(&self) -> serde_json::Value {
        let mut code_source = serde_json::Map::new();
        insert_present(&mut code_source, &self.code_sources());
        let mut document = serde_json::Map::new();
        document.insert("location_name".into(), self.name().into());
        insert_present(&mut document, &[("image", &self.image)]);
        document.insert("code_source".into(), code_source.into());
        insert_present(
            &mut document,
            &[
                ("working_directory", &self.working_directory),
                ("executable_path", &self.executable_path),
                ("attribute", &self.attribute),
                ("agent_queue", &self.agent_queue),
            ],
        );
        if let Some(context) = self.container_context.as_deref().and_then(|c| parse_container_context(c).ok()) {
            document.insert("container_context".into(), context);
        }
        let mut git = serde_json::Map::new();
        if let Some(g) = &self.git {
            insert_present(&mut git, &[("commit_hash", &g.commit_hash), ("url", &g.url)]);
        }
        document.insert("git".into(), git.into());
        serde_json::Value::Object(document)
    }

    /// Whether the deployed location matches this configuration (ignoring the load status).
    pub fn matches(&self, deployed: &LocationBlock) -> bool {
        let contexts_match = match (self.container_context.known(), deployed.container_context.known()) {
            (Some(a), Some(b)) => same_container_context(a, b),
            _ => self.container_context == deployed.container_context,
        };
        let comparable =
            |l: &LocationBlock| LocationBlock { container_context: Field::Null, load_status: Field::Null, ..l.clone() };
        contexts_match && comparable(self) == comparable(deployed)
    }

    /// Whether the two blocks are equal but for their load status (unknown values compare as such).
    pub fn same_but_load_status(&self, other: &LocationBlock) -> bool {
        let comparable = |l: &LocationBlock| LocationBlock { load_status: Field::Null, ..l.clone() };
        comparable(self) == comparable(other)
    }

    /// The configuration as Dagster+ reports it, keeping the configured text of an equivalent container
    /// context so that formatting never shows as a change.
    pub fn from_deployed(
        deployed: &DeployedLocation,
        configured: Option<&LocationBlock>,
        status: Option<&LoadStatus>,
    ) -> LocationBlock {
        let container_context =
            deployed.container_context.as_ref().filter(|c| c.as_object().is_some_and(|o| !o.is_empty())).map(
                |server| {
                    configured
                        .and_then(|c| c.container_context.known().cloned())
                        .filter(|text| parse_container_context(text).ok().as_ref() == Some(server))
                        .unwrap_or_else(|| server.to_string())
                },
            );
        let git = deployed.git_metadata.as_ref().filter(|g| g.commit_hash.is_some() || g.url.is_some()).map(|g| {
            GitBlock { commit_hash: Field::from_option(g.commit_hash.clone()), url: Field::from_option(g.url.clone()) }
        });
        let text = |value: &Option<String>| Field::from_option(value.clone());
        LocationBlock {
            name: Field::Known(deployed.name.clone()),
            image: text(&deployed.image),
            module_name: text(&deployed.module_name),
            package_name: text(&deployed.package_name),
            python_file: text(&deployed.python_file),
            autoload_defs_module_name: text(&deployed.autoload_defs_module_name),
            working_directory: text(&deployed.working_directory),
            executable_path: text(&deployed.executable_path),
            attribute: text(&deployed.attribute),
            agent_queue: text(&deployed.agent_queue),
            container_context: Field::from_option(container_context),
            load_status: Field::from_option(status.map(|s| s.as_str().to_string())),
            git,
        }
    }
}

/// Checks what the schema cannot: names are unique, and each location has exactly one code source.
/// Unknown values are checked once they are known.
pub fn validate(locations: &[LocationBlock], diags: &mut Diagnostics) {
    let mut seen = BTreeSet::new();
    for (index, location) in locations.iter().enumerate() {
        let path = location_path(index);
        if let Some(name) = location.name.known() {
            if !seen.insert(name.as_str()) {
                diags.attribute_error(
                    path.attr("name"),
                    "Duplicate code location name",
                    format!("`{name}` is used by more than one `code_location` block; names must be unique."),
                );
            }
        }
        let sources = location.code_sources();
        if sources.iter().any(|(_, value)| value.is_unknown()) {
            continue;
        }
        let all = sources.map(|(name, _)| name).join(", ");
        let set: Vec<&str> = sources.iter().filter(|(_, value)| !value.is_null()).map(|(name, _)| *name).collect();
        match set.len() {
            1 => {}
            0 => diags.attribute_error(path, "Code location has no code source", format!("Set exactly one of {all}.")),
            _ => diags.attribute_error(
                path.attr(set[1]),
                "Code location has more than one code source",
                format!("{} are all set; set exactly one of {all}.", set.join(" and ")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(text: &str) -> Field<String> {
        Field::Known(text.to_string())
    }

    #[test]
    fn container_contexts_compare_by_meaning() {
        assert!(same_container_context(r#"{"k8s":{"namespace":"bd"}}"#, "k8s:\n  namespace: bd\n"));
        assert!(!same_container_context(r#"{"k8s":{"namespace":"bd"}}"#, "k8s:\n  namespace: other\n"));
        assert!(parse_container_context("[1, 2]").is_err());
        assert!(parse_container_context("{not json").is_err());
    }

    #[test]
    fn location_document_has_the_wire_shape() {
        let location = LocationBlock {
            name: known("etl"),
            image: known("ghcr.io/acme/etl:abc"),
            module_name: known("etl.defs"),
            agent_queue: known("branch"),
            container_context: known("k8s:\n  namespace: bd\n"),
            git: Some(GitBlock { commit_hash: known("abc"), url: Field::Null }),
            ..LocationBlock::default()
        };
        assert_eq!(
            location.document(),
            serde_json::json!({
                "location_name": "etl",
                "image": "ghcr.io/acme/etl:abc",
                "code_source": {"module_name": "etl.defs"},
                "agent_queue": "branch",
                "container_context": {"k8s": {"namespace": "bd"}},
                "git": {"commit_hash": "abc"}
            })
        );
    }

    #[test]
    fn a_location_needs_exactly_one_known_code_source_and_a_unique_name() {
        let location = |module: Field<String>, file: Field<String>| LocationBlock {
            name: known("etl"),
            module_name: module,
            python_file: file,
            ..LocationBlock::default()
        };
        let summaries = |locations: &[LocationBlock]| {
            let mut diags = Diagnostics::new();
            validate(locations, &mut diags);
            diags.iter().map(|d| d.summary.clone()).collect::<Vec<_>>()
        };
        assert!(summaries(&[location(known("m"), Field::Null)]).is_empty());
        assert!(summaries(&[location(known("m"), Field::Unknown)]).is_empty(), "unknown sources wait until known");
        assert_eq!(summaries(&[location(Field::Null, Field::Null)]), ["Code location has no code source"]);
        assert_eq!(summaries(&[location(known("m"), known("f.py"))]), ["Code location has more than one code source"]);
        assert_eq!(
            summaries(&[location(known("m"), Field::Null), location(known("m"), Field::Null)]),
            ["Duplicate code location name"]
        );
    }

    #[test]
    fn a_deployed_location_keeps_the_configured_spelling_of_its_container_context() {
        let deployed = DeployedLocation {
            name: "etl".into(),
            module_name: Some("etl.defs".into()),
            container_context: Some(serde_json::json!({"k8s": {"namespace": "bd"}})),
            ..DeployedLocation::default()
        };
        let configured =
            LocationBlock { container_context: known("k8s:\n  namespace: bd\n"), ..LocationBlock::default() };
        let block = LocationBlock::from_deployed(&deployed, Some(&configured), Some(&LoadStatus::Loaded));
        assert_eq!(block.container_context, known("k8s:\n  namespace: bd\n"));
        assert!(block.has_load_status(LOAD_LOADED));
        assert!(block
            .matches(&LocationBlock { container_context: known(r#"{"k8s":{"namespace":"bd"}}"#), ..block.clone() }));
    }
}
