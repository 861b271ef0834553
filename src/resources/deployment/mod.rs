//! `dagsterbranch_deployment`: one Dagster+ branch deployment per git branch, with its code locations.
//!
//! Dagster+ keys branch deployments by (repository, branch) and generates their names; the resource keeps
//! that name in state and uses it for everything after creation. Code locations are deployed with
//! `addOrUpdateLocationFromDocument` and, unless `wait_for_load = false`, awaited until they load.

mod converge;
mod location;
mod plan;
mod schema;
mod state;

use async_trait::async_trait;
use tfplugin::{Context, Diagnostic, Diagnostics, IdentitySchema, Plan, Resource, Schema};
use tracing::info;

use crate::client::ProviderClient;
use crate::dagster::Client;
use crate::resources::shared::failure::During;

pub use converge::{wait_for_load, LoadWait};
pub use location::LocationBlock;
pub use schema::{filter_attributes, PULL_REQUEST_STATUSES};
pub use state::{deployment_url, find_all, refresh, DeploymentIdentity, DeploymentState, Listed};

pub const TYPE_NAME: &str = "dagsterbranch_deployment";

pub struct DeploymentResource;

#[async_trait]
impl Resource for DeploymentResource {
    type Client = ProviderClient;
    type State = DeploymentState;
    type Identity = DeploymentIdentity;
    const IMPORTABLE: bool = true;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(schema::identity_schema())
    }

    fn validate(&self, config: &DeploymentState, diags: &mut Diagnostics) {
        location::validate(config.locations(), diags);
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        plan: &mut Plan<DeploymentState>,
        diags: &mut Diagnostics,
    ) {
        plan::modify(client, plan, diags).await;
    }

    async fn create(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        planned: DeploymentState,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        converge::converge(ctx, &client.dagster, None, &planned, diags).await
    }

    async fn read(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        state: DeploymentState,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        let found = diags.capture(refresh(&client.dagster, &state, true).await)?;
        if found.is_none() {
            info!("branch deployment deleted outside Terraform; it will be planned for creation");
        }
        found
    }

    async fn update(
        &self,
        ctx: &Context,
        client: &ProviderClient,
        prior: DeploymentState,
        planned: DeploymentState,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        converge::converge(ctx, &client.dagster, Some(&prior), &planned, diags).await
    }

    async fn delete(&self, ctx: &Context, client: &ProviderClient, state: DeploymentState, diags: &mut Diagnostics) {
        converge::remove(ctx, &client.dagster, &state, diags).await;
    }

    /// By name, or by `repo:branch`.
    async fn import(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        id: &str,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        let name = match id.trim().split_once(':') {
            Some((repo, branch)) => diags.capture(name_of(&client.dagster, repo, branch).await)?,
            None => id.trim().to_string(),
        };
        Some(DeploymentState::named(name))
    }

    fn identity(&self, state: &DeploymentState) -> Option<DeploymentIdentity> {
        state.identity()
    }

    async fn import_by_identity(
        &self,
        _ctx: &Context,
        client: &ProviderClient,
        identity: DeploymentIdentity,
        diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        let name = diags.capture(name_of(&client.dagster, &identity.repo, &identity.branch).await)?;
        Some(DeploymentState::named(name))
    }
}

/// The generated name of the branch deployment of (repo, branch).
async fn name_of(client: &Client, repo: &str, branch: &str) -> Result<String, Diagnostic> {
    client.branch_deployment_name(repo, branch).await.during("Could not look up the branch deployment")?.ok_or_else(
        || {
            Diagnostic::error(
                "No such branch deployment",
                format!("Dagster+ has no branch deployment for repository `{repo}`, branch `{branch}`."),
            )
        },
    )
}
