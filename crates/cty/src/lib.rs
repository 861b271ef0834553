//! Terraform's value system (go-cty) for the plugin-protocol layer.
//!
//! [`Type`] and [`Value`] model cty types and values, including unknowns
//! with refinements, the difference between null and empty, exact decimal
//! [`Number`]s, sets and dynamically-typed values. Two codecs move them
//! across the wire: [`msgpack`] (the protocol's `DynamicValue.msgpack`) and
//! [`json`] (state and `DynamicValue.json`). Both follow go-cty's encoders
//! byte for byte where it matters and accept everything go-cty's decoders
//! accept. Every error carries the [`Path`] of the offending attribute.
//!
//! This crate knows nothing about gRPC or Terraform resources.

pub mod json;
pub mod msgpack;
mod number;
mod path;
mod types;
mod value;

pub use number::{Number, MAX_DECIMAL_EXPONENT};
pub use path::{Error, Path, PathStep};
pub use types::{ObjectType, Type};
pub use value::{Refinements, Value};
