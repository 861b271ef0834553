//! Conversions between `serde_json::Value` and GraphQL values.
//!
//! Done by hand because the workspace enables serde_json's
//! `arbitrary_precision`, under which numbers deserialize through a private map
//! representation that async-graphql's own serde bridge does not understand.

use async_graphql::{Name, Value};
use serde_json::Value as Json;

pub fn json_to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.clone()),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(json_to_value).collect()),
        Json::Object(map) => Value::Object(map.iter().map(|(k, v)| (Name::new(k), json_to_value(v))).collect()),
    }
}

pub fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Number(n) => Json::Number(n.clone()),
        Value::String(s) => Json::String(s.clone()),
        Value::Enum(name) => Json::String(name.to_string()),
        Value::Binary(bytes) => Json::Array(bytes.iter().map(|b| Json::from(*b)).collect()),
        Value::List(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.to_string(), value_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_survive_the_round_trip() {
        let json: Json = serde_json::from_str(r#"{"a": 42, "b": [1.5, null, "x"], "c": {"d": true}}"#).unwrap();
        let value = json_to_value(&json);
        if let Value::Object(map) = &value {
            assert_eq!(
                map.get("a").and_then(|v| match v {
                    Value::Number(n) => n.as_i64(),
                    _ => None,
                }),
                Some(42)
            );
        } else {
            panic!("expected an object");
        }
        assert_eq!(value_to_json(&value), json);
    }
}
