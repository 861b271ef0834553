//! cty types and their JSON form.
//!
//! The plugin protocol carries schema and dynamic-value types as go-cty's
//! type JSON (`"string"`, `["list","string"]`, `["object",{..},["opt"]]`), so
//! that encoding is defined here next to the type model.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value as Json;

use crate::Error;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Bool,
    Number,
    String,
    /// "Any type": values in this position carry their concrete type with
    /// them on the wire (see [`crate::Value::Dynamic`]).
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(ObjectType),
    Tuple(Vec<Type>),
}

/// The attributes of an object type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectType {
    pub attributes: BTreeMap<String, Type>,
    /// Attributes that a type conversion may leave out; a subset of
    /// `attributes`. Values themselves always have every attribute.
    pub optional: BTreeSet<String>,
}

impl ObjectType {
    /// An object type without optional attributes.
    pub fn new(attrs: impl IntoIterator<Item = (String, Type)>) -> ObjectType {
        ObjectType { attributes: attrs.into_iter().collect(), optional: BTreeSet::new() }
    }
}

impl Type {
    /// Convenience constructor for an object type without optional attributes.
    pub fn object(attrs: impl IntoIterator<Item = (String, Type)>) -> Type {
        Type::Object(ObjectType::new(attrs))
    }

    /// `list(element)`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// Whether this is a list, set or map: the types that length refinements
    /// apply to.
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }

    /// cty's type JSON, e.g. `"string"`, `["list","string"]`,
    /// `["object",{"a":"number"}]`, `["object",{..},["opt_attr"]]`,
    /// `["tuple",[..]]`, `"dynamic"`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec![Json::from("list"), e.to_json()]),
            Type::Set(e) => Json::Array(vec![Json::from("set"), e.to_json()]),
            Type::Map(e) => Json::Array(vec![Json::from("map"), e.to_json()]),
            Type::Object(o) => {
                // BTreeMap order is Go's sorted-key order, so the bytes match.
                let attrs =
                    o.attributes.iter().map(|(k, t)| (k.clone(), t.to_json())).collect::<serde_json::Map<_, _>>();
                let mut parts = vec![Json::from("object"), Json::Object(attrs)];
                if !o.optional.is_empty() {
                    parts.push(Json::Array(o.optional.iter().map(|k| Json::from(k.as_str())).collect()));
                }
                Json::Array(parts)
            }
            Type::Tuple(es) => {
                Json::Array(vec![Json::from("tuple"), Json::Array(es.iter().map(Type::to_json).collect())])
            }
        }
    }

    /// The compact type JSON, as the protocol's `bytes type` fields carry it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses cty type JSON.
    pub fn from_json(v: &Json) -> Result<Type, Error> {
        match v {
            Json::String(name) => match name.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(type_error(format!("invalid primitive type name {other:?}"))),
            },
            Json::Array(parts) => {
                let Some(Json::String(kind)) = parts.first() else {
                    return Err(type_error("invalid complex type kind name"));
                };
                let arity_ok = match kind.as_str() {
                    "object" => parts.len() == 2 || parts.len() == 3,
                    _ => parts.len() == 2,
                };
                if !arity_ok {
                    return Err(type_error(format!("wrong number of elements in {kind:?} type description")));
                }
                let body = &parts[1];
                match kind.as_str() {
                    "list" => Ok(Type::list(Type::from_json(body)?)),
                    "set" => Ok(Type::set(Type::from_json(body)?)),
                    "map" => Ok(Type::map(Type::from_json(body)?)),
                    "tuple" => {
                        let Json::Array(elems) = body else {
                            return Err(type_error("tuple element types must be an array"));
                        };
                        Ok(Type::Tuple(elems.iter().map(Type::from_json).collect::<Result<_, _>>()?))
                    }
                    "object" => object_from_json(body, parts.get(2)),
                    other => Err(type_error(format!("invalid complex type kind name {other:?}"))),
                }
            }
            _ => Err(type_error("invalid type description")),
        }
    }

    /// Parses cty type JSON from bytes.
    pub fn from_json_bytes(b: &[u8]) -> Result<Type, Error> {
        let v: Json = serde_json::from_slice(b).map_err(|e| type_error(format!("invalid JSON: {e}")))?;
        Type::from_json(&v)
    }
}

