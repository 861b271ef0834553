use serde_json::json;

use crate::common::Emu;

const UNAUTHORIZED: &str = r#"{"errors":[{"message":"Unauthorized","extensions":{"code":"UNAUTHENTICATED"}}]}"#;

fn list_tokens_body() -> serde_json::Value {
    json!({ "query": "{ agentTokensOrError { __typename } }", "variables": {} })
}

#[test]
fn unknown_or_missing_tokens_get_401_with_the_exact_body() {
    let emu = Emu::start();
    for token in [Some("user:test-org:nobody:bad"), None, Some("")] {
        let reply = emu.post_raw("/graphql", token, &[], &list_tokens_body());
        assert_eq!(reply.status, 401, "token {token:?}");
        assert_eq!(reply.text, UNAUTHORIZED);
    }
    let counts = emu.emulator.operation_counts();
    assert_eq!(counts.get("http.401"), Some(&3));
    assert_eq!(counts.get("query.agentTokensOrError"), None, "rejected requests serve no field");
}

#[test]
fn a_revoked_agent_token_is_unauthenticated() {
    let emu = Emu::start();
    let (id, agent) = emu.create_token("short-lived");
    let before = emu.post_raw("/graphql", Some(&agent), &[], &list_tokens_body());
    assert_eq!(before.status, 200);

    let revoked = emu.gql("mutation($id: Int!) { revokeAgentToken(tokenId: $id) { __typename } }", json!({ "id": id }));
    assert_eq!(revoked["data"]["revokeAgentToken"]["__typename"], "DagsterCloudAgentToken");

    let after = emu.post_raw("/graphql", Some(&agent), &[], &list_tokens_body());
    assert_eq!(after.status, 401);
    assert_eq!(after.text, UNAUTHORIZED);
}

#[test]
fn a_live_agent_token_cannot_manage_tokens() {
    let emu = Emu::start();
    let (id, agent) = emu.create_token("agent");

    let create = emu.gql_as(&agent, "/graphql", crate::documents::D16, json!({ "description": "escalation" }));
    assert_eq!(create["data"]["createAgentToken"]["__typename"], "UnauthorizedError");
    assert!(create["data"]["createAgentToken"]["message"].as_str().is_some_and(|m| !m.is_empty()));

    let list = emu.gql_as(&agent, "/graphql", "{ agentTokensOrError { __typename } }", json!({}));
    assert_eq!(list["data"]["agentTokensOrError"]["__typename"], "UnauthorizedError");

    let revoke = emu.gql_as(
        &agent,
        "/graphql",
        "mutation($id: Int!) { revokeAgentToken(tokenId: $id) { __typename } }",
        json!({ "id": id }),
    );
    assert_eq!(revoke["data"]["revokeAgentToken"]["__typename"], "UnauthorizedError");

    // It is still a valid credential for non-token fields.
    let deployments = emu.gql_as(&agent, "/graphql", "{ fullDeployments { deploymentName } }", json!({}));
    assert_eq!(deployments["data"]["fullDeployments"][0]["deploymentName"], "prod");

    // Nothing was created or revoked.
    let inventory = emu.emulator.inventory();
    let tokens = inventory["agentTokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["revoked"], false);
}
