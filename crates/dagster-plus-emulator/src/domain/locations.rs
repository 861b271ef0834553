//! Code locations of a deployment and their simulated loading.
//!
//! No code server runs: an updated location is `LOADING` until its `ready_at`
//! time, then `LOADED`, with a load error when its image matched the
//! failing-image pattern at update time.

use serde_json::{json, Map, Value};

use super::location_document::ParsedLocation;
use super::{glob, DomainError};
use crate::model::{CodeLocation, Deployment, LocationLoad, LocationSpec, RepositoryLocationLoadStatus, State};

/// When a location being (re)deployed finishes loading, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadPlan {
    pub ready_at: f64,
    pub error: Option<String>,
}

/// The load outcome for `spec` under the current simulation settings.
pub fn plan_load(
    name: &str,
    spec: &LocationSpec,
    now: f64,
    delay_s: f64,
    failing_image_pattern: Option<&str>,
) -> LoadPlan {
    let error = match (spec.image.as_deref(), failing_image_pattern) {
        (Some(image), Some(pattern)) if glob::pattern_matches(pattern, image) => Some(format!(
            "Could not load code location \"{name}\": the code server for image \"{image}\" failed to start (the image matches the emulator's failing-image pattern \"{pattern}\")"
        )),
        _ => None,
    };
    LoadPlan { ready_at: now + delay_s, error }
}

/// Adds or replaces a location; it starts loading again either way, as a
/// redeploy would.
pub fn upsert(
    state: &mut State,
    deployment_id: i64,
    parsed: ParsedLocation,
    now: f64,
    plan: LoadPlan,
) -> Result<CodeLocation, DomainError> {
    let deployment = deployment_mut(state, deployment_id)?;
    let load =
        LocationLoad { status: RepositoryLocationLoadStatus::Loading, ready_at: plan.ready_at, error: plan.error };
    let location = match deployment.locations.iter_mut().find(|l| l.location_name == parsed.name) {
        Some(existing) => {
            existing.spec = parsed.spec;
            existing.updated_at = now;
            existing.revision += 1;
            existing.load = load;
            existing.clone()
        }
        None => {
            let location =
                CodeLocation { location_name: parsed.name, spec: parsed.spec, updated_at: now, revision: 1, load };
            deployment.locations.push(location.clone());
            location
        }
    };
    tracing::info!(deployment = %deployment.deployment_name, location = %location.location_name, "code location added or updated");
    Ok(location)
}

pub fn delete(state: &mut State, deployment_id: i64, name: &str) -> Result<(), DomainError> {
    let deployment = deployment_mut(state, deployment_id)?;
    let before = deployment.locations.len();
    deployment.locations.retain(|l| l.location_name != name);
    if deployment.locations.len() == before {
        return Err(DomainError::LocationNotFound(name.to_owned()));
    }
    tracing::info!(deployment = %deployment.deployment_name, location = %name, "code location deleted");
    Ok(())
}

/// Makes the deployment's locations exactly `parsed`: removes the others,
/// redeploys changed ones, and leaves unchanged ones as they are.
pub fn reconcile(
    state: &mut State,
    deployment_id: i64,
    parsed: Vec<ParsedLocation>,
    now: f64,
    plan: impl Fn(&ParsedLocation) -> LoadPlan,
) -> Result<Vec<CodeLocation>, DomainError> {
    let deployment = deployment_mut(state, deployment_id)?;
    deployment.locations.retain(|l| parsed.iter().any(|p| p.name == l.location_name));
    deploy(state, deployment_id, parsed, now, plan, true)
}

/// Adds or updates each of `parsed`, leaving other locations alone. With
/// `skip_unchanged`, a location whose spec did not change keeps its load state.
pub fn deploy(
    state: &mut State,
    deployment_id: i64,
    parsed: Vec<ParsedLocation>,
    now: f64,
    plan: impl Fn(&ParsedLocation) -> LoadPlan,
    skip_unchanged: bool,
) -> Result<Vec<CodeLocation>, DomainError> {
    let mut out = Vec::new();
    for location in parsed {
        let unchanged = deployment_mut(state, deployment_id)?
            .locations
            .iter()
            .find(|l| l.location_name == location.name && l.spec == location.spec)
            .cloned();
        match unchanged {
            Some(existing) if skip_unchanged => out.push(existing),
            _ => {
                let load = plan(&location);
                out.push(upsert(state, deployment_id, location, now, load)?);
            }
        }
    }
    Ok(out)
}

pub fn has_due_loads(state: &State, now: f64) -> bool {
    all_locations(state).any(|l| is_due(l, now))
}

pub fn complete_due_loads(state: &mut State, now: f64) {
    for deployment in &mut state.deployments {
        for location in &mut deployment.locations {
            if is_due(location, now) {
                location.load.status = RepositoryLocationLoadStatus::Loaded;
                match &location.load.error {
                    Some(error) => {
                        tracing::info!(location = %location.location_name, %error, "code location failed to load")
                    }
                    None => {
                        tracing::info!(location = %location.location_name, "code location loaded")
                    }
                }
            }
        }
    }
}

fn is_due(location: &CodeLocation, now: f64) -> bool {
    location.load.status == RepositoryLocationLoadStatus::Loading && location.load.ready_at <= now
}

