//! Ephemeral resources (Terraform ≥ 1.10): values such as short-lived credentials that Terraform asks for
//! during each plan and apply and never writes to state or plan files. Typed the same way as
//! [`crate::DataSource`]: a serde model in, the model with its results out, the configured client handed in
//! by the server.
//!
//! Terraform opens an ephemeral resource only when its configuration is wholly known; otherwise the result
//! is unknown and `open` is not called. It may renew the value at the time `open` asks for, and closes it when
//! the run no longer needs it.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use cty::{Type, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::diag::Diagnostics;
use crate::model;
use crate::provider::Context;
use crate::schema::Schema;

/// What `open` produced: the result and, for values that expire while Terraform still needs them, when to
/// renew and the opaque bytes `renew` and `close` will be handed.
#[derive(Debug)]
pub struct Opened<M> {
    /// The configuration with the computed attributes filled in.
    pub result: M,
    /// When Terraform should call `renew`; `None` means never.
    pub renew_at: Option<SystemTime>,
    /// Handed back to `renew` and `close`; Terraform keeps it in memory only.
    pub private: Option<Vec<u8>>,
}

impl<M> Opened<M> {
    /// A result that needs neither renewal nor closing.
    pub fn new(result: M) -> Self {
        Opened { result, renew_at: None, private: None }
    }
}

/// What `renew` produced: when to renew next and the private bytes for the next call.
#[derive(Debug, Default)]
pub struct Renewed {
    pub renew_at: Option<SystemTime>,
    pub private: Option<Vec<u8>>,
}

#[async_trait]
pub trait EphemeralResource: Send + Sync + 'static {
    type Client: Send + Sync + 'static;
    /// Configuration plus results, in the shape of the schema (see [`model::check_covers`]).
    type Model: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The full type name, e.g. `dagsterbranch_registry_credentials`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks that need more than one attribute; unknown attributes read as `None` (or `Field::Unknown`).
    fn validate(&self, _config: &Self::Model, _diags: &mut Diagnostics) {}

    /// Produces the value. `config` is wholly known. `None` (with an error in `diags`) fails the run.
    async fn open(
        &self,
        ctx: &Context,
        client: &Self::Client,
        config: Self::Model,
        diags: &mut Diagnostics,
    ) -> Option<Opened<Self::Model>>;

    /// Extends the value's life; called only when `open` (or an earlier renew) set a renewal time. The
    /// default asks for no further renewal and keeps the private bytes.
    async fn renew(
        &self,
        _ctx: &Context,
        _client: &Self::Client,
        private: Option<Vec<u8>>,
        _diags: &mut Diagnostics,
    ) -> Renewed {
        Renewed { renew_at: None, private }
    }

    /// Releases what `open` acquired (a lease, a temporary key). The default does nothing: most values
    /// simply expire.
    async fn close(&self, _ctx: &Context, _client: &Self::Client, _private: Option<Vec<u8>>, _diags: &mut Diagnostics) {
    }
}

/// An ephemeral resource as the server holds it: the schema computed once, and every operation on values.
pub struct EphemeralResourceHandle<C>(pub(crate) Arc<dyn AnyEphemeralResource<C>>);

impl<C: Send + Sync + 'static> EphemeralResourceHandle<C> {
    pub fn new<E: EphemeralResource<Client = C>>(resource: E) -> Self {
        let schema = resource.schema();
        let ty = schema.value_type();
        EphemeralResourceHandle(Arc::new(TypedEphemeral { resource, schema, ty }))
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    pub fn schema(&self) -> &Schema {
        self.0.schema()
    }
}

/// The value-level face of an ephemeral resource, which the server drives.
#[async_trait]
pub(crate) trait AnyEphemeralResource<C>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
    async fn open(&self, ctx: &Context, client: &C, config: &Value, diags: &mut Diagnostics) -> Option<Opened<Value>>;
    async fn renew(&self, ctx: &Context, client: &C, private: Option<Vec<u8>>, diags: &mut Diagnostics) -> Renewed;
    async fn close(&self, ctx: &Context, client: &C, private: Option<Vec<u8>>, diags: &mut Diagnostics);
}

struct TypedEphemeral<E> {
    resource: E,
    schema: Schema,
    ty: Type,
}

#[async_trait]
impl<E: EphemeralResource> AnyEphemeralResource<E::Client> for TypedEphemeral<E> {
    fn type_name(&self) -> &'static str {
        self.resource.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// As for resources: a value the model cannot hold has already failed the schema's validators.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(config) = model::decode(config) {
            self.resource.validate(&config, diags);
        }
    }

    async fn open(
        &self,
        ctx: &Context,
        client: &E::Client,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Opened<Value>> {
        let config = diags.capture(model::decode(config))?;
        let opened = self.resource.open(ctx, client, config, diags).await?;
        let result = diags.capture(model::encode(&opened.result, &self.ty))?;
        if !result.is_wholly_known() {
            diags.error(
                "Provider error: an ephemeral result is not wholly known",
                format!("`{}` returned a result with an unknown attribute.", self.type_name()),
            );
            return None;
        }
        Some(Opened { result, renew_at: opened.renew_at, private: opened.private })
    }

    async fn renew(
        &self,
        ctx: &Context,
        client: &E::Client,
        private: Option<Vec<u8>>,
        diags: &mut Diagnostics,
    ) -> Renewed {
        self.resource.renew(ctx, client, private, diags).await
    }

    async fn close(&self, ctx: &Context, client: &E::Client, private: Option<Vec<u8>>, diags: &mut Diagnostics) {
        self.resource.close(ctx, client, private, diags).await
    }
}
