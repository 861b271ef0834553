//! Data sources and list resources, typed the same way as [`crate::Resource`]: a serde model in, a model out,
//! the configured client handed in by the server.

use std::sync::Arc;

use async_trait::async_trait;
use cty::{Type, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::diag::Diagnostics;
use crate::model;
use crate::provider::Context;
use crate::schema::Schema;

#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    type Client: Send + Sync + 'static;
    /// Configuration plus what was read, in the shape of the schema.
    type Model: Serialize + DeserializeOwned + Send + Sync + 'static;

    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    fn validate(&self, _config: &Self::Model, _diags: &mut Diagnostics) {}

    /// Returns the data source's full value (configuration plus what was read).
    async fn read(
        &self,
        ctx: &Context,
        client: &Self::Client,
        config: Self::Model,
        diags: &mut Diagnostics,
    ) -> Option<Self::Model>;
}

/// One object found by a list resource.
#[derive(Clone, Debug)]
pub struct ListedObject<S, I> {
    pub display_name: String,
    /// The managed resource's identity.
    pub identity: I,
    /// The full state, when Terraform asked for it (for `-generate-config-out`).
    pub state: Option<S>,
}

/// Lists existing objects of a managed resource type for `terraform query` (Terraform ≥ 1.14).
#[async_trait]
pub trait ListResource: Send + Sync + 'static {
    type Client: Send + Sync + 'static;
    /// The `config` block (the filters).
    type Config: DeserializeOwned + Send + Sync + 'static;
    /// The managed resource's state and identity models.
    type State: Serialize + Send + Sync + 'static;
    type Identity: Serialize + Send + Sync + 'static;

    /// The managed resource type this lists; it must have an identity.
    fn type_name(&self) -> &'static str;

    /// The schema of the `config` block.
    fn schema(&self) -> Schema;

    fn validate(&self, _config: &Self::Config, _diags: &mut Diagnostics) {}

    async fn list(
        &self,
        ctx: &Context,
        client: &Self::Client,
        config: Self::Config,
        include_state: bool,
        limit: i64,
        diags: &mut Diagnostics,
    ) -> Vec<ListedObject<Self::State, Self::Identity>>;
}

pub struct DataSourceHandle<C>(pub(crate) Arc<dyn AnyDataSource<C>>);

impl<C: Send + Sync + 'static> DataSourceHandle<C> {
    pub fn new<D: DataSource<Client = C>>(data_source: D) -> Self {
        let schema = data_source.schema();
        let ty = schema.value_type();
        DataSourceHandle(Arc::new(TypedDataSource { data_source, schema, ty }))
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    pub fn schema(&self) -> &Schema {
        self.0.schema()
    }
}

pub struct ListResourceHandle<C>(pub(crate) Arc<dyn AnyListResource<C>>);

impl<C: Send + Sync + 'static> ListResourceHandle<C> {
    pub fn new<L: ListResource<Client = C>>(list: L) -> Self {
        let schema = list.schema();
        ListResourceHandle(Arc::new(TypedList { list, schema }))
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    pub fn schema(&self) -> &Schema {
        self.0.schema()
    }
}

#[async_trait]
pub(crate) trait AnyDataSource<C>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
    async fn read(&self, ctx: &Context, client: &C, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

/// A listed object as values of the managed resource's types.
pub(crate) type ListedValues = ListedObject<Value, Value>;

#[async_trait]
pub(crate) trait AnyListResource<C>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value, diags: &mut Diagnostics);
    /// Objects whose identity or state could not be encoded come with their own diagnostics.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: &Context,
        client: &C,
        config: &Value,
        include_state: bool,
        limit: i64,
        types: (&Type, &Type),
        diags: &mut Diagnostics,
    ) -> Vec<(ListedValues, Diagnostics)>;
}

struct TypedDataSource<D> {
    data_source: D,
    schema: Schema,
    ty: Type,
}

#[async_trait]
impl<D: DataSource> AnyDataSource<D::Client> for TypedDataSource<D> {
    fn type_name(&self) -> &'static str {
        self.data_source.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// As for resources: a value the model cannot hold has already failed the schema's validators.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(config) = model::decode(config) {
            self.data_source.validate(&config, diags);
        }
    }

    async fn read(&self, ctx: &Context, client: &D::Client, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let config = diags.capture(model::decode(config))?;
        let read = self.data_source.read(ctx, client, config, diags).await?;
        diags.capture(model::encode(&read, &self.ty))
    }
}

struct TypedList<L> {
    list: L,
    schema: Schema,
}

#[async_trait]
impl<L: ListResource> AnyListResource<L::Client> for TypedList<L> {
    fn type_name(&self) -> &'static str {
        self.list.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(config) = model::decode(config) {
            self.list.validate(&config, diags);
        }
    }

    async fn list(
        &self,
        ctx: &Context,
        client: &L::Client,
        config: &Value,
        include_state: bool,
        limit: i64,
        (identity_type, state_type): (&Type, &Type),
        diags: &mut Diagnostics,
    ) -> Vec<(ListedValues, Diagnostics)> {
        let Some(config) = diags.capture(model::decode(config)) else { return Vec::new() };
        let found = self.list.list(ctx, client, config, include_state, limit, diags).await;
        found
            .into_iter()
            .map(|object| {
                let mut object_diags = Diagnostics::new();
                let identity =
                    object_diags.capture(model::encode(&object.identity, identity_type)).unwrap_or(Value::Null);
                let state = object
                    .state
                    .filter(|_| include_state)
                    .and_then(|s| object_diags.capture(model::encode(&s, state_type)));
                (ListedObject { display_name: object.display_name, identity, state }, object_diags)
            })
            .collect()
    }
}
