//! A local stand-in for the Dagster+ GraphQL API, for the provider's tests,
//! benchmarks and demo: agent tokens, full and branch deployments, code
//! locations with simulated loading, agents and their heartbeats, deployment
//! settings, and every document the `dagster-cloud` and `dg` CLIs send.
//!
//! Start one in-process with [`RunningEmulator::start`], or run the
//! `dagster-plus-emulator` binary, which uses [`serve_and_announce`]. Tests
//! steer the simulation (load delay, failing images, agent heartbeats and
//! timeouts, deletion delay) and inject faults (503, 429 with `Retry-After`,
//! connection resets, slow or dropped responses) through [`RunningEmulator`]
//! methods or the `/_emulator/` admin endpoints, which are listed in the
//! `http::admin` module.

mod app;
mod auth;
mod clock;
mod config;
mod domain;
mod faults;
mod graphql_core_messages;
mod heartbeat;
mod http;
mod json;
mod metrics;
mod model;
mod persist;
mod pyjson;
mod root_fields;
mod schema;
mod scope;
mod secret;
mod serdes;
mod server;
mod simulation;
mod store;

pub use app::AgentCallError;
pub use config::EmulatorConfig;
pub use domain::DomainError;
pub use faults::{ActivePlan, FaultKind, FaultReport, FaultSpec, FaultSpecError};
pub use heartbeat::AgentHeartbeat;
pub use persist::PersistError;
pub use server::{serve, serve_and_announce, RunningEmulator};
pub use simulation::{SimulationSettings, SimulationUpdate};
pub use store::MutationError;

/// The GraphQL schema in SDL, e.g. for diffing against the real API's.
pub fn schema_sdl() -> String {
    // A throwaway in-memory store: the SDL does not depend on state.
    match store::Store::open("sdl", None) {
        Ok(store) => {
            schema::build(std::sync::Arc::new(store), std::sync::Arc::new(simulation::Simulation::default())).sdl()
        }
        Err(e) => format!("# cannot build schema: {e}"),
    }
}
