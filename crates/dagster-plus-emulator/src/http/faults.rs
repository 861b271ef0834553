//! Carrying out an injected fault (see [`crate::faults`]) on one request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::conn::ConnectionControl;
use super::json_response;
use crate::app::App;
use crate::faults::{FaultAction, FaultKind};

/// Faults that replace the request: the returned response is all the client
/// gets (nothing at all, for a reset). `None` lets the request run.
pub fn before_execution(app: &App, conn: &ConnectionControl, path: &str, fault: FaultAction) -> Option<Response> {
    let status = match fault.kind {
        FaultKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        FaultKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        FaultKind::ConnectionReset => {
            tracing::info!(%path, "injected fault: connection reset before execution");
            conn.reset();
            // Never sent: the connection fails on the first write.
            return Some(Response::new(axum::body::Body::empty()));
        }
        FaultKind::Slow | FaultKind::DropResponse => return None,
    };
    tracing::info!(%path, status = status.as_u16(), "injected fault");
    app.counters.record(&format!("http.{}", status.as_u16()));
    // No `data`/`errors` key, so clients treat it as an HTTP failure (and retry).
    let mut response =
        json_response(status, &json!({ "message": format!("{} (injected by dagster-plus-emulator)", status) }));
    if let Some(seconds) = fault.retry_after_seconds {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    Some(response)
}

/// Faults applied once the request has run (and any mutation is committed).
pub async fn after_execution(conn: &ConnectionControl, path: &str, fault: FaultAction) {
    match fault.kind {
        FaultKind::Slow => {
            tracing::info!(%path, delay_ms = fault.delay.as_millis() as u64, "injected fault: slow response");
            tokio::time::sleep(fault.delay).await;
        }
        FaultKind::DropResponse => {
            tracing::info!(%path, "injected fault: response dropped after execution");
            conn.reset();
        }
        FaultKind::Unavailable | FaultKind::RateLimited | FaultKind::ConnectionReset => {}
    }
}
