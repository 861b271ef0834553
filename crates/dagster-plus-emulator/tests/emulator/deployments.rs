use serde_json::{json, Value};

use crate::common::{Emu, ORG, USER_TOKEN};
use crate::documents::{D18, D20};

fn dg_post(emu: &Emu, query: &str, operation: &str, variables: Value) -> Value {
    let reply = emu.post_raw(
        &format!("/{ORG}/graphql"),
        Some(USER_TOKEN),
        &[("Dagster-Cloud-Organization", ORG)],
        &json!({ "query": query, "operationName": operation, "variables": variables }),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

#[test]
fn deployment_by_name_reports_unknown_names() {
    let emu = Emu::start();
    let reply = dg_post(&emu, D20, "GetDeployment", json!({ "deploymentName": "nope" }));
    let result = &reply["data"]["deploymentByName"];
    assert_eq!(result["__typename"], "DeploymentNotFoundError");
    assert_eq!(result["message"], "Deployment not found: nope");

    let prod = dg_post(&emu, D20, "GetDeployment", json!({ "deploymentName": "prod" }));
    assert_eq!(
        prod["data"]["deploymentByName"],
        json!({
            "__typename": "DagsterCloudDeployment",
            "deploymentName": "prod",
            "deploymentId": 1,
            "deploymentType": "PRODUCTION",
            "deploymentStatus": "ACTIVE",
            "agentType": "HYBRID",
            "isBranchDeployment": false,
            "organizationName": ORG,
        })
    );
}

#[test]
fn seeded_deployments_are_listed_and_selectable_as_scope() {
    let emu = Emu::start();
    let seeded = emu.post_raw("/_emulator/deployments", None, &[], &json!({ "name": "staging" }));
    assert_eq!(seeded.status, 201, "{}", seeded.text);
    assert_eq!(seeded.json["deploymentId"], 2);
    let duplicate = emu.post_raw("/_emulator/deployments", None, &[], &json!({ "name": "staging" }));
    assert_eq!(duplicate.status, 400);
    let qa = emu.emulator.add_full_deployment("qa").expect("seeded");
    assert_eq!(qa, 3);

    let listed = dg_post(&emu, D18, "ListDeployments", json!({}));
    let names: Vec<&str> = listed["data"]["fullDeployments"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["deploymentName"].as_str())
        .collect();
    assert_eq!(names, ["prod", "staging", "qa"]);

    let current = "{ currentDeployment { deploymentName deploymentId } }";
    let unscoped = emu.gql(current, json!({}));
    assert_eq!(unscoped["data"]["currentDeployment"]["deploymentName"], "prod");
    let by_path = emu.gql_as(USER_TOKEN, "/staging/graphql", current, json!({}));
    assert_eq!(by_path["data"]["currentDeployment"]["deploymentName"], "staging");
    // `dg` style: org path plus the deployment header.
    let by_header = emu.post_raw(
        &format!("/{ORG}/graphql"),
        Some(USER_TOKEN),
        &[("Dagster-Cloud-Organization", ORG), ("Dagster-Cloud-Deployment", "qa")],
        &json!({ "query": current, "variables": {} }),
    );
    assert_eq!(by_header.json["data"]["currentDeployment"]["deploymentId"], 3);
}

#[test]
fn unknown_deployment_scopes_fail_only_deployment_scoped_fields() {
    let emu = Emu::start();
    let current = emu.gql_as(USER_TOKEN, "/nope/graphql", "{ currentDeployment { deploymentName } }", json!({}));
    assert_eq!(current["data"], Value::Null);
    assert_eq!(current["errors"][0]["extensions"]["code"], "DEPLOYMENT_NOT_FOUND");
    assert!(current["errors"][0]["message"].as_str().is_some_and(|m| m.contains("nope")));

    // Org-level fields still work there: the CLI deletes a branch deployment
    // by posting `deploymentByName` to that deployment's own URL.
    let org_level =
        emu.gql_as(USER_TOKEN, "/nope/graphql", "{ deploymentByName(name: \"nope\") { __typename } }", json!({}));
    assert_eq!(org_level["data"]["deploymentByName"]["__typename"], "DeploymentNotFoundError");

    let conflict = emu.post_raw(
        "/prod/graphql",
        Some(USER_TOKEN),
        &[("Dagster-Cloud-Deployment", "other")],
        &json!({ "query": "{ currentDeployment { deploymentName } }" }),
    );
    assert_eq!(conflict.json["errors"][0]["extensions"]["code"], "DEPLOYMENT_SCOPE_CONFLICT");
}

#[test]
fn operation_counters_track_and_reset() {
    let emu = Emu::start();
    emu.gql("{ fullDeployments { deploymentId } deployments { deploymentId } }", json!({}));
    emu.gql("query Q { fullDeployments { deploymentId } }", json!({}));
    let counts = emu.get("/_emulator/operations");
    assert_eq!(counts["query.fullDeployments"], 2);
    assert_eq!(counts["query.deployments"], 1);
    assert_eq!(counts["http.200"], 2);
    let reset = emu.post_raw("/_emulator/reset-counters", None, &[], &json!({}));
    assert_eq!(reset.status, 200);
    assert!(emu.emulator.operation_counts().is_empty());
}
