//! Validating the snake_case location document that `addOrUpdateLocationFromDocument`,
//! `reconcileLocationsFromDocument` and `deployLocations` carry in a `GenericScalar`.
//!
//! Every problem is collected (not just the first), because the CLI prints the
//! whole `InvalidLocationError.errors` list. Wording follows Dagster's config
//! system ("Missing required config entry …", "Received unexpected config entry …").

use serde_json::{Map, Value};

use crate::model::{CodeSource, CodeSourceKind, GitInfo, LocationSpec, PexMetadata};

const TOP_LEVEL_KEYS: &[&str] = &[
    "location_name",
    "image",
    "code_source",
    "working_directory",
    "executable_path",
    "attribute",
    "agent_queue",
    "container_context",
    "git",
    "pex_metadata",
    "pex_bundle",
    "defs_state_info",
];
const GIT_KEYS: &[&str] =
    &["commit_hash", "url", "provider", "repo_owner", "repo_name", "base_branch", "defs_base_path"];
const PEX_KEYS: &[&str] = &["pex_tag", "python_version"];
const MAX_NAME_LEN: usize = 200;

#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLocation {
    pub name: String,
    pub spec: LocationSpec,
}

/// What the deployment requires beyond the document's own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirements {
    /// Serverless deployments have no agent image to fall back on.
    pub image_or_pex: bool,
}

pub fn parse_location(doc: &Value, req: Requirements) -> Result<ParsedLocation, Vec<String>> {
    let mut errors = Vec::new();
    let parsed = parse_into(doc, req, "root", &mut errors);
    match parsed {
        Some(location) if errors.is_empty() => Ok(location),
        _ => Err(errors),
    }
}

/// `{"locations": [ … ]}`; names must be unique. Errors name the entry they are about.
pub fn parse_locations(doc: &Value, req: Requirements) -> Result<Vec<ParsedLocation>, Vec<String>> {
    let mut errors = Vec::new();
    let Some(map) = doc.as_object() else {
        return Err(vec![format!(
            "Invalid config at the root: expected a map with a \"locations\" list, got {}.",
            describe(doc)
        )]);
    };
    for key in map.keys().filter(|k| k.as_str() != "locations") {
        errors.push(format!("Received unexpected config entry \"{key}\" at the root."));
    }
    let entries = match map.get("locations") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => {
            errors.push(format!("Value at path root:locations must be a list, got {}.", describe(other)));
            &[]
        }
        None => {
            errors.push("Missing required config entry \"locations\" at the root.".into());
            &[]
        }
    };
    let mut out: Vec<ParsedLocation> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("root:locations[{i}]");
        if let Some(location) = parse_into(entry, req, &path, &mut errors) {
            if out.iter().any(|l| l.name == location.name) {
                errors.push(format!("Duplicate location name \"{}\".", location.name));
            }
            out.push(location);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn parse_into(doc: &Value, req: Requirements, path: &str, errors: &mut Vec<String>) -> Option<ParsedLocation> {
    let Some(map) = doc.as_object() else {
        errors.push(format!("Invalid location at path {path}: expected a map, got {}.", describe(doc)));
        return None;
    };
    let before = errors.len();
    unexpected_keys(map, TOP_LEVEL_KEYS, path, errors);
    let mut field = |key: &str| string_field(map, key, path, errors);
    let name = field("location_name");
    let image = field("image");
    let working_directory = field("working_directory");
    let executable_path = field("executable_path");
    let attribute = field("attribute");
    let agent_queue = field("agent_queue");

    let name = match name {
        Some(name) => {
            validate_name(&name, path, errors);
            name
        }
        None => {
            errors.push(format!("Missing required config entry \"location_name\" at {}.", at(path)));
            String::new()
        }
    };
    let code_source = code_source(map.get("code_source"), path, errors);
    let container_context = match present(map, "container_context") {
        None => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            errors.push(format!("Value at path {path}:container_context must be a map, got {}.", describe(other)));
            Value::Object(Map::new())
        }
    };
    let git = git(present(map, "git"), path, errors);
    let pex_metadata = pex(present(map, "pex_metadata"), path, errors);
    if let Some(v) = present(map, "pex_bundle").filter(|v| !v.is_boolean()) {
        errors.push(format!("Value at path {path}:pex_bundle must be a boolean, got {}.", describe(v)));
    }
    let defs_state_info = match present(map, "defs_state_info") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(other) => {
            errors.push(format!("Value at path {path}:defs_state_info must be a map, got {}.", describe(other)));
            None
        }
    };
    if req.image_or_pex && image.is_none() && pex_metadata.is_none() {
        errors.push(format!(
            "Location \"{name}\" has no image: code locations in a serverless deployment need an image or pex_metadata."
        ));
    }
    if errors.len() > before {
        return None;
    }
    Some(ParsedLocation {
        name,
        spec: LocationSpec {
            image,
            code_source: code_source?,
            working_directory,
            executable_path,
            attribute,
            agent_queue,
            container_context,
            git,
            pex_metadata,
            defs_state_info,
        },
    })
}

