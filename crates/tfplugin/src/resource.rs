//! Managed resources. A resource implements the typed [`Resource`] trait: its state is a serde model, its
//! operations take the provider's configured client, and it never sees a raw value. [`ResourceHandle`] wraps
//! one for the server, which does the decoding, encoding and diagnostics capture once for every resource.

use std::sync::Arc;

use async_trait::async_trait;
use cty::{Path, Type, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::diag::Diagnostics;
use crate::model;
use crate::plan::ProposedPlan;
use crate::provider::Context;
use crate::schema::{IdentitySchema, Schema};

/// A plan under construction, as the resource's model, handed to [`Resource::modify_plan`].
///
/// Edits to `planned` are applied to Terraform's proposal; attributes left as they are keep their proposed
/// value, unknowns included (an `Option` field reads an unknown as `None`; use [`model::Field`] to see or set one).
#[derive(Debug)]
pub struct Plan<S> {
    /// `None` when the object is being created.
    pub prior: Option<S>,
    pub config: S,
    pub planned: S,
    /// Attributes whose change replaces the object, besides those the schema marks.
    pub requires_replace: Vec<Path>,
}

impl<S> Plan<S> {
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }
}

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// What the provider's `configure` returned; handed to every operation that talks to the remote API.
    type Client: Send + Sync + 'static;
    /// The state, in the shape of the schema (see [`model::check_covers`]).
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The identity model; `()` for resources without one.
    type Identity: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Whether the resource implements [`Resource::import`]; the server refuses import otherwise, and the
    /// documentation requires import examples exactly when it is set.
    const IMPORTABLE: bool = false;

    /// The full resource type name, e.g. `dagsterbranch_agent_token`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Resources with an identity can be imported by it and listed by `terraform query`.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// Checks that need more than one attribute; unknown attributes read as `None` (or `Field::Unknown`).
    fn validate(&self, _config: &Self::State, _diags: &mut Diagnostics) {}

    /// Refines the schema-driven plan (for example computed values the provider can predict).
    async fn modify_plan(
        &self,
        _ctx: &Context,
        _client: &Self::Client,
        _plan: &mut Plan<Self::State>,
        _diags: &mut Diagnostics,
    ) {
    }

    /// Creates the object. On failure, return whatever already exists as state together with the error, so
    /// that Terraform records it (tainted) instead of orphaning it.
    ///
    /// Here and in `update`, `planned` carries the configured values of write-only attributes (null in every
    /// plan and state otherwise); the server nulls them again in the state returned. At plan time they are in
    /// `Plan::config`.
    async fn create(
        &self,
        ctx: &Context,
        client: &Self::Client,
        planned: Self::State,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;

    /// Refreshes the state; `None` means the object no longer exists and must be planned for creation. With
    /// an error in `diags`, the prior state is kept.
    async fn read(
        &self,
        ctx: &Context,
        client: &Self::Client,
        state: Self::State,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;

    /// Applies an in-place change and returns the state to record, also on partial failure; `None` keeps
    /// the prior state.
    async fn update(
        &self,
        ctx: &Context,
        client: &Self::Client,
        prior: Self::State,
        planned: Self::State,
        diags: &mut Diagnostics,
    ) -> Option<Self::State>;

    async fn delete(&self, ctx: &Context, client: &Self::Client, state: Self::State, diags: &mut Diagnostics);

    /// Turns an import id into a state that `read` can complete. The default refuses import.
    async fn import(
        &self,
        _ctx: &Context,
        _client: &Self::Client,
        _id: &str,
        diags: &mut Diagnostics,
    ) -> Option<Self::State> {
        diags.error("Import not supported", format!("`{}` cannot be imported.", self.type_name()));
        None
    }

    /// The identity of the object a state describes; `None` while it is not fully known.
    fn identity(&self, _state: &Self::State) -> Option<Self::Identity> {
        None
    }

    /// Turns an `import { identity = {…} }` into a state that `read` can complete.
    async fn import_by_identity(
        &self,
        _ctx: &Context,
        _client: &Self::Client,
        _identity: Self::Identity,
        diags: &mut Diagnostics,
    ) -> Option<Self::State> {
        diags.error(
            "Import by identity not supported",
            format!("`{}` cannot be imported by identity.", self.type_name()),
        );
        None
    }

    /// Takes over the state of another resource type, possibly another provider's (`moved { from = … to = … }`,
    /// Terraform 1.8+), without touching the object. The default refuses.
    fn move_state(&self, source: &MoveSource, diags: &mut Diagnostics) -> Option<Self::State> {
        diags.error(
            "Move not supported",
            format!("`{}` cannot take over the state of `{}`.", self.type_name(), source.type_name),
        );
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
}

/// A resource as the server holds it: the schema computed once, and every operation on values.
pub struct ResourceHandle<C>(pub(crate) Arc<dyn AnyResource<C>>);

impl<C: Send + Sync + 'static> ResourceHandle<C> {
    pub fn new<R: Resource<Client = C>>(resource: R) -> Self {
        let schema = resource.schema();
        let state_type = schema.value_type();
        let identity_schema = resource.identity_schema();
        let identity_type = identity_schema.as_ref().map(IdentitySchema::value_type);
        ResourceHandle(Arc::new(Typed { resource, schema, state_type, identity_schema, identity_type }))
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    pub fn schema(&self) -> &Schema {
        self.0.schema()
    }

    pub fn identity_schema(&self) -> Option<&IdentitySchema> {
        self.0.identity_schema()
    }

    pub fn importable(&self) -> bool {
        self.0.importable()
    }
}

/// The value-level face of a resource, which the server drives.
#[async_trait]
pub(crate) trait AnyResource<C>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn identity_schema(&self) -> Option<&IdentitySchema>;
    fn importable(&self) -> bool;
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
    async fn modify_plan(&self, ctx: &Context, client: &C, plan: &mut ProposedPlan, diags: &mut Diagnostics);
    /// Create, update or delete, by which of `prior` and `planned` are null; returns the new state.
    async fn apply(&self, ctx: &Context, client: &C, prior: &Value, planned: &Value, diags: &mut Diagnostics) -> Value;
    /// The refreshed state; the prior one when the read failed, null when the object is gone.
    async fn read(&self, ctx: &Context, client: &C, state: &Value, diags: &mut Diagnostics) -> Value;
    async fn import(&self, ctx: &Context, client: &C, id: &str, diags: &mut Diagnostics) -> Option<Value>;
    async fn import_by_identity(
        &self,
        ctx: &Context,
        client: &C,
        identity: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value>;
    /// The identity value of a state, when the resource has one and it is fully known.
    fn identity(&self, state: &Value) -> Option<Value>;
    fn upgrade_state(&self, from_version: i64, state: serde_json::Value, diags: &mut Diagnostics) -> serde_json::Value;
    fn move_state(&self, source: &MoveSource, diags: &mut Diagnostics) -> Option<Value>;
}

/// What Terraform hands over in a `moved` block between resource types: where the state comes from, and
/// the state itself as JSON in that resource's own schema.
#[derive(Debug)]
pub struct MoveSource {
    /// For example `registry.terraform.io/dagster-io/dagsterplus`.
    pub provider_address: String,
    pub type_name: String,
    pub schema_version: i64,
    pub state: serde_json::Value,
}

struct Typed<R> {
    resource: R,
    schema: Schema,
    state_type: Type,
    identity_schema: Option<IdentitySchema>,
    identity_type: Option<Type>,
}

impl<R: Resource> Typed<R> {
    fn decode(&self, value: &Value, diags: &mut Diagnostics) -> Option<R::State> {
        diags.capture(model::decode(value))
    }

    /// A state to record: it must be wholly known, since Terraform refuses unknowns after apply.
    fn encode_state(&self, state: &R::State, diags: &mut Diagnostics) -> Option<Value> {
        let value = diags.capture(model::encode(state, &self.state_type))?;
        if !value.is_wholly_known() {
            diags.error(
                "Provider error: a value is still unknown after apply",
                format!("`{}` returned a state with an unknown attribute.", self.resource.type_name()),
            );
            return None;
        }
        Some(value)
    }
}

#[async_trait]
impl<R: Resource> AnyResource<R::Client> for Typed<R> {
    fn type_name(&self) -> &'static str {
        self.resource.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn identity_schema(&self) -> Option<&IdentitySchema> {
        self.identity_schema.as_ref()
    }

    fn importable(&self) -> bool {
        R::IMPORTABLE
    }

    /// A configuration the model cannot hold (a fraction for a whole number, say) has already failed the
    /// schema's own validators, which name the attribute; it gets no second, vaguer diagnostic here.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(config) = model::decode(config) {
            self.resource.validate(&config, diags);
        }
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        client: &R::Client,
        proposed: &mut ProposedPlan,
        diags: &mut Diagnostics,
    ) {
        let prior = if proposed.prior.is_null() { None } else { self.decode(&proposed.prior, diags) };
        let (Some(config), Some(planned)) =
            (self.decode(&proposed.config, diags), self.decode(&proposed.planned, diags))
        else {
            return;
        };
        if !proposed.prior.is_null() && prior.is_none() {
            return;
        }
        let Some(decoded) = diags.capture(model::encode(&planned, &self.state_type)) else {
            return;
        };
        let mut plan = Plan { prior, config, planned, requires_replace: Vec::new() };
        self.resource.modify_plan(ctx, client, &mut plan, diags).await;
        let Some(edited) = diags.capture(model::encode(&plan.planned, &self.state_type)) else {
            return;
        };
        proposed.planned = model::merge_edits(&proposed.planned, &decoded, &edited);
        for path in plan.requires_replace {
            if !proposed.requires_replace.contains(&path) {
                proposed.requires_replace.push(path);
            }
        }
    }

    async fn apply(
        &self,
        ctx: &Context,
        client: &R::Client,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        if planned.is_null() {
            if let Some(state) = self.decode(prior, diags) {
                self.resource.delete(ctx, client, state, diags).await;
            }
            // A failed delete leaves the object in place; keep it in state.
            return if diags.has_errors() { prior.clone() } else { Value::Null };
        }
        let Some(planned_state) = self.decode(planned, diags) else { return prior.clone() };
        if prior.is_null() {
            let created = self.resource.create(ctx, client, planned_state, diags).await;
            return created.and_then(|s| self.encode_state(&s, diags)).unwrap_or(Value::Null);
        }
        let Some(prior_state) = self.decode(prior, diags) else { return prior.clone() };
        let updated = self.resource.update(ctx, client, prior_state, planned_state, diags).await;
        updated.and_then(|s| self.encode_state(&s, diags)).unwrap_or_else(|| prior.clone())
    }

    async fn read(&self, ctx: &Context, client: &R::Client, state: &Value, diags: &mut Diagnostics) -> Value {
        let Some(current) = self.decode(state, diags) else { return state.clone() };
        let refreshed = self.resource.read(ctx, client, current, diags).await;
        if diags.has_errors() {
            // The object may well still exist.
            return state.clone();
        }
        match refreshed {
            Some(refreshed) => self.encode_state(&refreshed, diags).unwrap_or_else(|| state.clone()),
            None => Value::Null,
        }
    }

    async fn import(&self, ctx: &Context, client: &R::Client, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        if !R::IMPORTABLE {
            diags.error("Import not supported", format!("`{}` cannot be imported.", self.type_name()));
            return None;
        }
        let state = self.resource.import(ctx, client, id, diags).await?;
        self.encode_state(&state, diags)
    }

    async fn import_by_identity(
        &self,
        ctx: &Context,
        client: &R::Client,
        identity: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let identity = diags.capture(model::decode(identity))?;
        let state = self.resource.import_by_identity(ctx, client, identity, diags).await?;
        self.encode_state(&state, diags)
    }

    fn move_state(&self, source: &MoveSource, diags: &mut Diagnostics) -> Option<Value> {
        let state = self.resource.move_state(source, diags)?;
        self.encode_state(&state, diags)
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        let ty = self.identity_type.as_ref()?;
        if state.is_null() {
            return None;
        }
        let state: R::State = model::decode(state).ok()?;
        let identity = self.resource.identity(&state)?;
        model::encode(&identity, ty).ok().filter(Value::is_wholly_known)
    }

    fn upgrade_state(&self, from_version: i64, state: serde_json::Value, diags: &mut Diagnostics) -> serde_json::Value {
        self.resource.upgrade_state(from_version, state, diags)
    }
}
