use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{Emu, USER_TOKEN};
use crate::documents::{D1, D3};

const READ: &str = "query($name: String!) { deploymentByName(name: $name) { __typename
    ... on DagsterCloudDeployment {
      deploymentId deploymentName deploymentType deploymentStatus isBranchDeployment agentType
      parentDeployment { deploymentId deploymentName }
      branchDeploymentGitMetadata { repoName branchName branchUrl pullRequestUrl pullRequestStatus pullRequestNumber }
      latestCommit { commitHash timestamp commitMessage commitUrl authorName authorEmail authorAvatarUrl }
      commits { commitHash }
    }
    ... on DeploymentNotFoundError { message } } }";

fn upsert(emu: &Emu, branch: &str, hash: &str, status: Value, base: Value) -> Value {
    let reply = emu.gql(
        D1,
        json!({
            "branchData": {"repoName": "acme/app", "branchName": branch, "branchUrl": null,
                "pullRequestUrl": "https://example.com/pr/1", "pullRequestStatus": status, "pullRequestNumber": "1"},
            "commit": {"commitHash": hash, "timestamp": 1718000000.5, "commitMessage": "msg", "commitUrl": null,
                "authorName": "Ada", "authorEmail": "ada@example.com", "authorAvatarUrl": null},
            "baseDeploymentName": base, "snapshotBaseCondition": null
        }),
    );
    reply["data"]["createOrUpdateBranchDeployment"].clone()
}

fn read(emu: &Emu, name: &str) -> Value {
    emu.gql(READ, json!({ "name": name }))["data"]["deploymentByName"].clone()
}

#[test]
fn the_upsert_is_keyed_by_repo_and_branch_and_keeps_history() {
    let emu = Emu::start();
    let first = upsert(&emu, "feature/x", "aaa", json!("OPEN"), json!("prod"));
    let name = first["deploymentName"].as_str().expect("name").to_owned();
    assert!(name.starts_with("feature-x-"), "{name}");
    let again = upsert(&emu, "feature/x", "bbb", Value::Null, Value::Null);
    assert_eq!(again["deploymentName"], name.as_str());
    assert_eq!(again["deploymentId"], first["deploymentId"]);

    let d = read(&emu, &name);
    assert_eq!(d["deploymentType"], "BRANCH");
    assert_eq!(d["isBranchDeployment"], true);
    assert_eq!(d["parentDeployment"]["deploymentName"], "prod");
    assert_eq!(d["branchDeploymentGitMetadata"]["pullRequestStatus"], "OPEN", "null keeps the status");
    assert_eq!(d["latestCommit"]["commitHash"], "bbb");
    assert_eq!(d["latestCommit"]["timestamp"], 1718000000.5);
    assert_eq!(d["commits"], json!([{"commitHash": "bbb"}, {"commitHash": "aaa"}]));

    // Closing the pull request is the same call with CLOSED.
    upsert(&emu, "feature/x", "bbb", json!("CLOSED"), Value::Null);
    let closed = read(&emu, &name);
    assert_eq!(closed["branchDeploymentGitMetadata"]["pullRequestStatus"], "CLOSED");
    assert_eq!(closed["commits"].as_array().map(Vec::len), Some(2));

    // Another branch: a different name; lookups by repo+branch and by PR status.
    let other = upsert(&emu, "feature/y", "ccc", json!("OPEN"), Value::Null);
    let lookup = emu.gql("{ getBranchDeploymentName(repoName: \"acme/app\", branchName: \"feature/y\") }", json!({}));
    assert_eq!(lookup["data"]["getBranchDeploymentName"], other["deploymentName"]);
    let missing = emu.gql("{ getBranchDeploymentName(repoName: \"acme/app\", branchName: \"nope\") }", json!({}));
    assert_eq!(missing["errors"][0]["extensions"]["code"], "BRANCH_DEPLOYMENT_NOT_FOUND");

    let list = |status: Value, limit: i64| {
        let reply = emu.gql(
            "query($l: Int!, $s: PullRequestStatus) { branchDeployments(limit: $l, pullRequestStatus: $s) { nodes { deploymentName } } }",
            json!({ "l": limit, "s": status }),
        );
        reply["data"]["branchDeployments"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["deploymentName"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(Value::Null, 50).len(), 2);
    assert_eq!(list(Value::Null, 1), [other["deploymentName"].as_str().unwrap_or("")]);
    assert_eq!(list(json!("CLOSED"), 50), [name.as_str()]);
    let full = emu.gql("{ fullDeployments { deploymentName } deployments { deploymentName } }", json!({}));
    assert_eq!(full["data"]["fullDeployments"].as_array().map(Vec::len), Some(1));
    assert_eq!(full["data"]["deployments"].as_array().map(Vec::len), Some(3));
}

#[test]
fn unknown_bases_and_wrong_case_enums_are_refused() {
    let emu = Emu::start();
    let unknown = upsert(&emu, "b", "a", json!("OPEN"), json!("nope"));
    assert_eq!(unknown["__typename"], "DeploymentNotFoundError");

    // What `--pull-request-status closed` sends: a validation error, no data.
    let reply = emu.post_raw(
        "/graphql",
        Some(USER_TOKEN),
        &[],
        &json!({ "query": D1, "variables": {
            "branchData": {"repoName": "acme/dp", "branchName": "b1", "branchUrl": null, "pullRequestUrl": null, "pullRequestStatus": "closed", "pullRequestNumber": null},
            "commit": {"commitHash": "abc", "timestamp": 1.0, "commitMessage": null, "commitUrl": null, "authorName": null, "authorEmail": null, "authorAvatarUrl": null},
            "baseDeploymentName": null, "snapshotBaseCondition": null } }),
    );
    assert!(reply.json.get("data").is_none(), "{}", reply.text);
    assert_eq!(
        reply.json["errors"][0]["message"],
        "Variable '$branchData' got invalid value 'closed' at 'branchData.pullRequestStatus'; Value 'closed' does not exist in 'PullRequestStatus' enum. Did you mean the enum value 'CLOSED'?"
    );
    let inventory = emu.emulator.inventory();
    assert_eq!(inventory["deployments"].as_array().map(Vec::len), Some(1), "nothing was created");
}

#[test]
fn deletion_goes_through_pending_deletion() {
    let emu = Emu::start();
    emu.emulator.set_deletion_delay(Duration::from_millis(300));
    let created = upsert(&emu, "gone", "a", json!("OPEN"), Value::Null);
    let id = created["deploymentId"].clone();
    let name = created["deploymentName"].as_str().expect("name").to_owned();
    let delete = "mutation($id: Int!) { deleteDeployment(deploymentId: $id) { __typename
        ... on DagsterCloudDeployment { deploymentStatus }
        ... on DeploymentNotFoundError { message }
        ... on DeleteFinalDeploymentError { message } } }";
    let first = emu.gql(delete, json!({ "id": id }));
    assert_eq!(first["data"]["deleteDeployment"]["deploymentStatus"], "PENDING_DELETION");
    assert_eq!(read(&emu, &name)["deploymentStatus"], "PENDING_DELETION");
    let d3 = emu.gql(D3, json!({ "deploymentName": name }));
    assert_eq!(d3["data"]["deploymentByName"]["deploymentType"], "BRANCH");

    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(read(&emu, &name)["__typename"], "DeploymentNotFoundError");
    let again = emu.gql(delete, json!({ "id": id }));
    assert_eq!(again["data"]["deleteDeployment"]["__typename"], "DeploymentNotFoundError");
    let last = emu.gql(delete, json!({ "id": 1 }));
    assert_eq!(last["data"]["deleteDeployment"]["__typename"], "DeleteFinalDeploymentError");
    let inventory = emu.emulator.inventory();
    assert_eq!(inventory["deployments"].as_array().map(Vec::len), Some(1));
}

