use super::*;
use crate::grpc::descriptors::Descriptors;
use proptest::prelude::*;
use prost::Message;
use prost_reflect::prost_types;
use serde_json::json;
use std::path::PathBuf;

fn descriptors() -> Descriptors {
    static D: std::sync::OnceLock<Descriptors> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/grpc");
        let mut d = Descriptors::empty();
        d.add_protos(&[dir], &[PathBuf::from("everything.proto")])
            .unwrap();
        d
    })
    .clone()
}

fn msg(d: &Descriptors, name: &str) -> DynamicMessage {
    DynamicMessage::new(d.message(name).unwrap())
}

fn any(d: &Descriptors, type_name: &str, value: Vec<u8>) -> Value {
    let mut a = msg(d, "google.protobuf.Any");
    a.set_field_by_name(
        "type_url",
        Value::String(format!("type.googleapis.com/{type_name}")),
    );
    a.set_field_by_name("value", Value::Bytes(value.into()));
    Value::Message(a)
}

/// An `Everything` with every kind of field set, built through prost-reflect.
fn everything(d: &Descriptors) -> DynamicMessage {
    let mut inner = msg(d, "h2scope.test.Inner");
    inner.set_field_by_name("label", Value::String("in".into()));
    inner.set_field_by_name("delta", Value::I32(-3));
    let mut item = msg(d, "h2scope.test.Inner");
    item.set_field_by_name("label", Value::String("first".into()));
    let mut when = msg(d, "google.protobuf.Timestamp");
    when.set_field_by_name("seconds", Value::I64(1_700_000_000));
    when.set_field_by_name("nanos", Value::I32(250_000_000));
    let mut took = msg(d, "google.protobuf.Duration");
    took.set_field_by_name("seconds", Value::I64(1));
    took.set_field_by_name("nanos", Value::I32(500_000_000));
    let mut wrapped = msg(d, "google.protobuf.Int64Value");
    wrapped.set_field_by_name("value", Value::I64(7));

    let mut m = msg(d, "h2scope.test.Everything");
    m.set_field_by_name("big", Value::I64(-9_007_199_254_740_993));
    m.set_field_by_name("ubig", Value::U64(u64::MAX));
    m.set_field_by_name("small", Value::I32(42));
    m.set_field_by_name("color", Value::EnumNumber(2));
    m.set_field_by_name("blob", Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef].into()));
    m.set_field_by_name("inner", Value::Message(inner.clone()));
    m.set_field_by_name(
        "items",
        Value::List(vec![Value::Message(item), Value::Message(inner.clone())]),
    );
    m.set_field_by_name(
        "numbers",
        Value::List(vec![Value::I32(1), Value::I32(-1), Value::I32(300)]),
    );
    m.set_field_by_name("when", Value::Message(when));
    m.set_field_by_name(
        "by_name",
        Value::Map([(MapKey::String("k".into()), Value::Message(inner))].into()),
    );
    m.set_field_by_name(
        "by_id",
        Value::Map([(MapKey::I32(5), Value::String("five".into()))].into()),
    );
    m.set_field_by_name("ratio", Value::F64(f64::INFINITY));
    m.set_field_by_name("score", Value::F32(0.1));
    m.set_field_by_name("flag", Value::Bool(true));
    m.set_field_by_name("maybe", Value::I32(0));
    m.set_field_by_name("took", Value::Message(took));
    m.set_field_by_name("wrapped", Value::Message(wrapped));
    m.set_field_by_name("name_with_underscores", Value::String("x".into()));
    m
}

fn expected_everything() -> Json {
    json!({
        "big": "-9007199254740993",
        "ubig": "18446744073709551615",
        "small": 42,
        "color": "GREEN",
        "blob": "3q2+7w==",
        "inner": {"label": "in", "delta": -3},
        "items": [{"label": "first"}, {"label": "in", "delta": -3}],
        "numbers": [1, -1, 300],
        "when": "2023-11-14T22:13:20.250Z",
        "byName": {"k": {"label": "in", "delta": -3}},
        "byId": {"5": "five"},
        "ratio": "Infinity",
        "score": 0.1,
        "flag": true,
        "maybe": 0,
        "took": "1.500s",
        "wrapped": "7",
        "nameWithUnderscores": "x"
    })
}

#[test]
fn canonical_proto3_json() {
    let d = descriptors();
    let body = everything(&d).encode_to_vec();
    let desc = d.message("h2scope.test.Everything").unwrap();
    assert_eq!(decode_json(&desc, &body).unwrap(), expected_everything());
}

