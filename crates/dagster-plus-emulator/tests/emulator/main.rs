//! Integration tests: real HTTP against an emulator started in-process
//! (and, in `binary`, against the released binary).

mod common;
mod documents;

mod auth;
mod binary;
mod deployments;
mod persistence;
mod schema;
mod tokens;
mod validation;
