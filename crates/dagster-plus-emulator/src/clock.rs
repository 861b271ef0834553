//! Wall-clock time as the API reports it: float seconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_seconds() -> f64 {
    // A clock set before 1970 is not worth failing a request over.
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}
