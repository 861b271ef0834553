//! The `tfplugin6.Provider` service: decodes each request against the schema, calls the provider or the
//! resource, and encodes the answer. RPCs this layer does not implement answer `Unimplemented` through the
//! generated default stubs.

use std::collections::HashMap;
use std::sync::Arc;

use cty::{Type, Value};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::{debug, info_span, Instrument};

use crate::diag::{path_to_proto, Diagnostic, Diagnostics};
use crate::plan::{plan_change, Plan};
use crate::proto::tfplugin6 as pb;
use crate::provider::{Context, DataSource, ListResource, Provider, Resource};

pub(crate) struct ProviderService {
    provider: Arc<dyn Provider>,
    resources: HashMap<&'static str, Arc<dyn Resource>>,
    data_sources: HashMap<&'static str, Arc<dyn DataSource>>,
    list_resources: HashMap<&'static str, Arc<dyn ListResource>>,
    stop: CancellationToken,
}

impl ProviderService {
    pub(crate) fn new(provider: Arc<dyn Provider>, stop: CancellationToken) -> Self {
        let resources = provider.resources().into_iter().map(|r| (r.type_name(), r)).collect();
        let data_sources = provider.data_sources().into_iter().map(|d| (d.type_name(), d)).collect();
        let list_resources = provider.list_resources().into_iter().map(|l| (l.type_name(), l)).collect();
        ProviderService { provider, resources, data_sources, list_resources, stop }
    }

    fn data_source(&self, type_name: &str) -> Result<&Arc<dyn DataSource>, Status> {
        self.data_sources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no data source `{type_name}`")))
    }

    fn list_resource(&self, type_name: &str) -> Result<&Arc<dyn ListResource>, Status> {
        self.list_resources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no list resource `{type_name}`")))
    }

    fn context(&self) -> Context {
        Context::new(self.stop.clone())
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn Resource>, Status> {
        self.resources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no resource type `{type_name}`")))
    }

    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities { get_provider_schema_optional: true, ..Default::default() }
    }
}

fn decode(value: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostic> {
    let result = match value {
        None => return Ok(Value::Null),
        Some(v) if !v.msgpack.is_empty() => cty::msgpack::decode(&v.msgpack, ty),
        Some(v) if !v.json.is_empty() => cty::json::decode(&v.json, ty),
        Some(_) => return Ok(Value::Null),
    };
    result.map_err(|e| {
        Diagnostic::error("Provider could not decode a value from Terraform", e.message.clone()).at(e.path)
    })
}

fn encode(value: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostic> {
    cty::msgpack::encode(value, ty)
        .map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() })
        .map_err(|e| Diagnostic::error("Provider produced a value it cannot encode", e.message.clone()).at(e.path))
}

/// The identity of the object `state` describes, encoded for the protocol (resources without an identity,
/// and states not fully known yet, have none).
fn identity_data(resource: &dyn Resource, state: &Value, diags: &mut Diagnostics) -> Option<pb::ResourceIdentityData> {
    let schema = resource.identity_schema()?;
    if state.is_null() {
        return None;
    }
    let identity = resource.identity(state).filter(Value::is_wholly_known)?;
    diags.capture(encode(&identity, &schema.value_type())).map(|v| pb::ResourceIdentityData { identity_data: Some(v) })
}

