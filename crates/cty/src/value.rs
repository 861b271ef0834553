//! cty values.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::{Error, Number, Type};

/// What is known about an unknown value (go-cty's "refinements"). Terraform
/// uses these to reason about values before apply, e.g. to know that an ID
/// will not be null or that a URL starts with `https://`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinements {
    /// `Some(true)`: definitely not null. `Some(false)`: definitely null
    /// (legal on the wire though odd). `None`: could be either.
    pub not_null: Option<bool>,
    /// Strings only: the value will start with this.
    pub string_prefix: Option<String>,
    /// Numbers only: lower bound and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// Numbers only: upper bound and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// Lists, sets and maps only: minimum number of elements.
    pub length_lower: Option<u64>,
    /// Lists, sets and maps only: maximum number of elements.
    pub length_upper: Option<u64>,
}

impl Refinements {
    /// Whether nothing is known, i.e. this describes a plain unknown.
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// A cty value. The type lives beside the value (schemas give it), except in
/// [`Type::Dynamic`] positions, where [`Value::Dynamic`] carries it.
///
/// A null or unknown without a `Dynamic` wrapper in a dynamic position is
/// go-cty's dynamically-typed null or unknown.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    /// `Refinements::default()` is a plain unknown.
    Unknown(Refinements),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// No duplicates; order is not significant.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// A value that sits in a `Type::Dynamic` position and carries its
    /// concrete type.
    Dynamic(Box<(Type, Value)>),
}

impl Value {
    /// A plain (unrefined) unknown.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// A value of concrete type `ty` for a dynamic position.
    pub fn dynamic(ty: Type, value: Value) -> Value {
        Value::Dynamic(Box::new((ty, value)))
    }

    /// Shallow: null, or a dynamic wrapper around null.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(d) => d.1.is_null(),
            _ => false,
        }
    }

    /// Shallow: not unknown (elements may still be unknown).
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Dynamic(d) => d.1.is_known(),
            _ => true,
        }
    }

    /// No unknown anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(d) => d.1.is_wholly_known(),
        }
    }

    /// An object attribute or map element (through a dynamic wrapper).
    pub fn get(&self, attr: &str) -> Option<&Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(attr),
            Value::Dynamic(d) => d.1.get(attr),
            _ => None,
        }
    }

    /// The string, if this is a known string (through a dynamic wrapper).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(d) => d.1.as_str(),
            _ => None,
        }
    }

    /// The bool, if this is a known bool (through a dynamic wrapper).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(d) => d.1.as_bool(),
            _ => None,
        }
    }

    /// The number, if this is a known number (through a dynamic wrapper).
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            Value::Dynamic(d) => d.1.as_number(),
            _ => None,
        }
    }

    /// The elements of a list, set or tuple (through a dynamic wrapper).
    pub fn as_slice(&self) -> Option<&[Value]> {
        match self {
            Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => Some(xs),
            Value::Dynamic(d) => d.1.as_slice(),
            _ => None,
        }
    }

    /// The entries of a map or object (through a dynamic wrapper).
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            Value::Dynamic(d) => d.1.as_map(),
            _ => None,
        }
    }

    /// The type this value would have in a dynamic position, the way go-cty
    /// infers types from JSON: collections need their elements to agree
    /// (nulls and unknowns agree with anything), empty collections get
    /// dynamic elements. `None` if the elements disagree.
    pub fn implied_type(&self) -> Option<Type> {
        Some(match self {
            Value::Null | Value::Unknown(_) => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(xs) => Type::list(unified_element_type(xs.iter())?),
            Value::Set(xs) => Type::set(unified_element_type(xs.iter())?),
            Value::Map(m) => Type::map(unified_element_type(m.values())?),
            Value::Object(m) => {
                Type::object(m.iter().map(|(k, v)| Some((k.clone(), v.implied_type()?))).collect::<Option<Vec<_>>>()?)
            }
            Value::Tuple(xs) => Type::Tuple(xs.iter().map(Value::implied_type).collect::<Option<_>>()?),
            Value::Dynamic(d) => d.0.clone(),
        })
    }

    /// Plain JSON for typed (serde) decoding by callers: null -> null,
    /// numbers exact, sets/lists/tuples -> arrays, maps/objects -> objects,
    /// `Dynamic` -> its inner value. An unknown anywhere is an error with the
    /// path of the unknown.
    pub fn to_plain_json(&self) -> Result<serde_json::Value, Error> {
        crate::json::to_plain(self, &mut crate::Path::root())
    }

    /// The inverse of [`Value::to_plain_json`], guided by the type: arrays
    /// become List/Set/Tuple per type, missing object attributes become
    /// Null, JSON numbers (or numeric strings) become Number, and a dynamic
    /// position infers the type from the JSON and wraps it in
    /// `Value::Dynamic`. An object holding only
    /// [`crate::json::PLAIN_UNKNOWN_MARKER`] becomes an unknown.
    pub fn from_plain_json(v: &serde_json::Value, ty: &Type) -> Result<Value, Error> {
        crate::json::from_json(v, ty, crate::json::Flavor::Plain, &mut crate::Path::root())
    }
}

