//! GraphQL documents exactly as the real CLIs send them (API reference,
//! Appendix A.2), byte for byte, including leading and trailing whitespace.

/// D16, sent by `dg plus create ci-api-token`.
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

/// D18, sent by `dg api deployment list`.
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

/// D20, sent by `dg api deployment get` / `delete`.
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
