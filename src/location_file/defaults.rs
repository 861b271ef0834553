//! `defaults` merged into each location the way `dagster-cloud ci` merges them (its
//! `DagsterCloudConfigDefaultsMerger`): mappings merge key by key, a location's scalar wins, and lists are
//! combined by a per-path rule (environment variables by name, sidecars and volumes by `name`, tags by
//! `key`, container args and commands replaced, anything else concatenated without duplicates).

use serde_json::{Map, Value};

/// How two lists at one path combine.
enum ListRule {
    Deduplicate,
    Replace,
    /// `NAME=value` strings: the location's entry replaces the default with the same name.
    KeyValue,
    /// Mappings identified by this key: the location's replaces the default with the same identity.
    Identified(&'static str),
}

fn rule(path: &str) -> ListRule {
    match path {
        "container_context.docker.env_vars" | "container_context.ecs.env_vars" | "container_context.k8s.env_vars" => {
            ListRule::KeyValue
        }
        "container_context.ecs.run_sidecar_containers"
        | "container_context.ecs.secrets"
        | "container_context.ecs.server_sidecar_containers"
        | "container_context.ecs.volumes"
        | "container_context.k8s.image_pull_secrets"
        | "container_context.k8s.volumes"
        | "container_context.k8s.volume_mounts" => ListRule::Identified("name"),
        "container_context.ecs.run_ecs_tags" | "container_context.ecs.server_ecs_tags" => ListRule::Identified("key"),
        "container_context.k8s.run_k8s_config.container_config.args"
        | "container_context.k8s.run_k8s_config.container_config.command"
        | "container_context.k8s.server_k8s_config.container_config.args"
        | "container_context.k8s.server_k8s_config.container_config.command" => ListRule::Replace,
        _ => ListRule::Deduplicate,
    }
}

/// `location` laid over `defaults`. Nulls in either count as absent, as the CLI drops them first.
pub fn merge(defaults: &Map<String, Value>, location: &Map<String, Value>) -> Map<String, Value> {
    let mut merged = without_nulls(defaults);
    merge_into("", &mut merged, &without_nulls(location));
    merged
}

fn without_nulls(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                Value::Object(inner) => Value::Object(without_nulls(inner)),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn merge_into(parent: &str, onto: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (key, value) in from {
        let path = if parent.is_empty() { key.clone() } else { format!("{parent}.{key}") };
        match (onto.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => merge_into(&path, existing, incoming),
            (Some(Value::Array(existing)), Value::Array(incoming)) => {
                *existing = merge_lists(&path, incoming, existing);
            }
            _ => {
                onto.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_lists(path: &str, from: &[Value], onto: &[Value]) -> Vec<Value> {
    match rule(path) {
        ListRule::Replace => from.to_vec(),
        ListRule::Deduplicate => {
            let mut out: Vec<Value> = Vec::new();
            for item in onto.iter().chain(from) {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            out
        }
        ListRule::KeyValue => {
            let name = |v: &Value| v.as_str().map(|s| s.split('=').next().unwrap_or_default().to_string());
            let overridden: Vec<Option<String>> = from.iter().map(name).collect();
            onto.iter().filter(|v| !overridden.contains(&name(v))).chain(from).cloned().collect()
        }
        ListRule::Identified(id) => {
            let identity = |v: &Value| v.get(id).cloned();
            let overridden: Vec<Option<Value>> = from.iter().map(identity).collect();
            onto.iter().filter(|v| !overridden.contains(&identity(v))).chain(from).cloned().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_location_wins_and_mappings_merge_deeply() {
        let defaults = map(json!({"image": "base:1", "build": {"registry": "r"},
            "container_context": {"k8s": {"namespace": "bd", "env_vars": ["A=1", "B=2"]}}}));
        let location = map(json!({"location_name": "etl", "image": "etl:1", "build": {"directory": "etl"},
            "container_context": {"k8s": {"env_vars": ["B=3"], "labels": null}}}));
        assert_eq!(
            Value::Object(merge(&defaults, &location)),
            json!({"image": "etl:1", "location_name": "etl", "build": {"registry": "r", "directory": "etl"},
                "container_context": {"k8s": {"namespace": "bd", "env_vars": ["A=1", "B=3"]}}})
        );
    }

    #[test]
    fn lists_follow_the_cli_rules_per_path() {
        let identified = merge_lists(
            "container_context.k8s.volumes",
            &[json!({"name": "a", "x": 2})],
            &[json!({"name": "a", "x": 1}), json!({"name": "b"})],
        );
        assert_eq!(identified, [json!({"name": "b"}), json!({"name": "a", "x": 2})]);
        let replaced =
            merge_lists("container_context.k8s.run_k8s_config.container_config.args", &[json!("b")], &[json!("a")]);
        assert_eq!(replaced, [json!("b")]);
        assert_eq!(merge_lists("other", &[json!(1), json!(2)], &[json!(2), json!(3)]), [json!(2), json!(3), json!(1)]);
    }
}
