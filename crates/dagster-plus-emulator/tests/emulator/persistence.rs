use serde_json::json;

use crate::common::{Emu, TempPath, ORG, USER_TOKEN};
use dagster_plus_emulator::{EmulatorConfig, RunningEmulator};

#[test]
fn state_survives_a_restart() {
    let state = TempPath::new("state.json");
    let (kept_token, inventory_before) = {
        let emu = Emu::start_with_state(Some(state.0.clone()));
        let (kept, kept_value) = emu.create_token("kept");
        let (gone, _) = emu.create_token("gone");
        emu.gql(
            "mutation($p: CreateOrUpdateCloudAgentPermissionsInput!) { createOrUpdateAgentPermissions(agentPermission: $p) { __typename } }",
            json!({ "p": { "agentTokenId": kept, "deploymentId": null, "grant": "AGENT", "deploymentScope": "ALL_BRANCH_DEPLOYMENTS" } }),
        );
        emu.gql("mutation($id: Int!) { revokeAgentToken(tokenId: $id) { __typename } }", json!({ "id": gone }));
        emu.emulator.add_full_deployment("staging").expect("seeded");
        assert!(state.0.exists(), "state is written after each mutation");
        (kept_value, emu.emulator.inventory())
    };

    let emu = Emu::start_with_state(Some(state.0.clone()));
    assert_eq!(emu.emulator.inventory(), inventory_before);
    // The surviving agent token still authenticates; ids continue where they stopped.
    let as_agent = emu.gql_as(&kept_token, "/staging/graphql", "{ currentDeployment { deploymentId } }", json!({}));
    assert_eq!(as_agent["data"]["currentDeployment"]["deploymentId"], 2);
    let (next_id, _) = emu.create_token("after restart");
    assert_eq!(next_id, 3);
}

#[test]
fn a_corrupt_or_foreign_state_file_fails_start() {
    let state = TempPath::new("corrupt.json");
    std::fs::write(&state.0, b"{not json").expect("write");
    let err = RunningEmulator::start(EmulatorConfig {
        organization: ORG.to_owned(),
        api_token: USER_TOKEN.to_owned(),
        state_file: Some(state.0.clone()),
        ..EmulatorConfig::default()
    })
    .err()
    .expect("start must fail");
    assert!(err.to_string().contains("not valid emulator state"), "{err}");

    let foreign = TempPath::new("foreign.json");
    drop(Emu::start_with_state(Some(foreign.0.clone())));
    let err = RunningEmulator::start(EmulatorConfig {
        organization: "other-org".to_owned(),
        api_token: USER_TOKEN.to_owned(),
        state_file: Some(foreign.0.clone()),
        ..EmulatorConfig::default()
    })
    .err()
    .expect("start must fail");
    assert!(err.to_string().contains("belongs to organization"), "{err}");
}

#[test]
fn branch_deployments_locations_and_agents_survive_a_restart() {
    let state = TempPath::new("everything.json");
    let before = {
        let emu = Emu::start_with_state(Some(state.0.clone()));
        emu.emulator.set_location_load_delay(std::time::Duration::ZERO);
        let created = emu.gql(
            crate::documents::D1,
            json!({"branchData": {"repoName": "r", "branchName": "feature/p"}, "commit": {"commitHash": "c1", "timestamp": 2.0}}),
        );
        let name =
            created["data"]["createOrUpdateBranchDeployment"]["deploymentName"].as_str().expect("name").to_owned();
        let added = emu.gql_as(
            USER_TOKEN,
            &format!("/{name}/graphql"),
            crate::documents::D5,
            json!({"document": {"location_name": "l", "code_source": {"package_name": "p"}, "image": "i:1"}}),
        );
        assert_eq!(added["data"]["addOrUpdateLocationFromDocument"]["__typename"], "WorkspaceEntry");
        emu.emulator.heartbeat("persisted-agent", &[]).expect("heartbeat");
        emu.emulator.inventory()
    };
    let emu = Emu::start_with_state(Some(state.0.clone()));
    let after = emu.emulator.inventory();
    assert_eq!(after, before);
    let branch = &after["deployments"][1];
    assert_eq!(branch["branch"]["branchName"], "feature/p");
    assert_eq!(branch["locations"][0]["load"]["status"], "LOADED");
    assert_eq!(after["agents"][0]["agentLabel"], "persisted-agent");
    // The same (repo, branch) still maps to the same deployment.
    let again = emu.gql("{ getBranchDeploymentName(repoName: \"r\", branchName: \"feature/p\") }", json!({}));
    assert_eq!(again["data"]["getBranchDeploymentName"], branch["deploymentName"]);
}
