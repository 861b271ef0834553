use serde_json::{json, Value};

use crate::common::{is_agent_token, Emu, ORG};
use crate::documents::D16;

const TOKEN_FIELDS: &str = "__typename
    ... on DagsterCloudAgentToken {
        id description token revoked revokeTimestamp createTimestamp
        revokedBy { email }
        createdBy { userId }
        permissions {
            organizationPermissionGrant { id organizationId deploymentId grant deploymentScope locationGrants { locationName } }
            allBranchDeploymentsPermissionGrant { id deploymentId grant deploymentScope }
            perBaseBranchDeploymentsPermissionGrants { id }
            deploymentPermissionGrants { id deploymentId grant deploymentScope }
        }
    }
    ... on PythonError { message className stack }
    ... on UnauthorizedError { message }";

fn read_token(emu: &Emu, id: i64) -> Value {
    let reply = emu.gql(
        &format!("query($id: Int!) {{ agentTokenOrError(tokenId: $id) {{ {TOKEN_FIELDS} }} }}"),
        json!({ "id": id }),
    );
    reply["data"]["agentTokenOrError"].clone()
}

fn set_grant(emu: &Emu, token_id: i64, scope: &str, deployment_id: Value) -> Value {
    let reply = emu.gql(
        &format!(
            "mutation($p: CreateOrUpdateCloudAgentPermissionsInput!) {{ createOrUpdateAgentPermissions(agentPermission: $p) {{ {TOKEN_FIELDS} }} }}"
        ),
        json!({ "p": { "agentTokenId": token_id, "deploymentId": deployment_id, "grant": "AGENT", "deploymentScope": scope } }),
    );
    reply["data"]["createOrUpdateAgentPermissions"].clone()
}

fn remove_grant(emu: &Emu, token_id: i64, scope: &str, deployment_id: Value) -> Value {
    let reply = emu.gql(
        &format!(
            "mutation($p: RemoveAgentPermissionsInput!) {{ removeAgentPermissions(agentPermission: $p) {{ {TOKEN_FIELDS} }} }}"
        ),
        json!({ "p": { "agentTokenId": token_id, "deploymentId": deployment_id, "deploymentScope": scope } }),
    );
    reply["data"]["removeAgentPermissions"].clone()
}

#[test]
fn d16_verbatim_creates_a_token_with_an_org_agent_grant() {
    let emu = Emu::start();
    // Exactly what `dg plus create ci-api-token` posts, to the `dg` path with its header.
    let reply = emu.post_raw(
        &format!("/{ORG}/graphql"),
        Some(crate::common::USER_TOKEN),
        &[("Dagster-Cloud-Organization", ORG)],
        &json!({ "query": D16, "operationName": null, "variables": { "description": "bd agent token" } }),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let created = &reply.json["data"]["createAgentToken"];
    assert_eq!(created["__typename"], "DagsterCloudAgentToken");
    let token = created["token"].as_str().expect("token string");
    assert!(is_agent_token(token), "bad token format: {token}");

    // `dg plus create ci-api-token` without --description sends null.
    let reply = emu.post_raw(
        &format!("/{ORG}/graphql"),
        Some(crate::common::USER_TOKEN),
        &[("Dagster-Cloud-Organization", ORG)],
        &json!({ "query": D16, "operationName": null, "variables": { "description": null } }),
    );
    let second = reply.json["data"]["createAgentToken"]["token"].as_str().expect("token").to_owned();
    assert!(is_agent_token(&second));
    assert_ne!(second, token, "tokens must be random");

    let first = read_token(&emu, 1);
    assert_eq!(first["description"], "bd agent token");
    assert_eq!(first["token"], token);
    assert_eq!(first["revoked"], false);
    assert!(first["createTimestamp"].as_f64().expect("float timestamp") > 1.6e9);
    let org_grant = &first["permissions"]["organizationPermissionGrant"];
    assert_eq!(org_grant["grant"], "AGENT");
    assert_eq!(org_grant["deploymentScope"], "ORGANIZATION");
    assert_eq!(org_grant["deploymentId"], Value::Null);
    assert_eq!(org_grant["locationGrants"], json!([]));
    assert_eq!(read_token(&emu, 2)["description"], Value::Null);
    assert_eq!(emu.emulator.operation_counts().get("mutation.createAgentToken"), Some(&2));
}

#[test]
fn grants_can_be_moved_from_organization_to_branch_deployments() {
    let emu = Emu::start();
    let (id, _) = emu.create_token("branch agent");
    let org_grant_id = read_token(&emu, id)["permissions"]["organizationPermissionGrant"]["id"].clone();

    // The Go provider sends deploymentId 0 for org-wide scopes.
    let after = set_grant(&emu, id, "ALL_BRANCH_DEPLOYMENTS", json!(0));
    assert_eq!(after["__typename"], "DagsterCloudAgentToken", "{after}");
    let all_branch = after["permissions"]["allBranchDeploymentsPermissionGrant"].clone();
    assert_eq!(all_branch["deploymentScope"], "ALL_BRANCH_DEPLOYMENTS");
    assert_eq!(all_branch["deploymentId"], Value::Null);
    // Setting the same scope again (null id this time) keeps the grant's id.
    let again = set_grant(&emu, id, "ALL_BRANCH_DEPLOYMENTS", Value::Null);
    assert_eq!(again["permissions"]["allBranchDeploymentsPermissionGrant"]["id"], all_branch["id"]);
    assert_ne!(all_branch["id"], org_grant_id);

    let removed = remove_grant(&emu, id, "ORGANIZATION", json!(0));
    assert_eq!(removed["permissions"]["organizationPermissionGrant"], Value::Null);

    let read = read_token(&emu, id);
    assert_eq!(read["permissions"]["organizationPermissionGrant"], Value::Null);
    assert_eq!(read["permissions"]["allBranchDeploymentsPermissionGrant"]["grant"], "AGENT");
    assert_eq!(read["permissions"]["perBaseBranchDeploymentsPermissionGrants"], json!([]));

    // A DEPLOYMENT grant for `prod`, its id resolved by name like the provider does.
    let prod =
        emu.gql("{ deploymentByName(name: \"prod\") { ... on DagsterCloudDeployment { deploymentId } } }", json!({}));
    let prod_id = prod["data"]["deploymentByName"]["deploymentId"].clone();
    assert_eq!(prod_id, json!(1));
    let with_dep = set_grant(&emu, id, "DEPLOYMENT", prod_id.clone());
    let grants = with_dep["permissions"]["deploymentPermissionGrants"].as_array().expect("list").clone();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["deploymentId"], prod_id);
    assert_eq!(grants[0]["deploymentScope"], "DEPLOYMENT");

    let unknown = set_grant(&emu, id, "DEPLOYMENT", json!(999));
    assert_eq!(unknown["__typename"], "PythonError");
    assert!(unknown["message"].as_str().unwrap_or("").contains("999"), "{unknown}");
    let missing_token = set_grant(&emu, 4242, "ORGANIZATION", Value::Null);
    assert_eq!(missing_token["__typename"], "PythonError");

    let cleared = remove_grant(&emu, id, "DEPLOYMENT", prod_id);
    assert_eq!(cleared["permissions"]["deploymentPermissionGrants"], json!([]));
}

