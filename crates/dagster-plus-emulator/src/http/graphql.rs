//! `POST /graphql` and `POST /{deployment}/graphql`.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Response as GqlResponse, Variables};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::conn::ConnectionControl;
use super::{faults, json_response, raw_json_response};
use crate::app::App;
use crate::auth::{self, Principal, TOKEN_HEADER};
use crate::faults::{FaultAction, RequestFacts};
use crate::graphql_core_messages::{self, VariableArguments};
use crate::json::json_to_value;
use crate::root_fields::{root_selection, RootSelection};
use crate::schema::context::RequestContext;
use crate::scope::{self, DEPLOYMENT_HEADER};

/// The body the `dg` test suite recorded for a bad token; sent byte-for-byte.
const UNAUTHORIZED_BODY: &str = r#"{"errors":[{"message":"Unauthorized","extensions":{"code":"UNAUTHENTICATED"}}]}"#;

#[derive(Deserialize)]
struct GraphQlBody {
    query: String,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

pub async fn unscoped(
    State(app): State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<ConnectionControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(app, conn, None, headers, body).await
}

pub async fn scoped(
    State(app): State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<ConnectionControl>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(app, conn, Some(segment), headers, body).await
}

async fn handle(
    app: Arc<App>,
    conn: ConnectionControl,
    segment: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    // A remote API's round trip, when the simulation sets one (the benchmark does).
    let delay = app.simulation.request_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let path = segment.as_deref().map_or("/graphql".to_owned(), |s| format!("/{s}/graphql"));
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());

    // The document is parsed before authentication so fault plans can match
    // on the operation; async-graphql keeps the parse for execution.
    let parsed = parse_body(&body);
    let mut prepared = parsed.as_ref().ok().map(prepare);
    let selection = prepared.as_ref().and_then(|p| p.selection.clone());

    let fault = take_fault(&app, &selection);
    if let Some(response) = fault.and_then(|f| faults::before_execution(&app, &conn, &path, f)) {
        return response;
    }

    let Some(principal) = auth::authenticate(&app.store, &app.api_token, header_str(TOKEN_HEADER)) else {
        app.counters.record("http.401");
        tracing::info!(%path, status = 401, "graphql request rejected: missing, unknown or revoked API token");
        return raw_json_response(StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY);
    };

    let Some(Prepared { request, variables, .. }) = prepared.take() else {
        let message = parsed.err().unwrap_or_default();
        app.counters.record("http.400");
        tracing::info!(%path, %principal, status = 400, %message, "graphql request rejected: malformed body");
        return json_response(StatusCode::BAD_REQUEST, &json!({ "errors": [{ "message": message }] }));
    };

    let scope = scope::requested(segment.as_deref(), header_str(DEPLOYMENT_HEADER), &app.organization);
    app.advance_clock();
    let mut response = app.schema.execute(request.data(RequestContext { principal, scope })).await;
    let rejected = is_request_error(&response);
    if rejected {
        graphql_core_messages::rewrite(&mut response.errors, &variables);
    }
    record(&app, &selection, rejected);
    log_request(&path, principal, &selection, &response, rejected, started);
    let rendered = render(response, rejected);
    if let Some(fault) = fault {
        faults::after_execution(&conn, &path, fault).await;
    }
    json_response(StatusCode::OK, &rendered)
}

struct Prepared {
    request: async_graphql::Request,
    selection: Option<RootSelection>,
    variables: VariableArguments,
}

fn prepare(parsed: &ParsedBody) -> Prepared {
    let mut request = async_graphql::Request::new(parsed.query.clone()).variables(parsed.variables.clone());
    if let Some(name) = &parsed.operation_name {
        request = request.operation_name(name.clone());
    }
    let (selection, variables) = match request.parsed_query() {
        Ok(doc) => {
            (root_selection(doc, parsed.operation_name.as_deref()), graphql_core_messages::variable_arguments(doc))
        }
        Err(_) => (None, VariableArguments::default()),
    };
    Prepared { request, selection, variables }
}

fn take_fault(app: &App, selection: &Option<RootSelection>) -> Option<FaultAction> {
    let fields: Vec<&str> =
        selection.as_ref().map(|s| s.fields.iter().map(String::as_str).collect()).unwrap_or_default();
    let kind = selection.as_ref().map(|s| s.kind);
    let fault = app.faults.take(&RequestFacts {
        is_mutation: kind == Some("mutation"),
        is_query: kind == Some("query"),
        fields: &fields,
    })?;
    app.counters.record(&format!("fault.{}", fault.kind.name()));
    Some(fault)
}

struct ParsedBody {
    query: String,
    variables: Variables,
    operation_name: Option<String>,
}

fn parse_body(body: &[u8]) -> Result<ParsedBody, String> {
    let body: GraphQlBody =
        serde_json::from_slice(body).map_err(|e| format!("Request body must be JSON with a \"query\" string: {e}"))?;
    // Clients send explicit `null` for "no variables"; treat it like absence.
    let variables = match body.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(v @ serde_json::Value::Object(_)) => Variables::from_value(json_to_value(&v)),
        Some(_) => return Err("\"variables\" must be a JSON object or null".to_owned()),
    };
    Ok(ParsedBody { query: body.query, variables, operation_name: body.operation_name })
}

/// Parse and validation failures happen before execution: no data, and no
/// error carries a field path.
fn is_request_error(response: &GqlResponse) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn record(app: &App, selection: &Option<RootSelection>, rejected: bool) {
    app.counters.record("http.200");
    match selection {
        Some(sel) if !rejected => sel.counter_keys().for_each(|k| app.counters.record(&k)),
        _ => app.counters.record("graphql.rejected"),
    }
}

/// Per the GraphQL spec a request that never executed has no `data` key.
fn render(response: GqlResponse, rejected: bool) -> serde_json::Value {
    let errors = serde_json::to_value(&response.errors).unwrap_or_else(|e| json!([{ "message": e.to_string() }]));
    if rejected {
        return json!({ "errors": errors });
    }
    let mut out = serde_json::Map::new();
    out.insert("data".into(), crate::json::value_to_json(&response.data));
    if !response.errors.is_empty() {
        out.insert("errors".into(), errors);
    }
    serde_json::Value::Object(out)
}

fn log_request(
    path: &str,
    principal: Principal,
    selection: &Option<RootSelection>,
    response: &GqlResponse,
    rejected: bool,
    started: Instant,
) {
    let operation = selection
        .as_ref()
        .map(|s| {
            let fields: Vec<&str> = s.fields.iter().map(String::as_str).collect();
            format!("{} {} [{}]", s.kind, s.operation_name.as_deref().unwrap_or("<anonymous>"), fields.join(","))
        })
        .unwrap_or_else(|| "<unparsed>".to_owned());
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if rejected || !response.errors.is_empty() {
        let first_error = response.errors.first().map(|e| e.message.as_str()).unwrap_or("");
        tracing::info!(%path, %principal, %operation, status = 200, errors = response.errors.len(), first_error, elapsed_ms, "graphql request");
    } else {
        tracing::info!(%path, %principal, %operation, status = 200, elapsed_ms, "graphql request");
    }
}
