//! Fault injection for reliability tests: which GraphQL requests fail, and how.
//!
//! A plan fires on the next `count` matching requests, or on a seeded random
//! `fraction` of them (the same seed and request sequence always give the same
//! faults). The HTTP layer ([`crate::http`]) carries the faults out.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 503 with a JSON body that has neither `data` nor `errors`.
    Unavailable,
    /// HTTP 429 with `Retry-After: <retry_after_seconds>`.
    RateLimited,
    /// The TCP connection is reset before the request is executed.
    ConnectionReset,
    /// The request is executed, then the response is held back for `delay_ms`.
    Slow,
    /// A mutation is executed and committed, then the connection is reset
    /// instead of answering. Only mutations match this kind.
    DropResponse,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Unavailable => "unavailable",
            FaultKind::RateLimited => "rate_limited",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::Slow => "slow",
            FaultKind::DropResponse => "drop_response",
        }
    }
}

/// One fault plan, as posted to `POST /_emulator/faults` (camelCase keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Fire on the next `count` matching requests.
    #[serde(default)]
    pub count: Option<u64>,
    /// Or fire on this fraction (0..=1) of matching requests, drawn from `seed`.
    #[serde(default)]
    pub fraction: Option<f64>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// For `rate_limited` (default 1) and optionally `unavailable`.
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
    /// For `slow` (default 1000).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Only requests selecting this root field (e.g. `createOrUpdateBranchDeployment`),
    /// or of this kind (`query` / `mutation`).
    #[serde(default)]
    pub operation: Option<String>,
}

impl FaultSpec {
    /// Fires on the next `count` matching requests.
    pub fn next(kind: FaultKind, count: u64) -> FaultSpec {
        FaultSpec {
            kind,
            count: Some(count),
            fraction: None,
            seed: None,
            retry_after_seconds: None,
            delay_ms: None,
            operation: None,
        }
    }

    /// Fires on a seeded random `fraction` of matching requests, until cleared.
    pub fn fraction(kind: FaultKind, fraction: f64, seed: u64) -> FaultSpec {
        FaultSpec { count: None, fraction: Some(fraction), seed: Some(seed), ..FaultSpec::next(kind, 0) }
    }

    pub fn retry_after(mut self, seconds: u64) -> FaultSpec {
        self.retry_after_seconds = Some(seconds);
        self
    }

    pub fn delay(mut self, delay: Duration) -> FaultSpec {
        self.delay_ms = Some(crate::simulation::millis(delay));
        self
    }

