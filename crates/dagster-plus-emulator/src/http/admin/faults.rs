//! `POST` / `GET` / `DELETE /_emulator/faults`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{bad_request, json_body};
use crate::app::App;
use crate::faults::FaultSpec;
use crate::http::json_response;

pub async fn add_fault(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let spec: FaultSpec = match json_body(&body, r#"{"kind": "unavailable", "count": 2}"#) {
        Ok(s) => s,
        Err(message) => return bad_request(message),
    };
    match app.faults.add(spec.clone()) {
        Ok(id) => {
            tracing::info!(id, ?spec, "fault plan added");
            json_response(StatusCode::CREATED, &json!({ "id": id }))
        }
        Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({ "error": e.to_string() })),
    }
}

pub async fn list_faults(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &json!(app.faults.report()))
}

pub async fn clear_faults(State(app): State<Arc<App>>) -> Response {
    app.faults.clear();
    tracing::info!("fault plans cleared");
    json_response(StatusCode::OK, &json!({ "ok": true }))
}
