//! One module per resource type: schema, then create/read/update/delete, then import.

pub mod agent_token;
