//! cty's JSON encoding (Terraform state, `DynamicValue.json`) and the plain
//! JSON bridge of [`Value::to_plain_json`] / [`Value::from_plain_json`].
//!
//! Both JSON forms share one type-guided decoder; they differ only in
//! dynamic positions: cty JSON wraps those as `{"value": .., "type": ..}`,
//! plain JSON infers the type from the JSON itself.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::Value as Json;

use crate::path::index_step;
use crate::value::{dedup_set, kind_name, set_members};
use crate::{Error, Number, ObjectType, Path, PathStep, Type, Value};

/// Decodes cty JSON into a value of type `ty`.
///
/// As in go-cty: `null` is null of any type, missing object attributes are
/// null (older state may lack newer attributes), attributes the type does
/// not have are an error, numbers may be JSON numbers or numeric strings
/// and are parsed exactly, and duplicate set elements collapse.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, Error> {
    let json: Json = serde_json::from_slice(bytes).map_err(|e| Error::at_root(format!("invalid JSON: {e}")))?;
    from_json(&json, ty, Flavor::Cty, &mut Path::root())
}

/// Encodes a value of type `ty` as cty JSON. Unknown values cannot be
/// represented and are an error with their path.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, Error> {
    Ok(to_cty_json(v, ty, &mut Path::root())?.to_string().into_bytes())
}

/// Which JSON dialect a dynamic position uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Plain JSON: the type of a dynamic value is inferred from the JSON.
    Plain,
    /// cty JSON: a dynamic value is `{"value": .., "type": ..}`.
    Cty,
}

/// In plain JSON, an object holding only this key stands for an unknown value: typed (serde) state written
/// by a provider can say "known after apply" where cty JSON has no way to.
pub const PLAIN_UNKNOWN_MARKER: &str = "\u{1}cty:unknown";

fn is_unknown_marker(v: &Json) -> bool {
    matches!(v, Json::Object(entries) if entries.len() == 1 && entries.contains_key(PLAIN_UNKNOWN_MARKER))
}

