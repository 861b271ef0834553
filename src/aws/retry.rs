//! Retries for AWS's eventual consistency. The SDK retries throttling and transient errors itself but never
//! `NoSuchEntity` right after `CreateUser` or a new key that is not known everywhere yet; those get a
//! bounded loop here, with backoff, that Terraform can interrupt.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tfplugin::Context;
use tracing::debug;

use super::error::{ApiError, Error, Result};
use crate::wait::{self, Backoff, Poll, WaitError};

/// How long IAM may take to show a new user everywhere (the AWS provider's `PropagationTimeout`).
pub const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(120);

const BACKOFF: Backoff =
    Backoff { first_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5), jitter: true };

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
    // The last "not yet" answer, for the timeout's message.
    let last = Mutex::new(None);
    let (last_ref, retryable) = (&last, &retryable);
    let outcome = wait::until(ctx, timeout, BACKOFF, || {
        let attempt = operation();
        async move {
            match attempt.await {
                Ok(value) => Ok(Poll::Ready(value)),
                Err(error) if retryable(&error) => {
                    debug!(what, error = %error, "not yet; retrying");
                    *last_ref.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
                    Ok(Poll::Pending)
                }
                Err(error) => Err(error),
            }
        }
    })
    .await;
    match outcome {
        Ok(value) => Ok(value),
        Err(WaitError::Failed(error)) => Err(error.into()),
        Err(WaitError::Interrupted) => Err(Error::Interrupted),
        Err(WaitError::TimedOut(_)) => {
            let last = last.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
            // A wait times out only after a look that was "not yet", which recorded its error.
            let last = last.expect("a timed-out wait has seen a retryable error");
            Err(Error::Timeout { what: what.to_string(), waited: started.elapsed(), last })
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
