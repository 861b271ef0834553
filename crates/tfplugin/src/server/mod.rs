//! The `tfplugin6.Provider` service: decodes each request against the schema, calls the provider or the
//! resource, and encodes the answer. RPCs this layer does not implement answer `Unimplemented` through the
//! generated default stubs.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::{debug, info_span, Instrument};

use crate::action::AnyAction;
use crate::data_source::{AnyDataSource, AnyListResource};
use crate::diag::{path_to_proto, Diagnostic, Diagnostics};
use crate::ephemeral::AnyEphemeralResource;
use crate::function::AnyFunction;
use crate::model;
use crate::plan::{plan_change, ProposedPlan};
use crate::proto::tfplugin6 as pb;
use crate::provider::{Context, Provider};
use crate::resource::{AnyResource, MoveSource};
use crate::schema::Schema;
use crate::write_only;
use values::{decode, encode, identity_data, prune_to_type, validate_config};

mod actions;
mod functions;
mod read_only;
mod values;

pub(crate) struct ProviderService<P: Provider> {
    provider: P,
    schema: Schema,
    resources: HashMap<&'static str, Arc<dyn AnyResource<P::Client>>>,
    data_sources: HashMap<&'static str, Arc<dyn AnyDataSource<P::Client>>>,
    list_resources: HashMap<&'static str, Arc<dyn AnyListResource<P::Client>>>,
    ephemeral_resources: HashMap<&'static str, Arc<dyn AnyEphemeralResource<P::Client>>>,
    functions: HashMap<&'static str, Arc<dyn AnyFunction>>,
    actions: HashMap<&'static str, Arc<dyn AnyAction<P::Client>>>,
    /// Set by ConfigureProvider: the client, or why there is none.
    client: OnceLock<Result<Arc<P::Client>, Diagnostic>>,
    stop: CancellationToken,
}

impl<P: Provider> ProviderService<P> {
    pub(crate) fn new(provider: P, stop: CancellationToken) -> Self {
        let resources = provider.resources().into_iter().map(|r| (r.0.type_name(), r.0)).collect();
        let data_sources = provider.data_sources().into_iter().map(|d| (d.0.type_name(), d.0)).collect();
        let list_resources = provider.list_resources().into_iter().map(|l| (l.0.type_name(), l.0)).collect();
        let ephemeral_resources = provider.ephemeral_resources().into_iter().map(|e| (e.0.type_name(), e.0)).collect();
        let functions = provider.functions().into_iter().map(|f| (f.0.name(), f.0)).collect();
        let actions = provider.actions().into_iter().map(|a| (a.0.type_name(), a.0)).collect();
        let schema = provider.schema();
        ProviderService {
            provider,
            schema,
            resources,
            data_sources,
            list_resources,
            ephemeral_resources,
            functions,
            actions,
            client: OnceLock::new(),
            stop,
        }
    }

    fn ephemeral_resource(&self, type_name: &str) -> Result<&Arc<dyn AnyEphemeralResource<P::Client>>, Status> {
        self.ephemeral_resources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no ephemeral resource `{type_name}`")))
    }

    fn data_source(&self, type_name: &str) -> Result<&Arc<dyn AnyDataSource<P::Client>>, Status> {
        self.data_sources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no data source `{type_name}`")))
    }

    fn list_resource(&self, type_name: &str) -> Result<&Arc<dyn AnyListResource<P::Client>>, Status> {
        self.list_resources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no list resource `{type_name}`")))
    }

