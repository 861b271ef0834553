use std::time::Duration;

use dagster_plus_emulator::AgentHeartbeat;
use serde_json::{json, Value};

use crate::common::{Emu, USER_TOKEN};
use crate::documents::{D17, D6};

fn agents(emu: &Emu, path: &str) -> Vec<Value> {
    let reply = emu.gql_as(USER_TOKEN, path, D17, json!({}));
    reply["data"]["agents"].as_array().cloned().unwrap_or_default()
}

#[test]
fn heartbeats_make_agents_running_until_stopped_or_silent() {
    let emu = Emu::start();
    assert!(agents(&emu, "/graphql").is_empty());

    let id = emu.emulator.heartbeat("bd-agent", &[("version", json!("1.13.27"))]).expect("heartbeat");
    let listed = agents(&emu, "/graphql");
    assert_eq!(listed.len(), 1);
    let agent = &listed[0];
    assert_eq!(agent["id"], id.as_str());
    assert_eq!(agent["agentLabel"], "bd-agent");
    assert_eq!(agent["status"], "RUNNING");
    assert!(agent["lastHeartbeatTime"].as_f64().is_some_and(|t| t > 1.6e9));
    assert_eq!(
        agent["metadata"],
        json!([{"key": "version", "value": "\"1.13.27\""}, {"key": "queues", "value": "[\"default queue\"]"}])
    );

    // The CLI's own check (D6) at a deployment scope.
    let d6 = emu.gql_as(USER_TOKEN, "/prod/graphql", D6, json!({}));
    assert_eq!(d6["data"]["agents"], json!([{"status": "RUNNING", "errors": []}]));

    emu.emulator.stop_heartbeats("bd-agent").expect("stopped");
    assert_eq!(agents(&emu, "/graphql")[0]["status"], "NOT_RUNNING");
    assert!(emu.emulator.stop_heartbeats("nobody").is_err());

    // Silence longer than the timeout also stops it.
    emu.emulator.set_agent_heartbeat_timeout(Duration::from_millis(200));
    let again = emu.post_raw(
        "/_emulator/agents/heartbeat",
        None,
        &[],
        &json!({"label": "bd-agent", "errors": ["boom"], "queues": [null, "special"]}),
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["agentId"], id.as_str(), "same label, same agent");
    let running = &agents(&emu, "/graphql")[0];
    assert_eq!(running["status"], "RUNNING");
    let with_errors = emu.gql("{ agents { errors { error { message } } metadata { key value } } }", json!({}));
    assert_eq!(with_errors["data"]["agents"][0]["errors"][0]["error"]["message"], "boom");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(agents(&emu, "/graphql")[0]["status"], "NOT_RUNNING");
    let stop = emu.post_raw("/_emulator/agents/stop", None, &[], &json!({"label": "missing"}));
    assert_eq!(stop.status, 404);
}

#[test]
fn scoped_agents_are_listed_only_in_their_deployments() {
    let emu = Emu::start();
    emu.emulator.add_full_deployment("staging").expect("seeded");
    emu.emulator.send_heartbeat(AgentHeartbeat::new("staging-agent").for_deployments(&["staging"])).expect("heartbeat");
    assert_eq!(agents(&emu, "/staging/graphql").len(), 1);
    assert!(agents(&emu, "/prod/graphql").is_empty());
    assert_eq!(agents(&emu, "/graphql").len(), 1, "the organization sees all agents");
}

// The agent's own call shape (§5.3), with an agent token.
const HEARTBEATS: &str = "mutation AddAgentHeartbeats($serializedAgentHeartbeats: [AgentHeartbeatInput!], $serializedErrors: [String!]) {
    userCloudAgent { addAgentHeartbeats(serializedAgentHeartbeats: $serializedAgentHeartbeats, serializedErrors: $serializedErrors) { ok } } }";

fn serialized_heartbeat(agent_id: &str) -> String {
    json!({
        "__class__": "AgentHeartbeat", "timestamp": 1718000000.25, "agent_id": agent_id, "agent_label": "k8s-bd",
        "agent_type": "K8sUserCodeLauncher", "errors": [], "metadata": {"version": "1.13.27", "image_tag": null},
        "run_worker_statuses": null, "code_server_heartbeats": [],
        "agent_queues_config": {"__class__": "AgentQueuesConfig", "include_default_queue": true, "additional_queues": ["bd"]}
    })
    .to_string()
}

#[test]
fn agents_can_heartbeat_through_the_agent_api() {
    let emu = Emu::start();
    let (_, agent_token) = emu.create_token("agent");
    emu.emulator.add_full_deployment("staging").expect("seeded");
    let beat = serialized_heartbeat("c0b1ab17-0000-4000-8000-000000000001");
    let reply = emu.gql_as(
        &agent_token,
        "/graphql",
        HEARTBEATS,
        json!({
            "serializedAgentHeartbeats": [
                {"deploymentName": "prod", "serializedAgentHeartbeat": beat},
                {"deploymentName": "staging", "serializedAgentHeartbeat": beat}],
            "serializedErrors": []
        }),
    );
    assert_eq!(reply["data"]["userCloudAgent"]["addAgentHeartbeats"]["ok"], true, "{reply}");
    for path in ["/prod/graphql", "/staging/graphql"] {
        let listed = agents(&emu, path);
        assert_eq!(listed.len(), 1, "{path}");
        assert_eq!(listed[0]["id"], "c0b1ab17-0000-4000-8000-000000000001");
        assert_eq!(listed[0]["agentLabel"], "k8s-bd");
        let metadata = listed[0]["metadata"].as_array().expect("metadata").clone();
        assert!(metadata.contains(&json!({"key": "type", "value": "\"K8sUserCodeLauncher\""})));
        assert!(metadata.contains(&json!({"key": "queues", "value": "[\"default queue\", \"bd\"]"})));
        assert!(metadata.contains(&json!({"key": "image_tag", "value": null})));
    }

    // A user token may not pose as an agent.
    let refused = emu.gql(HEARTBEATS, json!({"serializedAgentHeartbeats": []}));
    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHORIZED");
    let garbage = emu.gql_as(
        &agent_token,
        "/graphql",
        HEARTBEATS,
        json!({"serializedAgentHeartbeats": [{"deploymentName": "prod", "serializedAgentHeartbeat": "{}"}]}),
    );
    assert!(garbage["errors"][0]["message"].as_str().is_some_and(|m| m.contains("agent_id")));
    assert_eq!(emu.emulator.inventory()["agents"].as_array().map(Vec::len), Some(1));
}
