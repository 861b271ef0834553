//! Agent tokens: create, list, rename, grant and revoke.

use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

use super::deployments::FullDeployment;
use super::operations::{self, Operation};
use super::{Client, Error, ErrorMember};
use crate::secret::Secret;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentToken {
    pub id: i64,
    pub description: Option<String>,
    pub token: Option<Secret>,
    pub revoked: bool,
    /// Seconds since the epoch, kept exactly as sent.
    pub create_timestamp: Option<serde_json::Number>,
    pub permissions: Option<Grants>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grants {
    pub organization_permission_grant: Option<Grant>,
    pub all_branch_deployments_permission_grant: Option<Grant>,
    #[serde(default)]
    pub deployment_permission_grants: Vec<Grant>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub deployment_id: Option<i64>,
}

/// Where an agent token may act, as the API's `PermissionDeploymentScope` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantScope {
    Organization,
    AllBranchDeployments,
    Deployment(i64),
}

impl GrantScope {
    fn variables(self, token_id: i64) -> serde_json::Value {
        let (scope, deployment_id) = match self {
            GrantScope::Organization => ("ORGANIZATION", None),
            GrantScope::AllBranchDeployments => ("ALL_BRANCH_DEPLOYMENTS", None),
            GrantScope::Deployment(id) => ("DEPLOYMENT", Some(id)),
        };
        json!({ "agentTokenId": token_id, "deploymentScope": scope, "deploymentId": deployment_id })
    }
}

#[derive(Deserialize)]
#[serde(tag = "__typename")]
enum TokenResult {
    DagsterCloudAgentToken(AgentToken),
    #[serde(untagged)]
    Error(ErrorMember),
}

impl TokenResult {
    fn into_result(self) -> Result<AgentToken, Error> {
        match self {
            TokenResult::DagsterCloudAgentToken(token) => Ok(token),
            TokenResult::Error(e) => Err(e.into()),
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "__typename")]
enum TokenListResult {
    DagsterCloudAgentTokens {
        tokens: Vec<AgentToken>,
    },
    #[serde(untagged)]
    Error(ErrorMember),
}

/// Every agent token of the organization together with the full deployments, which turn grant
/// deployment ids into names. One request serves a whole refresh.
pub struct TokenInventory {
    pub tokens: Vec<AgentToken>,
    pub deployments: Vec<FullDeployment>,
}

impl Client {
    /// Creates a token. `createAgentToken` makes a new token on every call, so the token is first created
    /// under a one-time marker description: if the response is lost, the token is found by that marker and
    /// adopted instead of being created twice. The description is then set to the requested one; should that
    /// step fail, the token is still returned (with the marker) and the next refresh shows the difference.
    pub async fn create_agent_token(&self, description: Option<&str>) -> Result<AgentToken, Error> {
        let marker = format!("{} [terraform:{}]", description.unwrap_or("agent token"), one_time_marker());
        let mut token = match self.create_agent_token_once(&marker).await {
            Ok(token) => token,
            Err(Error::Ambiguous { .. }) => self.adopt_or_create(&marker).await?,
            Err(e) => return Err(e),
        };
        match self.edit_agent_token_description(token.id, description).await {
            Ok(renamed) => token.description = renamed.description,
            Err(e) => {
                warn!(token_id = token.id, error = %e, "new agent token keeps its creation marker as description for now")
            }
        }
        Ok(token)
    }

    /// After a lost response: the token made by the lost call if it exists, else a new one.
    async fn adopt_or_create(&self, marker: &str) -> Result<AgentToken, Error> {
        for _ in 0..3 {
            let inventory = self.agent_token_inventory().await?;
            if let Some(token) =
                inventory.tokens.iter().find(|t| t.description.as_deref() == Some(marker) && !t.revoked).cloned()
            {
                info!(token_id = token.id, "adopted the agent token whose creation response was lost");
                return Ok(token);
            }
            match self.create_agent_token_once(marker).await {
                Err(Error::Ambiguous { .. }) => continue,
                other => return other,
            }
        }
        Err(Error::Server {
            message: "agent token creation kept losing its response; nothing was left behind unrecorded".into(),
        })
    }

