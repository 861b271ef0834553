//! dagster-serdes JSON, both ways: the `CodeDeploymentMetadata` string that
//! `workspaceEntries.serializedDeploymentMetadata` carries (the CLI feeds it to
//! `deserialize_value`), and the `AgentHeartbeat` strings agents send.

use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::domain::agents::HeartbeatReport;
use crate::model::{AgentError, CodeSourceKind, GitInfo, LocationSpec};
use crate::pyjson;

/// The serialized `CodeDeploymentMetadata`, byte-for-byte as the Python
/// library writes it: every field present, `None` as `null`, sorted keys.
pub fn code_deployment_metadata(spec: &LocationSpec) -> String {
    let source = |kind: CodeSourceKind| (spec.code_source.kind == kind).then(|| spec.code_source.value.clone());
    let value = json!({
        "__class__": "CodeDeploymentMetadata",
        "agent_queue": spec.agent_queue,
        "attribute": spec.attribute,
        "autoload_defs_module_name": source(CodeSourceKind::AutoloadDefsModuleName),
        "cloud_context_env": {},
        "container_context": spec.container_context,
        "defs_state_info": spec.defs_state_info,
        "executable_path": spec.executable_path,
        "git_metadata": spec.git.as_ref().map(git_metadata),
        "image": spec.image,
        "module_name": source(CodeSourceKind::ModuleName),
        "package_name": source(CodeSourceKind::PackageName),
        "pex_metadata": spec.pex_metadata.as_ref().map(|p| json!({
            "__class__": "PexMetadata",
            "pex_tag": p.pex_tag,
            "python_version": p.python_version,
        })),
        "python_file": source(CodeSourceKind::PythonFile),
        "working_directory": spec.working_directory,
    });
    pyjson::dumps(&value)
}

// `GitMetadata` always writes `commit_hash` and `url`; the repository fields
// are skipped when unset (`skip_when_none_fields` in the library).
fn git_metadata(git: &GitInfo) -> Value {
    let mut map = Map::new();
    map.insert("__class__".into(), json!("GitMetadata"));
    map.insert("commit_hash".into(), json!(git.commit_hash));
    map.insert("url".into(), json!(git.url));
    let optional = [
        ("provider", &git.provider),
        ("repo_owner", &git.repo_owner),
        ("repo_name", &git.repo_name),
        ("base_branch", &git.base_branch),
        ("defs_base_path", &git.defs_base_path),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            map.insert(key.into(), json!(v));
        }
    }
    Value::Object(map)
}

#[derive(Debug, Error, PartialEq)]
pub enum HeartbeatDecodeError {
    #[error("serializedAgentHeartbeat is not JSON: {0}")]
    NotJson(String),
    #[error("serializedAgentHeartbeat must be a serialized AgentHeartbeat object, got {0}")]
    WrongShape(&'static str),
    #[error("serializedAgentHeartbeat field {field:?} must be {expected}")]
    Field { field: &'static str, expected: &'static str },
}

/// Decodes one serialized `AgentHeartbeat` for `deployment_name`. Lenient about
/// fields the emulator does not use (run workers, code servers), strict about
/// the ones it shows.
pub fn decode_heartbeat(serialized: &str, deployment_name: &str) -> Result<HeartbeatReport, HeartbeatDecodeError> {
    let value: Value = serde_json::from_str(serialized).map_err(|e| HeartbeatDecodeError::NotJson(e.to_string()))?;
    let map = value.as_object().ok_or(HeartbeatDecodeError::WrongShape("a non-object"))?;
    if let Some(class) = map.get("__class__").and_then(Value::as_str) {
        if class != "AgentHeartbeat" {
            return Err(HeartbeatDecodeError::WrongShape("another serdes class"));
        }
    }
    let string = |field: &'static str| -> Result<Option<String>, HeartbeatDecodeError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(HeartbeatDecodeError::Field { field, expected: "a string" }),
        }
    };
    let agent_id =
        string("agent_id")?.ok_or(HeartbeatDecodeError::Field { field: "agent_id", expected: "a non-null string" })?;
    let metadata = match map.get("metadata") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(_) => return Err(HeartbeatDecodeError::Field { field: "metadata", expected: "a map" }),
    };
    Ok(HeartbeatReport {
        agent_id: Some(agent_id),
        label: string("agent_label")?,
        deployments: Some(vec![deployment_name.to_owned()]),
        metadata,
        agent_type: string("agent_type")?,
        queues: queues(map.get("agent_queues_config")),
        errors: errors(map.get("errors")),
    })
}