fn validate_name(name: &str, path: &str, errors: &mut Vec<String>) {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
        errors.push(format!(
            "Invalid location_name \"{name}\" at {}: use 1 to {MAX_NAME_LEN} letters, digits, '_', '-' or '.'.",
            at(path)
        ));
    }
}

fn code_source(value: Option<&Value>, path: &str, errors: &mut Vec<String>) -> Option<CodeSource> {
    let map = match value {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => {
            errors.push(format!("Missing required config entry \"code_source\" at {}. {}", at(path), EXACTLY_ONE));
            return None;
        }
        Some(other) => {
            errors.push(format!("Value at path {path}:code_source must be a map, got {}.", describe(other)));
            return None;
        }
    };
    let sub = format!("{path}:code_source");
    let keys: Vec<&str> = CodeSourceKind::ALL.iter().map(|k| k.key()).collect();
    unexpected_keys(map, &keys, &sub, errors);
    let mut given = Vec::new();
    for kind in CodeSourceKind::ALL {
        // Empty strings do not count, like the truthiness test of the real invariant.
        if let Some(value) = string_field(map, kind.key(), &sub, errors).filter(|v| !v.is_empty()) {
            given.push(CodeSource { kind, value });
        }
    }
    if given.len() != 1 {
        let names: Vec<&str> = given.iter().map(|s| s.kind.key()).collect();
        let got = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        errors.push(format!("{EXACTLY_ONE} Got: {got}."));
        return None;
    }
    given.pop()
}

const EXACTLY_ONE: &str =
    "Must supply exactly one of python_file, package_name, module_name, or autoload_defs_module_name.";

fn git(value: Option<&Value>, path: &str, errors: &mut Vec<String>) -> Option<GitInfo> {
    let map = match value {
        None => return None,
        Some(Value::Object(map)) => map,
        Some(other) => {
            errors.push(format!("Value at path {path}:git must be a map, got {}.", describe(other)));
            return None;
        }
    };
    let sub = format!("{path}:git");
    unexpected_keys(map, GIT_KEYS, &sub, errors);
    let mut field = |key: &str| string_field(map, key, &sub, errors);
    let info = GitInfo {
        commit_hash: field("commit_hash"),
        url: field("url"),
        provider: field("provider"),
        repo_owner: field("repo_owner"),
        repo_name: field("repo_name"),
        base_branch: field("base_branch"),
        defs_base_path: field("defs_base_path"),
    };
    // The CLI sends `"git": {}` when it has nothing; that means "no git metadata".
    (info != GitInfo::default()).then_some(info)
}

fn pex(value: Option<&Value>, path: &str, errors: &mut Vec<String>) -> Option<PexMetadata> {
    let map = match value {
        None => return None,
        Some(Value::Object(map)) => map,
        Some(other) => {
            errors.push(format!("Value at path {path}:pex_metadata must be a map, got {}.", describe(other)));
            return None;
        }
    };
    let sub = format!("{path}:pex_metadata");
    unexpected_keys(map, PEX_KEYS, &sub, errors);
    let pex_tag = string_field(map, "pex_tag", &sub, errors);
    let python_version = string_field(map, "python_version", &sub, errors);
    match pex_tag {
        Some(pex_tag) => Some(PexMetadata { pex_tag, python_version }),
        None => {
            errors.push(format!("Missing required config entry \"pex_tag\" at path {sub}."));
            None
        }
    }
}