#[test]
fn agent_tokens_act_within_their_grants() {
    let emu = Emu::start();
    let (id, agent) = emu.create_token("branch only");
    emu.gql(
        "mutation($p: CreateOrUpdateCloudAgentPermissionsInput!) { createOrUpdateAgentPermissions(agentPermission: $p) { __typename } }",
        json!({ "p": { "agentTokenId": id, "grant": "AGENT", "deploymentScope": "ALL_BRANCH_DEPLOYMENTS" } }),
    );
    emu.gql(
        "mutation($p: RemoveAgentPermissionsInput!) { removeAgentPermissions(agentPermission: $p) { __typename } }",
        json!({ "p": { "agentTokenId": id, "deploymentScope": "ORGANIZATION" } }),
    );

    let created = emu.gql_as(
        &agent,
        "/graphql",
        D1,
        json!({"branchData": {"repoName": "r", "branchName": "b"}, "commit": {"commitHash": "c", "timestamp": 1.0}}),
    );
    let name = created["data"]["createOrUpdateBranchDeployment"]["deploymentName"]
        .as_str()
        .expect("an ALL_BRANCH_DEPLOYMENTS grant may create branch deployments")
        .to_owned();

    let add = "mutation($d: GenericScalar!) { addOrUpdateLocationFromDocument(document: $d) { __typename ... on UnauthorizedError { message } } }";
    let doc = json!({ "d": {"location_name": "l", "code_source": {"package_name": "p"}} });
    let in_branch = emu.gql_as(&agent, &format!("/{name}/graphql"), add, doc.clone());
    assert_eq!(in_branch["data"]["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry");
    let in_prod = emu.gql_as(&agent, "/prod/graphql", add, doc);
    assert_eq!(in_prod["data"]["addOrUpdateLocationFromDocument"]["__typename"], "UnauthorizedError");
    let delete_prod =
        emu.gql_as(&agent, "/graphql", "mutation { deleteDeployment(deploymentId: 1) { __typename } }", json!({}));
    assert_eq!(delete_prod["data"]["deleteDeployment"]["__typename"], "UnauthorizedError");
    let prod = &emu.emulator.inventory()["deployments"][0];
    assert_eq!(prod["locations"], json!([]));
    assert_eq!(prod["deploymentStatus"], "ACTIVE");
}
