//! `GenericScalar`: arbitrary JSON, used for settings and location documents.

use async_graphql::{InputValueResult, Scalar, ScalarType, Value};

use crate::json;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenericScalar(pub serde_json::Value);

#[Scalar(name = "GenericScalar")]
impl ScalarType for GenericScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        Ok(GenericScalar(json::value_to_json(&value)))
    }

    fn to_value(&self) -> Value {
        json::json_to_value(&self.0)
    }
}
