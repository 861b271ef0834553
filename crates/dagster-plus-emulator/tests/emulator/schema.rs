//! The schema's names must be exactly the real API's (generated clients and
//! hand-written documents depend on them).

use dagster_plus_schema::{surface_problems, Schema};

const OUTSIDE_THE_RECORD: &str =
    "reached only through a root field outside the recorded set (whose signature is checked)";
const AGENT_API: &str = "the agent API's (`{org}.agent.dagster.cloud`), which the emulator serves in the same schema; the record is the user API's";

/// Served things absent from the recorded real schema, each with why the record cannot judge it.
const UNKNOWN_TO_THE_RECORD: &[(&str, &str)] = &[
    ("CliEventType", OUTSIDE_THE_RECORD),                    // markCliEvent(eventType)
    ("DeploymentSettingsInput", OUTSIDE_THE_RECORD),         // setDeploymentSettings(deploymentSettings)
    ("SetDeploymentSettingsResult", OUTSIDE_THE_RECORD),     // setDeploymentSettings
    ("UpdateDeploymentAgentTypeResult", OUTSIDE_THE_RECORD), // updateDeploymentAgentType
    ("CloudMutation.userCloudAgent", AGENT_API),
    ("UserCloudAgentMutation", AGENT_API),
    ("AgentHeartbeatInput", AGENT_API),
    ("AgentHeartbeatsResult", AGENT_API),
    ("CloudQuery.agents(heartbeatedSince)", AGENT_API),
    ("CloudQuery.deployments(deploymentNames)", AGENT_API),
    ("CloudQuery.deployments(includeAllServerlessDeployments)", AGENT_API),
];

#[test]
fn everything_served_exists_in_the_real_schema_with_the_same_shape() {
    let problems = surface_problems(&Schema::real(), &dagster_plus_emulator::schema_sdl(), UNKNOWN_TO_THE_RECORD);
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "the emulator serves what the real Dagster+ does not:\n{}", problems.join("\n"));
}

/// What the surface check cannot see: that the root fields clients use are served at all, and that the
/// unions and enums they read are served in full (the check only proves the served part is real).
#[test]
fn what_clients_use_is_served_in_full() {
    let served = Schema::parse(&dagster_plus_emulator::schema_sdl()).unwrap();
    let real = Schema::real();
    for (root, fields) in [
        (
            "CloudQuery",
            &[
                "agentTokensOrError",
                "agentTokenOrError",
                "getBranchDeploymentName",
                "branchDeployments",
                "deploymentByName",
                "deployments",
                "fullDeployments",
                "currentDeployment",
                "workspace",
                "workspaceOrError",
                "locationsAsDocument",
                "agents",
                "locationStatusesOrError",
            ][..],
        ),
        (
            "CloudMutation",
            &[
                "createAgentToken",
                "revokeAgentToken",
                "editAgentTokenDescription",
                "createOrUpdateAgentPermissions",
                "removeAgentPermissions",
                "createOrUpdateBranchDeployment",
                "deleteDeployment",
                "addOrUpdateLocationFromDocument",
                "deleteLocation",
                "reconcileLocationsFromDocument",
                "deployLocations",
                "markCliEvent",
            ][..],
        ),
    ] {
        for field in fields {
            assert!(served.types[root].fields.contains_key(*field), "{root}.{field} is not served");
        }
    }
    let sorted = |names: &[String]| {
        let mut names = names.to_vec();
        names.sort();
        names
    };
    for (name, real_type) in &real.types {
        let Some(served_type) = served.types.get(name) else { continue };
        assert_eq!(sorted(&served_type.members), sorted(&real_type.members), "members of union {name}");
        assert_eq!(sorted(&served_type.values), sorted(&real_type.values), "values of enum {name}");
    }
    for error in real.possible_types("Error") {
        if let Some(served_type) = served.types.get(error) {
            assert!(served_type.interfaces.iter().any(|i| i == "Error"), "{error} does not implement Error");
        }
    }
}
