//! `/_emulator/*`: inspection, seeding, simulation and fault injection for
//! tests. No authentication, by design: the emulator listens on loopback.
//! Bodies are JSON; errors come back as `{"error": "…"}` with status 400/404.
//!
//! | Endpoint | What it does |
//! |---|---|
//! | `GET /_emulator/inventory` | Everything in the store, in the state-file format: deployments (with branch data, code locations and their load state), agent tokens, agents. For orphan checks. |
//! | `GET /_emulator/operations` | Counters: `query.<rootField>`, `mutation.<rootField>`, `http.<status>`, `graphql.rejected`, `fault.<kind>`. |
//! | `POST /_emulator/reset-counters` | Zeroes the counters. |
//! | `POST /_emulator/deployments` | `{"name": "staging"}` seeds a full deployment (201 with its id). |
//! | `POST /_emulator/agents/heartbeat` | `{"label": "bd-agent", "deployments": ["feature-x"], "metadata": {"version": "1.13.27"}, "queues": [null, "q"], "agentType": "K8sUserCodeLauncher", "errors": ["…"]}` (only `label` required; no `deployments` = serves every deployment). The agent is `RUNNING` until it is stopped or its heartbeats time out. Returns `{"agentId"}`. |
//! | `POST /_emulator/agents/stop` | `{"label": "bd-agent"}` makes the agents with that label `NOT_RUNNING` now (404 if none). |
//! | `GET /_emulator/simulation` | The simulation settings: `locationLoadDelayMs`, `failingImagePattern` (with `*`/`?` a glob over the whole image, otherwise a substring), `agentHeartbeatTimeoutMs`, `deletionDelayMs`, `requestLatencyMs`, `requestJitterMs`, `latencySeed` (every GraphQL request is held for the latency ± a seeded jitter). |
//! | `POST /_emulator/simulation` | Changes some of them (absent keys are kept; `"failingImagePattern": null` clears it). Returns the new settings. |
//! | `POST /_emulator/faults` | Adds a fault plan: `{"kind": "unavailable" \| "rate_limited" \| "connection_reset" \| "slow" \| "drop_response", "count": N}` or `{"kind": …, "fraction": 0.3, "seed": 42}`, plus optional `retryAfterSeconds`, `delayMs`, `operation` (a root field name, or `query` / `mutation`). 201 with `{"id"}`. |
//! | `GET /_emulator/faults` | Active plans and the faults injected so far, by kind. |
//! | `DELETE /_emulator/faults` | Removes every plan and zeroes the fault counts. |

mod agents;
mod faults;
mod simulation;

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

pub use agents::{heartbeat, stop_agent};
pub use faults::{add_fault, clear_faults, list_faults};
pub use simulation::{get_simulation, update_simulation};

/// Decodes a JSON body; the error explains the expected shape.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], example: &str) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("expected a body like {example}: {e}"))
}

fn bad_request(message: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

fn mutation_failure(e: &MutationError) -> Response {
    match e {
        MutationError::Domain(e) => json_response(StatusCode::BAD_REQUEST, &json!({ "error": e.to_string() })),
        MutationError::Persist(_) => {
            tracing::error!(error = %e, "cannot persist an admin change");
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "error": e.to_string() }))
        }
    }
}

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
    let request: NewDeployment = match json_body(&body, r#"{"name": "staging"}"#) {
        Ok(r) => r,
        Err(message) => return bad_request(message),
    };
    match app.add_full_deployment(&request.name) {
        Ok(id) => {
            tracing::info!(deployment = %request.name, id, "seeded full deployment");
            json_response(StatusCode::CREATED, &json!({ "deploymentId": id, "deploymentName": request.name }))
        }
        Err(e) => mutation_failure(&e),
    }
}