    fn context(&self) -> Context {
        Context::new(self.stop.clone())
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn AnyResource<P::Client>>, Status> {
        self.resources
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no resource type `{type_name}`")))
    }

    /// The configured client, or the diagnostic that explains why there is none.
    fn client(&self) -> Result<Arc<P::Client>, Diagnostic> {
        match self.client.get() {
            Some(result) => result.clone(),
            None => Err(Diagnostic::error(
                "Provider not configured",
                format!("Terraform did not configure the {} provider before using it.", self.provider.type_name()),
            )),
        }
    }

    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities { get_provider_schema_optional: true, move_resource_state: true, ..Default::default() }
    }
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
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
        let ephemeral_resources = self
            .ephemeral_resources
            .keys()
            .map(|name| pb::get_metadata::EphemeralResourceMetadata { type_name: name.to_string() })
            .collect();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            resources,
            data_sources,
            list_resources,
            ephemeral_resources,
            functions: self.function_metadata(),
            actions: self.action_metadata(),
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
        // Clients before 1.10 do not know this field and skip it, so it is safe to send to every client.
        let ephemeral_resource_schemas =
            self.ephemeral_resources.iter().map(|(name, e)| (name.to_string(), e.schema().to_proto())).collect();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(self.schema.to_proto()),
            resource_schemas,
            data_source_schemas,
            list_resource_schemas,
            ephemeral_resource_schemas,
            // Clients before 1.8 skip this field too; they refuse a configuration calling a function.
            functions: self.function_signatures(),
            // Clients before 1.14 skip this field too.
            action_schemas: self.action_schemas(),
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
        let diagnostics = validate_config(&self.schema, request.config.as_ref(), |config, diags| {
            // A value the model cannot hold has already failed the schema's validators.
            if let Ok(typed) = model::decode(config) {
                self.provider.validate(&typed, diags);
            }
        });
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.type_name)?;
        // Terraform 1.11+ announces that it keeps write-only values out of state; an older client would
        // store them as ordinary arguments.
        let write_only_allowed = request.client_capabilities.is_some_and(|c| c.write_only_attributes_allowed);
        let diagnostics = validate_config(resource.schema(), request.config.as_ref(), |config, diags| {
            if !write_only_allowed {
                write_only::refuse_for_old_clients(&resource.schema().block, config, &cty::Path::root(), diags);
            }
            resource.validate(config, diags);
        });
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics }))
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
        let config = diags
            .capture(decode(request.config.as_ref(), &self.schema.value_type()))
            .and_then(|config| diags.capture(model::decode(&config)));
        let client = match config {
            Some(config) => {
                let mut configure_diags = Diagnostics::new();
                let client =
                    self.provider.configure(&self.context(), config, &mut configure_diags).instrument(span).await;
                let client = client.map(Arc::new).ok_or_else(|| {
                    configure_diags.iter().find(|d| d.severity == crate::Severity::Error).cloned().unwrap_or_else(
                        || Diagnostic::error("Provider not configured", "The provider could not be configured."),
                    )
                });
                diags.extend(configure_diags);
                client
            }
            None => Err(Diagnostic::error("Provider not configured", "The provider block could not be read.")),
        };
        let _ = self.client.set(client);
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
            let value = match diags.capture(self.client()) {
                Some(client) => resource.read(&self.context(), &client, &state, &mut diags).instrument(span).await,
                None => state,
            };
            let mut value = value;
            write_only::null_out(&resource.schema().block, &mut value);
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
        let mut plan = ProposedPlan { prior, config, planned, requires_replace };
        if !plan.planned.is_null() {
            if let Some(client) = diags.capture(self.client()) {
                let span = info_span!("PlanResourceChange", resource = resource.type_name());
                resource.modify_plan(&self.context(), &client, &mut plan, &mut diags).instrument(span).await;
            }
        }
        // Whatever the resource planned, a plan never holds a write-only value.
        write_only::null_out(&schema.block, &mut plan.planned);
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
        let block = &resource.schema().block;
        let ty = resource.schema().value_type();
        let mut diags = Diagnostics::new();
        let prior = diags.capture(decode(request.prior_state.as_ref(), &ty));
        let planned = diags.capture(decode(request.planned_state.as_ref(), &ty));
        let config = diags.capture(decode(request.config.as_ref(), &ty));
        let (Some(prior), Some(planned), Some(config)) = (prior, planned, config) else {
            return Ok(Response::new(pb::apply_resource_change::Response {
                diagnostics: diags.into_proto(),
                ..Default::default()
            }));
        };
        let span = info_span!("ApplyResourceChange", resource = resource.type_name());
        // Write-only values exist only in configuration: the resource gets them in the planned model, and the
        // state it returns is stripped of them.
        let planned =
            if planned.is_null() { planned } else { write_only::with_config_values(block, &planned, &config) };
        let mut new_state = match diags.capture(self.client()) {
            Some(client) => {
                resource.apply(&self.context(), &client, &prior, &planned, &mut diags).instrument(span).await
            }
            None => prior,
        };
        write_only::null_out(block, &mut new_state);
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
        let client = diags.capture(self.client());
        let state = match (client, resource.identity_schema(), given_identity) {
            (None, _, _) => None,
            (Some(client), Some(schema), Some(data)) if request.id.is_empty() => {
                match diags.capture(decode(Some(data), &schema.value_type())) {
                    Some(identity) => {
                        resource
                            .import_by_identity(&self.context(), &client, &identity, &mut diags)
                            .instrument(span)
                            .await
                    }
                    None => None,
                }
            }
            (Some(client), _, _) => {
                resource.import(&self.context(), &client, &request.id, &mut diags).instrument(span).await
            }
        };
        let imported_resources = state
            .map(|mut s| {
                write_only::null_out(&resource.schema().block, &mut s);
                s
            })
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
        let diagnostics = validate_config(data_source.schema(), request.config.as_ref(), |config, diags| {
            data_source.validate(config, diags)
        });
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        self.serve_read_data_source(request).await
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let request = request.into_inner();
        let list = self.list_resource(&request.type_name)?;
        let diagnostics =
            validate_config(list.schema(), request.config.as_ref(), |config, diags| list.validate(config, diags));
        Ok(Response::new(pb::validate_list_resource_config::Response { diagnostics }))
    }

    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::list_resource::Event>>, Status> {
        self.serve_list_resource(request).await
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let request = request.into_inner();
        let ephemeral = self.ephemeral_resource(&request.type_name)?;
        let diagnostics = validate_config(ephemeral.schema(), request.config.as_ref(), |config, diags| {
            ephemeral.validate(config, diags)
        });
        Ok(Response::new(pb::validate_ephemeral_resource_config::Response { diagnostics }))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        self.serve_open_ephemeral_resource(request).await
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        self.serve_renew_ephemeral_resource(request).await
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        self.serve_close_ephemeral_resource(request).await
    }

    async fn get_functions(
        &self,
        request: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        self.serve_get_functions(request).await
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        self.serve_call_function(request).await
    }

    async fn move_resource_state(
        &self,
        request: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let request = request.into_inner();
        let resource = self.resource(&request.target_type_name)?;
        let mut diags = Diagnostics::new();
        let json = request.source_state.map(|raw| raw.json).unwrap_or_default();
        let moved = match serde_json::from_slice(&json) {
            Ok(state) => {
                let source = MoveSource {
                    provider_address: request.source_provider_address,
                    type_name: request.source_type_name,
                    schema_version: request.source_schema_version,
                    state,
                };
                let _span = info_span!("MoveResourceState", resource = resource.type_name(), from = %source.type_name)
                    .entered();
                resource.move_state(&source, &mut diags)
            }
            Err(e) => {
                diags.error("Unreadable source state", format!("The state to move is not JSON: {e}"));
                None
            }
        };
        let moved = moved.map(|mut s| {
            write_only::null_out(&resource.schema().block, &mut s);
            s
        });
        let target_identity = moved.as_ref().and_then(|s| identity_data(resource.as_ref(), s, &mut diags));
        let target_state = moved.and_then(|s| diags.capture(encode(&s, &resource.schema().value_type())));
        Ok(Response::new(pb::move_resource_state::Response {
            target_state,
            diagnostics: diags.into_proto(),
            target_private: Vec::new(),
            target_identity,
        }))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        self.serve_validate_action_config(request).await
    }

    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        self.serve_plan_action(request).await
    }

    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::invoke_action::Event>>, Status> {
        self.serve_invoke_action(request).await
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
mod test_provider;
#[cfg(test)]
mod tests;
