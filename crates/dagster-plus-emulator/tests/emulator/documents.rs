//! GraphQL documents exactly as the real CLIs send them (API reference,
//! Appendix A.2), byte for byte, including leading and trailing whitespace.

pub const D1: &str = r#"
mutation CliCreateOrUpdateBranchDeployment(
    $branchData: CreateOrUpdateBranchDeploymentInput!
    $commit: DeploymentCommitInput!
    $baseDeploymentName: String
    $snapshotBaseCondition: SnapshotBaseDeploymentCondition
) {
    createOrUpdateBranchDeployment(
        branchData: $branchData,
        commit: $commit,
        baseDeploymentName: $baseDeploymentName,
        snapshotBaseCondition: $snapshotBaseCondition,
    ) {
        __typename
        ... on DagsterCloudDeployment {
            deploymentId
            deploymentName
        }
        ... on PythonError {
            message
        }
    }
}

"#;

pub const D2: &str = r#"
query CliGetBranchDeploymentName($repoName: String!, $branchName: String!) {
    getBranchDeploymentName(repoName: $repoName, branchName: $branchName)
}

"#;

pub const D3: &str = r#"
query DeploymentByNameQuery($deploymentName: String!) {
    deploymentByName(name: $deploymentName) {
        __typename
        ... on DagsterCloudDeployment {
            deploymentName
            deploymentId
            deploymentType
        }
    }
}

"#;

pub const D4: &str = r#"
mutation CliDeleteDeployment($deploymentId: Int!) {
    deleteDeployment(deploymentId: $deploymentId) {
        __typename
        ... on DagsterCloudDeployment {
            deploymentId
        }
        ... on PythonError {
            message
            stack
        }
    }
}

"#;

pub const D5: &str = r#"
mutation CliAddOrUpdateLocation($document: GenericScalar!) {
    addOrUpdateLocationFromDocument(document: $document) {
        __typename
        ... on WorkspaceEntry {
            locationName
        }
        ... on PythonError {
            message
            stack
        }
        ... on InvalidLocationError {
            errors
        }
        ... on UnauthorizedError {
            message
        }
    }
}

"#;

pub const D6: &str = r#"
query CliAgentStatus {
    agents {
        status
        errors {
            error {
                message
            }
        }
    }
}

"#;

pub const D7: &str = r#"
query CliLocationsQuery {
  workspaceOrError {
    __typename
    ... on Workspace {
        locationEntries {
            __typename
            name
            loadStatus
            locationOrLoadError {
                __typename
                ... on RepositoryLocation {
                    name
                }
                ... on PythonError {
                    message
                    stack
                    errorChain {
                        isExplicitLink
                        error {
                            message
                            stack
                        }
                    }
                }
            }
        }
    }
    ... on PythonError {
        message
        stack
    }
  }
}

"#;

pub const D8: &str = r#"
mutation CliDeleteLocation($locationName: String!) {
    deleteLocation(locationName: $locationName) {
        __typename
        ... on DeleteLocationSuccess {
            locationName
        }
        ... on PythonError {
            message
            stack
        }
    }
}

"#;

pub const D9: &str = r#"
query CliWorkspaceEntries {
    workspace {
        workspaceEntries {
            locationName
            serializedDeploymentMetadata
        }
    }
}

"#;

pub const D10: &str = r#"
query CliLocationsAsDocument {
    locationsAsDocument {
        __typename
        document
    }
}

"#;

pub const D11: &str = r#"
mutation CliReconcileLocationsFromDoc($document: GenericScalar!) {
    reconcileLocationsFromDocument(document: $document) {
        __typename
        ... on ReconcileLocationsSuccess {
            locations {
                locationName
            }
        }
        ... on PythonError {
            message
            stack
        }
        ... on InvalidLocationError {
            errors
        }
    }
}

"#;

pub const D12: &str = r#"
    query CliDeploymentSettings {
        deploymentSettings {
            settings
        }
    }

"#;

pub const D13: &str = r#"
    mutation CliSetDeploymentSettings($deploymentSettings: DeploymentSettingsInput!) {
        setDeploymentSettings(deploymentSettings: $deploymentSettings) {
            __typename
            ... on DeploymentSettings {
                settings
            }
            ...on UnauthorizedError {
                message
            }
            ... on PythonError {
                message
                stack
            }
        }
    }

