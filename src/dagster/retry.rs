//! When and how long to wait before retrying a Dagster+ request: exponential backoff with jitter, or the
//! server's `Retry-After`, within a bounded number of attempts.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Attempts per request, the first included (about a minute of backoff in all).
pub const MAX_ATTEMPTS: u32 = 8;
const BASE: Duration = Duration::from_millis(250);
const CAP: Duration = Duration::from_secs(10);
/// A server asking for longer than this is not waited for blindly.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// HTTP statuses that mean "not processed, try again" (the same set the `dagster-cloud` CLI retries,
/// minus 409, which Dagster+ does not use for throttling).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Backoff before attempt `attempt + 1` (attempt counts from 1): full-range exponential with jitter between
/// half and all of the step, so many clients retrying at once spread out.
pub fn backoff(attempt: u32) -> Duration {
    let step = BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(CAP);
    let jitter = random_fraction();
    step.mul_f64(0.5 + 0.5 * jitter)
}

/// `Retry-After` as seconds or an HTTP date, capped.
pub fn retry_after(header: Option<&str>) -> Option<Duration> {
    let value = header?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let when = httpdate_to_unix(value)?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
            Duration::from_secs(when.saturating_sub(now))
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Parses the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), the only one servers send today.
fn httpdate_to_unix(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    // Days from the civil date (proleptic Gregorian), counted from 1970-01-01.
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()
}

/// A uniformly spread number in [0, 1).
fn random_fraction() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Random bits from the standard library's per-process random hashing keys mixed with the clock; enough
/// for jitter and one-time markers without a random-number crate.
pub fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..=MAX_ATTEMPTS {
            let step = BASE.saturating_mul(1 << (attempt - 1)).min(CAP);
            let wait = backoff(attempt);
            assert!(wait >= step / 2 && wait <= step, "attempt {attempt}: {wait:?} outside {step:?}");
        }
        assert!(backoff(30) <= CAP);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some("3600")), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(Some("Sun, 06 Nov 1994 08:49:37 GMT")), Some(Duration::ZERO));
        assert_eq!(httpdate_to_unix("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(retry_after(Some("soon")), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn only_throttling_and_gateway_statuses_are_retried() {
        assert!(retryable_status(503) && retryable_status(429) && retryable_status(502) && retryable_status(504));
        assert!(!retryable_status(500) && !retryable_status(401) && !retryable_status(409));
    }
}