/// Without unknown fields (and f32, which we print in its shortest form), the walker agrees
/// with prost-reflect's own serializer field for field.
#[test]
fn walker_matches_prost_reflect_serializer() {
    let d = descriptors();
    let mut m = everything(&d);
    m.clear_field_by_name("score");
    let body = m.encode_to_vec();
    let desc = d.message("h2scope.test.Everything").unwrap();
    let ours = decode_json(&desc, &body).unwrap();
    let decoded = DynamicMessage::decode(desc, body.as_slice()).unwrap();
    let theirs = decoded
        .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn defaults_are_omitted_but_explicit_presence_is_kept() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    // small = 0 sent explicitly (proto3 implicit presence): not shown; maybe = 0 (optional): shown.
    let body = [0x18, 0x00, 0x78, 0x00];
    assert_eq!(decode_json(&desc, &body).unwrap(), json!({"maybe": 0}));
    assert_eq!(decode_json(&desc, &[]).unwrap(), json!({}));
}

#[test]
fn unknown_enum_number_is_shown_as_a_number() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    assert_eq!(
        decode_json(&desc, &[0x20, 0x09]).unwrap(),
        json!({"color": 9})
    );
}

#[test]
fn unknown_fields_are_kept_and_visible_at_every_level() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    // Inner { label: "in", 50: 7 } as field 6, then top-level 99: 150 and 100: "new".
    let inner = [&[0x0a, 0x02][..], b"in", &[0x90, 0x03, 0x07]].concat();
    let body = [
        &[0x32, inner.len() as u8][..],
        &inner,
        &[0x98, 0x06, 0x96, 0x01],
        &[0xa2, 0x06, 0x03],
        b"new",
    ]
    .concat();
    assert_eq!(
        decode_json(&desc, &body).unwrap(),
        json!({
            "inner": {
                "label": "in",
                "_unknown_fields": [{"field": 50, "type": "varint", "value": 7, "zigzag": -4}]
            },
            "_unknown_fields": [
                {"field": 99, "type": "varint", "value": 150, "zigzag": 75},
                {"field": 100, "type": "len", "length": 3, "string": "new"}
            ]
        })
    );
}

