//! Typed models: resource state, plans, configuration and identities as serde structs instead of raw values.
//! The protocol layer decodes what Terraform sends into a resource's model and encodes what the resource
//! returns, so resource code never handles a `cty::Value`.

mod de;
mod field;

use cty::{Type, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::schema::{Block, Nesting};

pub use de::DecodeError;
pub use field::Field;

/// Why a model could not be turned into a value of its schema type; a provider bug.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(String);

/// Reads a value into a model. Null and unknown attributes read as `None` in `Option` fields; `Field` fields
/// keep the difference.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    T::deserialize(de::ValueDeserializer { value, path: cty::Path::root() })
}

/// Writes a model as a value of type `ty`; a `Field::Unknown` becomes an unknown value.
pub fn encode<T: Serialize>(model: &T, ty: &Type) -> Result<Value, EncodeError> {
    let json = serde_json::to_value(model).map_err(|e| EncodeError(e.to_string()))?;
    Value::from_plain_json(&json, ty).map_err(|e| EncodeError(format!("{} (at {:?})", e.message, e.path)))
}

impl From<DecodeError> for Diagnostic {
    fn from(e: DecodeError) -> Self {
        Diagnostic::error("Provider error: a value does not fit the provider's model", e.message).at(e.path)
    }
}

impl From<EncodeError> for Diagnostic {
    fn from(e: EncodeError) -> Self {
        Diagnostic::error("Provider error: the provider's model does not fit its schema", e.0)
    }
}

/// A value of `block`'s type with every attribute null and one element in every nested block: decoding it
/// into a model fails unless the model has exactly the block's attributes, at every level.
pub fn skeleton(block: &Block) -> Value {
    let mut attrs: std::collections::BTreeMap<String, Value> =
        block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    for nested in &block.blocks {
        let inner = skeleton(&nested.block);
        let value = match nested.nesting {
            Nesting::Single | Nesting::Group => inner,
            Nesting::List => Value::List(vec![inner]),
            Nesting::Set => Value::Set(vec![inner]),
            Nesting::Map => Value::Map([("key".to_string(), inner)].into_iter().collect()),
        };
        attrs.insert(nested.name.clone(), value);
    }
    Value::Object(attrs)
}

/// Checks that the model `T` covers `block` exactly (every attribute a field, no field without an
/// attribute) and encodes back into its type. Each resource's tests call this on its state model.
pub fn check_covers<T: DeserializeOwned + Serialize>(block: &Block) -> Result<(), String> {
    let decoded: T = decode(&skeleton(block)).map_err(|e| format!("{} (at {:?})", e.message, e.path))?;
    encode(&decoded, &block.value_type()).map(|_| ()).map_err(|e| e.to_string())
}

