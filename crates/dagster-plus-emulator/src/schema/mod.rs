//! The GraphQL schema: root types `CloudQuery` / `CloudMutation`, assembled
//! from one module per API area so later areas slot in as more members.

pub mod context;
pub mod deployments;
pub mod errors;
pub mod grants;
pub mod scalars;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::store::Store;

#[derive(MergedObject, Default)]
#[graphql(name = "CloudQuery")]
pub struct CloudQuery(tokens::TokenQuery, deployments::DeploymentQuery);

#[derive(MergedObject, Default)]
#[graphql(name = "CloudMutation")]
pub struct CloudMutation(tokens::TokenMutation);

pub type EmulatorSchema = Schema<CloudQuery, CloudMutation, EmptySubscription>;

pub fn build(store: Arc<Store>) -> EmulatorSchema {
    Schema::build(
        CloudQuery::default(),
        CloudMutation::default(),
        EmptySubscription,
    )
    .data(store)
    // Nothing returns the interface itself, so it must be registered by hand.
    .register_output_type::<errors::ErrorInterface>()
    .finish()
}