/// A string value, or `None` when absent or null (clients send explicit nulls).
fn string_field(map: &Map<String, Value>, key: &str, path: &str, errors: &mut Vec<String>) -> Option<String> {
    match present(map, key) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            errors.push(format!("Value at path {path}:{key} must be a string, got {}.", describe(other)));
            None
        }
    }
}

fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn unexpected_keys(map: &Map<String, Value>, allowed: &[&str], path: &str, errors: &mut Vec<String>) {
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.push(format!("Received unexpected config entry \"{key}\" at {}.", at(path)));
    }
}

fn at(path: &str) -> String {
    if path == "root" {
        "the root".to_owned()
    } else {
        format!("path {path}")
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HYBRID: Requirements = Requirements { image_or_pex: false };

    #[test]
    fn accepts_the_captured_documents() {
        let file_doc = json!({"location_name": "bd_location", "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:def",
            "code_source": {"module_name": "my_pkg.definitions"}, "working_directory": "/opt/app",
            "executable_path": "/usr/local/bin/python", "attribute": "defs", "agent_queue": "branch-queue",
            "container_context": {"ecs": {"env_vars": ["FOO=bar"], "run_resources": {"cpu": "1024", "memory": "2048"}}},
            "git": {"commit_hash": "fileabc"}});
        let parsed = parse_location(&file_doc, HYBRID).unwrap();
        assert_eq!(parsed.name, "bd_location");
        assert_eq!(parsed.spec.code_source.kind, CodeSourceKind::ModuleName);
        assert_eq!(parsed.spec.agent_queue.as_deref(), Some("branch-queue"));
        assert_eq!(parsed.spec.git.and_then(|g| g.commit_hash).as_deref(), Some("fileabc"));

        let autoload =
            json!({"location_name": "loc_d", "code_source": {"autoload_defs_module_name": "my_proj.defs"}, "git": {}});
        let parsed = parse_location(&autoload, HYBRID).unwrap();
        assert_eq!(parsed.spec.git, None);
        assert_eq!(parsed.spec.image, None);

        let deploy = json!({"locations": [{"location_name": "bd_location", "code_source": {"package_name": "my_pkg"},
            "agent_queue": "branch-queue", "container_context": {"k8s": {"namespace": "bd"}},
            "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:sha-3cba70d",
            "git": {"provider": "github", "repo_owner": "acme", "repo_name": "data-platform"}}]});
        let parsed = parse_locations(&deploy, HYBRID).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].spec.git.as_ref().and_then(|g| g.repo_owner.as_deref()), Some("acme"));
    }

    #[test]
    fn reports_every_problem() {
        let bad = json!({"image": 3, "code_source": {"python_file": "a.py", "package_name": "p"}, "bogus": 1});
        let errors = parse_location(&bad, HYBRID).unwrap_err();
        let text = errors.join("\n");
        assert!(text.contains("unexpected config entry \"bogus\""), "{text}");
        assert!(text.contains("root:image must be a string"), "{text}");
        assert!(text.contains("\"location_name\""), "{text}");
        assert!(text.contains("exactly one of") && text.contains("python_file, package_name"), "{text}");

        let no_source = json!({"location_name": "x", "image": "i"});
        assert!(parse_location(&no_source, HYBRID).unwrap_err()[0].contains("code_source"));

        let no_image = json!({"location_name": "x", "code_source": {"package_name": "p"}});
        let serverless = Requirements { image_or_pex: true };
        assert!(parse_location(&no_image, serverless).unwrap_err()[0].contains("no image"));
        let with_pex =
            json!({"location_name": "x", "code_source": {"package_name": "p"}, "pex_metadata": {"pex_tag": "t"}});
        assert!(parse_location(&with_pex, serverless).is_ok());

        let dup = json!({"locations": [
            {"location_name": "a", "code_source": {"package_name": "p"}},
            {"location_name": "a", "code_source": {"package_name": "p"}}]});
        assert!(parse_locations(&dup, HYBRID).unwrap_err()[0].contains("Duplicate"));
        assert!(parse_location(&json!({"location_name": "a b", "code_source": {"package_name": "p"}}), HYBRID).is_err());
    }
}
