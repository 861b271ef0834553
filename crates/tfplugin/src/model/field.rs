//! `Field<T>`: an attribute that may be null, unknown (known only after apply) or known, the way Terraform
//! sees every value. Plan-time code uses it where "not set" and "not known yet" lead to different plans;
//! `Option<T>` fields read both as `None`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The newtype name the value decoder recognises (`model::de`) to hand a `Field` the unknown case.
pub(crate) const FIELD_TOKEN: &str = "$tfplugin::Field";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Field<T> {
    /// The known value; `None` when null or unknown.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(value) => Some(value),
            _ => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Field::Known(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(value) => Field::Known(value),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(value) => Field::Known(f(value)),
        }
    }

    /// Known when `value` is `Some`, null otherwise.
    pub fn from_option(value: Option<T>) -> Field<T> {
        value.map_or(Field::Null, Field::Known)
    }
}

impl Field<String> {
    pub fn as_deref(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

impl<T> From<Option<T>> for Field<T> {
    fn from(value: Option<T>) -> Self {
        Field::from_option(value)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Null => serializer.serialize_none(),
            Field::Known(value) => serializer.serialize_some(value),
            Field::Unknown => {
                let mut marker = serializer.serialize_map(Some(1))?;
                marker.serialize_entry(cty::json::PLAIN_UNKNOWN_MARKER, &true)?;
                marker.end()
            }
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(FIELD_TOKEN, FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, null, or unknown")
    }

    /// The value decoder's way of saying "unknown".
    fn visit_unit<E>(self) -> Result<Field<T>, E> {
        Ok(Field::Unknown)
    }

    fn visit_none<E>(self) -> Result<Field<T>, E> {
        Ok(Field::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field<T>, D::Error> {
        T::deserialize(deserializer).map(Field::Known)
    }

    /// Any other deserializer (plain JSON, say): null or a value, never unknown.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field<T>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Field::from_option)
    }
}
