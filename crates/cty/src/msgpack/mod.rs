//! cty's MessagePack encoding: the `DynamicValue.msgpack` of the plugin
//! protocol.
//!
//! Wire rules, as go-cty implements them:
//! - null is `nil`; an unknown is extension 0 (`d4 00 00`), or extension 12
//!   whose payload is a map of refinements keyed by small integers;
//! - numbers are an int when integral and within int64, a float64 when the
//!   float is exactly the number, otherwise the decimal string;
//! - objects and maps are maps keyed by name, sequences are arrays;
//! - a value in a dynamic position is `[type JSON (bin), value]`, except a
//!   dynamically-typed null or unknown, which is written bare.

mod wire;

use std::collections::BTreeMap;

use wire::{Reader, Token, Writer};

use crate::json::{check_no_extra_attributes, implied_type_for_dynamic};
use crate::path::index_step;
use crate::value::{dedup_set, kind_name, set_members};
use crate::{Error, Number, ObjectType, Path, PathStep, Refinements, Type, Value};

/// Extension type of an unknown with refinements (go-cty's
/// `unknownWithRefinementsExt`).
const EXT_REFINED_UNKNOWN: i8 = 12;

/// Refinement map keys.
const KEY_NULLNESS: i64 = 1;
const KEY_STRING_PREFIX: i64 = 2;
const KEY_NUMBER_MIN: i64 = 3;
const KEY_NUMBER_MAX: i64 = 4;
const KEY_LENGTH_MIN: i64 = 5;
const KEY_LENGTH_MAX: i64 = 6;

/// go-cty refuses refinement payloads larger than this.
const MAX_REFINEMENTS_LEN: usize = 1024;

/// go-cty truncates string prefixes longer than this when encoding, to keep
/// the payload under [`MAX_REFINEMENTS_LEN`].
const MAX_PREFIX_LEN: usize = 256;

/// Nesting limit, so hostile input (dynamic values can nest without bound)
/// cannot overflow the stack.
const MAX_DEPTH: usize = 256;

/// Decodes msgpack bytes as a value of type `ty`.
///
/// Accepts every encoding go-cty accepts (any int/uint/float width or a
/// decimal string for numbers, str or bin for strings, any extension
/// payload of length ≤ 1 as a plain unknown). Objects must carry exactly
/// their type's attributes, as go-cty requires. Trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, Error> {
    let mut reader = Reader::new(bytes);
    let mut path = Path::root();
    let value = decode_value(&mut reader, ty, &mut path, 0)?;
    if reader.remaining() != 0 {
        return Err(Error::at_root(format!("{} unexpected bytes after the msgpack value", reader.remaining())));
    }
    Ok(value)
}

/// Encodes a value of type `ty` as msgpack.
///
/// Lenient where no information is lost: a missing object attribute is
/// written as null, list/set/tuple values are interchangeable as are
/// map/object values, a `Value::Dynamic` outside a dynamic position is
/// unwrapped, and a value without a `Dynamic` wrapper in a dynamic position
/// gets its implied type. Sets are written in a canonical order without
/// duplicates, so equal values encode identically.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, Error> {
    let mut w = Writer::default();
    encode_value(&mut w, v, ty, &mut Path::root())?;
    Ok(w.buf)
}

fn wire_error(path: &Path, e: &str) -> Error {
    Error::at(path, e)
}

