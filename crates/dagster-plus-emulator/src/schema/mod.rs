//! The GraphQL schema: root types `CloudQuery` / `CloudMutation`, assembled
//! from one module per API area.

pub mod agents;
pub mod branches;
pub mod context;
pub mod deployments;
pub mod errors;
pub mod grants;
pub mod locations;
pub mod scalars;
pub mod settings;
pub mod tokens;
pub mod users;
pub mod workspace;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::simulation::Simulation;
use crate::store::Store;

#[derive(MergedObject, Default)]
#[graphql(name = "CloudQuery")]
pub struct CloudQuery(
    tokens::TokenQuery,
    deployments::DeploymentQuery,
    branches::BranchQuery,
    workspace::WorkspaceReadQuery,
    agents::AgentQuery,
    settings::SettingsQuery,
);

#[derive(MergedObject, Default)]
#[graphql(name = "CloudMutation")]
pub struct CloudMutation(
    tokens::TokenMutation,
    deployments::DeploymentMutation,
    branches::BranchMutation,
    locations::LocationMutation,
    agents::AgentMutation,
    settings::SettingsMutation,
);

pub type EmulatorSchema = Schema<CloudQuery, CloudMutation, EmptySubscription>;

pub fn build(store: Arc<Store>, simulation: Arc<Simulation>) -> EmulatorSchema {
    Schema::build(CloudQuery::default(), CloudMutation::default(), EmptySubscription)
        .data(store)
        .data(simulation)
        // Nothing returns the interface itself, so it must be registered by hand.
        .register_output_type::<errors::ErrorInterface>()
        .finish()
}
