//! Benchmark-only resources, compiled only with the `bench` cargo feature (released binaries never carry
//! them); neither makes an API call.
//!
//! - `dagsterbranch_bench`, in the shape of HashiCorp's `null_resource` (a `triggers` map that forces
//!   replacement and a computed `id`), so `bench/run` can compare the cost of our plugin layer with the Go
//!   `null` provider on equal work.
//! - `dagsterbranch_bench_deployment`, the schema and identity of `dagsterbranch_deployment` with made-up
//!   computed values, so the workflow benchmark can measure what Terraform and the plugin layer cost for that
//!   schema apart from the Dagster+ requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cty::Type;
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, Diagnostics, IdentitySchema, Resource, Schema};

use crate::client::ProviderClient;
use crate::resources::deployment::{DeploymentIdentity, DeploymentResource, DeploymentState};

pub struct BenchResource;

fn schema() -> Schema {
    Schema::new("Benchmark-only stand-in for `null_resource`: stores `triggers` and a generated `id`; no API calls.")
        .attribute(Attribute::computed("id", Type::String, "A generated identifier.").use_state_for_unknown())
        .attribute(
            Attribute::optional("triggers", Type::Map(Box::new(Type::String)), "Any change replaces the resource.")
                .requires_replace(),
        )
}

/// The resource's state, in the shape of the schema.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct BenchState {
    id: Option<String>,
    triggers: Option<BTreeMap<String, String>>,
}

/// Unique within a process and across processes in practice, like null_resource's random id; no RNG
/// dependency for a benchmark fixture.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[async_trait]
impl Resource for BenchResource {
    type Client = ProviderClient;
    type State = BenchState;
    type Identity = ();

    fn type_name(&self) -> &'static str {
        "dagsterbranch_bench"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        planned: BenchState,
        _diags: &mut Diagnostics,
    ) -> Option<BenchState> {
        Some(BenchState { id: Some(new_id()), ..planned })
    }

    // Like null_resource: the state is the truth, so a refresh returns it unchanged.
    async fn read(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        state: BenchState,
        _diags: &mut Diagnostics,
    ) -> Option<BenchState> {
        Some(state)
    }

    async fn update(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        _prior: BenchState,
        planned: BenchState,
        _diags: &mut Diagnostics,
    ) -> Option<BenchState> {
        Some(planned)
    }

    async fn delete(&self, _ctx: &Context, _client: &ProviderClient, _state: BenchState, _diags: &mut Diagnostics) {}
}

/// `dagsterbranch_deployment`'s schema twin (see the module's comment).
pub struct BenchDeploymentResource;

fn next_deployment_id() -> i64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) as i64
}

#[async_trait]
impl Resource for BenchDeploymentResource {
    type Client = ProviderClient;
    type State = DeploymentState;
    type Identity = DeploymentIdentity;

    fn type_name(&self) -> &'static str {
        "dagsterbranch_bench_deployment"
    }

    fn schema(&self) -> Schema {
        DeploymentResource.schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        DeploymentResource.identity_schema()
    }

    fn identity(&self, state: &DeploymentState) -> Option<DeploymentIdentity> {
        state.identity()
    }

    async fn create(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        planned: DeploymentState,
        _diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        Some(planned.settled_offline(next_deployment_id()))
    }

    async fn read(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        state: DeploymentState,
        _diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        Some(state)
    }

    async fn update(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        _prior: DeploymentState,
        planned: DeploymentState,
        _diags: &mut Diagnostics,
    ) -> Option<DeploymentState> {
        Some(planned.settled_offline(next_deployment_id()))
    }

    async fn delete(
        &self,
        _ctx: &Context,
        _client: &ProviderClient,
        _state: DeploymentState,
        _diags: &mut Diagnostics,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_covers_the_schema() {
        tfplugin::model::check_covers::<BenchState>(&schema().block).unwrap();
    }
}
