//! Actions (Terraform ≥ 1.14): operations a user runs on purpose (`terraform apply -invoke=action.T.N`, or an
//! `action_trigger` in a resource's lifecycle) rather than objects Terraform keeps in state. Only unlinked
//! actions: they change no resource's state, so they have no plan value to return.
//!
//! Terraform validates the configuration (`validate`), plans the action (`plan`, with values possibly still
//! unknown), then invokes it with a wholly known configuration; `invoke` reports progress lines while it
//! runs, and its diagnostics end the invocation.

use std::sync::Arc;

use async_trait::async_trait;
use cty::Value;
use serde::de::DeserializeOwned;

use crate::diag::Diagnostics;
use crate::model;
use crate::provider::Context;
use crate::schema::Schema;

/// Where an invocation reports progress; Terraform prints each line as it arrives.
pub struct Progress {
    sink: Box<dyn Fn(String) + Send + Sync>,
}

impl Progress {
    pub fn new(sink: impl Fn(String) + Send + Sync + 'static) -> Self {
        Progress { sink: Box::new(sink) }
    }

    /// Reports one line. A client that stopped listening is not an error of the action.
    pub fn report(&self, message: impl Into<String>) {
        (self.sink)(message.into())
    }
}

#[async_trait]
pub trait Action: Send + Sync + 'static {
    type Client: Send + Sync + 'static;
    /// The configuration, in the shape of the schema; unknown attributes read as `None` (or
    /// `Field::Unknown`) in `validate` and `plan`, never in `invoke`.
    type Config: DeserializeOwned + Send + Sync + 'static;

    /// The full type name, e.g. `dagsterbranch_close_branch_deployments`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks that need more than one attribute.
    fn validate(&self, _config: &Self::Config, _diags: &mut Diagnostics) {}

    /// Called during plan, with the provider configured; errors stop the plan. The default plans nothing.
    async fn plan(&self, _ctx: &Context, _client: &Self::Client, _config: Self::Config, _diags: &mut Diagnostics) {}

    /// Does the work. Errors in `diags` fail the apply.
    async fn invoke(
        &self,
        ctx: &Context,
        client: &Self::Client,
        config: Self::Config,
        progress: &Progress,
        diags: &mut Diagnostics,
    );
}

/// An action as the server holds it: the schema computed once, and every operation on values.
pub struct ActionHandle<C>(pub(crate) Arc<dyn AnyAction<C>>);

impl<C: Send + Sync + 'static> ActionHandle<C> {
    pub fn new<A: Action<Client = C>>(action: A) -> Self {
        let schema = action.schema();
        ActionHandle(Arc::new(TypedAction { action, schema }))
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    pub fn schema(&self) -> &Schema {
        self.0.schema()
    }
}

/// The value-level face of an action, which the server drives.
#[async_trait]
pub(crate) trait AnyAction<C>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
    async fn plan(&self, ctx: &Context, client: &C, config: &Value, diags: &mut Diagnostics);
    async fn invoke(&self, ctx: &Context, client: &C, config: &Value, progress: &Progress, diags: &mut Diagnostics);
}

struct TypedAction<A> {
    action: A,
    schema: Schema,
}

#[async_trait]
impl<A: Action> AnyAction<A::Client> for TypedAction<A> {
    fn type_name(&self) -> &'static str {
        self.action.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A value the model cannot hold has already failed the schema's validators.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(config) = model::decode(config) {
            self.action.validate(&config, diags);
        }
    }

    async fn plan(&self, ctx: &Context, client: &A::Client, config: &Value, diags: &mut Diagnostics) {
        if let Some(config) = diags.capture(model::decode(config)) {
            self.action.plan(ctx, client, config, diags).await;
        }
    }

    async fn invoke(
        &self,
        ctx: &Context,
        client: &A::Client,
        config: &Value,
        progress: &Progress,
        diags: &mut Diagnostics,
    ) {
        // Terraform invokes only with known values; anything else is a client bug the action must not guess at.
        if !config.is_wholly_known() {
            diags.error(
                "Action configuration not known",
                format!("Terraform invoked `{}` with values still unknown.", self.type_name()),
            );
            return;
        }
        if let Some(config) = diags.capture(model::decode(config)) {
            self.action.invoke(ctx, client, config, progress, diags).await;
        }
    }
}
