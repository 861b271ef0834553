//! Codec tests against byte sequences built by hand from the msgpack spec
//! and go-cty's encoder rules, so an encoder change cannot pass by
//! agreeing with its own decoder.

use std::collections::BTreeMap;

use super::{decode, encode};
use crate::{Number, Path, PathStep, Refinements, Type, Value};

fn num(s: &str) -> Value {
    Value::Number(s.parse::<Number>().unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn attrs(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn obj(entries: &[(&str, Value)]) -> Value {
    Value::Object(attrs(entries))
}

fn obj_type(entries: &[(&str, Type)]) -> Type {
    Type::object(entries.iter().map(|(k, t)| ((*k).to_owned(), t.clone())))
}

/// msgpack str header + bytes for short strings.
fn mp_str(s: &str) -> Vec<u8> {
    let mut out = if s.len() < 32 { vec![0xa0 | s.len() as u8] } else { vec![0xd9, s.len() as u8] };
    out.extend_from_slice(s.as_bytes());
    out
}

/// A dynamic value: [bin8(type JSON), value].
fn mp_dynamic(type_json: &str, value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x92, 0xc4, type_json.len() as u8];
    out.extend_from_slice(type_json.as_bytes());
    out.extend_from_slice(value);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Checks both directions: `v` encodes to exactly `bytes`, and `bytes`
/// decodes to a value equal to `v` (refinements included).
fn assert_round_trip(ty: &Type, v: &Value, bytes: &[u8]) {
    let encoded = encode(v, ty).unwrap_or_else(|e| panic!("encode {v:?}: {e}"));
    assert_eq!(encoded, bytes, "encoding {v:?} as {ty}");
    let decoded = decode(bytes, ty).unwrap_or_else(|e| panic!("decode {bytes:02x?}: {e}"));
    assert_eq!(&decoded, v, "decoding {bytes:02x?} as {ty}");
    assert_same_refinements(&decoded, v);
}

fn assert_same_refinements(a: &Value, b: &Value) {
    match (a, b) {
        (Value::Unknown(x), Value::Unknown(y)) => assert_eq!(x, y),
        (Value::Dynamic(x), Value::Dynamic(y)) => assert_same_refinements(&x.1, &y.1),
        _ => {}
    }
}

#[test]
fn primitives_and_null_vs_empty() {
    let cases: Vec<(Type, Value, Vec<u8>)> = vec![
        (Type::String, Value::Null, vec![0xc0]),
        (Type::String, string(""), vec![0xa0]),
        (Type::String, string("hello"), b"\xa5hello".to_vec()),
        (Type::list(Type::String), Value::Null, vec![0xc0]),
        (Type::list(Type::String), Value::List(vec![]), vec![0x90]),
        (Type::map(Type::String), Value::Map(BTreeMap::new()), vec![0x80]),
        (Type::Bool, Value::Bool(true), vec![0xc3]),
        (Type::Bool, Value::Bool(false), vec![0xc2]),
        (Type::String, Value::unknown(), vec![0xd4, 0x00, 0x00]),
        (Type::list(Type::String), Value::unknown(), vec![0xd4, 0x00, 0x00]),
    ];
    for (ty, v, bytes) in cases {
        assert_round_trip(&ty, &v, &bytes);
    }
    // Null, empty string and empty list are all different values.
    assert_ne!(decode(&[0xc0], &Type::String).ok(), decode(&[0xa0], &Type::String).ok());
    assert_ne!(decode(&[0xc0], &Type::list(Type::String)).ok(), decode(&[0x90], &Type::list(Type::String)).ok());
}

#[test]
fn numbers() {
    let zeros29 = format!("1{}", "0".repeat(29));
    let huge_negative = format!("-123456789{}", "0".repeat(40));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("0", vec![0x00]),
        ("-7", vec![0xf9]),
        ("127", vec![0x7f]),
        ("300", vec![0xcd, 0x01, 0x2c]),
        ("-300", vec![0xd1, 0xfe, 0xd4]),
        ("1.5", vec![0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
        ("-0.375", vec![0xcb, 0xbf, 0xd8, 0, 0, 0, 0, 0, 0]),
        // Not exactly a binary float, so go-cty sends the decimal string.
        ("0.1", b"\xa30.1".to_vec()),
        ("-0.000001", b"\xa9-0.000001".to_vec()),
        // Integral beyond int64: string, never a float.
        // 30 characters: still a fixstr (0xa0 | 30).
        ("1e29", cat(&[&[0xbe], zeros29.as_bytes()])),
        (huge_negative.as_str(), mp_str(&huge_negative)),
        // int64 max is positive, so it uses the unsigned 64-bit form.
        ("9223372036854775807", vec![0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ("9223372036854775808", b"\xb39223372036854775808".to_vec()),
        ("-9223372036854775808", vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    ];
    for (text, bytes) in cases {
        assert_round_trip(&Type::Number, &num(text), &bytes);
    }
}

#[test]
fn numbers_decode_from_every_wire_form() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xcc, 0xff], "255"),
        (vec![0xd0, 0x80], "-128"),
        (vec![0xd2, 0xff, 0xff, 0xff, 0xff], "-1"),
        (vec![0xce, 0x00, 0x01, 0x00, 0x00], "65536"),
        (vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "18446744073709551615"),
        (vec![0xca, 0x3f, 0xc0, 0x00, 0x00], "1.5"),
        // float64 0.1 is read as its shortest decimal form.
        (vec![0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a], "0.1"),
        (b"\xa41e29".to_vec(), "1e29"),
        (b"\xc4\x031.5".to_vec(), "1.5"),
    ];
    for (bytes, want) in cases {
        assert_eq!(decode(&bytes, &Type::Number), Ok(num(want)), "{bytes:02x?}");
    }
    for bad in [
        b"\xa3abc".to_vec(),
        vec![0xc3],
        vec![0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], // +Inf
        vec![0xca, 0x7f, 0xc0, 0x00, 0x00],       // NaN
    ] {
        assert!(decode(&bad, &Type::Number).is_err(), "{bad:02x?}");
    }
}

#[test]
fn refined_unknowns() {
    let not_null_prefix = Value::Unknown(Refinements {
        not_null: Some(true),
        string_prefix: Some("ab".to_owned()),
        ..Default::default()
    });
    // ext8, len 7, type 12, {1: false, 2: "ab"}
    let prefix_bytes = vec![0xc7, 0x07, 0x0c, 0x82, 0x01, 0xc2, 0x02, 0xa2, b'a', b'b'];
    assert_round_trip(&Type::String, &not_null_prefix, &prefix_bytes);

    let bounded_number = Value::Unknown(Refinements {
        not_null: Some(true),
        number_lower: Some((Number::from(0i64), true)),
        number_upper: Some(("1e29".parse().unwrap_or_else(|_| Number::zero()), false)),
        ..Default::default()
    });
    let zeros29 = format!("1{}", "0".repeat(29));
    let payload = cat(&[&[0x83, 0x01, 0xc2, 0x03, 0x92, 0x00, 0xc3, 0x04, 0x92, 0xbe], zeros29.as_bytes(), &[0xc2]]);
    let number_bytes = cat(&[&[0xc7, payload.len() as u8, 0x0c], &payload]);
    assert_round_trip(&Type::Number, &bounded_number, &number_bytes);

    let list_lengths =
        Value::Unknown(Refinements { length_lower: Some(1), length_upper: Some(3), ..Default::default() });
    assert_round_trip(&Type::list(Type::String), &list_lengths, &[0xc7, 0x05, 0x0c, 0x82, 0x05, 0x01, 0x06, 0x03]);

    // A 4-byte payload takes the fixext4 form.
    let set_min = Value::Unknown(Refinements { length_lower: Some(255), ..Default::default() });
    assert_round_trip(&Type::set(Type::Number), &set_min, &[0xd6, 0x0c, 0x81, 0x05, 0xcc, 0xff]);

    // Contradictory bounds would crash go-cty's decoder: refused.
    let contradictory =
        Value::Unknown(Refinements { length_lower: Some(3), length_upper: Some(1), ..Default::default() });
    assert!(encode(&contradictory, &Type::list(Type::String)).is_err());

    // A definitely-null unknown carries only its nullness.
    let null_refined =
        Value::Unknown(Refinements { not_null: Some(false), string_prefix: Some("x".into()), ..Default::default() });
    assert_eq!(encode(&null_refined, &Type::String), Ok(vec![0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3]));

    // A long prefix is cut below 256 bytes on a character boundary.
    let long = Value::Unknown(Refinements { string_prefix: Some("é".repeat(200)), ..Default::default() });
    match encode(&long, &Type::String).and_then(|b| decode(&b, &Type::String)) {
        Ok(Value::Unknown(r)) => assert_eq!(r.string_prefix, Some("é".repeat(127))),
        other => panic!("{other:?}"),
    }

    // Refinements that cannot apply to the type are not written.
    let inapplicable = Value::Unknown(Refinements { string_prefix: Some("x".into()), ..Default::default() });
    assert_eq!(encode(&inapplicable, &Type::Number), Ok(vec![0xd4, 0, 0]));
}

#[test]
fn unknown_decoding_is_liberal_where_go_cty_is() {
    let plain = |bytes: &[u8], ty: &Type| match decode(bytes, ty) {
        Ok(Value::Unknown(r)) => r.is_empty(),
        _ => false,
    };
    assert!(plain(&[0xd4, 0x00, 0x00], &Type::String));
    assert!(plain(&[0xd4, 0x05, 0xff], &Type::String)); // any type code, one byte
    assert!(plain(&[0xc7, 0x00, 0x00], &Type::Number)); // empty payload
    assert!(plain(&[0xd4, 0x00, 0x00], &Type::Dynamic));
    // Refinements of a dynamically-typed unknown are ignored.
    assert!(plain(&[0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2], &Type::Dynamic));
    // Unknown refinement keys are skipped, later ones still read.
    let got = decode(&[0xc7, 0x06, 0x0c, 0x82, 0x07, 0x91, 0xc0, 0x01, 0xc2], &Type::String);
    assert!(matches!(got, Ok(Value::Unknown(ref r)) if r.not_null == Some(true)), "{got:?}");
    // Trailing payload bytes after the map are ignored.
    let got = decode(&[0xc7, 0x04, 0x0c, 0x81, 0x01, 0xc2, 0xff], &Type::Bool);
    assert!(matches!(got, Ok(Value::Unknown(ref r)) if r.not_null == Some(true)), "{got:?}");

    for (bytes, ty) in [
        (vec![0xd5, 0x03, 0x81, 0x01], Type::String), // other type code, 2 bytes
        (vec![0xc7, 0x02, 0x0c, 0x01, 0x02], Type::String), // payload not a map
        (vec![0xc7, 0x04, 0x0c, 0x81, 0x02, 0xa1, b'x'], Type::Number), // prefix on a number
        (vec![0xc7, 0x03, 0x0c, 0x81, 0x05, 0x01], Type::String), // length on a string
        (vec![0xc7, 0x03, 0x0c, 0x81, 0x05, 0xff], Type::list(Type::Bool)), // negative length
        (vec![0xc7, 0x03, 0x0c, 0x81, 0x03, 0x01], Type::Number), // bound not a tuple
    ] {
        assert!(decode(&bytes, &ty).is_err(), "{bytes:02x?} as {ty}");
    }
}

#[test]
fn collections() {
    let ab = Value::List(vec![string("a"), string("b")]);
    assert_round_trip(&Type::list(Type::String), &ab, &[0x92, 0xa1, b'a', 0xa1, b'b']);

    let set_ty = Type::set(Type::String);
    let set = Value::Set(vec![string("b"), string("a")]);
    // Written in canonical order.
    assert_eq!(encode(&set, &set_ty), Ok(vec![0x92, 0xa1, b'a', 0xa1, b'b']));
    // Read in any order, equal regardless of order.
    assert_eq!(decode(&[0x92, 0xa1, b'b', 0xa1, b'a'], &set_ty), Ok(set.clone()));
    // Exact duplicates collapse as in a go-cty set.
    match decode(&[0x93, 0xa1, b'a', 0xa1, b'b', 0xa1, b'a'], &set_ty) {
        Ok(Value::Set(items)) => assert_eq!(items, vec![string("a"), string("b")]),
        other => panic!("{other:?}"),
    }

    let map = Value::Map(attrs(&[("x", num("1")), ("y", num("2"))]));
    assert_round_trip(&Type::map(Type::Number), &map, &[0x82, 0xa1, b'x', 0x01, 0xa1, b'y', 0x02]);

    let tuple_ty = Type::Tuple(vec![Type::String, Type::Number]);
    assert_round_trip(&tuple_ty, &Value::Tuple(vec![string("a"), num("1")]), &[0x92, 0xa1, b'a', 0x01]);
    assert!(decode(&[0x91, 0xa1, b'a'], &tuple_ty).is_err());
}

#[test]
fn objects() {
    let ty = obj_type(&[("a", Type::String), ("b", Type::Number)]);
    let v = obj(&[("a", string("x")), ("b", num("1"))]);
    let bytes = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0x01];
    assert_round_trip(&ty, &v, &bytes);
    // Any key order is accepted.
    assert_eq!(decode(&[0x82, 0xa1, b'b', 0x01, 0xa1, b'a', 0xa1, b'x'], &ty), Ok(v.clone()));

    // Encoding fills attributes the value leaves out with null.
    assert_eq!(encode(&obj(&[("a", string("x"))]), &ty), Ok(vec![0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc0]));

    // Decoding requires every attribute (go-cty checks the count).
    let missing = decode(&[0x81, 0xa1, b'a', 0xa1, b'x'], &ty).err();
    assert!(matches!(&missing, Some(e) if e.path.is_root() && e.message.contains("\"b\"")), "{missing:?}");
    let extra = decode(&[0x83, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0x01, 0xa1, b'c', 0xc0], &ty).err();
    assert_eq!(extra.map(|e| e.path), Some(Path::root().attr("c")));
    assert!(encode(&obj(&[("a", string("x")), ("zzz", Value::Null)]), &ty).is_err());

    // Nested objects.
    let nested_ty = obj_type(&[("outer", obj_type(&[("inner", Type::String)]))]);
    let nested = obj(&[("outer", obj(&[("inner", string("v"))]))]);
    let nested_bytes = cat(&[&[0x81], &mp_str("outer"), &[0x81], &mp_str("inner"), &mp_str("v")]);
    assert_round_trip(&nested_ty, &nested, &nested_bytes);
    let null_inner = obj(&[("outer", Value::Null)]);
    assert_round_trip(&nested_ty, &null_inner, &cat(&[&[0x81], &mp_str("outer"), &[0xc0]]));
}

#[test]
fn nested_blocks() {
    let block = obj_type(&[("image", Type::String), ("port", Type::Number)]);
    let element = |image: &str, port: &str| obj(&[("image", string(image)), ("port", num(port))]);
    let element_bytes =
        |image: &str, port: u8| cat(&[&[0x82], &mp_str("image"), &mp_str(image), &mp_str("port"), &[port]]);

    let list_ty = Type::list(block.clone());
    let list = Value::List(vec![element("a", "80"), element("b", "81")]);
    assert_round_trip(&list_ty, &list, &cat(&[&[0x92], &element_bytes("a", 80), &element_bytes("b", 81)]));

    let set_ty = Type::set(block);
    let set = Value::Set(vec![element("b", "81"), element("a", "80")]);
    let set_bytes = cat(&[&[0x92], &element_bytes("a", 80), &element_bytes("b", 81)]);
    assert_eq!(encode(&set, &set_ty), Ok(set_bytes.clone()));
    let reversed = cat(&[&[0x92], &element_bytes("b", 81), &element_bytes("a", 80)]);
    assert_eq!(decode(&reversed, &set_ty), Ok(set));
    // Unknown elements are never merged.
    let two_unknowns = decode(&[0x92, 0xd4, 0, 0, 0xd4, 0, 0], &set_ty);
    assert!(matches!(two_unknowns, Ok(Value::Set(ref items)) if items.len() == 2), "{two_unknowns:?}");
}

#[test]
fn dynamic_values() {
    let string_ty = r#""string""#;
    let loc_ty = r#"["list",["object",{"image":"string","port":"number"}]]"#;
    let loc = Type::list(obj_type(&[("image", Type::String), ("port", Type::Number)]));
    assert_eq!(String::from_utf8(loc.to_json_bytes()).ok().as_deref(), Some(loc_ty));
    let loc_value = Value::List(vec![obj(&[("image", string("i")), ("port", num("80"))])]);

    let cases: Vec<(Value, Vec<u8>)> = vec![
        (Value::dynamic(Type::String, string("x")), mp_dynamic(string_ty, &[0xa1, b'x'])),
        (Value::dynamic(Type::Number, num("5")), mp_dynamic(r#""number""#, &[0x05])),
        (
            Value::dynamic(loc.clone(), loc_value.clone()),
            mp_dynamic(loc_ty, &cat(&[&[0x91, 0x82], &mp_str("image"), &mp_str("i"), &mp_str("port"), &[80]])),
        ),
        // Dynamically-typed null and unknown are bare.
        (Value::Null, vec![0xc0]),
        (Value::unknown(), vec![0xd4, 0x00, 0x00]),
        // Null and unknown of a concrete type keep the wrapper.
        (Value::dynamic(Type::String, Value::Null), mp_dynamic(string_ty, &[0xc0])),
        (Value::dynamic(Type::String, Value::unknown()), mp_dynamic(string_ty, &[0xd4, 0, 0])),
    ];
    for (v, bytes) in cases {
        assert_round_trip(&Type::Dynamic, &v, &bytes);
    }

    // The type may also arrive as str rather than bin.
    let as_str = cat(&[&[0x92, 0xa8], string_ty.as_bytes(), &[0xa1, b'x']]);
    assert_eq!(decode(&as_str, &Type::Dynamic), Ok(Value::dynamic(Type::String, string("x"))));

    // Unwrapped values in a dynamic position get their implied type.
    assert_eq!(encode(&string("x"), &Type::Dynamic), Ok(mp_dynamic(string_ty, &[0xa1, b'x'])));

    // A dynamic attribute inside an object.
    let ty = obj_type(&[("config", Type::Dynamic)]);
    let v = obj(&[("config", Value::dynamic(Type::Bool, Value::Bool(true)))]);
    assert_round_trip(&ty, &v, &cat(&[&[0x81], &mp_str("config"), &mp_dynamic(r#""bool""#, &[0xc3])]));

    for bad in [vec![0x91, 0xc0], vec![0xa1, b'x'], vec![0x92, 0xc4, 0x01, b'x', 0xc0]] {
        assert!(decode(&bad, &Type::Dynamic).is_err(), "{bad:02x?}");
    }
}

#[test]
fn errors_carry_the_path() {
    let ty = obj_type(&[("a", Type::list(obj_type(&[("b", Type::Number)])))]);
    let b = |v: &[u8]| cat(&[&[0x81], &mp_str("b"), v]);
    let want = Path::root().attr("a").index(2).attr("b");
    let bytes = cat(&[&[0x81], &mp_str("a"), &[0x93], &b(&[0x01]), &b(&[0x02]), &b(&[0xc3])]);
    let err = decode(&bytes, &ty).err();
    assert_eq!(err.as_ref().map(|e| &e.path), Some(&want));
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("at a[2].b: a number is required"));
    // A string is a legal number encoding, but this one does not parse.
    let bytes = cat(&[&[0x81], &mp_str("a"), &[0x93], &b(&[0x01]), &b(&[0x02]), &b(&mp_str("x"))]);
    let err = decode(&bytes, &ty).err();
    assert_eq!(err.as_ref().map(|e| &e.path), Some(&want));
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("at a[2].b: \"x\" is not a valid number"));

    let tags = obj_type(&[("tags", Type::map(Type::String))]);
    let bytes = cat(&[&[0x81], &mp_str("tags"), &[0x81], &mp_str("team"), &[0x07]]);
    let err = decode(&bytes, &tags).err();
    assert_eq!(
        err.map(|e| e.path.0),
        Some(vec![PathStep::Attribute("tags".into()), PathStep::ElementKeyString("team".into())])
    );

    // Encoding errors too.
    let v = obj(&[("a", Value::List(vec![obj(&[("b", string("x"))])]))]);
    assert_eq!(encode(&v, &ty).err().map(|e| e.path), Some(Path::root().attr("a").index(0).attr("b")));
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let ty = obj_type(&[("a", Type::list(Type::String))]);
    let good = cat(&[&[0x81], &mp_str("a"), &[0x91], &mp_str("x")]);
    for cut in 0..good.len() {
        assert!(decode(&good[..cut], &ty).is_err(), "truncated at {cut}");
    }
    assert!(decode(&cat(&[&good, &[0xc0]]), &ty).is_err(), "trailing bytes");
    assert!(decode(&[0xa2, 0xff, 0xfe], &Type::String).is_err(), "invalid UTF-8");
    // A header claiming four billion elements must not allocate for them.
    assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0], &Type::list(Type::String)).is_err());
    // Deep nesting is refused rather than overflowing the stack.
    let mut deep = Type::String;
    for _ in 0..400 {
        deep = Type::list(deep);
    }
    let bytes = vec![0x91; 400];
    assert!(decode(&bytes, &deep).is_err());
}
