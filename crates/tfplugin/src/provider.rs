//! What a provider implements: the `Provider` itself and one `Resource` per managed type. The server
//! (`crate::server`) translates protocol requests into calls on these traits.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cty::{Type, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::Plan;
use crate::schema::{IdentitySchema, Schema};

/// Passed to every operation. Cancelled when Terraform sends StopProvider (for example after Ctrl-C), so
/// long waits end promptly and report what exists.
#[derive(Clone, Debug)]
pub struct Context {
    stop: CancellationToken,
}

/// Returned by waits that Terraform interrupted.
#[derive(Debug, thiserror::Error)]
#[error("the operation was interrupted by Terraform (StopProvider)")]
pub struct Interrupted;

impl Context {
    pub(crate) fn new(stop: CancellationToken) -> Self {
        Context { stop }
    }

    /// A context that is never cancelled, for unit tests of resource logic.
    pub fn detached() -> Self {
        Context { stop: CancellationToken::new() }
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when Terraform asks the provider to stop.
    pub async fn stopped(&self) {
        self.stop.cancelled().await
    }

    /// Sleeps unless interrupted first.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Interrupted> {
        tokio::select! {
            _ = self.stop.cancelled() => Err(Interrupted),
            _ = tokio::time::sleep(duration) => Ok(()),
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider's type name, the prefix of its resource types (`dagsterbranch`).
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> &Schema;

    /// Checks that need more than one attribute; the config may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Receives the provider block. Must not call remote APIs: Terraform configures providers for `validate`
    /// and `plan` too, and unknown values are legal here.
    async fn configure(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics);

    fn resources(&self) -> Vec<Arc<dyn Resource>>;

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }

    fn list_resources(&self) -> Vec<Arc<dyn ListResource>> {
        Vec::new()
    }
}

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// The full resource type name, e.g. `dagsterbranch_agent_token`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> &Schema;

    /// Checks that need more than one attribute; the config may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Refines the schema-driven plan (for example a replacement that depends on two attributes).
    async fn modify_plan(&self, _ctx: &Context, _plan: &mut Plan<'_>, _diags: &mut Diagnostics) {}

    /// Creates the object. On failure, return whatever already exists as state together with the error, so
    /// that Terraform records it (tainted) instead of orphaning it.
    async fn create(&self, ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Option<Value>;

    /// Refreshes the state; `None` means the object no longer exists and must be planned for creation.
    async fn read(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value>;

    /// Applies an in-place change and returns the state to record, also on partial failure.
    async fn update(&self, ctx: &Context, prior: &Value, planned: &Value, diags: &mut Diagnostics) -> Value;

    async fn delete(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics);

    /// Turns an import id into a state that `read` can complete. The default refuses import.
    async fn import(&self, _ctx: &Context, _id: &str, diags: &mut Diagnostics) -> Option<Value> {
        diags.error("Import not supported", format!("`{}` cannot be imported.", self.type_name()));
        None
    }

    /// Rewrites a state stored by an older schema version (as plain JSON) into the current shape.
    fn upgrade_state(
        &self,
        _from_version: i64,
        state: serde_json::Value,
        _diags: &mut Diagnostics,
    ) -> serde_json::Value {
        state
    }

    /// Resources with an identity can be imported by it and listed by `terraform query`.
    fn identity_schema(&self) -> Option<&IdentitySchema> {
        None
    }

    /// The identity of the object a state describes; `None` while it is not fully known.
    fn identity(&self, _state: &Value) -> Option<Value> {
        None
    }

    /// Turns an `import { identity = {…} }` into a state that `read` can complete.
    async fn import_by_identity(&self, _ctx: &Context, _identity: &Value, diags: &mut Diagnostics) -> Option<Value> {
        diags.error(
            "Import by identity not supported",
            format!("`{}` cannot be imported by identity.", self.type_name()),
        );
        None
    }
}

#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> &Schema;

    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Returns the data source's full value (configuration plus what was read).
    async fn read(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

/// One object found by a list resource.
#[derive(Clone, Debug)]
pub struct ListedObject {
    pub display_name: String,
    /// A value of the managed resource's identity type.
    pub identity: Value,
    /// The full state, when Terraform asked for it (for `-generate-config-out`).
    pub state: Option<Value>,
}

/// Lists existing objects of a managed resource type for `terraform query` (Terraform ≥ 1.14).
#[async_trait]
pub trait ListResource: Send + Sync + 'static {
    /// The managed resource type this lists; it must have an identity.
    fn type_name(&self) -> &'static str;

    /// The schema of the `config` block (the filters).
    fn schema(&self) -> &Schema;

    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    async fn list(
        &self,
        ctx: &Context,
        config: &Value,
        include_state: bool,
        limit: i64,
        diags: &mut Diagnostics,
    ) -> Vec<ListedObject>;
}

/// Decodes a value into a typed struct. Null attributes become `None`, and so do unknown ones: during apply
/// the only unknowns left are the computed attributes the provider is about to set.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, Diagnostic> {
    let json = unknowns_as_null(value)
        .to_plain_json()
        .map_err(|e| Diagnostic::error("Provider error: value cannot be decoded", e.to_string()))?;
    serde_json::from_value(json)
        .map_err(|e| Diagnostic::error("Provider error: unexpected value shape", format!("Decoding failed: {e}")))
}

fn unknowns_as_null(value: &Value) -> Value {
    match value {
        Value::Unknown(_) => Value::Null,
        Value::List(items) => Value::List(items.iter().map(unknowns_as_null).collect()),
        Value::Set(items) => Value::Set(items.iter().map(unknowns_as_null).collect()),
        Value::Tuple(items) => Value::Tuple(items.iter().map(unknowns_as_null).collect()),
        Value::Map(items) => Value::Map(items.iter().map(|(k, v)| (k.clone(), unknowns_as_null(v))).collect()),
        Value::Object(items) => Value::Object(items.iter().map(|(k, v)| (k.clone(), unknowns_as_null(v))).collect()),
        Value::Dynamic(inner) => Value::dynamic(inner.0.clone(), unknowns_as_null(&inner.1)),
        other => other.clone(),
    }
}

/// Encodes a typed struct as a value of the given schema type.
pub fn encode<T: Serialize>(data: &T, ty: &Type) -> Result<Value, Diagnostic> {
    let json = serde_json::to_value(data)
        .map_err(|e| Diagnostic::error("Provider error: cannot encode state", e.to_string()))?;
    Value::from_plain_json(&json, ty)
        .map_err(|e| Diagnostic::error("Provider error: cannot encode state", e.to_string()))
}
