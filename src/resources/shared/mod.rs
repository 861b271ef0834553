//! What several resources share: timeouts, validators, the one wait helper and the plan-time checks that
//! talk to Dagster+.

pub mod checks;
pub mod timeouts;
pub mod validators;
pub mod wait;
