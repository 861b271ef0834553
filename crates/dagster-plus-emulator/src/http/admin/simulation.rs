//! `GET` / `POST /_emulator/simulation`: load delay, failing images, agent
//! heartbeat timeout, deletion delay.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{bad_request, json_body};
use crate::app::App;
use crate::http::json_response;
use crate::simulation::SimulationUpdate;

pub async fn get_simulation(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &json!(app.simulation.get()))
}

pub async fn update_simulation(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let update: SimulationUpdate = match json_body(&body, r#"{"locationLoadDelayMs": 200}"#) {
        Ok(u) => u,
        Err(message) => return bad_request(message),
    };
    let settings = app.simulation.update(update);
    tracing::info!(?settings, "simulation settings changed");
    json_response(StatusCode::OK, &json!(settings))
}
