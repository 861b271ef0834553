//! A local stand-in for the Dagster+ GraphQL API, for the provider's tests,
//! benchmarks and demo.
//!
//! Start one in-process with [`RunningEmulator::start`], or run the
//! `dagster-plus-emulator` binary, which uses [`serve_and_announce`].

mod app;
mod auth;
mod clock;
mod config;
mod domain;
mod http;
mod json;
mod metrics;
mod model;
mod persist;
mod root_fields;
mod schema;
mod scope;
mod secret;
mod server;
mod store;

pub use config::EmulatorConfig;
pub use domain::DomainError;
pub use persist::PersistError;
pub use server::{serve, serve_and_announce, RunningEmulator};
pub use store::MutationError;

/// The GraphQL schema in SDL, e.g. for diffing against the real API's.
pub fn schema_sdl() -> String {
    // A throwaway in-memory store: the SDL does not depend on state.
    match store::Store::open("sdl", None) {
        Ok(store) => schema::build(std::sync::Arc::new(store)).sdl(),
        Err(e) => format!("# cannot build schema: {e}"),
    }
}
