use super::*;

fn problems(document: &str) -> Vec<String> {
    validate_document(&Schema::real(), document).iter().map(ToString::to_string).collect()
}

fn assert_one(document: &str, expected: &str) {
    let found = problems(document);
    assert_eq!(found, vec![expected.to_string()], "for {document}");
}

const TOKEN: &str = "mutation CreateAgentToken($description: String) {
  createAgentToken(description: $description) {
    __typename
    ... on DagsterCloudAgentToken { id permissions { organizationPermissionGrant { id } } }
    ... on PythonError { message }
  }
}";

#[test]
fn a_document_that_fits_has_no_problems() {
    assert_eq!(problems(TOKEN), Vec::<String>::new());
    let with_fragment = "query Tokens { agentTokensOrError { ... on DagsterCloudAgentTokens { tokens { ...T } } ... on Error { message } } }
fragment T on DagsterCloudAgentToken { id revoked }";
    assert_eq!(problems(with_fragment), Vec::<String>::new());
}

#[test]
fn a_misspelt_field_is_named_with_its_path() {
    assert_one(
        &TOKEN.replace("organizationPermissionGrant { id }", "organizationPermissionGrant { idd }"),
        "CreateAgentToken: createAgentToken.permissions.organizationPermissionGrant.idd: `DagsterCloudScopedPermissionGrant` has no field `idd`",
    );
}

#[test]
fn a_variable_of_the_wrong_type_is_named() {
    assert_one(
        "mutation Revoke($tokenId: String!) { revokeAgentToken(tokenId: $tokenId) { __typename } }",
        "Revoke: revokeAgentToken: argument `tokenId` is `Int!`, but `$tokenId` is declared `String!`",
    );
    // A nullable variable does not fit a non-null argument; a non-null one fits a nullable argument.
    assert_one(
        "mutation Revoke($tokenId: Int) { revokeAgentToken(tokenId: $tokenId) { __typename } }",
        "Revoke: revokeAgentToken: argument `tokenId` is `Int!`, but `$tokenId` is declared `Int`",
    );
    assert_eq!(problems(&TOKEN.replace("$description: String)", "$description: String!)")), Vec::<String>::new());
}

#[test]
fn missing_and_unknown_arguments_and_undeclared_variables_are_named() {
    let found = problems("mutation Revoke { revokeAgentToken(id: $id) { __typename } }");
    assert_eq!(
        found,
        [
            "Revoke: revokeAgentToken: `revokeAgentToken` has no argument `id`",
            "Revoke: revokeAgentToken: required argument `tokenId: Int!` is missing",
        ]
    );
}

#[test]
fn a_fragment_on_a_non_member_is_named() {
    assert_one(
        &TOKEN.replace("... on PythonError", "... on DeploymentNotFoundError"),
        "CreateAgentToken: createAgentToken: inline fragment on `DeploymentNotFoundError` can never apply: `DeploymentNotFoundError` is not a member of union `CreateAgentTokenResult`",
    );
    assert_one(
        "query Q { deploymentByName(name: \"x\") { ...F } }\nfragment F on DagsterCloudAgentToken { id }",
        "Q: deploymentByName: fragment `F` on `DagsterCloudAgentToken` can never apply: `DagsterCloudAgentToken` is not a member of union `DeploymentOrError`",
    );
    assert_one(
        "query Q { deploymentByName(name: \"x\") { ... on Nowhere { id } } }",
        "Q: deploymentByName: inline fragment on `Nowhere`: there is no type `Nowhere`",
    );
}

#[test]
fn an_unknown_enum_literal_is_named() {
    assert_one(
        "query Q { branchDeployments(limit: 1, pullRequestStatus: REOPENED) { nodes { deploymentId } } }",
        "Q: branchDeployments: argument `pullRequestStatus`: `REOPENED` is not a value of enum `PullRequestStatus` (OPEN, CLOSED, MERGED)",
    );
    let input = "mutation G { createOrUpdateAgentPermissions(agentPermission: {agentTokenId: 1, grant: AGENT, deploymentScope: EVERYWHERE}) { __typename } }";
    assert_one(
        input,
        "G: createOrUpdateAgentPermissions: argument `agentPermission`.deploymentScope: `EVERYWHERE` is not a value of enum `PermissionDeploymentScope` (DEPLOYMENT, ORGANIZATION, ALL_BRANCH_DEPLOYMENTS)",
    );
}

#[test]
fn selection_sets_fit_the_kind_of_type() {
    assert_one(
        "query Q { currentDeployment }",
        "Q: currentDeployment: `currentDeployment` is a `DagsterCloudDeployment!`, which needs a selection of its fields",
    );
    assert_one(
        "query Q { getBranchDeploymentName(repoName: \"r\", branchName: \"b\") { x } }",
        "Q: getBranchDeploymentName: `getBranchDeploymentName` is a `String!`, a leaf that takes no selection",
    );
    assert_one(
        "query Q { deploymentByName(name: \"x\") { __typename message } }",
        "Q: deploymentByName.message: `DeploymentOrError` is a union: only `__typename` can be selected on it directly; select `message` in a fragment on a member",
    );
}

#[test]
fn operation_kinds_roots_and_variables_are_checked() {
    assert_one(
        "query Q { createAgentToken { __typename } }",
        "Q: createAgentToken: `CloudQuery` has no field `createAgentToken`",
    );
    let found = problems("query Q($x: DagsterCloudDeployment) { deploymentByName(name: $x) { __typename } }");
    assert_eq!(
        found[0],
        "Q: `$x` is declared `DagsterCloudDeployment`, but `DagsterCloudDeployment` is not a scalar, enum or input object"
    );
    let found = problems("query Q($x: Nope, $y: String) { deploymentByName(name: $x) { __typename } }");
    assert_eq!(
        found,
        [
            "Q: `$x` is declared `Nope`, but there is no type `Nope`",
            "Q: deploymentByName: argument `name` is `String!`, but `$x` is declared `Nope`",
            "Q: `$y` is declared but never used",
        ]
    );
    assert_eq!(
        problems("query Q { currentDeployment { deploymentId } }\nfragment Unused on Agent { id }"),
        ["document: fragment `Unused` is never used"]
    );
}

#[test]
fn a_field_of_a_stub_type_cannot_be_checked() {
    let document = "query Q { workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories { pipelines { name } } } } } } } }";
    let found = problems(document);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("`Pipeline` is recorded without its fields, so `name` cannot be checked"), "{found:#?}");
}

#[test]
fn operations_lists_names_and_kinds() {
    let headers =
        operations("query B { agents { id } } mutation A { noop: deleteLocation(locationName: \"x\") { __typename } }");
    let headers = headers.unwrap();
    assert_eq!(headers[0], OperationHeader { name: Some("A".into()), kind: OperationType::Mutation });
    assert_eq!(headers[1], OperationHeader { name: Some("B".into()), kind: OperationType::Query });
}
