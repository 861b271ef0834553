//! The real Dagster+ GraphQL schema, restricted to the root fields this project touches
//! (`dagster-plus.graphql`, see its header), and two checks against it: [`validate_document`] for the
//! documents a client sends, [`surface_problems`] for a schema a stand-in server serves.

mod document;
mod schema;
mod surface;

pub use document::{operations, validate_document, OperationHeader};
pub use schema::{Field, InputValue, Kind, Schema, TypeDef, REAL_SDL};
pub use surface::surface_problems;

/// The kind of an operation, as [`operations`] reports it.
pub use async_graphql_parser::types::OperationType;

/// One thing that does not match the real schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The operation (or, for a served schema, the type) the problem is in.
    pub context: String,
    /// Where inside it: a field path such as `createAgentToken.permissions.id`, empty for the whole.
    pub path: String,
    pub message: String,
}

impl Problem {
    fn new(context: &str, path: &str, message: String) -> Self {
        Problem { context: context.to_string(), path: path.to_string(), message }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.is_empty() {
            true => write!(f, "{}: {}", self.context, self.message),
            false => write!(f, "{}: {}: {}", self.context, self.path, self.message),
        }
    }
}
