use super::test_provider::TestProvider;
use super::*;
use crate::ephemeral::{EphemeralResource, EphemeralResourceHandle, Opened};
use crate::resource::{Resource, ResourceHandle};
use crate::schema::{Attribute, Schema};
use async_trait::async_trait;
use cty::{Type, Value};
use pb::provider_server::Provider as _;

#[derive(serde::Deserialize, serde::Serialize)]
struct Named {
    name: Option<String>,
}

/// Version 1 renamed `title` to `name` and dropped `legacy`.
struct Renamed;

#[async_trait]
impl Resource for Renamed {
    type Client = ();
    type State = Named;
    type Identity = ();
    fn type_name(&self) -> &'static str {
        "test_renamed"
    }
    fn schema(&self) -> Schema {
        Schema::new("renamed").version(1).attribute(Attribute::required("name", Type::String, "name"))
    }
    async fn create(&self, _: &Context, _: &(), planned: Named, _: &mut Diagnostics) -> Option<Named> {
        Some(planned)
    }
    async fn read(&self, _: &Context, _: &(), state: Named, _: &mut Diagnostics) -> Option<Named> {
        Some(state)
    }
    async fn update(&self, _: &Context, _: &(), _: Named, planned: Named, _: &mut Diagnostics) -> Option<Named> {
        Some(planned)
    }
    async fn delete(&self, _: &Context, _: &(), _: Named, _: &mut Diagnostics) {}
    fn upgrade_state(&self, from_version: i64, mut state: serde_json::Value, _: &mut Diagnostics) -> serde_json::Value {
        if from_version == 0 {
            if let Some(object) = state.as_object_mut() {
                let title = object.remove("title").unwrap_or_default();
                object.insert("name".into(), title);
            }
        }
        state
    }
}

fn test_provider() -> TestProvider {
    TestProvider {
        resources: || vec![ResourceHandle::new(Renamed)],
        ephemeral_resources: || vec![EphemeralResourceHandle::new(Greeting)],
        ..TestProvider::default()
    }
}

#[derive(serde::Deserialize, serde::Serialize)]
struct GreetingModel {
    name: Option<String>,
    greeting: Option<String>,
}

/// An ephemeral resource that computes `greeting` from `name` and asks to be renewed.
struct Greeting;

#[async_trait]
impl EphemeralResource for Greeting {
    type Client = ();
    type Model = GreetingModel;
    fn type_name(&self) -> &'static str {
        "test_greeting"
    }
    fn schema(&self) -> Schema {
        Schema::new("greeting")
            .attribute(Attribute::required("name", Type::String, "name"))
            .attribute(Attribute::computed("greeting", Type::String, "greeting").sensitive())
    }
    fn validate(&self, config: &GreetingModel, diags: &mut Diagnostics) {
        if config.name.as_deref() == Some("") {
            diags.attribute_error(cty::Path::root().attr("name"), "Empty name", "`name` must not be empty.");
        }
    }
    async fn open(
        &self,
        _: &Context,
        _: &(),
        mut config: GreetingModel,
        _: &mut Diagnostics,
    ) -> Option<Opened<GreetingModel>> {
        config.greeting = config.name.as_ref().map(|n| format!("hello {n}"));
        Some(Opened {
            result: config,
            renew_at: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(60)),
            private: Some(b"lease-1".to_vec()),
        })
    }
}

fn configured_service() -> ProviderService<TestProvider> {
    let service = ProviderService::new(test_provider(), CancellationToken::new());
    let _ = service.client.set(Ok(Arc::new(())));
    service
}

fn greeting_config(name: &str) -> Option<pb::DynamicValue> {
    let value = Value::Object(
        [("name".to_string(), Value::from(name)), ("greeting".to_string(), Value::Null)].into_iter().collect(),
    );
    Some(encode(&value, &Greeting.schema().value_type()).expect("encode"))
}