    async fn create_agent_token_once(&self, description: &str) -> Result<AgentToken, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            create_agent_token: TokenResult,
        }
        let data: Data = self.execute(&operations::CREATE_AGENT_TOKEN, json!({ "description": description })).await?;
        data.create_agent_token.into_result()
    }

    /// The organization's tokens and full deployments, shared by all reads until something changes.
    pub async fn agent_token_inventory(&self) -> Result<std::sync::Arc<TokenInventory>, Error> {
        self.token_inventory
            .get_or_fetch(self.generations.current(), || async {
                self.fetch_agent_token_inventory().await.map(std::sync::Arc::new)
            })
            .await
    }

    async fn fetch_agent_token_inventory(&self) -> Result<TokenInventory, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            agent_tokens_or_error: TokenListResult,
            full_deployments: Vec<FullDeployment>,
        }
        let data: Data = self.execute(&operations::AGENT_TOKEN_INVENTORY, json!({})).await?;
        match data.agent_tokens_or_error {
            TokenListResult::DagsterCloudAgentTokens { tokens } => {
                Ok(TokenInventory { tokens, deployments: data.full_deployments })
            }
            TokenListResult::Error(e) => Err(e.into()),
        }
    }

    pub async fn edit_agent_token_description(
        &self,
        token_id: i64,
        description: Option<&str>,
    ) -> Result<AgentToken, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            edit_agent_token_description: TokenResult,
        }
        let variables = json!({ "tokenId": token_id, "description": description });
        let data: Data = self.execute(&operations::EDIT_AGENT_TOKEN_DESCRIPTION, variables).await?;
        data.edit_agent_token_description.into_result()
    }

    /// Revokes a token; a token that no longer exists counts as revoked.
    pub async fn revoke_agent_token(&self, token_id: i64) -> Result<(), Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            revoke_agent_token: RevokeResult,
        }
        #[derive(Deserialize)]
        #[serde(tag = "__typename")]
        enum RevokeResult {
            DagsterCloudAgentToken {},
            #[serde(untagged)]
            Error(ErrorMember),
        }
        let data: Data = self.execute(&operations::REVOKE_AGENT_TOKEN, json!({ "tokenId": token_id })).await?;
        match data.revoke_agent_token {
            RevokeResult::DagsterCloudAgentToken {}
            | RevokeResult::Error(ErrorMember::DagsterCloudTokenNotFoundError { .. }) => Ok(()),
            RevokeResult::Error(e) => Err(e.into()),
        }
    }

    /// Adds (or replaces) the AGENT grant of a token in one scope.
    pub async fn grant_agent_scope(&self, token_id: i64, scope: GrantScope) -> Result<(), Error> {
        let mut permission = scope.variables(token_id);
        permission["grant"] = json!("AGENT");
        self.modify_grant(&operations::GRANT_AGENT_SCOPE, "createOrUpdateAgentPermissions", permission).await
    }

    pub async fn remove_agent_scope(&self, token_id: i64, scope: GrantScope) -> Result<(), Error> {
        self.modify_grant(&operations::REMOVE_AGENT_SCOPE, "removeAgentPermissions", scope.variables(token_id)).await
    }

    async fn modify_grant(
        &self,
        operation: &Operation,
        field: &str,
        permission: serde_json::Value,
    ) -> Result<(), Error> {
        #[derive(Deserialize)]
        #[serde(tag = "__typename")]
        enum ModifyResult {
            DagsterCloudAgentToken {},
            #[serde(untagged)]
            Error(ErrorMember),
        }
        let mut data: serde_json::Map<String, serde_json::Value> =
            self.execute(operation, json!({ "agentPermission": permission })).await?;
        let result = data.remove(field).unwrap_or_default();
        match serde_json::from_value::<ModifyResult>(result) {
            Ok(ModifyResult::DagsterCloudAgentToken {}) => Ok(()),
            Ok(ModifyResult::Error(e)) => Err(e.into()),
            Err(e) => Err(Error::Decode { url: self.base_url().to_string(), detail: format!("{field}: {e}") }),
        }
    }
}

/// 12 hex digits that make a creation marker unique.
fn one_time_marker() -> String {
    format!("{:012x}", super::retry::random_u64() & 0xffff_ffff_ffff)
}
