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
use crate::provider::{Context, Provider, Resource};

pub(crate) struct ProviderService {
    provider: Arc<dyn Provider>,
    resources: HashMap<&'static str, Arc<dyn Resource>>,
    stop: CancellationToken,
}

impl ProviderService {
    pub(crate) fn new(provider: Arc<dyn Provider>, stop: CancellationToken) -> Self {
        let resources = provider.resources().into_iter().map(|r| (r.type_name(), r)).collect();
        ProviderService { provider, resources, stop }
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

/// Collects a decode/encode failure into the diagnostics and yields `None`.
fn collect<T>(result: Result<T, Diagnostic>, diags: &mut Diagnostics) -> Option<T> {
    result.map_err(|d| diags.push(d)).ok()
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
    async fn get_metadata(&self, _: Request<pb::get_metadata::Request>) -> Result<Response<pb::get_metadata::Response>, Status> {
        let resources = self
            .resources
            .keys()
            .map(|name| pb::get_metadata::ResourceMetadata { type_name: name.to_string() })
            .collect();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            resources,
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let resource_schemas = self.resources.iter().map(|(name, r)| (name.to_string(), r.schema().to_proto())).collect();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(self.provider.schema().to_proto()),
            resource_schemas,
            server_capabilities: Some(Self::capabilities()),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response::default()))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let request = request.into_inner();
        let schema = self.provider.schema();
        let mut diags = Diagnostics::new();
        if let Some(config) = collect(decode(request.config.as_ref(), &schema.value_type()), &mut diags) {
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
        if let Some(config) = collect(decode(request.config.as_ref(), &schema.value_type()), &mut diags) {
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
                    let value = collect(cty::json::decode(&bytes, &ty).map_err(|e| {
                        Diagnostic::error("Stored state does not match the schema", e.to_string())
                    }), &mut diags);
                    value.and_then(|v| collect(encode(&v, &ty), &mut diags))
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
        if let Some(config) = collect(decode(request.config.as_ref(), &self.provider.schema().value_type()), &mut diags) {
            self.provider.configure(&self.context(), &config, &mut diags).instrument(span).await;
        }
        Ok(Response::new(pb::configure_provider::Response { diagnostics: diags.into_proto() }))
    }

    async fn read_resource(&self, request: Request<pb::read_resource::Request>) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        let ty = resource.schema().value_type();
        let mut diags = Diagnostics::new();
        let mut new_state = None;
        if let Some(state) = collect(decode(request.current_state.as_ref(), &ty), &mut diags) {
            let span = info_span!("ReadResource", resource = resource.type_name());
            let read = resource.read(&self.context(), &state, &mut diags).instrument(span).await;
            // On a failed read keep the prior state: the object may well still exist.
            let value = if diags.has_errors() { state } else { read.unwrap_or(Value::Null) };
            new_state = collect(encode(&value, &ty), &mut diags);
        }
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diags.into_proto(),
            private: request.private,
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
            collect(decode(request.prior_state.as_ref(), &ty), &mut diags),
            collect(decode(request.proposed_new_state.as_ref(), &ty), &mut diags),
            collect(decode(request.config.as_ref(), &ty), &mut diags),
        );
        let (Some(prior), Some(proposed), Some(config)) = values else {
            return Ok(Response::new(pb::plan_resource_change::Response { diagnostics: diags.into_proto(), ..Default::default() }));
        };
        let (planned, requires_replace) = plan_change(&schema.block, &prior, &proposed, &config);
        let mut plan = Plan { prior: &prior, config: &config, planned, requires_replace };
        if !plan.planned.is_null() {
            let span = info_span!("PlanResourceChange", resource = resource.type_name());
            resource.modify_plan(&self.context(), &mut plan, &mut diags).instrument(span).await;
        }
        let planned_state = collect(encode(&plan.planned, &ty), &mut diags);
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace: plan.requires_replace.iter().map(path_to_proto).collect(),
            planned_private: request.prior_private,
            diagnostics: diags.into_proto(),
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
        let prior = collect(decode(request.prior_state.as_ref(), &ty), &mut diags);
        let planned = collect(decode(request.planned_state.as_ref(), &ty), &mut diags);
        let (Some(prior), Some(planned)) = (prior, planned) else {
            return Ok(Response::new(pb::apply_resource_change::Response { diagnostics: diags.into_proto(), ..Default::default() }));
        };
        let ctx = self.context();
        let span = info_span!("ApplyResourceChange", resource = resource.type_name());
        let new_state = async {
            if planned.is_null() {
                resource.delete(&ctx, &prior, &mut diags).await;
                // A failed delete leaves the object in place; keep it in state.
                if diags.has_errors() { prior.clone() } else { Value::Null }
            } else if prior.is_null() {
                resource.create(&ctx, &planned, &mut diags).await.unwrap_or(Value::Null)
            } else {
                resource.update(&ctx, &prior, &planned, &mut diags).await
            }
        }
        .instrument(span)
        .await;
        debug!(resource = resource.type_name(), errors = diags.has_errors(), "apply finished");
        let new_state = collect(encode(&new_state, &ty), &mut diags);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: request.planned_private,
            diagnostics: diags.into_proto(),
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
        let state = resource.import(&self.context(), &request.id, &mut diags).instrument(span).await;
        let imported_resources = state
            .and_then(|s| collect(encode(&s, &ty), &mut diags))
            .map(|state| pb::import_resource_state::ImportedResource {
                type_name: request.type_name.clone(),
                state: Some(state),
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

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        Err(Status::not_found(format!("this provider has no data source `{}`", request.into_inner().type_name)))
    }

    async fn stop_provider(&self, _: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        debug!("StopProvider received: cancelling in-flight operations");
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}
