use serde_json::json;

use crate::common::{Emu, USER_TOKEN};

/// A document the server refuses before execution: top-level `errors`, no `data`.
fn assert_rejected(emu: &Emu, query: &str, variables: serde_json::Value, expect_in_message: &str) {
    let reply = emu.post_raw("/graphql", Some(USER_TOKEN), &[], &json!({ "query": query, "variables": variables }));
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json.as_object().expect("JSON object");
    assert!(!body.contains_key("data"), "no data expected: {}", reply.text);
    let errors = body["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty());
    let message = errors[0]["message"].as_str().expect("message");
    assert!(message.contains(expect_in_message), "message {message:?} lacks {expect_in_message:?}");
}

#[test]
fn invalid_documents_get_validation_errors() {
    let emu = Emu::start();
    assert_rejected(&emu, "{ agentTokensOrError { __typename } noSuchField }", json!({}), "noSuchField");
    assert_rejected(&emu, "mutation { createAgentToken(description: \"x\") { ", json!({}), "");
    assert_rejected(
        &emu,
        "mutation { createOrUpdateAgentPermissions(agentPermission: {agentTokenId: 1, grant: AGENT, deploymentScope: organization}) { __typename } }",
        json!({}),
        "organization",
    );
    // The same mistake through variables, as `branch-deployment --pull-request-status closed` makes.
    assert_rejected(
        &emu,
        "mutation($p: RemoveAgentPermissionsInput!) { removeAgentPermissions(agentPermission: $p) { __typename } }",
        json!({ "p": { "agentTokenId": 1, "deploymentScope": "organization" } }),
        "organization",
    );
    // Wrong argument name (the real one is tokenId).
    assert_rejected(&emu, "{ agentTokenOrError(id: 1) { __typename } }", json!({}), "id");

    let counts = emu.emulator.operation_counts();
    assert_eq!(counts.get("graphql.rejected"), Some(&5));
    assert_eq!(counts.get("mutation.removeAgentPermissions"), None);
    assert!(emu.emulator.inventory()["agentTokens"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn malformed_bodies_get_400() {
    let emu = Emu::start();
    let reply = emu.post_raw("/graphql", Some(USER_TOKEN), &[], &json!({ "variables": {} }));
    assert_eq!(reply.status, 400);
    assert!(reply.json["errors"][0]["message"].as_str().is_some_and(|m| m.contains("query")));
    let reply = emu.post_raw(
        "/graphql",
        Some(USER_TOKEN),
        &[],
        &json!({ "query": "{ deployments { deploymentId } }", "variables": [1] }),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(emu.emulator.operation_counts().get("http.400"), Some(&2));
}