fn decode_value(r: &mut Reader<'_>, ty: &Type, path: &mut Path, depth: usize) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::at(path, format!("value nested deeper than {MAX_DEPTH} levels")));
    }
    let token = r.next().map_err(|e| wire_error(path, e))?;
    if let Token::Ext(code, payload) = token {
        // The only extensions cty has are unknowns.
        return decode_unknown(code, payload, ty, path);
    }
    match ty {
        Type::Dynamic => decode_dynamic(r, token, path, depth),
        _ if token == Token::Nil => Ok(Value::Null),
        Type::Bool => match token {
            Token::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(Error::at(path, "a bool is required")),
        },
        Type::Number => decode_number(token, path).map(Value::Number),
        Type::String => match token {
            Token::Str(b) | Token::Bin(b) => Ok(Value::String(utf8(b, path)?)),
            _ => Err(Error::at(path, "a string is required")),
        },
        Type::List(element) => Ok(Value::List(decode_elements(r, token, element, path, depth, "a list")?)),
        Type::Set(element) => Ok(Value::Set(dedup_set(decode_elements(r, token, element, path, depth, "a set")?))),
        Type::Tuple(types) => {
            let Token::Array(len) = token else {
                return Err(Error::at(path, "a tuple is required"));
            };
            if len as usize != types.len() {
                return Err(Error::at(path, format!("a tuple of {} elements is required ({len} given)", types.len())));
            }
            let mut out = Vec::with_capacity(types.len());
            for (i, t) in types.iter().enumerate() {
                let decoded = path.within(index_step(i), |path| decode_value(r, t, path, depth + 1));
                out.push(decoded?);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(element) => {
            let Token::Map(len) = token else {
                return Err(Error::at(path, "a map is required"));
            };
            let mut out = BTreeMap::new();
            for _ in 0..len {
                let key = decode_key(r, path, "map keys must be strings")?;
                let decoded = path
                    .within(PathStep::ElementKeyString(key.clone()), |path| decode_value(r, element, path, depth + 1));
                out.insert(key, decoded?);
            }
            Ok(Value::Map(out))
        }
        Type::Object(object) => decode_object(r, token, object, path, depth),
    }
}

fn utf8(bytes: &[u8], path: &Path) -> Result<String, Error> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::at(path, "string is not valid UTF-8"))
}

fn decode_key(r: &mut Reader<'_>, path: &Path, message: &str) -> Result<String, Error> {
    match r.next().map_err(|e| wire_error(path, e))? {
        Token::Str(b) | Token::Bin(b) => utf8(b, path),
        _ => Err(Error::at(path, message)),
    }
}

fn decode_number(token: Token<'_>, path: &Path) -> Result<Number, Error> {
    let from_float =
        |f: f64| Number::from_f64(f).ok_or_else(|| Error::at(path, "infinite and NaN numbers are not supported"));
    match token {
        Token::Int(i) => Ok(Number::from(i)),
        Token::Uint(u) => Ok(Number::from(u)),
        Token::F32(f) => from_float(f64::from(f)),
        Token::F64(f) => from_float(f),
        Token::Str(b) | Token::Bin(b) => {
            let text = std::str::from_utf8(b).map_err(|_| Error::at(path, "a number is required"))?;
            text.parse().map_err(|e: Error| Error::at(path, e.message))
        }
        _ => Err(Error::at(path, "a number is required")),
    }
}

fn decode_elements(
    r: &mut Reader<'_>,
    token: Token<'_>,
    element: &Type,
    path: &mut Path,
    depth: usize,
    what: &str,
) -> Result<Vec<Value>, Error> {
    let Token::Array(len) = token else {
        return Err(Error::at(path, format!("{what} is required")));
    };
    // Every element takes at least one byte, so this bounds the allocation
    // by the input size whatever the header claims.
    let mut out = Vec::with_capacity((len as usize).min(r.remaining()));
    for i in 0..len as usize {
        let decoded = path.within(index_step(i), |path| decode_value(r, element, path, depth + 1));
        out.push(decoded?);
    }
    Ok(out)
}

fn decode_object(
    r: &mut Reader<'_>,
    token: Token<'_>,
    object: &ObjectType,
    path: &mut Path,
    depth: usize,
) -> Result<Value, Error> {
    let Token::Map(len) = token else {
        return Err(Error::at(path, "an object is required"));
    };
    let mut out = BTreeMap::new();
    for _ in 0..len {
        let key = decode_key(r, path, "object attribute names must be strings")?;
        let decoded = path.within(PathStep::Attribute(key.clone()), |path| match object.attributes.get(&key) {
            Some(t) => decode_value(r, t, path, depth + 1),
            None => Err(Error::at(path, "unsupported attribute")),
        });
        if out.insert(key.clone(), decoded?).is_some() {
            return Err(Error::at(path, format!("duplicate attribute {key:?}")));
        }
    }
    if let Some(missing) = object.attributes.keys().find(|k| !out.contains_key(*k)) {
        return Err(Error::at(
            path,
            format!(
                "an object with {} attributes is required ({len} given; missing {missing:?})",
                object.attributes.len()
            ),
        ));
    }
    Ok(Value::Object(out))
}

