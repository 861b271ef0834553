//! Every GraphQL operation the provider sends, each declared once with its kind. The documents live in
//! `graphql/`, one operation or fragment per file, and are assembled at compile time; the unit tests check
//! each against the recorded real Dagster+ schema.

/// One named GraphQL operation and how it may be sent.
#[derive(Debug)]
pub struct Operation {
    /// The operation's name in its document, also used in logs and errors.
    pub name: &'static str,
    pub kind: Kind,
    /// The operation followed by the fragments it uses.
    pub document: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Query,
    /// `repeatable: false` for mutations that create something new on every call: a lost response must not
    /// make them run twice. Upserts and deletes are safe to repeat.
    Mutation {
        repeatable: bool,
    },
}

impl Operation {
    pub fn is_mutation(&self) -> bool {
        matches!(self.kind, Kind::Mutation { .. })
    }

    pub fn is_repeatable(&self) -> bool {
        !matches!(self.kind, Kind::Mutation { repeatable: false })
    }
}

/// `graphql/NAME.graphql` for the operation, then each fragment file it spreads.
macro_rules! document {
    ($operation:literal $(, $fragment:literal)*) => {
        concat!(
            include_str!(concat!("graphql/", $operation, ".graphql"))
            $(, "\n", include_str!(concat!("graphql/", $fragment, ".graphql")))*
        )
    };
}

const fn query(name: &'static str, document: &'static str) -> Operation {
    Operation { name, kind: Kind::Query, document }
}

const fn mutation(name: &'static str, document: &'static str) -> Operation {
    Operation { name, kind: Kind::Mutation { repeatable: true }, document }
}

pub const ORGANIZATION_NAME: Operation = query("OrganizationName", document!("OrganizationName"));

pub const CREATE_AGENT_TOKEN: Operation = Operation {
    name: "CreateAgentToken",
    kind: Kind::Mutation { repeatable: false },
    document: document!("CreateAgentToken", "AgentTokenFields", "ErrorFields"),
};
pub const AGENT_TOKEN_INVENTORY: Operation =
    query("AgentTokenInventory", document!("AgentTokenInventory", "AgentTokenFields", "ErrorFields"));
pub const EDIT_AGENT_TOKEN_DESCRIPTION: Operation =
    mutation("EditAgentTokenDescription", document!("EditAgentTokenDescription", "AgentTokenFields", "ErrorFields"));
pub const REVOKE_AGENT_TOKEN: Operation = mutation("RevokeAgentToken", document!("RevokeAgentToken", "ErrorFields"));
pub const GRANT_AGENT_SCOPE: Operation = mutation("GrantAgentScope", document!("GrantAgentScope", "ErrorFields"));
pub const REMOVE_AGENT_SCOPE: Operation = mutation("RemoveAgentScope", document!("RemoveAgentScope", "ErrorFields"));

pub const FULL_DEPLOYMENTS: Operation = query("FullDeployments", document!("FullDeployments"));
pub const CREATE_OR_UPDATE_BRANCH_DEPLOYMENT: Operation = mutation(
    "CreateOrUpdateBranchDeployment",
    document!("CreateOrUpdateBranchDeployment", "DeploymentFields", "ErrorFields"),
);
pub const DEPLOYMENT_BY_NAME: Operation =
    query("DeploymentByName", document!("DeploymentByName", "DeploymentFields", "ErrorFields"));
pub const BRANCH_DEPLOYMENT_INDEX: Operation =
    query("BranchDeploymentIndex", document!("BranchDeploymentIndex", "DeploymentFields"));
pub const BRANCH_DEPLOYMENT_NAME: Operation = query("BranchDeploymentName", document!("BranchDeploymentName"));
pub const BRANCH_DEPLOYMENTS: Operation =
    query("BranchDeployments", document!("BranchDeployments", "DeploymentFields"));
pub const DELETE_DEPLOYMENT: Operation = mutation("DeleteDeployment", document!("DeleteDeployment", "ErrorFields"));

pub const ADD_OR_UPDATE_LOCATION: Operation =
    mutation("AddOrUpdateLocation", document!("AddOrUpdateLocation", "ErrorFields"));
pub const DELETE_LOCATION: Operation = mutation("DeleteLocation", document!("DeleteLocation", "ErrorFields"));
pub const WORKSPACE: Operation = query("Workspace", document!("Workspace"));

pub const AGENTS: Operation = query("Agents", document!("Agents"));

/// Every operation above, for the tests that check each one against the real schema (the client itself
/// only needs the constants).
#[cfg(test)]
pub const OPERATIONS: &[&Operation] = &[
    &ORGANIZATION_NAME,
    &CREATE_AGENT_TOKEN,
    &AGENT_TOKEN_INVENTORY,
    &EDIT_AGENT_TOKEN_DESCRIPTION,
    &REVOKE_AGENT_TOKEN,
    &GRANT_AGENT_SCOPE,
    &REMOVE_AGENT_SCOPE,
    &FULL_DEPLOYMENTS,
    &CREATE_OR_UPDATE_BRANCH_DEPLOYMENT,
    &DEPLOYMENT_BY_NAME,
    &BRANCH_DEPLOYMENT_INDEX,
    &BRANCH_DEPLOYMENT_NAME,
    &BRANCH_DEPLOYMENTS,
    &DELETE_DEPLOYMENT,
    &ADD_OR_UPDATE_LOCATION,
    &DELETE_LOCATION,
    &WORKSPACE,
    &AGENTS,
];

#[cfg(test)]
#[path = "operations_tests.rs"]
mod tests;