"#;

pub const D14: &str = r#"
mutation CliDeployLocations($document: GenericScalar!) {
    deployLocations(document: $document) {
        __typename
        ... on DeployLocationsSuccess {
            locations {
                locationName
            }
        }
        ... on PythonError {
            message
            stack
        }
        ... on InvalidLocationError {
            errors
        }
    }
}

"#;

pub const D15: &str = r#"
 mutation MarkCliEventMutation(
   $eventType: CliEventType!
   $durationSeconds: Float!
   $success: Boolean
   $tags: [String]
   $message: String

 ) {
   markCliEvent(eventType: $eventType, durationSeconds: $durationSeconds, success: $success, tags: $tags, message: $message)
 }
 
"#;

pub const D16: &str = r#"
mutation CreateAgentTokenMutation($description: String) {
    createAgentToken(description: $description) {
        __typename
        ... on DagsterCloudAgentToken {
            token
        }
        ... on UnauthorizedError {
            message
        }
        ... on PythonError {
            message
            stack
        }
    }
}

"#;

pub const D17: &str = r#"
            query ListAgents {
              agents {
                id
                agentLabel
                status
                lastHeartbeatTime
                metadata {
                  key
                  value
                }
              }
            }
            
"#;

pub const D18: &str = r#"
            query ListDeployments {
              fullDeployments {
                deploymentName
                deploymentId
                deploymentType
                deploymentStatus
                agentType
                isBranchDeployment
                organizationName
              }
            }
            
"#;

pub const D19: &str = r#"
            query ListBranchDeployments($limit: Int!, $pullRequestStatus: PullRequestStatus) {
              branchDeployments(limit: $limit, pullRequestStatus: $pullRequestStatus) {
                nodes {
                  deploymentName
                  deploymentId
                  deploymentType
                  deploymentStatus
                  agentType
                  isBranchDeployment
                  organizationName
                }
              }
            }
            
"#;

pub const D20: &str = r#"
            query GetDeployment($deploymentName: String!) {
              deploymentByName(name: $deploymentName) {
                __typename
                ... on DagsterCloudDeployment {
                  deploymentName
                  deploymentId
                  deploymentType
                  deploymentStatus
                  agentType
                  isBranchDeployment
                  organizationName
                }
                ... on DeploymentNotFoundError {
                  message
                }
                ... on UnauthorizedError {
                  message
                }
                ... on PythonError {
                  message
                }
              }
            }
            
"#;

pub const D21: &str = r#"
            mutation DeleteDeployment($deploymentId: Int!) {
              deleteDeployment(deploymentId: $deploymentId) {
                __typename
                ... on DagsterCloudDeployment {
                  deploymentId
                  deploymentName
                  deploymentType
                  deploymentStatus
                  agentType
                  isBranchDeployment
                  organizationName
                }
                ... on PythonError {
                  message
                }
              }
            }
            
"#;

pub const D22: &str = r#"
            query ListCodeLocations {
              workspace {
                workspaceEntries {
                  locationName
                  serializedDeploymentMetadata
                }
              }
            }
            
"#;

pub const D23: &str = r#"
            query GetLocationStatuses {
              locationStatusesOrError {
                __typename
                ... on WorkspaceLocationStatusEntries {
                  entries {
                    name
                    loadStatus
                  }
                }
                ... on PythonError {
                  message
                }
              }
            }
            
"#;

pub const D24: &str = r#"
            mutation AddOrUpdateCodeLocation($document: GenericScalar!) {
              addOrUpdateLocationFromDocument(document: $document) {
                __typename
                ... on WorkspaceEntry {
                  locationName
                }
                ... on InvalidLocationError {
                  errors
                }
                ... on UnauthorizedError {
                  message
                }
                ... on PythonError {
                  message
                }
              }
            }
            
"#;

pub const D25: &str = r#"
            mutation DeleteCodeLocation($locationName: String!) {
              deleteLocation(locationName: $locationName) {
                __typename
                ... on DeleteLocationSuccess {
                  locationName
                }
                ... on UnauthorizedError {
                  message
                }
                ... on PythonError {
                  message
                }
              }
            }
            
"#;