/// Applies a resource's edits of a decoded plan to the plan Terraform proposed. `original` is the plan as
/// proposed, `decoded` the same plan after a trip through the model (unknowns in `Option` fields became
/// null there), `edited` the model after the resource changed it. Wherever the resource left a value as
/// decoded, the original stands, unknowns included; wherever it changed one, its value wins.
pub(crate) fn merge_edits(original: &Value, decoded: &Value, edited: &Value) -> Value {
    if decoded == edited && edited.is_wholly_known() == decoded.is_wholly_known() {
        return original.clone();
    }
    match (original, decoded, edited) {
        (Value::Object(o), Value::Object(d), Value::Object(e)) => Value::Object(
            e.iter()
                .map(|(name, edited)| {
                    let merged = match (o.get(name), d.get(name)) {
                        (Some(o), Some(d)) => merge_edits(o, d, edited),
                        _ => edited.clone(),
                    };
                    (name.clone(), merged)
                })
                .collect(),
        ),
        (Value::List(o), Value::List(d), Value::List(e)) if o.len() == e.len() && d.len() == e.len() => {
            Value::List(o.iter().zip(d).zip(e).map(|((o, d), e)| merge_edits(o, d, e)).collect())
        }
        _ => edited.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    struct Model {
        id: Field<String>,
        name: Option<String>,
        count: Option<i64>,
        tags: Option<BTreeMap<String, String>>,
        child: Option<Vec<Child>>,
    }

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    struct Child {
        hash: Option<String>,
    }

    fn block() -> Block {
        Block::new("m")
            .attribute(Attribute::computed("id", Type::String, "id"))
            .attribute(Attribute::optional("name", Type::String, "name"))
            .attribute(Attribute::optional("count", Type::Number, "count"))
            .attribute(Attribute::optional("tags", Type::Map(Box::new(Type::String)), "tags"))
            .block(NestedBlock::new(
                "child",
                Nesting::List,
                Block::new("c").attribute(Attribute::optional("hash", Type::String, "h")),
            ))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn fields_keep_unknown_and_options_read_it_as_none() {
        let value = obj(&[
            ("id", Value::unknown()),
            ("name", Value::unknown()),
            ("count", Value::from(3)),
            ("tags", Value::Null),
            ("child", Value::List(vec![obj(&[("hash", "abc".into())])])),
        ]);
        let model: Model = decode(&value).unwrap();
        assert_eq!(model.id, Field::Unknown);
        assert_eq!(model.name, None);
        assert_eq!(model.count, Some(3));
        assert_eq!(model.child.unwrap()[0].hash.as_deref(), Some("abc"));
    }

    #[test]
    fn a_collection_with_an_unknown_element_reads_as_not_known() {
        let value = obj(&[
            ("id", Value::Null),
            ("name", Value::Null),
            ("count", Value::Null),
            ("tags", Value::Map([("team".to_string(), Value::unknown())].into_iter().collect())),
            ("child", Value::Null),
        ]);
        let model: Model = decode(&value).unwrap();
        assert_eq!(model.tags, None);
        let tags: Field<BTreeMap<String, String>> = decode(value.get("tags").unwrap()).unwrap();
        assert_eq!(tags, Field::Unknown);
    }

    #[test]
    fn unknown_fields_encode_as_unknown() {
        let model = Model { id: Field::Unknown, name: Some("a".into()), ..Model::default() };
        let value = encode(&model, &block().value_type()).unwrap();
        assert!(!value.get("id").unwrap().is_known());
        assert_eq!(value.get("name").and_then(Value::as_str), Some("a"));
        assert!(value.get("count").unwrap().is_null());
    }

    #[test]
    fn a_model_must_cover_its_block_exactly() {
        check_covers::<Model>(&block()).unwrap();
        let extra = block().attribute(Attribute::optional("extra", Type::String, "x"));
        let error = check_covers::<Model>(&extra).unwrap_err();
        assert!(error.contains("no field for the attribute `extra`"), "{error}");
        let mut missing = block();
        missing.attributes.retain(|a| a.name != "count");
        let error = check_covers::<Model>(&missing).unwrap_err();
        assert!(error.contains("field `count`"), "{error}");
    }

    #[test]
    fn decode_errors_carry_the_attribute_path() {
        let value = obj(&[
            ("id", Value::Null),
            ("name", Value::Null),
            ("count", "not a number".into()),
            ("tags", Value::Null),
            ("child", Value::Null),
        ]);
        let error = decode::<Model>(&value).unwrap_err();
        assert_eq!(error.path, cty::Path::root().attr("count"));
    }

    #[test]
    fn untouched_unknowns_survive_edits_and_changed_values_win() {
        let original = obj(&[("a", Value::unknown()), ("b", "x".into()), ("c", Value::unknown())]);
        let decoded = obj(&[("a", Value::Null), ("b", "x".into()), ("c", Value::unknown())]);
        let edited = obj(&[("a", Value::Null), ("b", "y".into()), ("c", Value::Null)]);
        let merged = merge_edits(&original, &decoded, &edited);
        assert!(!merged.get("a").unwrap().is_known(), "an Option field left alone keeps its unknown");
        assert_eq!(merged.get("b").and_then(Value::as_str), Some("y"));
        assert!(merged.get("c").unwrap().is_null(), "a Field set to null is null");
    }
}
