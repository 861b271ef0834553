//! Runtime knobs of the simulated back end (agents, code servers, deletion).
//!
//! They are process settings, not data: they are not written to the state
//! file, and the admin endpoint `/_emulator/simulation` or the
//! [`crate::RunningEmulator`] setters change them while the emulator runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::SplitMix64;

/// Short, so tests that wait for `LOADED` stay fast.
pub const DEFAULT_LOCATION_LOAD_DELAY: Duration = Duration::from_millis(200);
/// Three missed beats of the real agent's 30 s heartbeat interval.
pub const DEFAULT_AGENT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a deleted deployment stays visible as `PENDING_DELETION`.
pub const DEFAULT_DELETION_DELAY: Duration = Duration::from_millis(250);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulationSettings {
    pub location_load_delay_ms: u64,
    /// A location whose image matches fails to load. With `*` or `?` it is a
    /// glob over the whole image reference; without, a substring.
    pub failing_image_pattern: Option<String>,
    pub agent_heartbeat_timeout_ms: u64,
    pub deletion_delay_ms: u64,
    /// Every GraphQL request is answered after this delay (a remote API's round trip), plus or minus up to
    /// `requestJitterMs`, drawn from `latencySeed` so that runs are reproducible. Zero by default; the
    /// benchmark sets it.
    pub request_latency_ms: u64,
    pub request_jitter_ms: u64,
    pub latency_seed: u64,
}

impl Default for SimulationSettings {
    fn default() -> SimulationSettings {
        SimulationSettings {
            location_load_delay_ms: millis(DEFAULT_LOCATION_LOAD_DELAY),
            failing_image_pattern: None,
            agent_heartbeat_timeout_ms: millis(DEFAULT_AGENT_HEARTBEAT_TIMEOUT),
            deletion_delay_ms: millis(DEFAULT_DELETION_DELAY),
            request_latency_ms: 0,
            request_jitter_ms: 0,
            latency_seed: 0,
        }
    }
}

impl SimulationSettings {
    pub fn location_load_delay_s(&self) -> f64 {
        self.location_load_delay_ms as f64 / 1000.0
    }

    pub fn agent_heartbeat_timeout_s(&self) -> f64 {
        self.agent_heartbeat_timeout_ms as f64 / 1000.0
    }

    pub fn deletion_delay_s(&self) -> f64 {
        self.deletion_delay_ms as f64 / 1000.0
    }
}

/// A partial update, as posted to `/_emulator/simulation`: absent keys keep
/// their value; `failingImagePattern: null` clears the pattern.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimulationUpdate {
    pub location_load_delay_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    pub failing_image_pattern: Option<Option<String>>,
    pub agent_heartbeat_timeout_ms: Option<u64>,
    pub deletion_delay_ms: Option<u64>,
    pub request_latency_ms: Option<u64>,
    pub request_jitter_ms: Option<u64>,
    pub latency_seed: Option<u64>,
}

// Distinguishes an explicit `null` (Some(None)) from an absent key (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Default)]
pub struct Simulation {
    settings: Mutex<SimulationSettings>,
    /// Latency draws so far: the n-th request's jitter depends only on the seed and n.
    draws: AtomicU64,
}

impl Simulation {
    pub fn get(&self) -> SimulationSettings {
        self.lock().clone()
    }

    pub fn update(&self, update: SimulationUpdate) -> SimulationSettings {
        let mut settings = self.lock();
        if let Some(ms) = update.location_load_delay_ms {
            settings.location_load_delay_ms = ms;
        }
        if let Some(pattern) = update.failing_image_pattern {
            settings.failing_image_pattern = pattern.filter(|p| !p.is_empty());
        }
        if let Some(ms) = update.agent_heartbeat_timeout_ms {
            settings.agent_heartbeat_timeout_ms = ms;
        }
        if let Some(ms) = update.deletion_delay_ms {
            settings.deletion_delay_ms = ms;
        }
        if let Some(ms) = update.request_latency_ms {
            settings.request_latency_ms = ms;
        }
        if let Some(ms) = update.request_jitter_ms {
            settings.request_jitter_ms = ms;
        }
        if let Some(seed) = update.latency_seed {
            settings.latency_seed = seed;
            self.draws.store(0, Ordering::Relaxed);
        }
        settings.clone()
    }

    /// How long to hold the next GraphQL request: the latency plus a seeded jitter in
    /// [-jitter, +jitter], never below zero.
    pub fn request_delay(&self) -> Duration {
        let (latency, jitter, seed) = {
            let s = self.lock();
            (s.request_latency_ms, s.request_jitter_ms, s.latency_seed)
        };
        if latency == 0 && jitter == 0 {
            return Duration::ZERO;
        }
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        let offset = if jitter == 0 {
            0
        } else {
            let draw = SplitMix64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64() % (2 * jitter + 1);
            draw as i64 - jitter as i64
        };
        Duration::from_millis((latency as i64 + offset).max(0) as u64)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimulationSettings> {
        // Plain values: a panic elsewhere cannot leave them half-written.
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_updates_keep_other_values() {
        let sim = Simulation::default();
        let update: SimulationUpdate = serde_json::from_str(r#"{"failingImagePattern": "*:bad"}"#).unwrap();
        let after = sim.update(update);
        assert_eq!(after.failing_image_pattern.as_deref(), Some("*:bad"));
        assert_eq!(after.location_load_delay_ms, 200);
        let cleared: SimulationUpdate =
            serde_json::from_str(r#"{"failingImagePattern": null, "deletionDelayMs": 5}"#).unwrap();
        let after = sim.update(cleared);
        assert_eq!(after.failing_image_pattern, None);
        assert_eq!(after.deletion_delay_ms, 5);
        assert!(serde_json::from_str::<SimulationUpdate>(r#"{"bogus": 1}"#).is_err());
    }

    #[test]
    fn request_delays_are_the_latency_with_seeded_jitter() {
        let sim = Simulation::default();
        assert_eq!(sim.request_delay(), Duration::ZERO, "no latency by default");
        let settings = |seed| SimulationUpdate {
            request_latency_ms: Some(50),
            request_jitter_ms: Some(10),
            latency_seed: Some(seed),
            ..SimulationUpdate::default()
        };
        sim.update(settings(7));
        let first: Vec<Duration> = (0..200).map(|_| sim.request_delay()).collect();
        assert!(first.iter().all(|d| (40..=60).contains(&d.as_millis())), "{first:?}");
        assert!(first.iter().any(|d| d.as_millis() < 45) && first.iter().any(|d| d.as_millis() > 55));
        sim.update(settings(7));
        let again: Vec<Duration> = (0..200).map(|_| sim.request_delay()).collect();
        assert_eq!(first, again, "the same seed gives the same delays");
        sim.update(settings(8));
        let other: Vec<Duration> = (0..200).map(|_| sim.request_delay()).collect();
        assert_ne!(first, other);
    }
}
