//! `POST /_emulator/agents/heartbeat` and `POST /_emulator/agents/stop`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{bad_request, json_body, mutation_failure};
use crate::app::{AgentCallError, App};
use crate::domain::DomainError;
use crate::heartbeat::AgentHeartbeat;
use crate::http::json_response;
use crate::store::MutationError;

pub async fn heartbeat(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let beat: AgentHeartbeat = match json_body(&body, r#"{"label": "bd-agent"}"#) {
        Ok(b) => b,
        Err(message) => return bad_request(message),
    };
    let label = beat.label.clone();
    match app.heartbeat(beat.into_report(crate::clock::now_seconds())) {
        Ok(agent_id) => {
            tracing::debug!(%label, %agent_id, "heartbeat via the admin API");
            json_response(StatusCode::OK, &json!({ "agentId": agent_id }))
        }
        Err(AgentCallError::Mutation(e)) => mutation_failure(&e),
        Err(e @ AgentCallError::Entropy(_)) => {
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "error": e.to_string() }))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopBody {
    label: String,
}

pub async fn stop_agent(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let stop: StopBody = match json_body(&body, r#"{"label": "bd-agent"}"#) {
        Ok(b) => b,
        Err(message) => return bad_request(message),
    };
    match app.stop_heartbeats(&stop.label) {
        Ok(stopped) => json_response(StatusCode::OK, &json!({ "stopped": stopped })),
        Err(MutationError::Domain(e @ DomainError::AgentNotFound(_))) => {
            json_response(StatusCode::NOT_FOUND, &json!({ "error": e.to_string() }))
        }
        Err(e) => mutation_failure(&e),
    }
}