fn decode_dynamic(r: &mut Reader<'_>, token: Token<'_>, path: &mut Path, depth: usize) -> Result<Value, Error> {
    match token {
        Token::Nil => Ok(Value::Null),
        Token::Array(2) => {
            let type_json = match r.next().map_err(|e| wire_error(path, e))? {
                Token::Bin(b) | Token::Str(b) => b,
                _ => return Err(Error::at(path, "the type of a dynamic value must be JSON bytes")),
            };
            let ty = Type::from_json_bytes(type_json).map_err(|e| Error::at(path, e.message))?;
            let inner = decode_value(r, &ty, path, depth + 1)?;
            if ty == Type::Dynamic {
                // Already self-describing; a wrapper would add nothing.
                return Ok(inner);
            }
            Ok(Value::dynamic(ty, inner))
        }
        Token::Array(_) => Err(Error::at(path, "dynamic value array must have exactly two elements")),
        _ => Err(Error::at(path, "a dynamic value ([type, value] array) is required")),
    }
}

fn decode_unknown(code: i8, payload: &[u8], ty: &Type, path: &Path) -> Result<Value, Error> {
    // An empty or one-byte payload is a plain unknown whatever the type code
    // (go-cty itself writes `d4 00 00`).
    if payload.len() <= 1 {
        return Ok(Value::unknown());
    }
    if code != EXT_REFINED_UNKNOWN {
        return Err(Error::at(
            path,
            format!("unsupported msgpack extension type {code} with length {}", payload.len()),
        ));
    }
    if payload.len() > MAX_REFINEMENTS_LEN {
        return Err(Error::at(path, "oversize unknown value refinement"));
    }
    let bad = |what: &str| Error::at(path, format!("invalid unknown value refinements: {what}"));
    let mut r = Reader::new(payload);
    let Ok(Token::Map(entries)) = r.next() else {
        return Err(bad("not a map"));
    };
    if *ty == Type::Dynamic {
        // go-cty ignores refinements of dynamically-typed unknowns, keeping
        // room to define them later.
        return Ok(Value::unknown());
    }
    let mut refinements = Refinements::default();
    for _ in 0..entries {
        let key = match r.next() {
            Ok(Token::Int(i)) => i,
            Ok(Token::Uint(u)) => i64::try_from(u).unwrap_or(i64::MAX),
            _ => return Err(bad("non-integer key")),
        };
        match key {
            KEY_NULLNESS => match r.next() {
                Ok(Token::Bool(is_null)) => refinements.not_null = Some(!is_null),
                _ => return Err(bad("nullness is not a bool")),
            },
            KEY_STRING_PREFIX => {
                if *ty != Type::String {
                    return Err(bad("string prefix for a non-string type"));
                }
                match r.next() {
                    Ok(Token::Str(b)) | Ok(Token::Bin(b)) => {
                        let prefix = std::str::from_utf8(b).map_err(|_| bad("string prefix is not valid UTF-8"))?;
                        refinements.string_prefix = Some(prefix.to_owned());
                    }
                    _ => return Err(bad("string prefix is not a string")),
                }
            }
            KEY_NUMBER_MIN | KEY_NUMBER_MAX => {
                if *ty != Type::Number {
                    return Err(bad("numeric bound for a non-number type"));
                }
                let bound =
                    decode_number_bound(&mut r).ok_or_else(|| bad("numeric bound is not a [number, bool] array"))?;
                if key == KEY_NUMBER_MIN {
                    refinements.number_lower = Some(bound);
                } else {
                    refinements.number_upper = Some(bound);
                }
            }
            KEY_LENGTH_MIN | KEY_LENGTH_MAX => {
                if !ty.is_collection() {
                    return Err(bad("length bound for a non-collection type"));
                }
                let bound = match r.next() {
                    Ok(Token::Int(i)) => u64::try_from(i).ok(),
                    Ok(Token::Uint(u)) => Some(u),
                    _ => None,
                }
                .ok_or_else(|| bad("length bound is not a non-negative integer"))?;
                if key == KEY_LENGTH_MIN {
                    refinements.length_lower = Some(bound);
                } else {
                    refinements.length_upper = Some(bound);
                }
            }
            // Unknown keys are reserved for future refinements: skip them.
            _ => r.skip().map_err(bad)?,
        }
    }
    // Trailing payload bytes are ignored, as go-cty reserves them.
    Ok(Value::Unknown(refinements))
}