#[test]
fn bodies_that_are_not_the_type_are_errors() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    let cases: &[&[u8]] = &[
        &[0x0a, 0x05, b'a'],             // field 1 as length-delimited, cut short
        &[0x08],                         // truncated varint
        &[0x0f],                         // wire type 7
        &[0x32, 0x02, 0xff, 0xff],       // field 6 (Inner) holding garbage
        &[0xa2, 0x01, 0x02, 0xff, 0xfe], // field 20 (string) not UTF-8
    ];
    for body in cases {
        match decode_json(&desc, body) {
            Err(DecodeError::Protobuf { type_name, .. }) => {
                assert_eq!(type_name, "h2scope.test.Everything")
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let big = vec![0u8; MAX_JSON_BODY + 1];
    assert!(matches!(
        decode_json(&desc, &big),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn any_resolved_well_known_and_unresolved() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    let mut inner = msg(&d, "h2scope.test.Inner");
    inner.set_field_by_name("label", Value::String("packed".into()));
    let duration = prost_types::Duration {
        seconds: 3,
        nanos: 0,
    };
    let cases = [
        (
            any(&d, "h2scope.test.Inner", inner.encode_to_vec()),
            json!({"@type": "type.googleapis.com/h2scope.test.Inner", "label": "packed"}),
        ),
        (
            any(&d, "google.protobuf.Duration", duration.encode_to_vec()),
            json!({"@type": "type.googleapis.com/google.protobuf.Duration", "value": "3s"}),
        ),
        (
            any(&d, "acme.Unknown", vec![0x0a, 0x01, b'z']),
            json!({
                "@type": "type.googleapis.com/acme.Unknown",
                "_unresolved": "type acme.Unknown is not in the descriptor pool",
                "_raw": [{"field": 1, "type": "len", "length": 1, "string": "z"}],
                "value": "CgF6"
            }),
        ),
    ];
    for (value, want) in cases {
        let mut m = msg(&d, "h2scope.test.Everything");
        m.set_field_by_name("extra", value);
        let got = decode_json(&desc, &m.encode_to_vec()).unwrap();
        assert_eq!(got, json!({"extra": want}));
    }
    // A payload that is not its type keeps the bytes and says why.
    let mut m = msg(&d, "h2scope.test.Everything");
    m.set_field_by_name("extra", any(&d, "h2scope.test.Inner", vec![0x0a, 0x09]));
    let got = decode_json(&desc, &m.encode_to_vec()).unwrap();
    assert!(
        got["extra"]["_unresolved"]
            .as_str()
            .unwrap()
            .starts_with("payload is not a valid h2scope.test.Inner")
    );
    assert_eq!(got["extra"]["value"], "Cgk=");
}

#[test]
fn well_known_types_out_of_range_fall_back_with_an_error() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    let mut when = msg(&d, "google.protobuf.Timestamp");
    when.set_field_by_name("seconds", Value::I64(i64::MAX));
    let mut m = msg(&d, "h2scope.test.Everything");
    m.set_field_by_name("when", Value::Message(when));
    m.set_field_by_name("small", Value::I32(1));
    let got = decode_json(&desc, &m.encode_to_vec()).unwrap();
    assert_eq!(got["small"], 1, "the rest of the message is still there");
    assert_eq!(got["when"]["seconds"], "9223372036854775807");
    assert!(
        got["when"]["_error"]
            .as_str()
            .unwrap()
            .starts_with("no google.protobuf.Timestamp JSON form")
    );
}

#[test]
fn nested_any_depth_is_bounded() {
    // Any(Any(Any(... 300 levels ...))): each payload is a fresh prost decode, so only our
    // depth count stops it.
    let d = descriptors();
    let mut value = Vec::new();
    for _ in 0..300 {
        let a = prost_types::Any {
            type_url: "type.googleapis.com/google.protobuf.Any".into(),
            value,
        };
        value = a.encode_to_vec();
    }
    let desc = d.message("google.protobuf.Any").unwrap();
    let got = decode_json(&desc, &value).unwrap();
    let mut depth = 0;
    let mut cur = &got;
    while let Some(next) = cur.get("value").filter(|v| v.is_object()) {
        cur = next;
        depth += 1;
    }
    assert!(depth <= MAX_JSON_DEPTH, "{depth}");
    assert!(
        cur["_error"]
            .as_str()
            .unwrap()
            .contains("nested deeper than")
    );
}

/// The schema-less reading of the same bytes finds the same fields by number.
#[test]
fn raw_decoding_of_the_same_bytes() {
    use crate::grpc::raw::decode_raw;
    let d = descriptors();
    let raw = decode_raw(&everything(&d).encode_to_vec()).unwrap();
    let fields = raw.as_array().unwrap();
    let field = |n: u64| -> Vec<&Json> { fields.iter().filter(|f| f["field"] == n).collect() };
    // int64 -9007199254740993: a 10-byte varint, read back through "signed".
    assert_eq!(field(1)[0]["type"], "varint");
    assert_eq!(field(1)[0]["signed"], -9_007_199_254_740_993i64);
    assert_eq!(field(2)[0]["value"], u64::MAX);
    assert_eq!(field(3)[0]["value"], 42);
    assert_eq!(field(4)[0]["value"], 2, "enum GREEN by number");
    assert_eq!(field(5)[0]["bytes"], "3q2+7w==");
    // Nested Inner { label: "in", delta: -3 (sint32) }: a guessed message.
    let inner = &field(6)[0]["message"];
    assert_eq!(
        inner[0],
        json!({"field": 1, "type": "len", "length": 2, "string": "in"})
    );
    assert_eq!(inner[1]["field"], 2);
    assert_eq!(inner[1]["zigzag"], -3);
    // Repeated message: one entry per occurrence, in order.
    assert_eq!(field(7).len(), 2);
    assert_eq!(field(7)[0]["message"][0]["string"], "first");
    // Packed repeated int32 [1, -1, 300]: bytes, with the packed guess (-1 is 10 bytes).
    let numbers = field(8)[0];
    assert_eq!(numbers["packed_varint"], json!([1, u64::MAX, 300]));
    // Timestamp { seconds: 1700000000, nanos: 250000000 }.
    let when = &field(9)[0]["message"];
    assert_eq!(when[0]["value"], 1_700_000_000);
    assert_eq!(when[1]["value"], 250_000_000);
    // double Infinity as fixed64, float 0.1 as fixed32.
    assert_eq!(field(12)[0]["double"], "Infinity");
    assert_eq!(field(13)[0]["float"], 0.1);
    assert_eq!(field(14)[0]["value"], 1);
    assert_eq!(field(20)[0]["string"], "x");
}

#[test]
fn value_count_bounds_memory_before_decoding() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    // The count is an upper bound of what the decode creates, and exact for plain fields.
    let body = everything(&d).encode_to_vec();
    let n = count_values(&desc, &body, usize::MAX).unwrap();
    assert!(
        (40..body.len()).contains(&n),
        "{n} for {} bytes",
        body.len()
    );
    assert_eq!(count_values(&desc, &body, n), Some(n));
    assert_eq!(count_values(&desc, &body, n - 1), None);

    // A packed int32 field of 1 100 000 one-byte elements (a 1 MiB body, 100 MB decoded) is
    // refused before anything is decoded.
    let len = 1_100_000usize;
    let mut bomb = vec![0x42, 0xe0, 0x91, 0x43]; // field 8, LEN, varint 1 100 000
    bomb.resize(4 + len, 0x01);
    assert!(matches!(
        decode_json(&desc, &bomb),
        Err(DecodeError::TooComplex)
    ));
    // The same within the budget decodes.
    let mut small = vec![0x42, 0xe8, 0x07]; // field 8, LEN, 1000
    small.resize(3 + 1000, 0x01);
    let v = decode_json(&desc, &small).unwrap();
    assert_eq!(v["numbers"].as_array().unwrap().len(), 1000);
}

#[test]
fn unknown_fields_beyond_the_budget_are_base64() {
    let d = descriptors();
    let desc = d.message("h2scope.test.Inner").unwrap();
    // Unknown varint fields filling the budget but for 10 values: their raw reading gets
    // 2 objects (at RAW_NODE_COST each), then a truncation marker.
    // (Each occurrence counts 2.)
    let body: Vec<u8> = (0..MAX_JSON_VALUES / 2 - 1)
        .flat_map(|_| [0x18, 0x01])
        .collect();
    let got = decode_json(&desc, &body[..(MAX_JSON_VALUES / 2 - 5) * 2]).unwrap();
    let raw = got["_unknown_fields"].as_array().unwrap();
    assert_eq!(raw.len(), 3);
    assert_eq!(raw[2]["truncated"], true);
    // But for 2: nothing left for a raw reading, so base64.
    let got = decode_json(&desc, &body).unwrap();
    assert_eq!(got["_unknown_fields_base64"], base64::encode(&body));
    assert!(got.get("_unknown_fields").is_none());
}

/// Values a decoded message actually holds, counted the way the pre-scan means them.
fn held(m: &DynamicMessage) -> usize {
    fn value(v: &Value) -> usize {
        1 + match v {
            Value::List(items) => items.iter().map(value).sum(),
            Value::Map(entries) => entries.values().map(|v| 1 + value(v)).sum(),
            Value::Message(m) => held(m),
            _ => 0,
        }
    }
    m.fields().map(|(_, v)| value(v)).sum::<usize>() + m.unknown_fields().count()
}

/// Regression (found by the property test below): an empty map entry decodes to a default
/// key and value, which the pre-scan did not count, so its bound was too low.
#[test]
fn an_empty_map_entry_counts_its_key_and_value() {
    // Empty entries are the densest body there is: MAX_VALUES_PER_BYTE values a byte.
    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    let entries: Vec<u8> = std::iter::repeat_n([10 << 3 | 2, 0], 100)
        .flatten()
        .collect();
    assert_eq!(
        count_values(&desc, &entries, usize::MAX),
        Some(entries.len() * MAX_VALUES_PER_BYTE)
    );

    let d = descriptors();
    let desc = d.message("h2scope.test.Everything").unwrap();
    // Field 10 (map<string, Inner>), length-delimited, empty.
    let body = [10 << 3 | 2, 0];
    let bound = count_values(&desc, &body, usize::MAX).unwrap();
    let m = DynamicMessage::decode(desc, body.as_slice()).unwrap();
    assert!(held(&m) <= bound, "{} > {bound}", held(&m));
}

/// A body of `(field number, wire type choice, payload)` fields: right and wrong wire types
/// for the schema, packed and not, nested.
fn fields_body(fields: &[(u8, u8, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (number, wt, payload) in fields {
        let wt = [0u8, 1, 2, 5, 2, 2][usize::from(*wt % 6)];
        body.push(number << 3 | wt);
        match wt {
            0 => body.push(payload.first().copied().unwrap_or(1) & 0x7f),
            1 => body.extend_from_slice(&[7; 8]),
            5 => body.extend_from_slice(&[7; 4]),
            _ => {
                body.push(payload.len() as u8);
                body.extend_from_slice(payload);
            }
        }
    }
    body
}

proptest! {
    /// The pre-scan count is an upper bound of what the decode creates, for bodies made of
    /// random fields of the schema (right and wrong wire types, packed and not, nested).
    #[test]
    fn value_count_is_an_upper_bound(
        fields in prop::collection::vec((1u8..=22, 0u8..6, prop::collection::vec(prop::num::u8::ANY, 0..12)), 0..30),
    ) {
        let d = descriptors();
        let desc = d.message("h2scope.test.Everything").unwrap();
        let body = fields_body(&fields);
        let bound = count_values(&desc, &body, usize::MAX).unwrap();
        // What lets a short body skip the count (decode_json_text).
        prop_assert!(bound <= body.len() * MAX_VALUES_PER_BYTE, "{bound} for {} bytes", body.len());
        if let Ok(m) = DynamicMessage::decode(desc, body.as_slice()) {
            prop_assert!(held(&m) <= bound, "{} > {bound}", held(&m));
        }
    }

    #[test]
    fn random_bodies_never_panic(body in prop::collection::vec(prop::num::u8::ANY, 0..256)) {
        let d = descriptors();
        for name in ["h2scope.test.Everything", "google.protobuf.Any", "google.rpc.Status", "google.protobuf.Struct"] {
            let desc = d.message(name).unwrap();
            let _ = decode_json(&desc, &body);
            text_matches_tree(&desc, &body);
        }
    }

    /// Bodies of random fields of the schema, as in `value_count_is_an_upper_bound`: most
    /// decode, so the direct text path is exercised, not only its fallback.
    #[test]
    fn text_is_the_tree_written_compact(
        fields in prop::collection::vec((1u8..=22, 0u8..6, prop::collection::vec(prop::num::u8::ANY, 0..12)), 0..30),
    ) {
        let d = descriptors();
        let desc = d.message("h2scope.test.Everything").unwrap();
        let body = fields_body(&fields);
        text_matches_tree(&desc, &body);
    }
}

/// `decode_json_text` writes what `decode_json` gives, serialized compact; both fail alike.
fn text_matches_tree(desc: &MessageDescriptor, body: &[u8]) {
    let tree = decode_json(desc, body);
    let mut text = b"[".to_vec();
    let direct = decode_json_text(desc, body, &mut text);
    match (tree, direct) {
        (Ok(tree), Ok(())) => {
            let mut want = b"[".to_vec();
            crate::compact_json::to_vec(&mut want, &tree).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&text),
                String::from_utf8_lossy(&want)
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("tree {a:?}, text {b:?}"),
    }
}

/// Every message the tests above build, through both paths: plain fields of every kind,
/// maps, lists, enums, unknown fields, `Any` (resolved, well-known, unresolved) and the other
/// well-known types.
#[test]
fn text_matches_tree_on_every_test_message() {
    let d = descriptors();
    let everything_desc = d.message("h2scope.test.Everything").unwrap();
    let mut bodies: Vec<(MessageDescriptor, Vec<u8>)> =
        vec![(everything_desc.clone(), everything(&d).encode_to_vec())];
    // Without its well-known-type fields the message takes the direct path.
    let mut plain = everything(&d);
    for name in ["when", "extra", "took", "meta", "wrapped"] {
        plain.clear_field_by_name(name);
    }
    let plain = plain.encode_to_vec();
    let mut text = Vec::new();
    assert!(
        text_message(
            &DynamicMessage::decode(everything_desc.clone(), plain.as_slice()).unwrap(),
            0,
            &mut text
        )
        .is_ok(),
        "the plain message is written directly"
    );
    bodies.push((everything_desc.clone(), plain));
    let mut with_unknown = everything(&d).encode_to_vec();
    with_unknown.extend_from_slice(&[0xf8, 0x06, 0x2a, 0x82, 0x07, 0x02, b'h', b'i']);
    bodies.push((everything_desc.clone(), with_unknown));
    for name in ["h2scope.test.Inner", "google.protobuf.Empty"] {
        bodies.push((d.message(name).unwrap(), Vec::new()));
    }
    let mut m = msg(&d, "h2scope.test.Everything");
    for (field, value) in [
        (
            "extra",
            any(&d, "h2scope.test.Inner", vec![0x0a, 0x02, b'o', b'k']),
        ),
        (
            "extra",
            any(&d, "google.protobuf.Duration", vec![0x08, 0x05]),
        ),
        ("extra", any(&d, "no.such.Type", vec![0x08, 0x01])),
    ] {
        if m.descriptor().get_field_by_name(field).is_some() {
            m.set_field_by_name(field, value);
            bodies.push((everything_desc.clone(), m.encode_to_vec()));
        }
    }
    for (desc, body) in &bodies {
        text_matches_tree(desc, body);
    }
    assert!(bodies.len() >= 8);
}
