//! Retries for AWS's eventual consistency. The SDK retries throttling and transient errors itself but never
//! `NoSuchEntity` right after `CreateUser` or a new key that is not known everywhere yet; those get a
//! bounded loop here, with backoff, that Terraform can interrupt.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tfplugin::Context;
use tracing::debug;

use super::error::{ApiError, Error, Result};

/// How long IAM may take to show a new user everywhere (the AWS provider's `PropagationTimeout`).
pub const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(120);

const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Runs `operation` until it succeeds, fails with an error `retryable` rejects, or `timeout` has passed.
pub async fn retry<T, F, Fut>(
    ctx: &Context,
    what: &str,
    timeout: Duration,
    retryable: impl Fn(&ApiError) -> bool,
    mut operation: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, ApiError>>,
{
    let started = Instant::now();
    let mut delay = FIRST_DELAY;
    loop {
        match operation().await {
            Ok(value) => return Ok(value),
            Err(error) if retryable(&error) => {
                if started.elapsed() + delay > timeout {
                    return Err(Error::Timeout { what: what.to_string(), waited: started.elapsed(), last: error });
                }
                debug!(what, error = %error, delay_ms = delay.as_millis() as u64, "not yet; retrying");
                ctx.sleep(jitter(delay)).await?;
                delay = (delay * 2).min(MAX_DELAY);
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Retries `NoSuchEntity` for up to [`PROPAGATION_TIMEOUT`]: for calls on a user that was just created.
pub async fn after_create<T, F, Fut>(ctx: &Context, what: &str, operation: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, ApiError>>,
{
    retry(ctx, what, PROPAGATION_TIMEOUT, ApiError::is_no_such_entity, operation).await
}

/// Spreads concurrent retries (several resources in one apply) over 50–100 % of the delay. The clock's
/// nanoseconds are random enough for that.
fn jitter(delay: Duration) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let fraction = 0.5 + f64::from(nanos % 1000) / 2000.0;
    delay.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_such_entity() -> ApiError {
        ApiError::canned("NoSuchEntity", 404)
    }

    #[tokio::test]
    async fn retries_until_success() {
        let mut calls = 0;
        let result = after_create(&Context::detached(), "test", || {
            calls += 1;
            let outcome = if calls < 3 { Err(no_such_entity()) } else { Ok(calls) };
            async move { outcome }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let mut calls = 0;
        let result: Result<()> = after_create(&Context::detached(), "test", || {
            calls += 1;
            async { Err(ApiError::canned("AccessDenied", 403)) }
        })
        .await;
        assert!(matches!(result, Err(Error::Api(e)) if e.is_access_denied()));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline() {
        let result: Result<()> =
            retry(&Context::detached(), "test", Duration::from_millis(300), ApiError::is_no_such_entity, || async {
                Err(no_such_entity())
            })
            .await;
        assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    }
}