/// A `[number, bool]` bound, with the number in any wire form.
fn decode_number_bound(r: &mut Reader<'_>) -> Option<(Number, bool)> {
    if r.next().ok()? != Token::Array(2) {
        return None;
    }
    let number = decode_number(r.next().ok()?, &Path::root()).ok()?;
    match r.next().ok()? {
        Token::Bool(inclusive) => Some((number, inclusive)),
        _ => None,
    }
}

fn len32(len: usize, path: &Path) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::at(path, "too large for msgpack (more than 2^32 elements or bytes)"))
}

fn mismatch(ty: &Type, v: &Value, path: &Path) -> Error {
    Error::at(path, format!("a value of type {ty} is required, but this is {}", kind_name(v)))
}

fn encode_value(w: &mut Writer, v: &Value, ty: &Type, path: &mut Path) -> Result<(), Error> {
    if *ty == Type::Dynamic {
        return encode_dynamic(w, v, path);
    }
    match (ty, v) {
        (_, Value::Dynamic(d)) => encode_value(w, &d.1, ty, path),
        (_, Value::Unknown(refinements)) => encode_unknown(w, refinements, ty, path),
        (_, Value::Null) => {
            w.nil();
            Ok(())
        }
        (Type::Bool, Value::Bool(b)) => {
            w.bool(*b);
            Ok(())
        }
        (Type::Number, Value::Number(n)) => encode_number(w, n, path),
        (Type::String, Value::String(s)) => {
            len32(s.len(), path)?;
            w.str(s);
            Ok(())
        }
        (Type::List(element), Value::List(items) | Value::Tuple(items) | Value::Set(items)) => {
            encode_sequence(w, items.iter().collect(), |_| element, path)
        }
        (Type::Set(element), Value::Set(items) | Value::List(items) | Value::Tuple(items)) => {
            encode_sequence(w, set_members(items), |_| element, path)
        }
        (Type::Tuple(types), Value::Tuple(items) | Value::List(items) | Value::Set(items)) => {
            if items.len() != types.len() {
                return Err(Error::at(
                    path,
                    format!("a tuple of {} elements is required ({} given)", types.len(), items.len()),
                ));
            }
            encode_sequence(w, items.iter().collect(), |i| &types[i], path)
        }
        (Type::Map(element), Value::Map(entries) | Value::Object(entries)) => {
            w.map_len(len32(entries.len(), path)?);
            for (k, item) in entries {
                let result = path.within(PathStep::ElementKeyString(k.clone()), |path| {
                    len32(k.len(), path)?;
                    w.str(k);
                    encode_value(w, item, element, path)
                });
                result?;
            }
            Ok(())
        }
        (Type::Object(object), Value::Object(entries) | Value::Map(entries)) => {
            check_no_extra_attributes(entries, object, path)?;
            w.map_len(len32(object.attributes.len(), path)?);
            for (name, t) in &object.attributes {
                let result = path.within(PathStep::Attribute(name.clone()), |path| {
                    len32(name.len(), path)?;
                    w.str(name);
                    match entries.get(name) {
                        Some(item) => encode_value(w, item, t, path),
                        None => {
                            w.nil();
                            Ok(())
                        }
                    }
                });
                result?;
            }
            Ok(())
        }
        _ => Err(mismatch(ty, v, path)),
    }
}

fn encode_sequence<'t>(
    w: &mut Writer,
    items: Vec<&Value>,
    type_at: impl Fn(usize) -> &'t Type,
    path: &mut Path,
) -> Result<(), Error> {
    w.array_len(len32(items.len(), path)?);
    for (i, item) in items.into_iter().enumerate() {
        let result = path.within(index_step(i), |path| encode_value(w, item, type_at(i), path));
        result?;
    }
    Ok(())
}

fn encode_number(w: &mut Writer, n: &Number, path: &Path) -> Result<(), Error> {
    if let Some(i) = n.to_i64() {
        w.int(i);
    } else if let Some(f) = n.to_f64_exact().filter(|_| !n.is_integer()) {
        w.f64(f);
    } else {
        let text = n.to_string();
        len32(text.len(), path)?;
        w.str(&text);
    }
    Ok(())
}

