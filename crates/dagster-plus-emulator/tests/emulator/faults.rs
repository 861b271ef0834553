use std::time::{Duration, Instant};

use dagster_plus_emulator::{FaultKind, FaultSpec};
use reqwest::blocking::Client;
use serde_json::{json, Value};

use crate::common::{Emu, USER_TOKEN};
use crate::documents::D5;

/// One request on a fresh connection (so a reset affects only it); the
/// transport error, if any, is returned instead of panicking.
fn send(emu: &Emu, query: &str, variables: Value) -> Result<(u16, Option<String>, Value), String> {
    let response = Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?
        .post(format!("{}/prod/graphql", emu.emulator.url()))
        .header("Dagster-Cloud-Api-Token", USER_TOKEN)
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let retry_after = response.headers().get("Retry-After").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.json().unwrap_or(Value::Null);
    Ok((status, retry_after, body))
}

const LIST: &str = "{ fullDeployments { deploymentName } }";

fn add_location(name: &str) -> Value {
    json!({ "document": {"location_name": name, "code_source": {"package_name": "p"}} })
}

fn location_names(emu: &Emu) -> Vec<String> {
    emu.emulator.inventory()["deployments"][0]["locations"]
        .as_array()
        .map(|ls| ls.iter().filter_map(|l| l["locationName"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[test]
fn the_next_requests_get_503_then_service_resumes() {
    let emu = Emu::start();
    let added = emu.post_raw("/_emulator/faults", None, &[], &json!({"kind": "unavailable", "count": 2}));
    assert_eq!(added.status, 201, "{}", added.text);
    for _ in 0..2 {
        let (status, _, body) = send(&emu, LIST, json!({})).expect("answered");
        assert_eq!(status, 503);
        assert!(body.get("data").is_none() && body.get("errors").is_none(), "{body}");
    }
    let (status, _, body) = send(&emu, LIST, json!({})).expect("answered");
    assert_eq!(status, 200);
    assert_eq!(body["data"]["fullDeployments"][0]["deploymentName"], "prod");
    let counts = emu.emulator.operation_counts();
    assert_eq!(counts.get("fault.unavailable"), Some(&2));
    assert_eq!(counts.get("query.fullDeployments"), Some(&1), "faulted requests are not served");
    let report = emu.get("/_emulator/faults");
    assert_eq!(report["injected"]["unavailable"], 2);
    assert_eq!(report["active"], json!([]));
}

#[test]
fn rate_limits_carry_retry_after() {
    let emu = Emu::start();
    emu.emulator.inject_fault(FaultSpec::next(FaultKind::RateLimited, 1).retry_after(7)).expect("valid plan");
    let (status, retry_after, _) = send(&emu, LIST, json!({})).expect("answered");
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("7"));
    assert_eq!(send(&emu, LIST, json!({})).map(|r| r.0), Ok(200));
}

#[test]
fn connection_resets_happen_before_execution() {
    let emu = Emu::start();
    emu.emulator.inject_fault(FaultSpec::next(FaultKind::ConnectionReset, 1).only("mutation")).expect("valid plan");
    // A query does not match the plan.
    assert_eq!(send(&emu, LIST, json!({})).map(|r| r.0), Ok(200));
    let reset = send(&emu, D5, add_location("never"));
    assert!(reset.is_err(), "expected a transport error, got {reset:?}");
    assert!(location_names(&emu).is_empty(), "a reset request is not executed");
    assert_eq!(send(&emu, D5, add_location("later")).map(|r| r.0), Ok(200));
    assert_eq!(location_names(&emu), ["later"]);
}

#[test]
fn dropped_responses_commit_the_mutation() {
    let emu = Emu::start();
    let plan = emu.post_raw(
        "/_emulator/faults",
        None,
        &[],
        &json!({"kind": "drop_response", "count": 1, "operation": "addOrUpdateLocationFromDocument"}),
    );
    assert_eq!(plan.status, 201);
    assert_eq!(send(&emu, LIST, json!({})).map(|r| r.0), Ok(200), "queries are never dropped");
    let dropped = send(&emu, D5, add_location("committed"));
    assert!(dropped.is_err(), "expected no response, got {dropped:?}");
    assert_eq!(location_names(&emu), ["committed"], "the mutation was committed");
    // The client's retry finds the location already there and succeeds.
    let (status, _, body) = send(&emu, D5, add_location("committed")).expect("answered");
    assert_eq!(status, 200);
    assert_eq!(body["data"]["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry");
    assert_eq!(emu.emulator.faults().injected.get("drop_response"), Some(&1));
}

#[test]
fn slow_responses_are_delayed_after_execution() {
    let emu = Emu::start();
    emu.emulator
        .inject_fault(FaultSpec::next(FaultKind::Slow, 1).delay(Duration::from_millis(600)))
        .expect("valid plan");
    let started = Instant::now();
    let (status, _, _) = send(&emu, LIST, json!({})).expect("answered");
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(600), "{:?}", started.elapsed());
    let started = Instant::now();
    send(&emu, LIST, json!({})).expect("answered");
    assert!(started.elapsed() < Duration::from_millis(600));
}

#[test]
fn seeded_fractions_are_reproducible_and_can_be_cleared() {
    let pattern = |seed: u64| {
        let emu = Emu::start();
        let plan = emu.post_raw(
            "/_emulator/faults",
            None,
            &[],
            &json!({"kind": "unavailable", "fraction": 0.5, "seed": seed}),
        );
        assert_eq!(plan.status, 201);
        let statuses: Vec<u16> = (0..20).map(|_| send(&emu, LIST, json!({})).map(|r| r.0).unwrap_or(0)).collect();
        let cleared = emu.client_delete("/_emulator/faults");
        assert_eq!(cleared, 200);
        assert_eq!(send(&emu, LIST, json!({})).map(|r| r.0), Ok(200));
        statuses
    };
    let first = pattern(42);
    assert_eq!(first, pattern(42));
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");

    let emu = Emu::start();
    let bad = emu.post_raw("/_emulator/faults", None, &[], &json!({"kind": "slow"}));
    assert_eq!(bad.status, 400);
    let unknown = emu.post_raw("/_emulator/faults", None, &[], &json!({"kind": "explode", "count": 1}));
    assert_eq!(unknown.status, 400);
}
