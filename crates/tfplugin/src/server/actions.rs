//! The action RPCs (protocol 6.10+): ValidateActionConfig, PlanAction and InvokeAction, whose stream carries
//! the action's progress lines as they happen and ends with one completed event holding its diagnostics.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{Request, Response, Status};
use tracing::{info_span, Instrument};

use super::values::{decode, validate_config};
use super::ProviderService;
use crate::action::{AnyAction, Progress};
use crate::diag::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;

use pb::invoke_action::event::{Completed, Progress as ProgressEvent, Type as EventType};

type EventSender = mpsc::UnboundedSender<Result<pb::invoke_action::Event, Status>>;

fn send(events: &EventSender, event: EventType) {
    // A closed stream means Terraform has gone; the action's outcome has nobody left to tell.
    let _ = events.send(Ok(pb::invoke_action::Event { r#type: Some(event) }));
}

impl<P: Provider> ProviderService<P> {
    fn action(&self, type_name: &str) -> Result<&Arc<dyn AnyAction<P::Client>>, Status> {
        self.actions
            .get(type_name)
            .ok_or_else(|| Status::not_found(format!("this provider has no action `{type_name}`")))
    }

    pub(super) fn action_schemas(&self) -> std::collections::HashMap<String, pb::ActionSchema> {
        self.actions
            .iter()
            .map(|(name, a)| (name.to_string(), pb::ActionSchema { schema: Some(a.schema().to_proto()) }))
            .collect()
    }

    pub(super) fn action_metadata(&self) -> Vec<pb::get_metadata::ActionMetadata> {
        self.actions.keys().map(|name| pb::get_metadata::ActionMetadata { type_name: name.to_string() }).collect()
    }

    pub(super) async fn serve_validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let request = request.into_inner();
        let action = self.action(&request.action_type)?;
        let diagnostics =
            validate_config(action.schema(), request.config.as_ref(), |config, diags| action.validate(config, diags));
        Ok(Response::new(pb::validate_action_config::Response { diagnostics }))
    }

    pub(super) async fn serve_plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let request = request.into_inner();
        let action = self.action(&request.action_type)?;
        let mut diags = Diagnostics::new();
        let config = diags.capture(decode(request.config.as_ref(), &action.schema().value_type()));
        if let (Some(config), Some(client)) = (config, diags.capture(self.client())) {
            let span = info_span!("PlanAction", action = action.type_name());
            action.plan(&self.context(), &client, &config, &mut diags).instrument(span).await;
        }
        Ok(Response::new(pb::plan_action::Response { diagnostics: diags.into_proto(), deferred: None }))
    }

    pub(super) async fn serve_invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::invoke_action::Event>>, Status> {
        let request = request.into_inner();
        let action = self.action(&request.action_type)?.clone();
        let (events, stream) = mpsc::unbounded_channel();
        let mut diags = Diagnostics::new();
        let config = diags.capture(decode(request.config.as_ref(), &action.schema().value_type()));
        match (config, diags.capture(self.client())) {
            (Some(config), Some(client)) => {
                let ctx = self.context();
                let progress_events = events.clone();
                let progress = Progress::new(move |message| {
                    send(&progress_events, EventType::Progress(ProgressEvent { message }));
                });
                let span = info_span!("InvokeAction", action = action.type_name());
                // The action runs on its own task so each progress line reaches Terraform while it works.
                tokio::spawn(
                    async move {
                        action.invoke(&ctx, &client, &config, &progress, &mut diags).await;
                        send(&events, EventType::Completed(Completed { diagnostics: diags.into_proto() }));
                    }
                    .instrument(span),
                );
            }
            _ => send(&events, EventType::Completed(Completed { diagnostics: diags.into_proto() })),
        }
        Ok(Response::new(Box::pin(UnboundedReceiverStream::new(stream))))
    }
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