// `AgentQueuesConfig { include_default_queue, additional_queues }`; absent
// means the default queue only.
fn queues(config: Option<&Value>) -> Vec<Option<String>> {
    let Some(config) = config.and_then(Value::as_object) else {
        return vec![None];
    };
    let include_default = config.get("include_default_queue").and_then(Value::as_bool).unwrap_or(true);
    let mut out: Vec<Option<String>> = Vec::new();
    if include_default {
        out.push(None);
    }
    if let Some(extra) = config.get("additional_queues").and_then(Value::as_array) {
        out.extend(extra.iter().filter_map(Value::as_str).map(|q| Some(q.to_owned())));
    }
    out
}

// Serialized `TimestampedError`s (`{timestamp, error: SerializableErrorInfo}`);
// anything else is kept as its text so no report is silently lost.
fn errors(errors: Option<&Value>) -> Vec<AgentError> {
    let Some(items) = errors.and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let message = item
                .get("error")
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            AgentError { timestamp: item.get("timestamp").and_then(Value::as_f64), message }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CodeSource, PexMetadata};

    #[test]
    fn metadata_matches_the_python_library_bytes() {
        // The exact string the real dagster-serdes library produced (API reference §4.3).
        let expected = r#"{"__class__": "CodeDeploymentMetadata", "agent_queue": "branch-queue", "attribute": "defs", "autoload_defs_module_name": null, "cloud_context_env": {}, "container_context": {"k8s": {"namespace": "bd"}}, "defs_state_info": null, "executable_path": "/usr/bin/python3", "git_metadata": {"__class__": "GitMetadata", "commit_hash": "abc123", "url": "https://github.com/acme/repo/tree/abc123"}, "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:abc", "module_name": null, "package_name": "my_pkg", "pex_metadata": null, "python_file": null, "working_directory": "/opt/app"}"#;
        let spec = LocationSpec {
            image: Some("123.dkr.ecr.us-east-1.amazonaws.com/app:abc".into()),
            code_source: CodeSource { kind: CodeSourceKind::PackageName, value: "my_pkg".into() },
            working_directory: Some("/opt/app".into()),
            executable_path: Some("/usr/bin/python3".into()),
            attribute: Some("defs".into()),
            agent_queue: Some("branch-queue".into()),
            container_context: json!({"k8s": {"namespace": "bd"}}),
            git: Some(GitInfo {
                commit_hash: Some("abc123".into()),
                url: Some("https://github.com/acme/repo/tree/abc123".into()),
                ..Default::default()
            }),
            pex_metadata: None,
            defs_state_info: None,
        };
        assert_eq!(code_deployment_metadata(&spec), expected);

        let pex = LocationSpec {
            pex_metadata: Some(PexMetadata { pex_tag: "t".into(), python_version: None }),
            git: Some(GitInfo { provider: Some("github".into()), ..Default::default() }),
            ..spec
        };
        let text = code_deployment_metadata(&pex);
        assert!(
            text.contains(r#""pex_metadata": {"__class__": "PexMetadata", "pex_tag": "t", "python_version": null}"#),
            "{text}"
        );
        assert!(text.contains(r#""git_metadata": {"__class__": "GitMetadata", "commit_hash": null, "provider": "github", "url": null}"#), "{text}");
    }

    #[test]
    fn heartbeats_decode_leniently() {
        let serialized = r#"{"__class__": "AgentHeartbeat", "agent_id": "a-1", "agent_label": "bd", "agent_type": "K8sUserCodeLauncher",
            "timestamp": 1.5, "metadata": {"version": "1.13.27"}, "run_worker_statuses": null, "code_server_heartbeats": [],
            "agent_queues_config": {"__class__": "AgentQueuesConfig", "include_default_queue": false, "additional_queues": ["q"]},
            "errors": [{"__class__": "TimestampedError", "timestamp": 1.0, "error": {"message": "boom"}}]}"#;
        let report = decode_heartbeat(serialized, "feature-x").unwrap();
        assert_eq!(report.agent_id.as_deref(), Some("a-1"));
        assert_eq!(report.label.as_deref(), Some("bd"));
        assert_eq!(report.queues, vec![Some("q".to_owned())]);
        assert_eq!(report.errors[0].message, "boom");
        assert_eq!(report.deployments, Some(vec!["feature-x".to_owned()]));
        assert!(decode_heartbeat("{}", "d").is_err());
        assert!(decode_heartbeat("nope", "d").is_err());
        assert!(decode_heartbeat(r#"{"agent_id": 3}"#, "d").is_err());
    }
}
