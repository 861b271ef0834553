//! HTTP surface: the GraphQL endpoints and the unauthenticated `/_emulator/` admin API.

mod admin;
pub mod conn;
mod faults;
mod graphql;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::app::App;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/graphql", post(graphql::unscoped))
        .route("/{segment}/graphql", post(graphql::scoped))
        .route("/_emulator/inventory", get(admin::inventory))
        .route("/_emulator/operations", get(admin::operations))
        .route("/_emulator/reset-counters", post(admin::reset_counters))
        .route("/_emulator/deployments", post(admin::add_deployment))
        .route("/_emulator/agents/heartbeat", post(admin::heartbeat))
        .route("/_emulator/agents/stop", post(admin::stop_agent))
        .route("/_emulator/simulation", get(admin::get_simulation).post(admin::update_simulation))
        .route("/_emulator/faults", get(admin::list_faults).post(admin::add_fault).delete(admin::clear_faults))
        .fallback(not_found)
        .with_state(app)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    tracing::info!(%method, path = %uri.path(), status = 404, "no such route");
    json_response(
        StatusCode::NOT_FOUND,
        &serde_json::json!({ "errors": [{ "message": format!("No route for {method} {}", uri.path()) }] }),
    )
}

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    raw_json_response(status, body.to_string())
}

pub(crate) fn raw_json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}
