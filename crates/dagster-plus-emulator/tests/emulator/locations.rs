use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{Emu, USER_TOKEN};
use crate::documents::{D5, D7, D9};

fn add(emu: &Emu, path: &str, document: Value) -> Value {
    emu.gql_as(USER_TOKEN, path, D5, json!({ "document": document }))["data"]["addOrUpdateLocationFromDocument"].clone()
}

fn entries(emu: &Emu, path: &str) -> Vec<Value> {
    let reply = emu.gql_as(USER_TOKEN, path, D7, json!({}));
    reply["data"]["workspaceOrError"]["locationEntries"].as_array().cloned().unwrap_or_default()
}

#[test]
fn bad_documents_get_invalid_location_errors() {
    let emu = Emu::start();
    let two_sources = add(
        &emu,
        "/prod/graphql",
        json!({"location_name": "x", "image": "i", "code_source": {"python_file": "a.py", "package_name": "p"}}),
    );
    assert_eq!(two_sources["__typename"], "InvalidLocationError");
    let errors = two_sources["errors"].to_string();
    assert!(errors.contains("exactly one of"), "{errors}");

    let junk = add(&emu, "/prod/graphql", json!({"image": 5, "surprise": true}));
    assert_eq!(junk["__typename"], "InvalidLocationError");
    let errors = junk["errors"].as_array().expect("errors");
    assert!(errors.len() >= 3, "every problem is listed: {errors:?}");

    // In a serverless deployment a location needs an image (or PEX metadata).
    let switched = emu.gql(
        "mutation { updateDeploymentAgentType(deploymentAgentType: SERVERLESS, deploymentId: 1) { __typename ... on DagsterCloudDeployment { agentType } } }",
        json!({}),
    );
    assert_eq!(switched["data"]["updateDeploymentAgentType"]["agentType"], "SERVERLESS");
    let no_image = add(&emu, "/prod/graphql", json!({"location_name": "x", "code_source": {"package_name": "p"}}));
    assert_eq!(no_image["__typename"], "InvalidLocationError");
    assert!(no_image["errors"][0].as_str().is_some_and(|e| e.contains("no image")));
    assert_eq!(emu.emulator.inventory()["deployments"][0]["locations"], json!([]));
}

#[test]
fn locations_load_after_the_delay_and_read_back_as_serdes() {
    let emu = Emu::start();
    emu.emulator.set_location_load_delay(Duration::from_millis(300));
    let added = add(
        &emu,
        "/prod/graphql",
        json!({"location_name": "my_location", "code_source": {"package_name": "my_pkg"}, "working_directory": "/opt/app",
            "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:abc", "executable_path": "/usr/bin/python3", "attribute": "defs",
            "agent_queue": "branch-queue", "container_context": {"k8s": {"namespace": "bd"}},
            "git": {"commit_hash": "abc123", "url": "https://github.com/acme/repo/tree/abc123"}}),
    );
    assert_eq!(added["__typename"], "WorkspaceEntry");

    let loading = entries(&emu, "/prod/graphql");
    assert_eq!(loading[0]["loadStatus"], "LOADING");
    assert_eq!(loading[0]["locationOrLoadError"], Value::Null);

    // Byte-for-byte the serialization of the real library (API reference §4.3).
    let listed = emu.gql_as(USER_TOKEN, "/prod/graphql", D9, json!({}));
    assert_eq!(
        listed["data"]["workspace"]["workspaceEntries"][0]["serializedDeploymentMetadata"],
        r#"{"__class__": "CodeDeploymentMetadata", "agent_queue": "branch-queue", "attribute": "defs", "autoload_defs_module_name": null, "cloud_context_env": {}, "container_context": {"k8s": {"namespace": "bd"}}, "defs_state_info": null, "executable_path": "/usr/bin/python3", "git_metadata": {"__class__": "GitMetadata", "commit_hash": "abc123", "url": "https://github.com/acme/repo/tree/abc123"}, "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:abc", "module_name": null, "package_name": "my_pkg", "pex_metadata": null, "python_file": null, "working_directory": "/opt/app"}"#
    );

    std::thread::sleep(Duration::from_millis(350));
    let loaded = entries(&emu, "/prod/graphql");
    assert_eq!(loaded[0]["loadStatus"], "LOADED");
    assert_eq!(loaded[0]["locationOrLoadError"]["__typename"], "RepositoryLocation");
    let statuses = emu.gql_as(
        USER_TOKEN,
        "/prod/graphql",
        "{ locationStatusesOrError { ... on WorkspaceLocationStatusEntries { entries { name loadStatus versionKey } } } }",
        json!({}),
    );
    assert_eq!(
        statuses["data"]["locationStatusesOrError"]["entries"][0],
        json!({"name": "my_location", "loadStatus": "LOADED", "versionKey": "1"})
    );
    // An update starts loading again.
    add(
        &emu,
        "/prod/graphql",
        json!({"location_name": "my_location", "code_source": {"package_name": "my_pkg"}, "image": "img:2"}),
    );
    assert_eq!(entries(&emu, "/prod/graphql")[0]["loadStatus"], "LOADING");
}

