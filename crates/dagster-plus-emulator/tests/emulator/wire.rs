//! Every document of Appendix A.2, sent as captured (path, scoping headers,
//! variables), must be accepted and answered with its success member.

use serde_json::{json, Value};

use crate::common::{Emu, ORG, USER_TOKEN};
use crate::documents::*;

/// `dagster-cloud` style: no operationName, optional deployment header.
fn cli(emu: &Emu, path: &str, deployment: Option<&str>, doc: &str, variables: Value) -> Value {
    let headers: Vec<(&str, &str)> = deployment
        .map(|d| vec![("Dagster-Cloud-Deployment", d), ("Dagster-Cloud-Scope", "deployment")])
        .unwrap_or_else(|| vec![("Dagster-Cloud-Scope", "deployment")]);
    let reply = emu.post_raw(path, Some(USER_TOKEN), &headers, &json!({ "query": doc, "variables": variables }));
    accepted(reply)
}

/// `dg` style: `/{org}/graphql`, organization header, operationName.
fn dg(emu: &Emu, deployment: Option<&str>, doc: &str, op: Value, variables: Value) -> Value {
    let mut headers = vec![("Dagster-Cloud-Organization", ORG)];
    if let Some(d) = deployment {
        headers.push(("Dagster-Cloud-Deployment", d));
    }
    let reply = emu.post_raw(
        &format!("/{ORG}/graphql"),
        Some(USER_TOKEN),
        &headers,
        &json!({ "query": doc, "operationName": op, "variables": variables }),
    );
    accepted(reply)
}

fn accepted(reply: crate::common::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json.get("errors").is_none(), "{}", reply.text);
    reply.json["data"].clone()
}

