//! cty JSON and plain-JSON tests, with expected texts written out by hand.

use std::collections::BTreeMap;

use super::{decode, encode};
use crate::{Number, Path, Refinements, Type, Value};

fn num(s: &str) -> Value {
    Value::Number(s.parse::<Number>().unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn obj(entries: &[(&str, Value)]) -> Value {
    Value::Object(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn obj_type(entries: &[(&str, Type)]) -> Type {
    Type::object(entries.iter().map(|(k, t)| ((*k).to_owned(), t.clone())))
}

fn encoded(v: &Value, ty: &Type) -> String {
    let bytes = encode(v, ty).unwrap_or_else(|e| panic!("encode {v:?}: {e}"));
    String::from_utf8(bytes).unwrap_or_default()
}

fn assert_round_trip(ty: &Type, v: &Value, json: &str) {
    assert_eq!(encoded(v, ty), json, "encoding {v:?}");
    assert_eq!(decode(json.as_bytes(), ty).as_ref(), Ok(v), "decoding {json}");
}

#[test]
fn primitives_and_null_vs_empty() {
    let cases: Vec<(Type, Value, &str)> = vec![
        (Type::String, Value::Null, "null"),
        (Type::String, string(""), r#""""#),
        (Type::String, string("a\"b"), r#""a\"b""#),
        (Type::list(Type::String), Value::Null, "null"),
        (Type::list(Type::String), Value::List(vec![]), "[]"),
        (Type::Bool, Value::Bool(true), "true"),
        (Type::Number, num("0"), "0"),
        (Type::Number, num("-7"), "-7"),
        (Type::Number, num("1.5"), "1.5"),
        (Type::Number, num("0.1"), "0.1"),
        (Type::Number, num("1e29"), "100000000000000000000000000000"),
        (Type::Number, num("-123456789e40"), "-1234567890000000000000000000000000000000000000000"),
        (Type::Number, num("9223372036854775807"), "9223372036854775807"),
        (Type::Number, num("9223372036854775808"), "9223372036854775808"),
        (Type::Number, num("0.000000000000000000000000001"), "0.000000000000000000000000001"),
    ];
    for (ty, v, json) in cases {
        assert_round_trip(&ty, &v, json);
    }
}

#[test]
fn numbers_parse_exactly() {
    let cases = [
        ("1e29", "1e29"),
        ("1.50", "1.5"),
        ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
        ("0.30000000000000000000001", "0.30000000000000000000001"),
        (r#""12""#, "12"),
        (r#""-1.25e2""#, "-125"),
    ];
    for (json, want) in cases {
        assert_eq!(decode(json.as_bytes(), &Type::Number), Ok(num(want)), "{json}");
    }
    for bad in [r#""abc""#, "true", "[1]", r#""1e99999""#] {
        assert!(decode(bad.as_bytes(), &Type::Number).is_err(), "{bad}");
    }
}

#[test]
fn primitive_conversions_match_go_cty() {
    assert_eq!(decode(br#""true""#, &Type::Bool), Ok(Value::Bool(true)));
    assert_eq!(decode(br#""0""#, &Type::Bool), Ok(Value::Bool(false)));
    assert!(decode(br#""yes""#, &Type::Bool).is_err());
    assert_eq!(decode(b"1.50", &Type::String), Ok(string("1.50")));
    assert_eq!(decode(b"false", &Type::String), Ok(string("false")));
    assert!(decode(b"{}", &Type::String).is_err());
}

#[test]
fn unknown_is_an_error_with_its_path() {
    let ty = obj_type(&[("a", Type::list(Type::String))]);
    let v = obj(&[("a", Value::List(vec![string("x"), Value::unknown()]))]);
    let err = encode(&v, &ty).err();
    assert_eq!(err.as_ref().map(|e| e.path.clone()), Some(Path::root().attr("a").index(1)));
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("at a[1]: value is not known"));
    let refined = Value::Unknown(Refinements { not_null: Some(true), ..Default::default() });
    assert!(encode(&refined, &Type::String).is_err());
    assert!(encode(&Value::unknown(), &Type::Dynamic).is_err());
}

#[test]
fn collections_and_objects() {
    let set_ty = Type::set(Type::String);
    assert_round_trip(&set_ty, &Value::Set(vec![string("a"), string("b")]), r#"["a","b"]"#);
    assert_eq!(encoded(&Value::Set(vec![string("b"), string("a")]), &set_ty), r#"["a","b"]"#);
    assert_eq!(decode(br#"["b","a","b"]"#, &set_ty), Ok(Value::Set(vec![string("a"), string("b")])));
    assert!(matches!(decode(br#"["b","a","b"]"#, &set_ty), Ok(Value::Set(ref xs)) if xs.len() == 2));

    let map_ty = Type::map(Type::Number);
    let map = Value::Map(BTreeMap::from([("x".to_owned(), num("1")), ("y".to_owned(), num("2.5"))]));
    assert_round_trip(&map_ty, &map, r#"{"x":1,"y":2.5}"#);

    let tuple_ty = Type::Tuple(vec![Type::String, Type::Bool]);
    assert_round_trip(&tuple_ty, &Value::Tuple(vec![string("a"), Value::Bool(false)]), r#"["a",false]"#);
    assert!(decode(br#"["a"]"#, &tuple_ty).is_err());
    assert!(decode(br#"["a",true,1]"#, &tuple_ty).is_err());

    let ty = obj_type(&[
        ("a", Type::String),
        ("b", Type::Number),
        ("c", Type::list(Type::String)),
        ("nested", obj_type(&[("inner", Type::Bool)])),
    ]);
    let v = obj(&[
        ("a", string("x")),
        ("b", num("1")),
        ("c", Value::Null),
        ("nested", obj(&[("inner", Value::Bool(true))])),
    ]);
    assert_round_trip(&ty, &v, r#"{"a":"x","b":1,"c":null,"nested":{"inner":true}}"#);

    // State written before attributes existed: missing ones decode as null.
    let old_state = br#"{"a":"x","b":1}"#;
    let expected = obj(&[("a", string("x")), ("b", num("1")), ("c", Value::Null), ("nested", Value::Null)]);
    assert_eq!(decode(old_state, &ty), Ok(expected));
    // Attributes the type does not know are an error at the object.
    let err = decode(br#"{"nested":{"inner":true,"gone":1}}"#, &ty).err();
    assert_eq!(err.as_ref().map(|e| e.path.clone()), Some(Path::root().attr("nested")));
    assert_eq!(err.map(|e| e.message).as_deref(), Some(r#"unsupported attribute "gone""#));
}

#[test]
fn nested_blocks() {
    let block = obj_type(&[("image", Type::String), ("port", Type::Number)]);
    let list = Value::List(vec![
        obj(&[("image", string("a")), ("port", num("80"))]),
        obj(&[("image", string("b")), ("port", Value::Null)]),
    ]);
    assert_round_trip(&Type::list(block.clone()), &list, r#"[{"image":"a","port":80},{"image":"b","port":null}]"#);
    let set = Value::Set(vec![
        obj(&[("image", string("b")), ("port", num("81"))]),
        obj(&[("image", string("a")), ("port", num("80"))]),
    ]);
    assert_eq!(encoded(&set, &Type::set(block.clone())), r#"[{"image":"a","port":80},{"image":"b","port":81}]"#);
    assert_eq!(decode(br#"[{"image":"b","port":81},{"image":"a","port":80}]"#, &Type::set(block)), Ok(set));
}

#[test]
fn dynamic_values() {
    let loc = Type::list(obj_type(&[("image", Type::String)]));
    let cases: Vec<(Value, &str)> = vec![
        (Value::dynamic(Type::String, string("x")), r#"{"value":"x","type":"string"}"#),
        (Value::dynamic(Type::Number, num("1e29")), r#"{"value":100000000000000000000000000000,"type":"number"}"#),
        (
            Value::dynamic(loc, Value::List(vec![obj(&[("image", string("i"))])])),
            r#"{"value":[{"image":"i"}],"type":["list",["object",{"image":"string"}]]}"#,
        ),
        (Value::Null, "null"),
        (Value::dynamic(Type::String, Value::Null), r#"{"value":null,"type":"string"}"#),
    ];
    for (v, json) in cases {
        assert_round_trip(&Type::Dynamic, &v, json);
    }
    // Key order does not matter on input.
    assert_eq!(
        decode(br#"{"type":"bool","value":true}"#, &Type::Dynamic),
        Ok(Value::dynamic(Type::Bool, Value::Bool(true)))
    );
    // Unwrapped values get their implied type.
    assert_eq!(encoded(&Value::Bool(true), &Type::Dynamic), r#"{"value":true,"type":"bool"}"#);
    for bad in [
        r#""x""#,
        r#"{"value":"x"}"#,
        r#"{"type":"string"}"#,
        r#"{"value":"x","type":"string","extra":1}"#,
        r#"{"value":"x","type":"strin"}"#,
        r#"{"value":1,"type":"bool"}"#,
    ] {
        assert!(decode(bad.as_bytes(), &Type::Dynamic).is_err(), "{bad}");
    }
}

#[test]
fn decode_errors_carry_the_path() {
    let ty = obj_type(&[("a", Type::list(obj_type(&[("b", Type::Number)]))), ("tags", Type::map(Type::Bool))]);
    let err = decode(br#"{"a":[{"b":1},{"b":2},{"b":"x"}]}"#, &ty).err();
    assert_eq!(err.as_ref().map(|e| e.path.clone()), Some(Path::root().attr("a").index(2).attr("b")));
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some(r#"at a[2].b: "x" is not a valid number"#));
    let err = decode(br#"{"a":[{"b":{}}]}"#, &ty).err();
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("at a[0].b: a number is required"));
    let err = decode(br#"{"tags":{"team":[]}}"#, &ty).err();
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some(r#"at tags["team"]: a bool is required"#));
    let err = decode(b"{not json", &ty).err();
    assert!(matches!(err, Some(ref e) if e.path.is_root()), "{err:?}");
}

#[test]
fn plain_json_round_trips() {
    let ty = obj_type(&[
        ("name", Type::String),
        ("count", Type::Number),
        ("enabled", Type::Bool),
        ("ids", Type::set(Type::String)),
        ("tags", Type::map(Type::String)),
        ("pair", Type::Tuple(vec![Type::String, Type::Number])),
        ("locations", Type::list(obj_type(&[("image", Type::String), ("port", Type::Number)]))),
        ("note", Type::String),
    ]);
    let v = obj(&[
        ("name", string("n")),
        ("count", num("123456789012345678901234567890.5")),
        ("enabled", Value::Bool(true)),
        ("ids", Value::Set(vec![string("i1"), string("i2")])),
        ("tags", Value::Map(BTreeMap::from([("team".to_owned(), string("data"))]))),
        ("pair", Value::Tuple(vec![string("p"), num("2")])),
        ("locations", Value::List(vec![obj(&[("image", string("img")), ("port", num("80"))])])),
        ("note", Value::Null),
    ]);
    let plain = v.to_plain_json().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plain.to_string(),
        concat!(
            r#"{"count":123456789012345678901234567890.5,"enabled":true,"ids":["i1","i2"],"#,
            r#""locations":[{"image":"img","port":80}],"name":"n","note":null,"pair":["p",2],"#,
            r#""tags":{"team":"data"}}"#
        )
    );
    assert_eq!(Value::from_plain_json(&plain, &ty), Ok(v));
}

#[test]
fn plain_json_conversions() {
    let ty = obj_type(&[("n", Type::Number), ("s", Type::String), ("missing", Type::list(Type::String))]);
    let plain: serde_json::Value = serde_json::from_str(r#"{"n":"42","s":"x"}"#).unwrap_or_default();
    assert_eq!(
        Value::from_plain_json(&plain, &ty),
        Ok(obj(&[("n", num("42")), ("s", string("x")), ("missing", Value::Null)]))
    );
    let extra: serde_json::Value = serde_json::from_str(r#"{"n":1,"zzz":1}"#).unwrap_or_default();
    assert!(Value::from_plain_json(&extra, &ty).is_err());

    // Dynamic positions infer the type: arrays are tuples, nulls dynamic.
    let ty = obj_type(&[("config", Type::Dynamic)]);
    let plain: serde_json::Value =
        serde_json::from_str(r#"{"config":{"k":"v","n":1.5,"xs":[true,"a"],"z":null}}"#).unwrap_or_default();
    let inferred = obj_type(&[
        ("k", Type::String),
        ("n", Type::Number),
        ("xs", Type::Tuple(vec![Type::Bool, Type::String])),
        ("z", Type::Dynamic),
    ]);
    let want = obj(&[(
        "config",
        Value::dynamic(
            inferred,
            obj(&[
                ("k", string("v")),
                ("n", num("1.5")),
                ("xs", Value::Tuple(vec![Value::Bool(true), string("a")])),
                ("z", Value::Null),
            ]),
        ),
    )]);
    let got = Value::from_plain_json(&plain, &ty);
    assert_eq!(got, Ok(want));
    // ...and to_plain_json unwraps them again.
    assert_eq!(got.and_then(|v| v.to_plain_json()).map(|j| j.to_string()), Ok(plain.to_string()));
    let null_config: serde_json::Value = serde_json::from_str(r#"{"config":null}"#).unwrap_or_default();
    assert_eq!(Value::from_plain_json(&null_config, &ty), Ok(obj(&[("config", Value::Null)])));
}

#[test]
fn plain_json_fails_on_unknown_with_its_path() {
    let v = obj(&[("tags", Value::Map(BTreeMap::from([("team".to_owned(), Value::unknown())])))]);
    let err = v.to_plain_json().err();
    assert_eq!(err.as_ref().map(|e| e.path.clone()), Some(Path::root().attr("tags").key("team")));
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some(r#"at tags["team"]: value is not known"#));
    let inside_dynamic = Value::dynamic(Type::list(Type::String), Value::List(vec![Value::unknown()]));
    assert_eq!(inside_dynamic.to_plain_json().err().map(|e| e.path), Some(Path::root().index(0)));
}
