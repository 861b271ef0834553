//! A test-only stand-in for the official Dagster+ provider (`dagster-io/dagsterplus`), serving the schema of
//! its `dagsterplus_agent_token` so that Terraform can load a state written by it and hand that state to
//! `dagsterbranch_agent_token` through a `moved` block. It reads states back unchanged and refuses to create,
//! change or delete anything: the acceptance test only moves state away from it.

use async_trait::async_trait;
use cty::{Type, Value};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Context, Diagnostics, Provider, Resource, ResourceHandle, Schema};

struct StandIn;

#[derive(Deserialize)]
struct NoConfig {}

#[derive(Debug, Deserialize, Serialize)]
struct TokenState {
    id: Option<String>,
    name: Option<String>,
    organization: Option<bool>,
    all_branch_deployments: Option<bool>,
    deployment_grants: Option<Vec<String>>,
    token: Option<String>,
}

struct AgentToken;

fn refuse(diags: &mut Diagnostics) {
    diags.error("Stand-in provider", "This test stand-in only serves states to move away from.");
}

#[async_trait]
impl Resource for AgentToken {
    type Client = ();
    type State = TokenState;
    type Identity = ();

    fn type_name(&self) -> &'static str {
        "dagsterplus_agent_token"
    }

    fn schema(&self) -> Schema {
        Schema::new("The official provider's agent token, as far as a moved block needs it.")
            .attribute(Attribute::computed("id", Type::String, "The token id."))
            .attribute(Attribute::required("name", Type::String, "The token's description."))
            .attribute(Attribute::optional("organization", Type::Bool, "Organization-wide.").default(Value::Bool(true)))
            .attribute(Attribute::optional("all_branch_deployments", Type::Bool, "All branch deployments."))
            .attribute(Attribute::optional("deployment_grants", Type::List(Box::new(Type::String)), "Deployments."))
            .attribute(Attribute::computed("token", Type::String, "The token.").sensitive())
    }

    async fn create(&self, _: &Context, _: &(), _: TokenState, diags: &mut Diagnostics) -> Option<TokenState> {
        refuse(diags);
        None
    }

    async fn read(&self, _: &Context, _: &(), state: TokenState, _: &mut Diagnostics) -> Option<TokenState> {
        Some(state)
    }

    async fn update(
        &self,
        _: &Context,
        _: &(),
        _: TokenState,
        _: TokenState,
        diags: &mut Diagnostics,
    ) -> Option<TokenState> {
        refuse(diags);
        None
    }

    async fn delete(&self, _: &Context, _: &(), _: TokenState, diags: &mut Diagnostics) {
        refuse(diags);
    }
}

#[async_trait]
impl Provider for StandIn {
    type Client = ();
    type Config = NoConfig;

    fn type_name(&self) -> &'static str {
        "dagsterplus"
    }

    fn schema(&self) -> Schema {
        Schema::new("Test stand-in for dagster-io/dagsterplus.")
    }

    async fn configure(&self, _: &Context, _: NoConfig, _: &mut Diagnostics) -> Option<()> {
        Some(())
    }

    fn resources(&self) -> Vec<ResourceHandle<()>> {
        vec![ResourceHandle::new(AgentToken)]
    }
}

fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    match runtime.block_on(tfplugin::serve(StandIn)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