#[test]
fn every_captured_document_is_accepted() {
    let emu = Emu::start();
    emu.emulator.set_location_load_delay(std::time::Duration::ZERO);

    // bd_create_all, then bd_create_min for the same branch: one deployment.
    let all = cli(
        &emu,
        "/graphql",
        None,
        D1,
        json!({"branchData": {"repoName": "acme/data-platform", "branchName": "feature/x", "branchUrl": "https://github.com/acme/data-platform/tree/feature/x", "pullRequestUrl": "https://github.com/acme/data-platform/pull/17", "pullRequestStatus": "OPEN", "pullRequestNumber": "17"}, "commit": {"commitHash": "4f2a1c9e0b7d", "timestamp": 1718000000.5, "commitMessage": "Add thing", "commitUrl": null, "authorName": "Ada L", "authorEmail": "ada@example.com", "authorAvatarUrl": "https://avatars.example.com/u/1"}, "baseDeploymentName": "prod", "snapshotBaseCondition": "ON_CREATE"}),
    );
    let created = &all["createOrUpdateBranchDeployment"];
    assert_eq!(created["__typename"], "DagsterCloudDeployment");
    let name = created["deploymentName"].as_str().expect("name").to_owned();
    let id = created["deploymentId"].as_i64().expect("id");
    let min = cli(
        &emu,
        "/graphql",
        None,
        D1,
        json!({"branchData": {"repoName": "acme/data-platform", "branchName": "feature/x", "branchUrl": null, "pullRequestUrl": null, "pullRequestStatus": null, "pullRequestNumber": null}, "commit": {"commitHash": "4f2a1c9e0b7d", "timestamp": 1718000000.0, "commitMessage": null, "commitUrl": null, "authorName": null, "authorEmail": null, "authorAvatarUrl": null}, "baseDeploymentName": null, "snapshotBaseCondition": null}),
    );
    assert_eq!(min["createOrUpdateBranchDeployment"]["deploymentName"], name.as_str());

    let d2 = cli(&emu, "/graphql", None, D2, json!({"repoName": "acme/data-platform", "branchName": "feature/x"}));
    assert_eq!(d2["getBranchDeploymentName"], name.as_str());
    let d3 = cli(&emu, &format!("/{name}/graphql"), None, D3, json!({"deploymentName": name}));
    assert_eq!(d3["deploymentByName"]["deploymentType"], "BRANCH");

    // Code locations in the branch deployment (loc_add_flags, loc_add_file), and in prod.
    let bd = format!("/{name}/graphql");
    let flags = cli(
        &emu,
        &bd,
        Some(name.as_str()),
        D5,
        json!({"document": {"location_name": "my_location", "code_source": {"package_name": "my_pkg"}, "working_directory": "/opt/app", "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:abc", "executable_path": "/usr/bin/python3", "attribute": "defs", "git": {"commit_hash": "abc123", "url": "https://github.com/acme/repo/tree/abc123"}}}),
    );
    assert_eq!(flags["addOrUpdateLocationFromDocument"]["locationName"], "my_location");
    let file = cli(
        &emu,
        &bd,
        None,
        D5,
        json!({"document": {"location_name": "bd_location", "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:def", "code_source": {"module_name": "my_pkg.definitions"}, "working_directory": "/opt/app", "executable_path": "/usr/local/bin/python", "attribute": "defs", "agent_queue": "branch-queue", "container_context": {"ecs": {"env_vars": ["FOO=bar"], "run_resources": {"cpu": "1024", "memory": "2048"}}}, "git": {"commit_hash": "fileabc"}}}),
    );
    assert_eq!(file["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry");
    for document in [
        json!({"location_name": "loc_b", "code_source": {"python_file": "b/defs.py"}, "image": "img/b:1", "agent_queue": "special", "git": {}}),
        json!({"location_name": "loc_c", "code_source": {"python_file": "defs.py"}, "image": "img/c:2", "git": {}}),
        json!({"location_name": "loc_d", "code_source": {"autoload_defs_module_name": "my_proj.defs"}, "git": {}}),
    ] {
        let reply = cli(&emu, "/prod/graphql", Some("prod"), D5, json!({ "document": document }));
        assert_eq!(reply["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry", "{reply}");
    }

    let d6 = cli(&emu, &bd, Some(name.as_str()), D6, json!({}));
    assert!(d6["agents"].is_array());
    let d7 = cli(&emu, &bd, Some(name.as_str()), D7, json!({}));
    let entries = d7["workspaceOrError"]["locationEntries"].as_array().expect("entries").clone();
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .all(|e| e["loadStatus"] == "LOADED" && e["locationOrLoadError"]["__typename"] == "RepositoryLocation"),
        "{d7}"
    );
    let d9 = cli(&emu, &bd, None, D9, json!({}));
    assert_eq!(d9["workspace"]["workspaceEntries"].as_array().map(Vec::len), Some(2));
    let d10 = cli(&emu, &bd, None, D10, json!({}));
    assert_eq!(d10["locationsAsDocument"]["__typename"], "LocationsAsDocument");
    let d8 = cli(&emu, &bd, Some(name.as_str()), D8, json!({"locationName": "bd_location"}));
    assert_eq!(d8["deleteLocation"]["__typename"], "DeleteLocationSuccess");
    let d11 = cli(
        &emu,
        &bd,
        None,
        D11,
        json!({"document": {"locations": [{"location_name": "loc_a", "code_source": {"package_name": "pkg_a"}, "image": "img/a:1"}]}}),
    );
    assert_eq!(d11["reconcileLocationsFromDocument"]["locations"][0]["locationName"], "loc_a");

    let d13 = cli(
        &emu,
        "/prod/graphql",
        None,
        D13,
        json!({"deploymentSettings": {"settings": {"run_queue": {"max_concurrent_runs": 5}}}}),
    );
    assert_eq!(d13["setDeploymentSettings"]["__typename"], "DeploymentSettings");
    let d12 = cli(&emu, "/prod/graphql", None, D12, json!({}));
    assert_eq!(d12["deploymentSettings"]["settings"]["run_queue"]["max_concurrent_runs"], 5);

    let d14 = cli(
        &emu,
        &bd,
        Some(name.as_str()),
        D14,
        json!({"document": {"locations": [{"location_name": "bd_location", "code_source": {"package_name": "my_pkg"}, "agent_queue": "branch-queue", "container_context": {"k8s": {"namespace": "bd"}}, "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:sha-3cba70d", "git": {"provider": "github", "repo_owner": "acme", "repo_name": "data-platform"}}]}}),
    );
    assert_eq!(d14["deployLocations"]["__typename"], "DeployLocationsSuccess");
    let d15 = cli(
        &emu,
        "/graphql",
        None,
        D15,
        json!({"eventType": "DEPLOY", "durationSeconds": 0.12475132942199707, "success": true, "tags": ["subcommand:dagster-cloud-ci", "source:cli", "server-strategy:docker"], "message": null}),
    );
    assert_eq!(d15["markCliEvent"], "ok");

    // The `dg` documents.
    let d16 = dg(&emu, None, D16, Value::Null, json!({"description": "bd agent token"}));
    assert_eq!(d16["createAgentToken"]["__typename"], "DagsterCloudAgentToken");
    let d17 = dg(&emu, None, D17, json!("ListAgents"), json!({}));
    assert!(d17["agents"].is_array());
    let d18 = dg(&emu, None, D18, json!("ListDeployments"), json!({}));
    assert_eq!(d18["fullDeployments"][0]["deploymentName"], "prod");
    let d19 = dg(&emu, None, D19, json!("ListBranchDeployments"), json!({"limit": 50, "pullRequestStatus": "OPEN"}));
    assert_eq!(d19["branchDeployments"]["nodes"][0]["deploymentName"], name.as_str());
    let d20 = dg(&emu, None, D20, json!("GetDeployment"), json!({"deploymentName": name}));
    assert_eq!(d20["deploymentByName"]["isBranchDeployment"], true);
    let d22 = dg(&emu, Some(name.as_str()), D22, json!("ListCodeLocations"), json!({}));
    assert!(d22["workspace"]["workspaceEntries"].is_array());
    let d23 = dg(&emu, Some(name.as_str()), D23, json!("GetLocationStatuses"), json!({}));
    assert_eq!(d23["locationStatusesOrError"]["__typename"], "WorkspaceLocationStatusEntries");
    let d24 = dg(
        &emu,
        Some(name.as_str()),
        D24,
        json!("AddOrUpdateCodeLocation"),
        json!({"document": {"location_name": "bd_location", "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:def", "code_source": {"module_name": "my_pkg.definitions"}, "working_directory": "/opt/app", "executable_path": "/usr/local/bin/python", "attribute": "defs", "git": {"commit_hash": "fileabc"}}}),
    );
    assert_eq!(d24["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry");
    let d25 = dg(&emu, Some(name.as_str()), D25, json!("DeleteCodeLocation"), json!({"locationName": "bd_location"}));
    assert_eq!(d25["deleteLocation"]["locationName"], "bd_location");

    // Deleting: `dg` (D21) first, then the CLI's D4 again, which is idempotent.
    let d21 = dg(&emu, None, D21, json!("DeleteDeployment"), json!({"deploymentId": id}));
    assert_eq!(d21["deleteDeployment"]["deploymentStatus"], "PENDING_DELETION");
    let d4 = cli(&emu, &bd, None, D4, json!({"deploymentId": id}));
    assert_eq!(d4["deleteDeployment"]["__typename"], "DagsterCloudDeployment");

    let counts = emu.emulator.operation_counts();
    assert_eq!(counts.get("graphql.rejected"), None, "{counts:?}");
}