#[test]
fn images_matching_the_failing_pattern_fail_to_load() {
    let emu = Emu::start();
    emu.emulator.set_location_load_delay(Duration::ZERO);
    emu.emulator.set_failing_image_pattern(Some("*:broken".into()));
    add(
        &emu,
        "/prod/graphql",
        json!({"location_name": "bad", "code_source": {"package_name": "p"}, "image": "reg/app:broken"}),
    );
    add(
        &emu,
        "/prod/graphql",
        json!({"location_name": "good", "code_source": {"package_name": "p"}, "image": "reg/app:fine"}),
    );
    let listed = entries(&emu, "/prod/graphql");
    let bad = &listed[0];
    assert_eq!(bad["loadStatus"], "LOADED");
    assert_eq!(bad["locationOrLoadError"]["__typename"], "PythonError");
    assert!(bad["locationOrLoadError"]["message"].as_str().is_some_and(|m| m.contains("reg/app:broken")));
    assert!(bad["locationOrLoadError"]["stack"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(listed[1]["locationOrLoadError"]["__typename"], "RepositoryLocation");
    let flags = emu.gql_as(
        USER_TOKEN,
        "/prod/graphql",
        "{ workspace { workspaceEntries { locationName hasLoadError } } }",
        json!({}),
    );
    assert_eq!(
        flags["data"]["workspace"]["workspaceEntries"],
        json!([{"locationName": "bad", "hasLoadError": true}, {"locationName": "good", "hasLoadError": false}])
    );
    // Without wildcards the pattern is a substring.
    emu.emulator.set_failing_image_pattern(Some("acme/broken".into()));
    add(
        &emu,
        "/prod/graphql",
        json!({"location_name": "sub", "code_source": {"package_name": "p"}, "image": "ghcr.io/acme/broken:1"}),
    );
    assert_eq!(entries(&emu, "/prod/graphql")[2]["locationOrLoadError"]["__typename"], "PythonError");
    // The admin endpoint shows and clears the pattern.
    let cleared = emu.post_raw("/_emulator/simulation", None, &[], &json!({"failingImagePattern": null}));
    assert_eq!(cleared.json["failingImagePattern"], Value::Null);
    assert_eq!(emu.emulator.simulation().failing_image_pattern, None);
}

#[test]
fn reconcile_deploy_delete_and_document_round_trip() {
    let emu = Emu::start();
    let path = "/prod/graphql";
    add(&emu, path, json!({"location_name": "old", "code_source": {"python_file": "o.py"}}));
    let reconcile = emu.gql_as(
        USER_TOKEN,
        path,
        "mutation($d: GenericScalar!) { reconcileLocationsFromDocument(document: $d) { __typename ... on ReconcileLocationsSuccess { locations { locationName } } ... on InvalidLocationError { errors } } }",
        json!({ "d": {"locations": [
            {"location_name": "a", "code_source": {"package_name": "pa"}, "image": "img/a:1"},
            {"location_name": "b", "code_source": {"module_name": "mb"}, "image": "img/b:1", "agent_queue": "q"}]} }),
    );
    assert_eq!(
        reconcile["data"]["reconcileLocationsFromDocument"]["locations"],
        json!([{"locationName": "a"}, {"locationName": "b"}])
    );
    let duplicate = emu.gql_as(
        USER_TOKEN,
        path,
        "mutation($d: GenericScalar!) { deployLocations(document: $d) { __typename ... on InvalidLocationError { errors } } }",
        json!({ "d": {"locations": [
            {"location_name": "a", "code_source": {"package_name": "pa"}},
            {"location_name": "a", "code_source": {"package_name": "pa"}}]} }),
    );
    assert_eq!(duplicate["data"]["deployLocations"]["__typename"], "InvalidLocationError");

    let doc = emu.gql_as(USER_TOKEN, path, "{ locationsAsDocument { document } }", json!({}));
    assert_eq!(
        doc["data"]["locationsAsDocument"]["document"],
        json!({"locations": [
            {"location_name": "a", "image": "img/a:1", "code_source": {"package_name": "pa"}},
            {"location_name": "b", "image": "img/b:1", "agent_queue": "q", "code_source": {"module_name": "mb"}}]})
    );
    let queued = emu.gql(
        "{ deploymentByName(name: \"prod\") { ... on DagsterCloudDeployment { workspaceEntries(agentQueues: [\"q\"]) { locationName } } } }",
        json!({}),
    );
    assert_eq!(queued["data"]["deploymentByName"]["workspaceEntries"], json!([{"locationName": "b"}]));

    let delete = "mutation($n: String!) { deleteLocation(locationName: $n) { __typename ... on DeleteLocationSuccess { locationName } ... on PythonError { message } } }";
    let deleted = emu.gql_as(USER_TOKEN, path, delete, json!({"n": "a"}));
    assert_eq!(deleted["data"]["deleteLocation"]["locationName"], "a");
    let again = emu.gql_as(USER_TOKEN, path, delete, json!({"n": "a"}));
    assert_eq!(again["data"]["deleteLocation"]["__typename"], "PythonError");
    let names: Vec<Value> = emu.emulator.inventory()["deployments"][0]["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| l["locationName"].clone())
        .collect();
    assert_eq!(names, [json!("b")]);
}

#[test]
fn location_calls_in_an_unknown_deployment_fail_cleanly() {
    let emu = Emu::start();
    let added = add(&emu, "/nope/graphql", json!({"location_name": "x", "code_source": {"package_name": "p"}}));
    assert_eq!(added["__typename"], "PythonError");
    assert!(added["message"].as_str().is_some_and(|m| m.contains("nope")));
    let listed = emu.gql_as(USER_TOKEN, "/nope/graphql", D7, json!({}));
    assert_eq!(listed["data"]["workspaceOrError"]["__typename"], "PythonError");
}