#[test]
fn rename_revoke_and_list() {
    let emu = Emu::start();
    let (id, _) = emu.create_token("old name");
    let (other, _) = emu.create_token("keeper");

    let renamed = emu.gql(
        "mutation($id: Int!) { editAgentTokenDescription(tokenId: $id, description: \"new name\") { __typename ... on DagsterCloudAgentToken { description } } }",
        json!({ "id": id }),
    );
    assert_eq!(renamed["data"]["editAgentTokenDescription"]["description"], "new name");

    let revoke = |token_id: i64| {
        emu.gql(
            &format!(
                "mutation($id: Int!) {{ revokeAgentToken(tokenId: $id) {{ {TOKEN_FIELDS} ... on DagsterCloudTokenNotFoundError {{ message }} }} }}"
            ),
            json!({ "id": token_id }),
        )["data"]["revokeAgentToken"]
            .clone()
    };
    let revoked = revoke(id);
    assert_eq!(revoked["revoked"], true);
    let stamp = revoked["revokeTimestamp"].as_f64().expect("revokeTimestamp");
    assert!(revoked["revokedBy"]["email"].is_string());
    // Revoking twice is fine and keeps the first timestamp.
    let twice = revoke(id);
    assert_eq!(twice["__typename"], "DagsterCloudAgentToken");
    assert_eq!(twice["revokeTimestamp"].as_f64(), Some(stamp));

    let unknown = revoke(777);
    assert_eq!(unknown["__typename"], "DagsterCloudTokenNotFoundError");
    assert!(unknown["message"].as_str().unwrap_or("").contains("777"));

    let rename_unknown =
        emu.gql("mutation { editAgentTokenDescription(tokenId: 777, description: null) { __typename } }", json!(null));
    assert_eq!(rename_unknown["data"]["editAgentTokenDescription"]["__typename"], "DagsterCloudTokenNotFoundError");

    let list = emu.gql(
        "{ agentTokensOrError { __typename ... on DagsterCloudAgentTokens { tokens { id revoked description revokeTimestamp } } } }",
        json!({}),
    );
    let tokens = list["data"]["agentTokensOrError"]["tokens"].as_array().expect("tokens").clone();
    assert_eq!(tokens.len(), 2, "revoked tokens stay listed");
    assert_eq!(tokens[0]["id"], id);
    assert_eq!(tokens[0]["revoked"], true);
    assert_eq!(tokens[0]["description"], "new name");
    assert_eq!(tokens[1]["id"], other);
    assert_eq!(tokens[1]["revoked"], false);
    assert_eq!(tokens[1]["revokeTimestamp"], Value::Null);

    // Permissions on a revoked token are refused.
    let on_revoked = set_grant(&emu, id, "ALL_BRANCH_DEPLOYMENTS", Value::Null);
    assert_eq!(on_revoked["__typename"], "PythonError");
    assert!(on_revoked["message"].as_str().unwrap_or("").contains("revoked"), "{on_revoked}");

    let missing = read_token(&emu, 9999);
    assert_eq!(missing["__typename"], "PythonError");
    assert!(missing["message"].as_str().unwrap_or("").contains("9999"));
}