/// Drops attributes a state holds that the current schema no longer has; otherwise a removed attribute
/// would make every old state undecodable.
fn prune_to_type(json: &mut serde_json::Value, ty: &Type) {
    match (json, ty) {
        (serde_json::Value::Object(map), Type::Object(object)) => {
            map.retain(|k, _| object.attributes.contains_key(k));
            for (name, attr_ty) in &object.attributes {
                if let Some(v) = map.get_mut(name) {
                    prune_to_type(v, attr_ty);
                }
            }
        }
        (serde_json::Value::Array(items), Type::List(inner) | Type::Set(inner)) => {
            items.iter_mut().for_each(|item| prune_to_type(item, inner))
        }
        (serde_json::Value::Object(map), Type::Map(inner)) => map.values_mut().for_each(|v| prune_to_type(v, inner)),
        _ => {}
    }
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let resources = self
            .resources
            .keys()
            .map(|name| pb::get_metadata::ResourceMetadata { type_name: name.to_string() })
            .collect();
        let data_sources = self
            .data_sources
            .keys()
            .map(|name| pb::get_metadata::DataSourceMetadata { type_name: name.to_string() })
            .collect();
        let list_resources = self
            .list_resources
            .keys()
            .map(|name| pb::get_metadata::ListResourceMetadata { type_name: name.to_string() })
            .collect();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            resources,
            data_sources,
            list_resources,
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let resource_schemas =
            self.resources.iter().map(|(name, r)| (name.to_string(), r.schema().to_proto())).collect();
        let data_source_schemas =
            self.data_sources.iter().map(|(name, d)| (name.to_string(), d.schema().to_proto())).collect();
        let list_resource_schemas =
            self.list_resources.iter().map(|(name, l)| (name.to_string(), l.schema().to_proto())).collect();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(self.provider.schema().to_proto()),
            resource_schemas,
            data_source_schemas,
            list_resource_schemas,
            server_capabilities: Some(Self::capabilities()),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        let identity_schemas = self
            .resources
            .iter()
            .filter_map(|(name, r)| r.identity_schema().map(|schema| (name.to_string(), schema.to_proto())))
            .collect();
        Ok(Response::new(pb::get_resource_identity_schemas::Response { identity_schemas, diagnostics: Vec::new() }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let request = request.into_inner();
        let schema = self.provider.schema();
        let mut diags = Diagnostics::new();
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &schema.value_type())) {
            schema.block.validate(&config, &cty::Path::root(), &mut diags);
            self.provider.validate(&config, &mut diags);
        }
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics: diags.into_proto() }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let mut diags = Diagnostics::new();
        let schema = resource.schema();
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &schema.value_type())) {
            schema.block.validate(&config, &cty::Path::root(), &mut diags);
            resource.validate(&config, &mut diags);
        }
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics: diags.into_proto() }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let schema = resource.schema();
        let ty = schema.value_type();
        let mut diags = Diagnostics::new();
        let raw = request.raw_state.unwrap_or_default();
        let upgraded_state = if raw.json.is_empty() {
            if !raw.flatmap.is_empty() {
                diags.error(
                    "State too old to upgrade",
                    "This state was written by a Terraform 0.11-era provider (flatmap format), which this provider never produced.",
                );
            }
            None
        } else {
            match serde_json::from_slice::<serde_json::Value>(&raw.json) {
                Err(e) => {
                    diags.error("Stored state is not valid JSON", e.to_string());
                    None
                }
                Ok(mut json) => {
                    if request.version < schema.version {
                        json = resource.upgrade_state(request.version, json, &mut diags);
                    }
                    prune_to_type(&mut json, &ty);
                    let bytes = serde_json::to_vec(&json).unwrap_or_default();
                    let value = diags.capture(
                        cty::json::decode(&bytes, &ty)
                            .map_err(|e| Diagnostic::error("Stored state does not match the schema", e.to_string())),
                    );
                    value.and_then(|v| diags.capture(encode(&v, &ty)))
                }
            }
        };
        Ok(Response::new(pb::upgrade_resource_state::Response { upgraded_state, diagnostics: diags.into_proto() }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let span = info_span!("ConfigureProvider", terraform_version = %request.terraform_version);
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &self.provider.schema().value_type())) {
            self.provider.configure(&self.context(), &config, &mut diags).instrument(span).await;
        }
        Ok(Response::new(pb::configure_provider::Response { diagnostics: diags.into_proto() }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let ty = resource.schema().value_type();
        let mut diags = Diagnostics::new();
        let mut new_state = None;
        let mut new_identity = None;
        if let Some(state) = diags.capture(decode(request.current_state.as_ref(), &ty)) {
            let span = info_span!("ReadResource", resource = resource.type_name());
            let read = resource.read(&self.context(), &state, &mut diags).instrument(span).await;
            // On a failed read keep the prior state: the object may well still exist.
            let value = if diags.has_errors() { state } else { read.unwrap_or(Value::Null) };
            new_identity = identity_data(resource.as_ref(), &value, &mut diags);
            new_state = diags.capture(encode(&value, &ty));
        }
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diags.into_proto(),
            private: request.private,
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let schema = resource.schema();
        let ty = schema.value_type();
        let mut diags = Diagnostics::new();
        let values = (
            diags.capture(decode(request.prior_state.as_ref(), &ty)),
            diags.capture(decode(request.proposed_new_state.as_ref(), &ty)),
            diags.capture(decode(request.config.as_ref(), &ty)),
        );
        let (Some(prior), Some(proposed), Some(config)) = values else {
            return Ok(Response::new(pb::plan_resource_change::Response {
                diagnostics: diags.into_proto(),
                ..Default::default()
            }));
        };
        let (planned, requires_replace) = plan_change(&schema.block, &prior, &proposed, &config);
        let mut plan = Plan { prior: &prior, config: &config, planned, requires_replace };
        if !plan.planned.is_null() {
            let span = info_span!("PlanResourceChange", resource = resource.type_name());
            resource.modify_plan(&self.context(), &mut plan, &mut diags).instrument(span).await;
        }
        let planned_identity = identity_data(resource.as_ref(), &plan.planned, &mut diags).or(request.prior_identity);
        let planned_state = diags.capture(encode(&plan.planned, &ty));
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: plan.requires_replace.iter().map(path_to_proto).collect(),
            planned_private: request.prior_private,
            diagnostics: diags.into_proto(),
            planned_identity,
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let ty = resource.schema().value_type();
        let mut diags = Diagnostics::new();
        let prior = diags.capture(decode(request.prior_state.as_ref(), &ty));
        let planned = diags.capture(decode(request.planned_state.as_ref(), &ty));
        let (Some(prior), Some(planned)) = (prior, planned) else {
            return Ok(Response::new(pb::apply_resource_change::Response {
                diagnostics: diags.into_proto(),
                ..Default::default()
            }));
        };
        let ctx = self.context();
        let span = info_span!("ApplyResourceChange", resource = resource.type_name());
        let new_state = async {
            if planned.is_null() {
                resource.delete(&ctx, &prior, &mut diags).await;
                // A failed delete leaves the object in place; keep it in state.
                if diags.has_errors() {
                    prior.clone()
                } else {
                    Value::Null
                }
            } else if prior.is_null() {
                resource.create(&ctx, &planned, &mut diags).await.unwrap_or(Value::Null)
            } else {
                resource.update(&ctx, &prior, &planned, &mut diags).await
            }
        }
        .instrument(span)
        .await;
        debug!(resource = resource.type_name(), errors = diags.has_errors(), "apply finished");
        let new_identity = identity_data(resource.as_ref(), &new_state, &mut diags);
        let new_state = diags.capture(encode(&new_state, &ty));
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: request.planned_private,
            diagnostics: diags.into_proto(),
            new_identity,
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let ty = resource.schema().value_type();
        let mut diags = Diagnostics::new();
        let span = info_span!("ImportResourceState", resource = resource.type_name(), id = %request.id);
        let given_identity = request.identity.as_ref().and_then(|i| i.identity_data.as_ref());
        let state = match (resource.identity_schema(), given_identity) {
            (Some(schema), Some(data)) if request.id.is_empty() => {
                match diags.capture(decode(Some(data), &schema.value_type())) {
                    Some(identity) => {
                        resource.import_by_identity(&self.context(), &identity, &mut diags).instrument(span).await
                    }
                    None => None,
                }
            }
            _ => resource.import(&self.context(), &request.id, &mut diags).instrument(span).await,
        };
        let imported_resources = state
            .and_then(|s| {
                let identity = identity_data(resource.as_ref(), &s, &mut diags).or_else(|| request.identity.clone());
                diags.capture(encode(&s, &ty)).map(|state| (state, identity))
            })
            .map(|(state, identity)| pb::import_resource_state::ImportedResource {
                type_name: request.type_name.clone(),
                state: Some(state),
                identity,
                ..Default::default()
            })
            .into_iter()
            .collect();
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: diags.into_proto(),
            ..Default::default()
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let schema = resource
            .identity_schema()
            .ok_or_else(|| Status::not_found(format!("`{}` has no identity", request.type_name)))?;
        let ty = schema.value_type();
        let mut diags = Diagnostics::new();
        let raw = request.raw_identity.unwrap_or_default();
        let upgraded_identity = diags
            .capture(
                cty::json::decode(&raw.json, &ty)
                    .map_err(|e| Diagnostic::error("Stored identity does not match the schema", e.to_string())),
            )
            .and_then(|v| diags.capture(encode(&v, &ty)))
            .map(|v| pb::ResourceIdentityData { identity_data: Some(v) });
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity,
            diagnostics: diags.into_proto(),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let request = request.into_inner();
        let data_source = self.data_source(&request.type_name)?;
        let schema = data_source.schema();
        let mut diags = Diagnostics::new();
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &schema.value_type())) {
            schema.block.validate(&config, &cty::Path::root(), &mut diags);
            data_source.validate(&config, &mut diags);
        }
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: diags.into_proto() }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let request = request.into_inner();
        let data_source = self.data_source(&request.type_name)?;
        let ty = data_source.schema().value_type();
        let mut diags = Diagnostics::new();
        let mut state = None;
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &ty)) {
            let span = info_span!("ReadDataSource", data_source = data_source.type_name());
            let value = data_source.read(&self.context(), &config, &mut diags).instrument(span).await;
            state = value.and_then(|v| diags.capture(encode(&v, &ty)));
        }
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diags.into_proto(),
            ..Default::default()
        }))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let request = request.into_inner();
        let list = self.list_resource(&request.type_name)?;
        let schema = list.schema();
        let mut diags = Diagnostics::new();
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &schema.value_type())) {
            schema.block.validate(&config, &cty::Path::root(), &mut diags);
            list.validate(&config, &mut diags);
        }
        Ok(Response::new(pb::validate_list_resource_config::Response { diagnostics: diags.into_proto() }))
    }

    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::list_resource::Event>>, Status> {
        let request = request.into_inner();
        let list = self.list_resource(&request.type_name)?;
        let resource = self.resource(&request.type_name)?;
        let identity_type = resource
            .identity_schema()
            .map(|s| s.value_type())
            .ok_or_else(|| Status::internal(format!("`{}` is listed but has no identity", request.type_name)))?;
        let state_type = resource.schema().value_type();
        let mut diags = Diagnostics::new();
        let mut events = Vec::new();
        if let Some(config) = diags.capture(decode(request.config.as_ref(), &list.schema().value_type())) {
            let span = info_span!("ListResource", resource = list.type_name());
            let found = list
                .list(&self.context(), &config, request.include_resource_object, request.limit, &mut diags)
                .instrument(span)
                .await;
            for object in found {
                let mut event_diags = Diagnostics::new();
                let identity = event_diags.capture(encode(&object.identity, &identity_type));
                let resource_object = match (request.include_resource_object, &object.state) {
                    (true, Some(state)) => event_diags.capture(encode(state, &state_type)),
                    _ => None,
                };
                events.push(Ok(pb::list_resource::Event {
                    identity: identity.map(|v| pb::ResourceIdentityData { identity_data: Some(v) }),
                    display_name: object.display_name,
                    resource_object,
                    diagnostic: event_diags.into_proto(),
                }));
            }
        }
        if !diags.is_empty() {
            events.push(Ok(pb::list_resource::Event { diagnostic: diags.into_proto(), ..Default::default() }));
        }
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        debug!("StopProvider received: cancelling in-flight operations");
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, Schema};
    use async_trait::async_trait;
    use pb::provider_server::Provider as _;

    /// Version 1 renamed `title` to `name` and dropped `legacy`.
    struct Renamed(Schema);

    #[async_trait]
    impl Resource for Renamed {
        fn type_name(&self) -> &'static str {
            "test_renamed"
        }
        fn schema(&self) -> &Schema {
            &self.0
        }
        async fn create(&self, _: &Context, planned: &Value, _: &mut Diagnostics) -> Option<Value> {
            Some(planned.clone())
        }
        async fn read(&self, _: &Context, state: &Value, _: &mut Diagnostics) -> Option<Value> {
            Some(state.clone())
        }
        async fn update(&self, _: &Context, _: &Value, planned: &Value, _: &mut Diagnostics) -> Value {
            planned.clone()
        }
        async fn delete(&self, _: &Context, _: &Value, _: &mut Diagnostics) {}
        fn upgrade_state(
            &self,
            from_version: i64,
            mut state: serde_json::Value,
            _: &mut Diagnostics,
        ) -> serde_json::Value {
            if from_version == 0 {
                if let Some(object) = state.as_object_mut() {
                    let title = object.remove("title").unwrap_or_default();
                    object.insert("name".into(), title);
                }
            }
            state
        }
    }

    struct TestProvider(Schema);

    #[async_trait]
    impl Provider for TestProvider {
        fn type_name(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> &Schema {
            &self.0
        }
        async fn configure(&self, _: &Context, _: &Value, _: &mut Diagnostics) {}
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            let schema = Schema::new("renamed").version(1).attribute(Attribute::required("name", Type::String, "name"));
            vec![Arc::new(Renamed(schema))]
        }
    }

    #[tokio::test]
    async fn old_states_are_upgraded_and_unknown_attributes_dropped() {
        let service = ProviderService::new(Arc::new(TestProvider(Schema::new("test"))), CancellationToken::new());
        let request = pb::upgrade_resource_state::Request {
            type_name: "test_renamed".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"title":"hello","legacy":true}"#.to_vec(),
                ..Default::default()
            }),
        };
        let response = service.upgrade_resource_state(Request::new(request)).await.expect("rpc").into_inner();
        assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
        let ty = Type::object([("name".to_string(), Type::String)]);
        let upgraded = cty::msgpack::decode(&response.upgraded_state.expect("state").msgpack, &ty).expect("decode");
        assert_eq!(upgraded.get("name"), Some(&Value::String("hello".into())));
    }

    #[tokio::test]
    async fn unknown_resource_types_are_an_rpc_error() {
        let service = ProviderService::new(Arc::new(TestProvider(Schema::new("test"))), CancellationToken::new());
        let request = pb::read_resource::Request { type_name: "test_missing".into(), ..Default::default() };
        let status = service.read_resource(Request::new(request)).await.expect_err("no such type");
        assert_eq!(status.code(), tonic::Code::NotFound);
    }
}
