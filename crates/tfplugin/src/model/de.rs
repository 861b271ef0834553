//! A serde deserializer over `cty::Value`, so typed state structs are read straight from what Terraform sent.
//!
//! - Null and unknown both read as `None` in an `Option`; a `Field` tells them apart.
//! - A struct must name exactly the attributes of the object it reads: an attribute without a field, or a
//!   field without an attribute, is an error naming it. That keeps every state struct in step with its
//!   schema (tests decode a value of the whole schema into each one).

use std::collections::BTreeMap;
use std::fmt;

use cty::{Path, Value};
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::field::FIELD_TOKEN;

/// Why a value does not fit a typed struct; a provider bug, reported with the attribute path.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub path: Path,
    pub message: String,
}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DecodeError { path: Path::root(), message: message.to_string() }
    }
}

pub(crate) struct ValueDeserializer<'a> {
    pub(crate) value: &'a Value,
    pub(crate) path: Path,
}

impl ValueDeserializer<'_> {
    fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError { path: self.path.clone(), message: message.into() }
    }

    /// Errors raised below this point without a path of their own get this one.
    fn located<T>(&self, result: Result<T, DecodeError>) -> Result<T, DecodeError> {
        result.map_err(|mut e| {
            if e.path.is_root() {
                e.path = self.path.clone();
            }
            e
        })
    }

    fn inner(&self) -> &Value {
        match self.value {
            Value::Dynamic(d) => &d.1,
            other => other,
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = match self.inner() {
            Value::Null => visitor.visit_unit(),
            Value::Unknown(_) => return Err(self.error("the value is not known yet, where a known value is required")),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.to_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.to_u64() {
                    visitor.visit_u64(u)
                } else if let Some(f) = n.to_f64() {
                    visitor.visit_f64(f)
                } else {
                    return Err(self.error(format!("the number {n} cannot be represented")));
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                visitor.visit_seq(Elements { items: items.iter().enumerate(), path: &self.path })
            }
            Value::Map(entries) => visitor.visit_map(Entries::new(entries, &self.path, false)),
            Value::Object(entries) => visitor.visit_map(Entries::new(entries, &self.path, true)),
            Value::Dynamic(_) => unreachable!("inner() unwraps dynamic values"),
        };
        self.located(result)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.inner() {
            Value::Null | Value::Unknown(_) => visitor.visit_none(),
            partly_known if has_unknown_element(partly_known) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name != FIELD_TOKEN {
            return visitor.visit_newtype_struct(self);
        }
        match self.inner() {
            Value::Unknown(_) => visitor.visit_unit(),
            partly_known if has_unknown_element(partly_known) => visitor.visit_unit(),
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let Value::Object(entries) = self.inner() else { return self.deserialize_any(visitor) };
        if let Some(attribute) = entries.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(self.error(format!("`{name}` has no field for the attribute `{attribute}`")));
        }
        if let Some(field) = fields.iter().find(|f| !entries.contains_key(**f)) {
            return Err(self.error(format!("`{name}` has a field `{field}` that the schema does not have")));
        }
        let result = visitor.visit_map(Entries::new(entries, &self.path, true));
        self.located(result)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.inner() {
            Value::String(s) => {
                let variant: StrDeserializer<'_, DecodeError> = s.as_str().into_deserializer();
                self.located(visitor.visit_enum(variant))
            }
            _ => Err(self.error("a string naming one of the allowed values is required")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        seq tuple tuple_struct map identifier
    }
}

/// A collection with an element not known yet (`tags = { team = var.team }` during validate): it reads as
/// not known as a whole, since its elements' types (strings, say) have no unknown. Objects are not
/// collections: their attributes decode one by one, each into its own `Option` or `Field`.
fn has_unknown_element(value: &Value) -> bool {
    match value {
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().any(|v| !v.is_known()),
        Value::Map(entries) => entries.values().any(|v| !v.is_known()),
        _ => false,
    }
}

struct Elements<'a, I> {
    items: I,
    path: &'a Path,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Value)>> SeqAccess<'de> for Elements<'a, I> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DecodeError> {
        let Some((i, value)) = self.items.next() else { return Ok(None) };
        seed.deserialize(ValueDeserializer { value, path: self.path.index(i as i64) }).map(Some)
    }
}

struct Entries<'a> {
    entries: std::collections::btree_map::Iter<'a, String, Value>,
    pending: Option<(&'a String, &'a Value)>,
    path: &'a Path,
    /// Object attributes and map keys are different steps in a diagnostic's path.
    is_object: bool,
}

impl<'a> Entries<'a> {
    fn new(entries: &'a BTreeMap<String, Value>, path: &'a Path, is_object: bool) -> Self {
        Entries { entries: entries.iter(), pending: None, path, is_object }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DecodeError> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        self.pending = Some((key, value));
        let key: StrDeserializer<'_, DecodeError> = key.as_str().into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DecodeError> {
        let (key, value) = self.pending.take().ok_or_else(|| de::Error::custom("a value was read before its key"))?;
        let path = if self.is_object { self.path.attr(key) } else { self.path.key(key) };
        seed.deserialize(ValueDeserializer { value, path })
    }
}