fn object_from_json(attrs: &Json, optional: Option<&Json>) -> Result<Type, Error> {
    let Json::Object(attrs) = attrs else {
        return Err(type_error("object attribute types must be a JSON object"));
    };
    let mut obj = ObjectType::default();
    for (name, t) in attrs {
        obj.attributes.insert(name.clone(), Type::from_json(t)?);
    }
    if let Some(optional) = optional {
        let Json::Array(names) = optional else {
            return Err(type_error("optional attribute names must be an array"));
        };
        for name in names {
            let Json::String(name) = name else {
                return Err(type_error("optional attribute names must be strings"));
            };
            if !obj.attributes.contains_key(name) {
                return Err(type_error(format!("optional attribute {name:?} is not an attribute of the object")));
            }
            obj.optional.insert(name.clone());
        }
    }
    Ok(Type::Object(obj))
}

fn type_error(message: impl Into<String>) -> Error {
    Error::at_root(format!("invalid type: {}", message.into()))
}

impl fmt::Display for Type {
    /// The type JSON, which is also how Terraform users see types in errors
    /// closely enough to be recognisable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(o) => {
                f.write_str("object({")?;
                for (i, (k, t)) in o.attributes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if o.optional.contains(k) {
                        write!(f, "{k}=optional({t})")?;
                    } else {
                        write!(f, "{k}={t}")?;
                    }
                }
                f.write_str("})")
            }
            Type::Tuple(es) => {
                f.write_str("tuple([")?;
                for (i, t) in es.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    #[test]
    fn type_json_round_trips_with_exact_bytes() {
        let mut with_optional = ObjectType::new([(s("a"), Type::Number), (s("b"), Type::String)]);
        with_optional.optional.insert(s("b"));
        let cases: Vec<(Type, &str)> = vec![
            (Type::Bool, r#""bool""#),
            (Type::Number, r#""number""#),
            (Type::String, r#""string""#),
            (Type::Dynamic, r#""dynamic""#),
            (Type::list(Type::String), r#"["list","string"]"#),
            (Type::set(Type::Number), r#"["set","number"]"#),
            (Type::map(Type::Bool), r#"["map","bool"]"#),
            (
                Type::object([(s("b"), Type::String), (s("a"), Type::Number)]),
                r#"["object",{"a":"number","b":"string"}]"#,
            ),
            (Type::Object(with_optional), r#"["object",{"a":"number","b":"string"},["b"]]"#),
            (Type::Tuple(vec![Type::String, Type::list(Type::Dynamic)]), r#"["tuple",["string",["list","dynamic"]]]"#),
            (Type::Tuple(vec![]), r#"["tuple",[]]"#),
            (Type::object([]), r#"["object",{}]"#),
            (
                Type::list(Type::object([(s("image"), Type::String), (s("tags"), Type::map(Type::String))])),
                r#"["list",["object",{"image":"string","tags":["map","string"]}]]"#,
            ),
        ];
        for (ty, json) in cases {
            assert_eq!(String::from_utf8(ty.to_json_bytes()).ok().as_deref(), Some(json));
            assert_eq!(Type::from_json_bytes(json.as_bytes()), Ok(ty));
        }
    }

    #[test]
    fn type_json_rejects_malformed() {
        for bad in [
            r#""strin""#,
            r#"["list"]"#,
            r#"["list","string","x"]"#,
            r#"["lisp","string"]"#,
            r#"["object",["a"]]"#,
            r#"["object",{"a":"string"},["b"]]"#,
            r#"["object",{"a":"string"},[1]]"#,
            r#"["object",{"a":"string"},["a"],1]"#,
            r#"["tuple","string"]"#,
            r#"[]"#,
            r#"42"#,
            r#"{"type":"string"}"#,
            "not json",
        ] {
            assert!(Type::from_json_bytes(bad.as_bytes()).is_err(), "{bad} should fail");
        }
    }
}
