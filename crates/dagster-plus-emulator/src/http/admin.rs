//! `/_emulator/*`: inspection and seeding for tests. No authentication, by design:
//! the emulator only ever listens on loopback.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::json_response;
use crate::app::App;
use crate::store::MutationError;

pub async fn inventory(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &app.inventory())
}

pub async fn operations(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &json!(app.operation_counts()))
}

pub async fn reset_counters(State(app): State<Arc<App>>) -> Response {
    app.counters.reset();
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

#[derive(Deserialize)]
struct NewDeployment {
    name: String,
}

/// `POST /_emulator/deployments {"name": "staging"}` seeds a full deployment.
pub async fn add_deployment(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: NewDeployment = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": format!("expected a body like {{\"name\": \"staging\"}}: {e}") }),
            )
        }
    };
    match app.add_full_deployment(&request.name) {
        Ok(id) => {
            tracing::info!(deployment = %request.name, id, "seeded full deployment");
            json_response(
                StatusCode::CREATED,
                &json!({ "deploymentId": id, "deploymentName": request.name }),
            )
        }
        Err(MutationError::Domain(e)) => {
            json_response(StatusCode::BAD_REQUEST, &json!({ "error": e.to_string() }))
        }
        Err(e @ MutationError::Persist(_)) => {
            tracing::error!(error = %e, "cannot persist seeded deployment");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({ "error": e.to_string() }),
            )
        }
    }
}
