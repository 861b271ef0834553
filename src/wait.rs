//! The one wait helper: polls a condition with a doubling delay until it holds, a deadline passes, or
//! Terraform interrupts (StopProvider). Code location loads, agent heartbeats, deletions and AWS's eventual
//! consistency (`aws::retry`) all wait here.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tfplugin::Context;

/// What one look at the remote object found.
pub enum Poll<T> {
    Ready(T),
    Pending,
}

/// Why a wait ended without the condition holding.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E> {
    #[error("timed out after {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error("interrupted by Terraform")]
    Interrupted,
    #[error(transparent)]
    Failed(E),
}

/// How often to look: the first delay, doubled after every look up to `max_delay`; with `jitter`, each
/// sleep is 50–100 % of the delay, so waits of several resources in one apply spread out.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub jitter: bool,
}

impl Backoff {
    fn sleep_for(&self, delay: Duration) -> Duration {
        if !self.jitter {
            return delay;
        }
        // The clock's nanoseconds are random enough to spread concurrent waits.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        delay.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
    }
}

/// Calls `check` until it returns `Ready` (its value is returned) or an error, `timeout` passes, or Terraform
/// interrupts. `check` always runs at least once.
pub async fn until<T, E, F, Fut>(
    ctx: &Context,
    timeout: Duration,
    backoff: Backoff,
    check: F,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    until_after(ctx, Duration::ZERO, timeout, backoff, check).await
}

/// [`until`], with the first look `first_look_after` from now (within `timeout`): for a change just made,
/// which a look sent at once would only see still in progress.
pub async fn until_after<T, E, F, Fut>(
    ctx: &Context,
    first_look_after: Duration,
    timeout: Duration,
    backoff: Backoff,
    mut check: F,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    let deadline = Instant::now() + timeout;
    if !first_look_after.is_zero() && ctx.sleep(first_look_after.min(timeout)).await.is_err() {
        return Err(WaitError::Interrupted);
    }
    let mut delay = backoff.first_delay;
    loop {
        if let Poll::Ready(value) = check().await.map_err(WaitError::Failed)? {
            return Ok(value);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(WaitError::TimedOut(timeout));
        }
        if ctx.sleep(backoff.sleep_for(delay).min(left)).await.is_err() {
            return Err(WaitError::Interrupted);
        }
        delay = (delay * 2).min(backoff.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Backoff =
        Backoff { first_delay: Duration::from_millis(1), max_delay: Duration::from_millis(4), jitter: true };

    #[tokio::test]
    async fn returns_once_ready_and_times_out_otherwise() {
        let ctx = Context::detached();
        let mut looks = 0;
        let ready: Result<u32, WaitError<()>> = until(&ctx, Duration::from_secs(5), FAST, || {
            looks += 1;
            let found = if looks == 3 { Poll::Ready(looks) } else { Poll::Pending };
            async move { Ok(found) }
        })
        .await;
        assert_eq!(ready.unwrap(), 3);
        let never: Result<(), WaitError<()>> =
            until(&ctx, Duration::from_millis(20), FAST, || async { Ok(Poll::Pending) }).await;
        assert!(matches!(never, Err(WaitError::TimedOut(_))));
        let failed: Result<(), WaitError<&str>> =
            until(&ctx, Duration::from_secs(5), FAST, || async { Err("no") }).await;
        assert!(matches!(failed, Err(WaitError::Failed("no"))));
    }

    #[tokio::test]
    async fn the_first_look_comes_after_the_given_delay_within_the_timeout() {
        let ctx = Context::detached();
        let started = Instant::now();
        let first_look = std::sync::Mutex::new(None);
        let ready: Result<(), WaitError<()>> =
            until_after(&ctx, Duration::from_millis(50), Duration::from_secs(5), FAST, || {
                first_look.lock().unwrap().get_or_insert(started.elapsed());
                async { Ok(Poll::Ready(())) }
            })
            .await;
        assert!(ready.is_ok());
        assert!(first_look.lock().unwrap().unwrap() >= Duration::from_millis(50));
        // The delay counts against the timeout: a look still happens, and a pending one then times out.
        let never: Result<(), WaitError<()>> =
            until_after(&ctx, Duration::from_secs(5), Duration::from_millis(20), FAST, || async { Ok(Poll::Pending) })
                .await;
        assert!(matches!(never, Err(WaitError::TimedOut(_))));
        assert!(started.elapsed() < Duration::from_secs(2), "the delay was not cut to the timeout");
    }
}
