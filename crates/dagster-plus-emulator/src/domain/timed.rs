//! Transitions that happen with the passage of time: deletions completing,
//! locations finishing their load, agents going quiet.
//!
//! They are applied lazily, whenever the emulator is observed (each request,
//! each inventory read), so no background task is needed and state written to
//! the state file is always what a client last saw.

use super::{agents, branches, locations};
use crate::model::State;
use crate::simulation::SimulationSettings;

pub fn is_due(state: &State, now: f64, sim: &SimulationSettings) -> bool {
    branches::has_due_deletions(state, now)
        || locations::has_due_loads(state, now)
        || agents::has_expired(state, now, sim.agent_heartbeat_timeout_s())
}

pub fn advance(state: &mut State, now: f64, sim: &SimulationSettings) {
    branches::complete_due_deletions(state, now);
    locations::complete_due_loads(state, now);
    agents::expire(state, now, sim.agent_heartbeat_timeout_s());
}