fn encode_dynamic(w: &mut Writer, v: &Value, path: &mut Path) -> Result<(), Error> {
    let (ty, inner) = match v {
        Value::Null => {
            w.nil();
            return Ok(());
        }
        // go-cty never refines dynamically-typed unknowns.
        Value::Unknown(_) => {
            w.raw(&UNKNOWN);
            return Ok(());
        }
        Value::Dynamic(d) if d.0 == Type::Dynamic => return encode_dynamic(w, &d.1, path),
        Value::Dynamic(d) => (d.0.clone(), &d.1),
        other => (implied_type_for_dynamic(other, path)?, other),
    };
    w.array_len(2);
    w.bin(&ty.to_json_bytes());
    encode_value(w, inner, &ty, path)
}

/// go-cty's plain unknown: fixext1, type 0, one zero byte of payload.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Writes an unknown with the refinements that apply to `ty` (go-cty can
/// carry no others); with none, the compact plain form.
fn encode_unknown(w: &mut Writer, refinements: &Refinements, ty: &Type, path: &Path) -> Result<(), Error> {
    check_consistent(refinements, path)?;
    let mut body = Writer::default();
    let mut entries = 0u32;
    if let Some(not_null) = refinements.not_null {
        entries += 1;
        body.int(KEY_NULLNESS);
        body.bool(!not_null);
    }
    // A definitely-null unknown has nothing more to say, and go-cty's
    // refinement builder rejects further refinements of it.
    let applicable = if refinements.not_null == Some(false) { &Type::Dynamic } else { ty };
    match applicable {
        Type::String => {
            if let Some(prefix) = refinements.string_prefix.as_deref().filter(|p| !p.is_empty()) {
                entries += 1;
                body.int(KEY_STRING_PREFIX);
                body.str(truncate_prefix(prefix));
            }
        }
        Type::Number => {
            for (key, bound) in
                [(KEY_NUMBER_MIN, &refinements.number_lower), (KEY_NUMBER_MAX, &refinements.number_upper)]
            {
                if let Some((n, inclusive)) = bound {
                    entries += 1;
                    body.int(key);
                    body.array_len(2);
                    encode_number(&mut body, n, path)?;
                    body.bool(*inclusive);
                }
            }
        }
        t if t.is_collection() => {
            for (key, bound) in [(KEY_LENGTH_MIN, refinements.length_lower), (KEY_LENGTH_MAX, refinements.length_upper)]
            {
                if let Some(n) = bound {
                    entries += 1;
                    body.int(key);
                    // go-cty reads this into a signed int.
                    body.uint(n.min(i64::MAX as u64));
                }
            }
        }
        _ => {}
    }
    if entries == 0 {
        w.raw(&UNKNOWN);
        return Ok(());
    }
    let mut payload = Writer::default();
    payload.map_len(entries);
    payload.raw(&body.buf);
    let len = len32(payload.buf.len(), path)?;
    if payload.buf.len() > MAX_REFINEMENTS_LEN {
        // Only huge number bounds can get here; readers would reject it.
        return Err(Error::at(path, "unknown value refinements too large to encode"));
    }
    w.ext_header(EXT_REFINED_UNKNOWN, len);
    w.raw(&payload.buf);
    Ok(())
}

/// go-cty panics when it decodes bounds that contradict each other, so such
/// refinements must never reach Terraform.
fn check_consistent(refinements: &Refinements, path: &Path) -> Result<(), Error> {
    if let (Some((lower, _)), Some((upper, _))) = (&refinements.number_lower, &refinements.number_upper) {
        if lower > upper {
            return Err(Error::at(
                path,
                format!("inconsistent refinements: number lower bound {lower} exceeds upper bound {upper}"),
            ));
        }
    }
    if let (Some(lower), Some(upper)) = (refinements.length_lower, refinements.length_upper) {
        if lower > upper {
            return Err(Error::at(
                path,
                format!("inconsistent refinements: length lower bound {lower} exceeds upper bound {upper}"),
            ));
        }
    }
    Ok(())
}

/// Shortens a prefix the way go-cty does (to under 256 bytes), cutting at a
/// character boundary so it stays valid UTF-8 and remains a true prefix.
fn truncate_prefix(prefix: &str) -> &str {
    if prefix.len() <= MAX_PREFIX_LEN {
        return prefix;
    }
    let mut end = MAX_PREFIX_LEN - 1;
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    &prefix[..end]
}

#[cfg(test)]
mod tests;
