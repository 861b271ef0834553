//! Conformance: the real `dagster-cloud` CLI (`.venv/bin/dagster-cloud`, from
//! `scripts/dev-setup`) against the emulator, each test with its own emulator
//! so they run in parallel. Outputs and the emulator's resulting state are
//! both checked.

mod support;

mod auth;
mod branch_deployments;
mod locations;