    /// Restricts the plan to a root field name, or to `query` / `mutation`.
    pub fn only(mut self, operation: &str) -> FaultSpec {
        self.operation = Some(operation.to_owned());
        self
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum FaultSpecError {
    #[error("give exactly one of \"count\" and \"fraction\"")]
    Selector,
    #[error("\"fraction\" must be between 0 and 1, got {0}")]
    Fraction(f64),
}

/// What the HTTP layer must do with one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultAction {
    pub kind: FaultKind,
    pub retry_after_seconds: Option<u64>,
    pub delay: Duration,
}

/// What a request is, for matching plans.
pub struct RequestFacts<'a> {
    pub is_mutation: bool,
    pub is_query: bool,
    pub fields: &'a [&'a str],
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivePlan {
    pub id: u64,
    pub spec: FaultSpec,
    /// For `count` plans: how many more requests it fires on.
    pub remaining: Option<u64>,
    pub fired: u64,
    #[serde(skip)]
    rng: SplitMix64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultReport {
    pub active: Vec<ActivePlan>,
    /// Faults carried out so far, by kind name.
    pub injected: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    plans: Vec<ActivePlan>,
    injected: BTreeMap<String, u64>,
}

impl Faults {
    pub fn add(&self, spec: FaultSpec) -> Result<u64, FaultSpecError> {
        match (spec.count, spec.fraction) {
            (Some(_), None) => {}
            (None, Some(f)) if (0.0..=1.0).contains(&f) => {}
            (None, Some(f)) => return Err(FaultSpecError::Fraction(f)),
            _ => return Err(FaultSpecError::Selector),
        }
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.plans.push(ActivePlan {
            id,
            remaining: spec.count,
            rng: SplitMix64(spec.seed.unwrap_or(0)),
            fired: 0,
            spec,
        });
        Ok(id)
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.plans.clear();
        inner.injected.clear();
    }

    pub fn report(&self) -> FaultReport {
        let inner = self.lock();
        FaultReport { active: inner.plans.clone(), injected: inner.injected.clone() }
    }

    /// The fault to apply to this request, if any plan fires. Plans are tried
    /// in the order they were added; the first that fires wins.
    pub fn take(&self, request: &RequestFacts<'_>) -> Option<FaultAction> {
        let mut inner = self.lock();
        let mut fired = None;
        for plan in inner.plans.iter_mut() {
            if !matches(&plan.spec, request) {
                continue;
            }
            let fires = match (&mut plan.remaining, plan.spec.fraction) {
                (Some(0), _) => false,
                (Some(n), _) => {
                    *n -= 1;
                    true
                }
                (None, Some(fraction)) => plan.rng.next_f64() < fraction,
                (None, None) => false,
            };
            if fires {
                plan.fired += 1;
                fired = Some(action(&plan.spec));
                break;
            }
        }
        // Exhausted `count` plans are done.
        inner.plans.retain(|p| p.remaining != Some(0));
        if let Some(action) = &fired {
            *inner.injected.entry(action.kind.name().to_owned()).or_insert(0) += 1;
        }
        fired
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Counters only; a panic elsewhere cannot leave them inconsistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn matches(spec: &FaultSpec, request: &RequestFacts<'_>) -> bool {
    if spec.kind == FaultKind::DropResponse && !request.is_mutation {
        return false;
    }
    match spec.operation.as_deref() {
        None => true,
        Some("mutation") => request.is_mutation,
        Some("query") => request.is_query,
        Some(field) => request.fields.contains(&field),
    }
}

fn action(spec: &FaultSpec) -> FaultAction {
    let retry_after_seconds = match spec.kind {
        FaultKind::RateLimited => Some(spec.retry_after_seconds.unwrap_or(1)),
        _ => spec.retry_after_seconds,
    };
    FaultAction { kind: spec.kind, retry_after_seconds, delay: Duration::from_millis(spec.delay_ms.unwrap_or(1000)) }
}

/// SplitMix64: a tiny, well-distributed generator; enough for reproducible
/// fault patterns without a `rand` dependency.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: RequestFacts<'static> = RequestFacts { is_mutation: false, is_query: true, fields: &["agents"] };
    const MUTATION: RequestFacts<'static> =
        RequestFacts { is_mutation: true, is_query: false, fields: &["deleteLocation"] };

    #[test]
    fn count_plans_fire_then_expire() {
        let faults = Faults::default();
        faults.add(FaultSpec::next(FaultKind::Unavailable, 2)).unwrap();
        assert!(faults.take(&QUERY).is_some());
        assert!(faults.take(&MUTATION).is_some());
        assert!(faults.take(&QUERY).is_none());
        assert!(faults.report().active.is_empty());
        assert_eq!(faults.report().injected.get("unavailable"), Some(&2));
    }

    #[test]
    fn drop_response_and_operation_filters_skip_other_requests() {
        let faults = Faults::default();
        faults.add(FaultSpec::next(FaultKind::DropResponse, 1)).unwrap();
        faults.add(FaultSpec::next(FaultKind::Slow, 1).only("agents")).unwrap();
        let slow = faults.take(&QUERY).map(|a| a.kind);
        assert_eq!(slow, Some(FaultKind::Slow));
        assert_eq!(faults.take(&QUERY), None);
        assert_eq!(faults.take(&MUTATION).map(|a| a.kind), Some(FaultKind::DropResponse));
        let limited = FaultSpec::next(FaultKind::RateLimited, 1);
        faults.add(limited).unwrap();
        assert_eq!(faults.take(&QUERY).and_then(|a| a.retry_after_seconds), Some(1));
    }

    #[test]
    fn fractions_are_reproducible_from_the_seed() {
        let pattern = |seed| {
            let faults = Faults::default();
            faults.add(FaultSpec::fraction(FaultKind::Unavailable, 0.3, seed)).unwrap();
            (0..200).map(|_| faults.take(&QUERY).is_some()).collect::<Vec<bool>>()
        };
        let a = pattern(7);
        assert_eq!(a, pattern(7));
        assert_ne!(a, pattern(8));
        let hits = a.iter().filter(|&&f| f).count();
        assert!((30..90).contains(&hits), "{hits} of 200");
        let faults = Faults::default();
        assert_eq!(faults.add(FaultSpec::fraction(FaultKind::Slow, 1.5, 0)), Err(FaultSpecError::Fraction(1.5)));
        let mut neither = FaultSpec::next(FaultKind::Slow, 1);
        neither.count = None;
        assert_eq!(faults.add(neither), Err(FaultSpecError::Selector));
    }
}
