use std::sync::Arc;

use async_trait::async_trait;
use cty::{Type, Value};
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::Request;

use super::super::test_provider::TestProvider;
use super::super::values::encode;
use super::super::ProviderService;
use crate::action::{Action, ActionHandle, Progress};
use crate::diag::{path_to_proto, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::provider::Context;
use crate::schema::{Attribute, Schema};
use pb::invoke_action::event::Type as EventType;
use pb::provider_server::Provider as _;

#[derive(serde::Deserialize)]
struct CountConfig {
    to: Option<i64>,
}

/// Counts to `to`, one progress line per number; refuses a negative `to` when validating and zero when
/// planning, and fails when invoked with 13.
struct Count;

#[async_trait]
impl Action for Count {
    type Client = ();
    type Config = CountConfig;
    fn type_name(&self) -> &'static str {
        "test_count"
    }
    fn schema(&self) -> Schema {
        Schema::new("count").attribute(Attribute::required("to", Type::Number, "to"))
    }
    fn validate(&self, config: &CountConfig, diags: &mut Diagnostics) {
        if config.to.is_some_and(|n| n < 0) {
            diags.attribute_error(cty::Path::root().attr("to"), "Negative", "`to` must not be negative.");
        }
    }
    async fn plan(&self, _: &Context, _: &(), config: CountConfig, diags: &mut Diagnostics) {
        if config.to == Some(0) {
            diags.error("Nothing to count", "`to` is zero.");
        }
    }
    async fn invoke(&self, _: &Context, _: &(), config: CountConfig, progress: &Progress, diags: &mut Diagnostics) {
        let to = config.to.unwrap_or_default();
        for n in 1..=to {
            progress.report(format!("counted {n}"));
        }
        if to == 13 {
            diags.error("Unlucky", "13 is not counted to.");
        }
    }
}

fn service(configured: bool) -> ProviderService<TestProvider> {
    let provider = TestProvider { actions: || vec![ActionHandle::new(Count)], ..TestProvider::default() };
    let service = ProviderService::new(provider, CancellationToken::new());
    if configured {
        let _ = service.client.set(Ok(Arc::new(())));
    }
    service
}

fn config(to: Value) -> Option<pb::DynamicValue> {
    let value = Value::Object([("to".to_string(), to)].into_iter().collect());
    Some(encode(&value, &Count.schema().value_type()).expect("encode"))
}

fn number(n: i64) -> Value {
    Value::Number(n.into())
}

async fn invoke(service: &ProviderService<TestProvider>, to: Value) -> Vec<EventType> {
    let request =
        pb::invoke_action::Request { action_type: "test_count".into(), config: config(to), ..Default::default() };
    let stream = service.invoke_action(Request::new(request)).await.expect("rpc").into_inner();
    stream.map(|event| event.expect("event").r#type.expect("event type")).collect().await
}

#[tokio::test]
async fn actions_are_advertised_with_their_schema() {
    let service = service(true);
    let metadata = service.get_metadata(Request::new(Default::default())).await.expect("rpc").into_inner();
    assert_eq!(metadata.actions[0].type_name, "test_count");
    let schema = service.get_provider_schema(Request::new(Default::default())).await.expect("rpc").into_inner();
    let block = schema.action_schemas["test_count"].schema.as_ref().and_then(|s| s.block.as_ref()).expect("block");
    assert!(block.attributes.iter().any(|a| a.name == "to" && a.required));
}

#[tokio::test]
async fn validate_runs_the_schema_and_the_action_checks_with_paths() {
    let service = service(false);
    let request = pb::validate_action_config::Request { action_type: "test_count".into(), config: config(number(-1)) };
    let response = service.validate_action_config(Request::new(request)).await.expect("rpc").into_inner();
    assert_eq!(response.diagnostics.len(), 1, "{:?}", response.diagnostics);
    assert_eq!(response.diagnostics[0].attribute, Some(path_to_proto(&cty::Path::root().attr("to"))));
    let fine = pb::validate_action_config::Request { action_type: "test_count".into(), config: config(number(2)) };
    let response = service.validate_action_config(Request::new(fine)).await.expect("rpc").into_inner();
    assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
}

#[tokio::test]
async fn plan_sees_unknowns_as_none_and_reports_errors() {
    let service = service(true);
    let plan =
        |to| pb::plan_action::Request { action_type: "test_count".into(), config: config(to), ..Default::default() };
    let unknown =
        service.plan_action(Request::new(plan(Value::Unknown(Default::default())))).await.expect("rpc").into_inner();
    assert!(unknown.diagnostics.is_empty(), "{:?}", unknown.diagnostics);
    let zero = service.plan_action(Request::new(plan(number(0)))).await.expect("rpc").into_inner();
    assert_eq!(zero.diagnostics[0].summary, "Nothing to count");
}

#[tokio::test]
async fn invoke_streams_progress_then_one_completed_event() {
    let service = service(true);
    let events = invoke(&service, number(3)).await;
    let lines: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            EventType::Progress(p) => Some(p.message.as_str()),
            EventType::Completed(_) => None,
        })
        .collect();
    assert_eq!(lines, ["counted 1", "counted 2", "counted 3"]);
    assert!(matches!(events.last(), Some(EventType::Completed(c)) if c.diagnostics.is_empty()), "{events:?}");
    assert_eq!(events.len(), 4, "exactly one completed event, last");

    let failed = invoke(&service, number(13)).await;
    assert!(matches!(failed.last(), Some(EventType::Completed(c)) if c.diagnostics[0].summary == "Unlucky"));
}

#[tokio::test]
async fn invoke_without_a_configured_provider_or_with_unknowns_completes_with_an_error() {
    let unconfigured = invoke(&service(false), number(1)).await;
    assert!(
        matches!(&unconfigured[..], [EventType::Completed(c)] if c.diagnostics[0].summary == "Provider not configured")
    );
    let unknown = invoke(&service(true), Value::Unknown(Default::default())).await;
    assert!(
        matches!(&unknown[..], [EventType::Completed(c)] if c.diagnostics[0].summary == "Action configuration not known")
    );
}

#[tokio::test]
async fn unknown_action_types_are_an_rpc_error() {
    let service = service(true);
    let request = pb::plan_action::Request { action_type: "test_missing".into(), ..Default::default() };
    let status = service.plan_action(Request::new(request)).await.expect_err("no such action");
    assert_eq!(status.code(), tonic::Code::NotFound);
}