fn unified_element_type<'a>(values: impl Iterator<Item = &'a Value>) -> Option<Type> {
    let mut acc = Type::Dynamic;
    for v in values {
        acc = unify(acc, v.implied_type()?)?;
    }
    Some(acc)
}

/// The most specific type that both arguments fit, treating `Dynamic` (from
/// nulls and unknowns) as fitting anything.
fn unify(a: Type, b: Type) -> Option<Type> {
    match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => Some(t),
        (Type::List(x), Type::List(y)) => Some(Type::list(unify(*x, *y)?)),
        (Type::Set(x), Type::Set(y)) => Some(Type::set(unify(*x, *y)?)),
        (Type::Map(x), Type::Map(y)) => Some(Type::map(unify(*x, *y)?)),
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => {
            Some(Type::Tuple(xs.into_iter().zip(ys).map(|(x, y)| unify(x, y)).collect::<Option<_>>()?))
        }
        (Type::Object(x), Type::Object(y))
            if x.attributes.len() == y.attributes.len() && x.attributes.keys().eq(y.attributes.keys()) =>
        {
            Some(Type::object(
                x.attributes
                    .into_iter()
                    .zip(y.attributes.into_values())
                    .map(|((k, x), y)| Some((k, unify(x, y)?)))
                    .collect::<Option<Vec<_>>>()?,
            ))
        }
        (x, y) => (x == y).then_some(x),
    }
}

impl PartialEq for Value {
    /// Structural; sets compare as unordered collections; any two unknowns
    /// are equal whatever their refinements; numbers compare numerically.
    fn eq(&self, other: &Value) -> bool {
        canonical_cmp(self, other) == Ordering::Equal
    }
}

/// A total order consistent with `PartialEq`, so sets can be sorted for
/// comparison, de-duplication and deterministic encoding.
pub(crate) fn canonical_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) | (Value::Unknown(_), Value::Unknown(_)) => Ordering::Equal,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => cmp_sequences(x.iter(), y.iter()),
        (Value::Set(x), Value::Set(y)) => cmp_sequences(set_members(x).into_iter(), set_members(y).into_iter()),
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => {
            let mut x = x.iter();
            let mut y = y.iter();
            loop {
                match (x.next(), y.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some((xk, xv)), Some((yk, yv))) => {
                        let o = xk.cmp(yk).then_with(|| canonical_cmp(xv, yv));
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                }
            }
        }
        (Value::Dynamic(x), Value::Dynamic(y)) => x.0.cmp(&y.0).then_with(|| canonical_cmp(&x.1, &y.1)),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Unknown(_) => 1,
        Value::Bool(_) => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::List(_) => 5,
        Value::Set(_) => 6,
        Value::Map(_) => 7,
        Value::Object(_) => 8,
        Value::Tuple(_) => 9,
        Value::Dynamic(_) => 10,
    }
}

fn cmp_sequences<'a>(mut x: impl Iterator<Item = &'a Value>, mut y: impl Iterator<Item = &'a Value>) -> Ordering {
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) => {
                let o = canonical_cmp(a, b);
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// The members of a set in canonical order, with duplicates removed. Like
/// go-cty, elements containing unknowns are never duplicates of each other:
/// two unknowns may turn out to be different values.
pub(crate) fn set_members(items: &[Value]) -> Vec<&Value> {
    let mut sorted: Vec<&Value> = items.iter().collect();
    sorted.sort_by(|a, b| canonical_cmp(a, b));
    sorted.dedup_by(|later, earlier| canonical_cmp(later, earlier) == Ordering::Equal && later.is_wholly_known());
    sorted
}

/// Drops duplicate set elements (see [`set_members`]) but keeps the first
/// occurrences in their original order, so decoding preserves wire order.
pub(crate) fn dedup_set(items: Vec<Value>) -> Vec<Value> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| canonical_cmp(&items[a], &items[b]));
    let mut keep = vec![true; items.len()];
    let mut previous: Option<usize> = None;
    for &i in &order {
        if let Some(p) = previous {
            if canonical_cmp(&items[p], &items[i]) == Ordering::Equal && items[i].is_wholly_known() {
                // Stable sort: `p` precedes `i` in the input, so the first
                // occurrence survives.
                keep[i] = false;
                continue;
            }
        }
        previous = Some(i);
    }
    items.into_iter().zip(keep).filter_map(|(v, k)| k.then_some(v)).collect()
}