pub(crate) fn from_json(v: &Json, ty: &Type, flavor: Flavor, path: &mut Path) -> Result<Value, Error> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if flavor == Flavor::Plain && is_unknown_marker(v) {
        return Ok(Value::unknown());
    }
    match ty {
        Type::Dynamic => match flavor {
            Flavor::Plain => {
                let concrete = implied_type_of_json(v);
                let inner = from_json(v, &concrete, flavor, path)?;
                Ok(Value::dynamic(concrete, inner))
            }
            Flavor::Cty => dynamic_from_cty_json(v, path),
        },
        Type::Bool => match v {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            // go-cty converts strings the way its `convert` package does.
            Json::String(s) => match s.as_str() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(Error::at(path, "a bool is required")),
            },
            _ => Err(Error::at(path, "a bool is required")),
        },
        Type::Number => {
            let text = match v {
                // With serde_json's arbitrary_precision this is the literal
                // text of the number, never an f64 rendering.
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.clone(),
                _ => return Err(Error::at(path, "a number is required")),
            };
            let n = Number::from_str(&text).map_err(|e| Error::at(path, e.message))?;
            Ok(Value::Number(n))
        }
        Type::String => match v {
            Json::String(s) => Ok(Value::String(s.clone())),
            Json::Number(n) => Ok(Value::String(n.to_string())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(Error::at(path, "a string is required")),
        },
        Type::List(element) => Ok(Value::List(elements_from_json(v, element, flavor, path, "a list")?)),
        Type::Set(element) => Ok(Value::Set(dedup_set(elements_from_json(v, element, flavor, path, "a set")?))),
        Type::Tuple(types) => {
            let Json::Array(items) = v else {
                return Err(Error::at(path, "a tuple is required"));
            };
            if items.len() != types.len() {
                return Err(Error::at(
                    path,
                    format!("a tuple of {} elements is required ({} given)", types.len(), items.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(types).enumerate() {
                let decoded = path.within(index_step(i), |path| from_json(item, t, flavor, path));
                out.push(decoded?);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(element) => {
            let Json::Object(entries) = v else {
                return Err(Error::at(path, "a map is required"));
            };
            let mut out = BTreeMap::new();
            for (k, item) in entries {
                let decoded =
                    path.within(PathStep::ElementKeyString(k.clone()), |path| from_json(item, element, flavor, path));
                out.insert(k.clone(), decoded?);
            }
            Ok(Value::Map(out))
        }
        Type::Object(object) => object_from_json(v, object, flavor, path),
    }
}

fn elements_from_json(
    v: &Json,
    element: &Type,
    flavor: Flavor,
    path: &mut Path,
    what: &str,
) -> Result<Vec<Value>, Error> {
    let Json::Array(items) = v else {
        return Err(Error::at(path, format!("{what} is required")));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let decoded = path.within(index_step(i), |path| from_json(item, element, flavor, path));
        out.push(decoded?);
    }
    Ok(out)
}

fn object_from_json(v: &Json, object: &ObjectType, flavor: Flavor, path: &mut Path) -> Result<Value, Error> {
    let Json::Object(entries) = v else {
        return Err(Error::at(path, "an object is required"));
    };
    let mut out = BTreeMap::new();
    for (k, item) in entries {
        let Some(t) = object.attributes.get(k) else {
            return Err(Error::at(path, format!("unsupported attribute {k:?}")));
        };
        let decoded = path.within(PathStep::Attribute(k.clone()), |path| from_json(item, t, flavor, path));
        out.insert(k.clone(), decoded?);
    }
    for name in object.attributes.keys() {
        if !out.contains_key(name) {
            out.insert(name.clone(), Value::Null);
        }
    }
    Ok(Value::Object(out))
}

fn dynamic_from_cty_json(v: &Json, path: &mut Path) -> Result<Value, Error> {
    let Json::Object(entries) = v else {
        return Err(Error::at(path, "a dynamically-typed value ({\"value\": .., \"type\": ..}) is required"));
    };
    let mut ty = None;
    let mut value = None;
    for (k, item) in entries {
        match k.as_str() {
            "type" => {
                let t = Type::from_json(item)
                    .map_err(|e| Error::at(path, format!("failed to decode type for dynamic value: {}", e.message)))?;
                ty = Some(t);
            }
            "value" => value = Some(item),
            other => return Err(Error::at(path, format!("invalid key {other:?} in dynamically-typed value"))),
        }
    }
    let ty = ty.ok_or_else(|| Error::at(path, "missing type in dynamically-typed value"))?;
    let value = value.ok_or_else(|| Error::at(path, "missing value in dynamically-typed value"))?;
    let inner = from_json(value, &ty, Flavor::Cty, path)?;
    if ty == Type::Dynamic {
        // A dynamic-typed value in a dynamic position needs no wrapper.
        return Ok(inner);
    }
    Ok(Value::dynamic(ty, inner))
}

/// go-cty's `ImpliedType` for plain JSON: arrays are tuples, objects are
/// objects, nulls are dynamic.
fn implied_type_of_json(v: &Json) -> Type {
    match v {
        Json::Null => Type::Dynamic,
        Json::Bool(_) => Type::Bool,
        Json::Number(_) => Type::Number,
        Json::String(_) => Type::String,
        Json::Array(items) => Type::Tuple(items.iter().map(implied_type_of_json).collect()),
        Json::Object(entries) => Type::object(entries.iter().map(|(k, v)| (k.clone(), implied_type_of_json(v)))),
    }
}

fn number_to_json(n: &Number, path: &Path) -> Result<Json, Error> {
    // Display is a valid JSON number literal; arbitrary_precision keeps it
    // verbatim.
    serde_json::Number::from_str(&n.to_string())
        .map(Json::Number)
        .map_err(|e| Error::at(path, format!("cannot represent number {n} in JSON: {e}")))
}

fn mismatch(ty: &Type, v: &Value, path: &Path) -> Error {
    Error::at(path, format!("a value of type {ty} is required, but this is {}", kind_name(v)))
}

fn to_cty_json(v: &Value, ty: &Type, path: &mut Path) -> Result<Json, Error> {
    if let Value::Unknown(_) = v {
        return Err(Error::at(path, "value is not known"));
    }
    if *ty == Type::Dynamic {
        return dynamic_to_cty_json(v, path);
    }
    match (ty, v) {
        (_, Value::Dynamic(d)) => to_cty_json(&d.1, ty, path),
        (_, Value::Null) => Ok(Json::Null),
        (Type::Bool, Value::Bool(b)) => Ok(Json::Bool(*b)),
        (Type::Number, Value::Number(n)) => number_to_json(n, path),
        (Type::String, Value::String(s)) => Ok(Json::String(s.clone())),
        (Type::List(element), Value::List(items) | Value::Tuple(items) | Value::Set(items)) => {
            sequence_to_json(items.iter(), |_| element, path)
        }
        (Type::Set(element), Value::Set(items) | Value::List(items) | Value::Tuple(items)) => {
            sequence_to_json(set_members(items).into_iter(), |_| element, path)
        }
        (Type::Tuple(types), Value::Tuple(items) | Value::List(items) | Value::Set(items)) => {
            if items.len() != types.len() {
                return Err(Error::at(
                    path,
                    format!("a tuple of {} elements is required ({} given)", types.len(), items.len()),
                ));
            }
            sequence_to_json(items.iter(), |i| &types[i], path)
        }
        (Type::Map(element), Value::Map(entries) | Value::Object(entries)) => {
            let mut out = serde_json::Map::new();
            for (k, item) in entries {
                let encoded =
                    path.within(PathStep::ElementKeyString(k.clone()), |path| to_cty_json(item, element, path));
                out.insert(k.clone(), encoded?);
            }
            Ok(Json::Object(out))
        }
        (Type::Object(object), Value::Object(entries) | Value::Map(entries)) => {
            check_no_extra_attributes(entries, object, path)?;
            let mut out = serde_json::Map::new();
            for (name, t) in &object.attributes {
                let encoded = path.within(PathStep::Attribute(name.clone()), |path| {
                    entries.get(name).map_or(Ok(Json::Null), |item| to_cty_json(item, t, path))
                });
                out.insert(name.clone(), encoded?);
            }
            Ok(Json::Object(out))
        }
        _ => Err(mismatch(ty, v, path)),
    }
}

fn sequence_to_json<'a, 't>(
    items: impl Iterator<Item = &'a Value>,
    type_at: impl Fn(usize) -> &'t Type,
    path: &mut Path,
) -> Result<Json, Error> {
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        let encoded = path.within(index_step(i), |path| to_cty_json(item, type_at(i), path));
        out.push(encoded?);
    }
    Ok(Json::Array(out))
}

/// Values may leave attributes out (they encode as null), but an attribute
/// the type lacks is a bug in the caller that would otherwise vanish.
pub(crate) fn check_no_extra_attributes(
    entries: &BTreeMap<String, Value>,
    object: &ObjectType,
    path: &Path,
) -> Result<(), Error> {
    match entries.keys().find(|k| !object.attributes.contains_key(*k)) {
        Some(extra) => Err(Error::at(path, format!("unsupported attribute {extra:?}"))),
        None => Ok(()),
    }
}

fn dynamic_to_cty_json(v: &Value, path: &mut Path) -> Result<Json, Error> {
    let (ty, inner) = match v {
        Value::Null => return Ok(Json::Null),
        Value::Unknown(_) => return Err(Error::at(path, "value is not known")),
        Value::Dynamic(d) if d.0 == Type::Dynamic => return to_cty_json(&d.1, &Type::Dynamic, path),
        Value::Dynamic(d) => (d.0.clone(), &d.1),
        other => (implied_type_for_dynamic(other, path)?, other),
    };
    let mut out = serde_json::Map::new();
    out.insert("value".to_owned(), to_cty_json(inner, &ty, path)?);
    out.insert("type".to_owned(), ty.to_json());
    Ok(Json::Object(out))
}

pub(crate) fn implied_type_for_dynamic(v: &Value, path: &Path) -> Result<Type, Error> {
    v.implied_type().ok_or_else(|| {
        Error::at(
            path,
            "cannot infer a type for this value in a dynamic position (elements disagree); wrap it in Value::Dynamic",
        )
    })
}

pub(crate) fn to_plain(v: &Value, path: &mut Path) -> Result<Json, Error> {
    match v {
        Value::Null => Ok(Json::Null),
        Value::Unknown(_) => Err(Error::at(path, "value is not known")),
        Value::Bool(b) => Ok(Json::Bool(*b)),
        Value::Number(n) => number_to_json(n, path),
        Value::String(s) => Ok(Json::String(s.clone())),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let encoded = path.within(index_step(i), |path| to_plain(item, path));
                out.push(encoded?);
            }
            Ok(Json::Array(out))
        }
        Value::Map(entries) | Value::Object(entries) => {
            let is_object = matches!(v, Value::Object(_));
            let mut out = serde_json::Map::new();
            for (k, item) in entries {
                let step =
                    if is_object { PathStep::Attribute(k.clone()) } else { PathStep::ElementKeyString(k.clone()) };
                let encoded = path.within(step, |path| to_plain(item, path));
                out.insert(k.clone(), encoded?);
            }
            Ok(Json::Object(out))
        }
        Value::Dynamic(d) => to_plain(&d.1, path),
    }
}

#[cfg(test)]
mod tests;
