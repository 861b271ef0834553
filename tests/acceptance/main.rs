//! The acceptance tests: real Terraform drives the provider binary cargo just built against the Dagster+
//! emulator and moto on loopback. One test binary, so the suite links once; a module per area, and
//! `cargo test --test acceptance MODULE::` runs one area (`scripts/test` and `scripts/compat` do).

mod support;

mod actions;
mod agent;
mod agent_store;
mod agent_token;
mod bad_input;
mod batching;
mod cancellation;
mod compat;
mod concurrency;
mod demo;
mod deployment;
mod docs;
mod ephemeral;
mod examples;
mod faults;
mod location_file;
mod logging;
mod moved;
mod protocol;
mod registry;
mod registry_store;
mod release;
