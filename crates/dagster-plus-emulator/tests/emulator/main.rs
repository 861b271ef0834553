//! Integration tests: real HTTP against an emulator started in-process
//! (and, in `binary`, against the released binary).

mod common;
mod documents;

mod agents;
mod auth;
mod binary;
mod branches;
mod deployments;
mod faults;
mod locations;
mod persistence;
mod schema;
mod tokens;
mod validation;
mod wire;