/// A short name for the kind of a value, for error messages.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(_) => "a dynamic value",
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::from(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Value {
        Value::Number(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    fn obj(entries: &[(&str, Value)]) -> Value {
        Value::Object(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn equality_rules() {
        let cases: Vec<(Value, Value, bool)> = vec![
            (Value::Null, Value::Null, true),
            (Value::Null, Value::from(""), false),
            (Value::from(""), Value::List(vec![]), false),
            (Value::List(vec![]), Value::Set(vec![]), false),
            (num("1.0"), num("1"), true),
            (num("1e29"), num("100000000000000000000000000000"), true),
            (num("0.1"), num("0.10000001"), false),
            (Value::unknown(), Value::Unknown(Refinements { not_null: Some(true), ..Default::default() }), true),
            (Value::unknown(), Value::Null, false),
            (
                Value::Set(vec!["a".into(), "b".into(), "c".into()]),
                Value::Set(vec!["c".into(), "a".into(), "b".into()]),
                true,
            ),
            (Value::Set(vec!["a".into(), "a".into()]), Value::Set(vec!["a".into()]), true),
            (Value::Set(vec!["a".into()]), Value::Set(vec!["a".into(), "b".into()]), false),
            (Value::List(vec!["a".into(), "b".into()]), Value::List(vec!["b".into(), "a".into()]), false),
            (
                Value::Set(vec![obj(&[("x", num("2"))]), obj(&[("x", num("1"))])]),
                Value::Set(vec![obj(&[("x", num("1.0"))]), obj(&[("x", num("2"))])]),
                true,
            ),
            (obj(&[("a", Value::Null)]), obj(&[]), false),
            (Value::dynamic(Type::String, "x".into()), Value::dynamic(Type::String, "x".into()), true),
            (Value::dynamic(Type::String, "x".into()), Value::from("x"), false),
            (
                Value::Set(vec![Value::Set(vec![num("1"), num("2")]), Value::Set(vec![])]),
                Value::Set(vec![Value::Set(vec![]), Value::Set(vec![num("2"), num("1")])]),
                true,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(a == b, want, "{a:?} == {b:?}");
            assert_eq!(b == a, want, "{b:?} == {a:?}");
        }
    }

    #[test]
    fn knownness() {
        let v = obj(&[("a", Value::List(vec![Value::from(1), Value::unknown()]))]);
        assert!(v.is_known());
        assert!(!v.is_wholly_known());
        assert!(!Value::unknown().is_known());
        assert!(!Value::dynamic(Type::String, Value::unknown()).is_known());
        assert!(Value::dynamic(Type::String, Value::Null).is_null());
        assert!(obj(&[("a", Value::Null)]).is_wholly_known());
    }

    #[test]
    fn accessors() {
        let v = obj(&[("name", "n".into()), ("on", true.into()), ("count", Value::from(3))]);
        assert_eq!(v.get("name").and_then(Value::as_str), Some("n"));
        assert_eq!(v.get("on").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("count").and_then(Value::as_number).and_then(Number::to_i64), Some(3));
        assert_eq!(v.get("missing"), None);
        assert_eq!(Value::from("x").get("a"), None);
        let d = Value::dynamic(Type::String, "s".into());
        assert_eq!(d.as_str(), Some("s"));
    }

    #[test]
    fn set_dedup_keeps_first_and_unknowns() {
        let items = vec!["b".into(), "a".into(), "b".into(), Value::unknown(), Value::unknown(), "a".into()];
        let got = dedup_set(items);
        assert!(
            matches!(got.as_slice(), [Value::String(b), Value::String(a), Value::Unknown(_), Value::Unknown(_)] if b == "b" && a == "a")
        );
    }

    #[test]
    fn implied_types() {
        let v = obj(&[
            ("s", "x".into()),
            ("l", Value::List(vec![obj(&[("a", Value::Null)]), obj(&[("a", Value::from(1))])])),
            ("e", Value::List(vec![])),
        ]);
        let want = Type::object([
            ("s".to_owned(), Type::String),
            ("l".to_owned(), Type::list(Type::object([("a".to_owned(), Type::Number)]))),
            ("e".to_owned(), Type::list(Type::Dynamic)),
        ]);
        assert_eq!(v.implied_type(), Some(want));
        assert_eq!(Value::List(vec!["x".into(), Value::from(1)]).implied_type(), None);
    }
}
