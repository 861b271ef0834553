//! The RPCs that read without changing anything: data sources, list resources (`terraform query`) and
//! ephemeral resources. The service's trait implementation hands each request here.

use tonic::{Request, Response, Status};
use tracing::{info_span, Instrument};

use super::values::{decode, encode};
use super::ProviderService;
use crate::diag::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;

impl<P: Provider> ProviderService<P> {
    pub(super) async fn serve_read_data_source(
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
            if let Some(client) = diags.capture(self.client()) {
                let value = data_source.read(&self.context(), &client, &config, &mut diags).instrument(span).await;
                state = value.and_then(|v| diags.capture(encode(&v, &ty)));
            }
        }
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diags.into_proto(),
            ..Default::default()
        }))
    }

    pub(super) async fn serve_list_resource(
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
        let config = diags.capture(decode(request.config.as_ref(), &list.schema().value_type()));
        if let (Some(config), Some(client)) = (config, diags.capture(self.client())) {
            let span = info_span!("ListResource", resource = list.type_name());
            let found = list
                .list(
                    &self.context(),
                    &client,
                    &config,
                    request.include_resource_object,
                    request.limit,
                    (&identity_type, &state_type),
                    &mut diags,
                )
                .instrument(span)
                .await;
            for (object, mut event_diags) in found {
                let identity = event_diags.capture(encode(&object.identity, &identity_type));
                let resource_object = object.state.and_then(|state| event_diags.capture(encode(&state, &state_type)));
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

    pub(super) async fn serve_open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let ephemeral = self.ephemeral_resource(&request.type_name)?;
        let ty = ephemeral.schema().value_type();
        let mut diags = Diagnostics::new();
        let mut response = pb::open_ephemeral_resource::Response::default();
        let config = diags.capture(decode(request.config.as_ref(), &ty));
        if let (Some(config), Some(client)) = (config, diags.capture(self.client())) {
            let span = info_span!("OpenEphemeralResource", resource = ephemeral.type_name());
            if let Some(opened) = ephemeral.open(&self.context(), &client, &config, &mut diags).instrument(span).await {
                response.result = diags.capture(encode(&opened.result, &ty));
                response.renew_at = opened.renew_at.map(prost_types::Timestamp::from);
                response.private = opened.private;
            }
        }
        response.diagnostics = diags.into_proto();
        Ok(Response::new(response))
    }

    pub(super) async fn serve_renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let ephemeral = self.ephemeral_resource(&request.type_name)?;
        let mut diags = Diagnostics::new();
        let mut response = pb::renew_ephemeral_resource::Response::default();
        if let Some(client) = diags.capture(self.client()) {
            let span = info_span!("RenewEphemeralResource", resource = ephemeral.type_name());
            let renewed = ephemeral.renew(&self.context(), &client, request.private, &mut diags).instrument(span).await;
            response.renew_at = renewed.renew_at.map(prost_types::Timestamp::from);
            response.private = renewed.private;
        }
        response.diagnostics = diags.into_proto();
        Ok(Response::new(response))
    }

    pub(super) async fn serve_close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let ephemeral = self.ephemeral_resource(&request.type_name)?;
        let mut diags = Diagnostics::new();
        if let Some(client) = diags.capture(self.client()) {
            let span = info_span!("CloseEphemeralResource", resource = ephemeral.type_name());
            ephemeral.close(&self.context(), &client, request.private, &mut diags).instrument(span).await;
        }
        Ok(Response::new(pb::close_ephemeral_resource::Response { diagnostics: diags.into_proto() }))
    }
}
