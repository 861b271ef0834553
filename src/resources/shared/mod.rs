//! What several resources share: timeouts, validators, how API errors become diagnostics, and the plan-time
//! checks that talk to Dagster+. (The one wait helper, `crate::wait`, serves the AWS layer too.)

pub mod checks;
pub mod failure;
pub mod secret_store;
pub mod timeouts;
pub mod validators;
