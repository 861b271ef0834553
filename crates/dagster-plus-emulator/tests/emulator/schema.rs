//! The schema's names must be exactly the real API's (generated clients and
//! hand-written documents depend on them).

#[test]
fn sdl_uses_the_real_type_field_and_argument_names() {
    let sdl = dagster_plus_emulator::schema_sdl();
    for expected in [
        "query: CloudQuery",
        "mutation: CloudMutation",
        "createAgentToken(description: String): CreateAgentTokenResult!",
        "agentTokensOrError: AgentTokensOrError!",
        "agentTokenOrError(tokenId: Int!): AgentTokenOrError!",
        "revokeAgentToken(tokenId: Int!): RevokeAgentTokenResult!",
        "editAgentTokenDescription(description: String, tokenId: Int!): EditDescAgentTokenResult!",
        "createOrUpdateAgentPermissions(agentPermission: CreateOrUpdateCloudAgentPermissionsInput!): ModifyAgentTokenResult!",
        "removeAgentPermissions(agentPermission: RemoveAgentPermissionsInput!): ModifyAgentTokenResult!",
        "deploymentByName(name: String!): DeploymentOrError!",
        "currentDeployment: DagsterCloudDeployment!",
        "fullDeployments: [DagsterCloudDeployment!]!",
        "union CreateAgentTokenResult = DagsterCloudAgentToken | UnauthorizedError | PythonError",
        "union RevokeAgentTokenResult = DagsterCloudAgentToken | DagsterCloudTokenNotFoundError | UnauthorizedError | PythonError",
        "union DeploymentOrError = DagsterCloudDeployment | DeploymentNotFoundError | PythonError | UnauthorizedError",
        "type PythonError implements Error",
        "type UnauthorizedError implements Error",
        "type DagsterCloudTokenNotFoundError implements Error",
        "type DeploymentNotFoundError implements Error",
        "interface Error",
        "type DagsterCloudScopedPermissionGrants",
        "deploymentType: DagsterCloudDeploymentType!",
        "createTimestamp: Float",
        "createOrUpdateBranchDeployment(baseDeploymentName: String, branchData: CreateOrUpdateBranchDeploymentInput!, commit: DeploymentCommitInput!, snapshotBaseCondition: SnapshotBaseDeploymentCondition): CreateDeploymentResult!",
        "union CreateDeploymentResult = DagsterCloudDeployment | DeploymentNotFoundError | UnauthorizedError | PythonError | DuplicateDeploymentError | DeploymentLimitError",
        "deleteDeployment(deploymentId: Int!): DeleteDeploymentResult!",
        "union DeleteDeploymentResult = DagsterCloudDeployment | DeploymentNotFoundError | DeleteFinalDeploymentError | UnauthorizedError | PythonError",
        "getBranchDeploymentName(repoName: String!, branchName: String!): String!",
        "branchDeployments(limit: Int!, pullRequestStatus: PullRequestStatus): BranchDeploymentsConnection!",
        "addOrUpdateLocationFromDocument(document: GenericScalar!): AddOrUpdateLocationResult!",
        "union AddOrUpdateLocationResult = WorkspaceEntry | PythonError | UnauthorizedError | InvalidLocationError",
        "deleteLocation(locationName: String!): DeleteLocationResult!",
        "reconcileLocationsFromDocument(document: GenericScalar!): ReconcileLocationsResult!",
        "deployLocations(document: GenericScalar!): DeployLocationsResult!",
        "workspaceEntries(agentQueues: [String]): [WorkspaceEntry!]!",
        "union RepositoryLocationOrLoadError = RepositoryLocation | PythonError",
        "type InvalidLocationError implements Error",
        "errors: [String]!",
        "lastHeartbeatTime: Float!",
        "markCliEvent(eventType: CliEventType!, durationSeconds: Float!, success: Boolean, tags: [String], message: String): String!",
    ] {
        assert!(sdl.contains(expected), "SDL lacks {expected:?}");
    }
    let scopes = "enum PermissionDeploymentScope {\n\tDEPLOYMENT\n\tORGANIZATION\n\tALL_BRANCH_DEPLOYMENTS\n}";
    assert!(sdl.contains(scopes), "PermissionDeploymentScope values differ");
    let grants =
        "enum PermissionGrant {\n\tCATALOG_VIEWER\n\tVIEWER\n\tLAUNCHER\n\tEDITOR\n\tADMIN\n\tAGENT\n\tCUSTOM\n}";
    assert!(sdl.contains(grants), "PermissionGrant values differ");
    for (name, values) in [
        ("PullRequestStatus", "OPEN\n\tCLOSED\n\tMERGED"),
        ("SnapshotBaseDeploymentCondition", "ON_CREATE\n\tON_UPDATE"),
        ("RepositoryLocationLoadStatus", "LOADING\n\tLOADED"),
        ("AgentStatus", "RUNNING\n\tNOT_RUNNING"),
        ("DeploymentStatus", "ACTIVE\n\tPENDING_DELETION"),
    ] {
        let expected = format!("enum {name} {{\n\t{values}\n}}");
        assert!(sdl.contains(&expected), "{name} values differ");
    }
}