fn all_locations(state: &State) -> impl Iterator<Item = &CodeLocation> {
    state.deployments.iter().flat_map(|d| d.locations.iter())
}

/// The location as a document entry, as `locationsAsDocument` serves it:
/// the snake_case keys the client sent, without empty ones.
pub fn as_document(location: &CodeLocation) -> Value {
    let spec = &location.spec;
    let mut doc = Map::new();
    doc.insert("location_name".into(), json!(location.location_name));
    let mut put = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            doc.insert(key.into(), json!(v));
        }
    };
    put("image", &spec.image);
    put("working_directory", &spec.working_directory);
    put("executable_path", &spec.executable_path);
    put("attribute", &spec.attribute);
    put("agent_queue", &spec.agent_queue);
    doc.insert("code_source".into(), json!({ spec.code_source.kind.key(): spec.code_source.value }));
    if spec.container_context.as_object().is_some_and(|m| !m.is_empty()) {
        doc.insert("container_context".into(), spec.container_context.clone());
    }
    if let Some(git) = &spec.git {
        let fields = [
            ("commit_hash", &git.commit_hash),
            ("url", &git.url),
            ("provider", &git.provider),
            ("repo_owner", &git.repo_owner),
            ("repo_name", &git.repo_name),
            ("base_branch", &git.base_branch),
            ("defs_base_path", &git.defs_base_path),
        ];
        let git_doc: Map<String, Value> =
            fields.into_iter().filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), json!(v)))).collect();
        doc.insert("git".into(), Value::Object(git_doc));
    }
    if let Some(pex) = &spec.pex_metadata {
        doc.insert("pex_metadata".into(), json!({ "pex_tag": pex.pex_tag, "python_version": pex.python_version }));
    }
    Value::Object(doc)
}

fn deployment_mut(state: &mut State, id: i64) -> Result<&mut Deployment, DomainError> {
    state.deployments.iter_mut().find(|d| d.deployment_id == id).ok_or(DomainError::DeploymentIdNotFound(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::location_document::{parse_location, Requirements};

    fn parsed(name: &str, image: &str) -> ParsedLocation {
        parse_location(
            &json!({"location_name": name, "image": image, "code_source": {"package_name": "p"}, "git": {}}),
            Requirements { image_or_pex: false },
        )
        .unwrap()
    }

    #[test]
    fn locations_load_after_their_delay_or_fail_by_pattern() {
        let mut state = State::new("acme");
        let ok = parsed("a", "img/a:1");
        let plan = plan_load("a", &ok.spec, 10.0, 0.5, Some("*:broken"));
        assert_eq!(plan.error, None);
        upsert(&mut state, 1, ok, 10.0, plan).unwrap();
        let bad = parsed("b", "img/b:broken");
        let plan = plan_load("b", &bad.spec, 10.0, 0.5, Some("*:broken"));
        assert!(plan.error.as_deref().is_some_and(|e| e.contains("img/b:broken")));
        upsert(&mut state, 1, bad, 10.0, plan).unwrap();

        assert!(!has_due_loads(&state, 10.4));
        assert!(has_due_loads(&state, 10.5));
        complete_due_loads(&mut state, 10.5);
        let locations = &state.deployments[0].locations;
        assert!(locations.iter().all(|l| l.load.status == RepositoryLocationLoadStatus::Loaded));
        assert!(locations[1].load.error.is_some());

        assert_eq!(delete(&mut state, 1, "zzz"), Err(DomainError::LocationNotFound("zzz".into())));
        delete(&mut state, 1, "a").unwrap();
        assert_eq!(state.deployments[0].locations.len(), 1);
    }

    #[test]
    fn reconcile_replaces_the_set_and_keeps_unchanged_entries() {
        let mut state = State::new("acme");
        let instant = |p: &ParsedLocation| plan_load(&p.name, &p.spec, 1.0, 0.0, None);
        upsert(&mut state, 1, parsed("a", "i:1"), 1.0, instant(&parsed("a", "i:1"))).unwrap();
        upsert(&mut state, 1, parsed("b", "i:1"), 1.0, instant(&parsed("b", "i:1"))).unwrap();
        complete_due_loads(&mut state, 1.0);
        let out = reconcile(&mut state, 1, vec![parsed("a", "i:1"), parsed("c", "i:1")], 2.0, instant).unwrap();
        let names: Vec<&str> = out.iter().map(|l| l.location_name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        let a = &state.deployments[0].locations[0];
        assert_eq!(a.revision, 1, "unchanged location is not redeployed");
        assert_eq!(a.load.status, RepositoryLocationLoadStatus::Loaded);
        assert_eq!(state.deployments[0].locations.len(), 2);
        assert_eq!(reconcile(&mut state, 99, vec![], 2.0, instant).err(), Some(DomainError::DeploymentIdNotFound(99)));
    }

    #[test]
    fn documents_round_trip_without_empty_keys() {
        let mut state = State::new("acme");
        let p = parsed("a", "i:1");
        let plan = plan_load("a", &p.spec, 1.0, 0.0, None);
        let loc = upsert(&mut state, 1, p, 1.0, plan).unwrap();
        assert_eq!(
            as_document(&loc),
            json!({"location_name": "a", "image": "i:1", "code_source": {"package_name": "p"}})
        );
    }
}