#[tokio::test]
async fn ephemeral_resources_are_advertised_with_their_schema() {
    let service = configured_service();
    let metadata = service.get_metadata(Request::new(Default::default())).await.expect("rpc").into_inner();
    assert_eq!(metadata.ephemeral_resources[0].type_name, "test_greeting");
    let schema = service.get_provider_schema(Request::new(Default::default())).await.expect("rpc").into_inner();
    let greeting = &schema.ephemeral_resource_schemas["test_greeting"];
    let attributes = &greeting.block.as_ref().expect("block").attributes;
    assert!(attributes.iter().any(|a| a.name == "greeting" && a.computed && a.sensitive));
}

#[tokio::test]
async fn ephemeral_config_is_validated_with_attribute_paths() {
    let service = configured_service();
    let request = pb::validate_ephemeral_resource_config::Request {
        type_name: "test_greeting".into(),
        config: greeting_config(""),
    };
    let response = service.validate_ephemeral_resource_config(Request::new(request)).await.expect("rpc").into_inner();
    assert_eq!(response.diagnostics.len(), 1, "{:?}", response.diagnostics);
    assert_eq!(response.diagnostics[0].attribute, Some(path_to_proto(&cty::Path::root().attr("name"))));
}

#[tokio::test]
async fn ephemeral_open_renew_and_close_round_trip() {
    let service = configured_service();
    let request = pb::open_ephemeral_resource::Request {
        type_name: "test_greeting".into(),
        config: greeting_config("world"),
        client_capabilities: None,
    };
    let opened = service.open_ephemeral_resource(Request::new(request)).await.expect("rpc").into_inner();
    assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
    let ty = Greeting.schema().value_type();
    let result = cty::msgpack::decode(&opened.result.expect("result").msgpack, &ty).expect("decode");
    assert_eq!(result.get("greeting"), Some(&Value::from("hello world")));
    assert_eq!(opened.renew_at.map(|t| t.seconds), Some(60));
    assert_eq!(opened.private.as_deref(), Some(&b"lease-1"[..]));

    let renew = pb::renew_ephemeral_resource::Request { type_name: "test_greeting".into(), private: opened.private };
    let renewed = service.renew_ephemeral_resource(Request::new(renew)).await.expect("rpc").into_inner();
    assert_eq!(renewed.renew_at, None, "the default renew asks for no further renewal");
    assert_eq!(renewed.private.as_deref(), Some(&b"lease-1"[..]), "and keeps the private bytes");

    let close = pb::close_ephemeral_resource::Request { type_name: "test_greeting".into(), private: renewed.private };
    let closed = service.close_ephemeral_resource(Request::new(close)).await.expect("rpc").into_inner();
    assert!(closed.diagnostics.is_empty());
}

#[tokio::test]
async fn old_states_are_upgraded_and_unknown_attributes_dropped() {
    let service = ProviderService::new(test_provider(), CancellationToken::new());
    let request = pb::upgrade_resource_state::Request {
        type_name: "test_renamed".into(),
        version: 0,
        raw_state: Some(pb::RawState { json: br#"{"title":"hello","legacy":true}"#.to_vec(), ..Default::default() }),
    };
    let response = service.upgrade_resource_state(Request::new(request)).await.expect("rpc").into_inner();
    assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
    let ty = Type::object([("name".to_string(), Type::String)]);
    let upgraded = cty::msgpack::decode(&response.upgraded_state.expect("state").msgpack, &ty).expect("decode");
    assert_eq!(upgraded.get("name"), Some(&Value::String("hello".into())));
}

#[tokio::test]
async fn unknown_resource_types_are_an_rpc_error() {
    let service = ProviderService::new(test_provider(), CancellationToken::new());
    let request = pb::read_resource::Request { type_name: "test_missing".into(), ..Default::default() };
    let status = service.read_resource(Request::new(request)).await.expect_err("no such type");
    assert_eq!(status.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn resources_wait_for_the_provider_to_be_configured() {
    let service = ProviderService::new(test_provider(), CancellationToken::new());
    let ty = Renamed.schema().value_type();
    let state = Value::Object([("name".to_string(), Value::from("a"))].into_iter().collect());
    let current_state = Some(encode(&state, &ty).expect("encode"));
    let request = pb::read_resource::Request { type_name: "test_renamed".into(), current_state, ..Default::default() };
    let response = service.read_resource(Request::new(request)).await.expect("rpc").into_inner();
    assert_eq!(response.diagnostics[0].summary, "Provider not configured");
}
