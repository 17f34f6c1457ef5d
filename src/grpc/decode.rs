//! Decoding a message body with its schema, to canonical proto3 JSON.
//!
//! The body is parsed by prost-reflect (`DynamicMessage::decode`), then turned into JSON by a
//! walker here rather than by prost-reflect's `Serialize` alone, for three reasons:
//! - **Unknown fields are shown.** prost-reflect keeps them on decode but its serializer skips
//!   them. Each message object that had any gets an extra key `"_unknown_fields"` holding the
//!   schema-less reading of those fields ([`crate::grpc::raw`]'s array format), or their
//!   standard base64 under `"_unknown_fields_base64"` when that reading fails or the output
//!   budget is spent. A leading underscore does not clash with the lowerCamelCase JSON names
//!   protoc derives from field names. Field names can be used for unknown fields only by
//!   number: that is all the wire carries.
//! - **One bad value does not lose the message.** The serializer fails the whole message on
//!   an `Any` whose type is not in the pool, an out-of-range `Timestamp` or `Duration`, or a
//!   non-finite number in a `google.protobuf.Value`. Here an `Any` with an unknown type becomes
//!   `{"@type": url, "_unresolved": why, "_raw": <raw reading, when it parses>, "value":
//!   <base64>}` (so does a payload that is not a valid encoding of its type), and any
//!   other well-known type that cannot take its JSON form is shown as a plain message object
//!   with an `"_error"` key.
//! - **Bounded nesting across `Any`.** Each `Any` payload is a fresh decode with its own
//!   recursion limit; the walker counts depth across them ([`MAX_JSON_DEPTH`]).
//!
//! Everything else is the proto3 JSON mapping, and for well-known types other than `Any` the
//! walker defers to prost-reflect's serializer (Timestamp as RFC 3339, Duration as "1.5s",
//! Struct/Value/ListValue, wrappers, FieldMask, Empty): lowerCamelCase field names, fields with
//! default values omitted (proto3 implicit presence), 64-bit integers as strings, enums by name
//! (by number when the number is not in the enum; `NullValue` as `null`), bytes as standard
//! base64, non-finite floats as "NaN"/"Infinity"/"-Infinity", map keys as strings. Keys come
//! out sorted (serde_json's map), not in field order. Unknown fields inside well-known types
//! other than `Any` are not shown.
//!
//! # Limits
//! Memory follows the number of decoded values, not the body size: a packed repeated field
//! turns one body byte into one value, which costs 56 bytes in the DynamicMessage and 32 in
//! the JSON tree. Before decoding, a schema-aware scan of the wire format counts an upper bound
//! of the values the decode will create (every field occurrence, every byte of a packed scalar
//! field, recursively through known message fields). Over [`MAX_JSON_VALUES`] the body is
//! refused ([`DecodeError::TooComplex`]) and the caller shows it raw. What is left of that
//! budget pays for the schema-less reading of unknown fields (a raw field object costs
//! [`RAW_NODE_COST`] values) and for `Any` payloads, which are scanned the same way before they
//! are decoded; once it is spent, unknown fields are shown as base64 and `Any` payloads are not
//! decoded. Strings and bytes are copied at most a few times, so bodies are also capped at
//! [`MAX_JSON_BODY`]. Worst case for one call: about 200 MiB.

use super::base64;
use super::raw::decode_raw_limited;
use prost_reflect::{
    DynamicMessage, Kind, MapKey, MessageDescriptor, ReflectMessage, SerializeOptions, Value,
};
use serde_json::{Map, Value as Json};

/// The largest body decoded with a schema.
pub const MAX_JSON_BODY: usize = 16 << 20;

/// Values (see the module doc) one call may create.
pub const MAX_JSON_VALUES: usize = 1_000_000;

/// What one object of the schema-less reading of unknown fields costs, in values (a JSON map
/// of 3 to 5 entries against one 88-byte value).
pub const RAW_NODE_COST: usize = 4;

/// Nesting levels shown, counted across `Any` payloads (prost limits each decode to 100).
pub const MAX_JSON_DEPTH: usize = 100;

/// What one field occurrence counts for: its value, plus the list (or map) that holds it, so
/// that the count stays an upper bound for repeated fields.
const OCCURRENCE: usize = 2;

/// How deep the pre-scan counts: one level past prost's recursion limit for one decode (100),
/// since nothing deeper than that decodes; the extra level keeps the count an upper bound
/// whichever way prost counts its levels.
const SCAN_DEPTH: usize = 101;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a valid {type_name}: {reason}")]
    Protobuf { type_name: String, reason: String },
    #[error("a {len}-byte body is over the {MAX_JSON_BODY}-byte limit for schema decoding")]
    TooLarge { len: usize },
    #[error("the body holds more than {MAX_JSON_VALUES} values: too many to decode with a schema")]
    TooComplex,
    #[error("message type {0} is not in the descriptor pool")]
    MissingType(String),
    #[error("not valid base64")]
    Base64,
}

/// Decodes `body` as `desc` to canonical proto3 JSON, unknown fields included (see the module
/// doc for the exact shape). `Err` when the body is not a valid encoding of that type, or is
/// over the limits.
pub fn decode_json(desc: &MessageDescriptor, body: &[u8]) -> Result<Json, DecodeError> {
    let (msg, count) = decode_bounded(desc, body)?;
    let mut walker = Walker {
        budget: MAX_JSON_VALUES - count,
    };
    Ok(walker.message(&msg, 0))
}

/// The body decoded as `desc`, once it is known to be within the limits, and the count of
/// values it creates (what is left of [`MAX_JSON_VALUES`] pays for the rest).
fn decode_bounded(
    desc: &MessageDescriptor,
    body: &[u8],
) -> Result<(DynamicMessage, usize), DecodeError> {
    if body.len() > MAX_JSON_BODY {
        return Err(DecodeError::TooLarge { len: body.len() });
    }
    let count = count_values(desc, body, MAX_JSON_VALUES).ok_or(DecodeError::TooComplex)?;
    Ok((decode_message(desc, body)?, count))
}

fn decode_message(desc: &MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, DecodeError> {
    DynamicMessage::decode(desc.clone(), body).map_err(|e| DecodeError::Protobuf {
        type_name: desc.full_name().to_string(),
        reason: e.to_string(),
    })
}

/// The most values [`scan`] counts for one body byte: an empty map entry (two bytes) counts
/// six; every other occurrence counts at most one per byte it takes.
const MAX_VALUES_PER_BYTE: usize = 3;

/// [`decode_json`], written straight to compact JSON text: the same bytes as
/// `compact_json::to_vec(&decode_json(desc, body)?)`, without the tree.
///
/// An export writes every decoded message once and never looks at it again, and building
/// the `serde_json::Value` tree (a `String` per key, a B-tree per object, a base64 `String`
/// per `bytes` field), writing it, and freeing it was most of a full export's time. Plain
/// messages (fields of scalars, strings, bytes, enums, plain messages, lists and maps, the
/// common case) are written directly, keys in the tree's order (sorted; a later duplicate
/// replaces an earlier one). A message whose JSON spends the value budget or needs
/// prost-reflect's serializer (unknown fields, `Any`, the other well-known types) is
/// written from the tree instead, so the two can never disagree; the tests and the
/// `protobuf_descriptor` fuzz target hold them to the same bytes.
pub fn decode_json_text(
    desc: &MessageDescriptor,
    body: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    // A body this short cannot hold more values than the limit, so the count (which only
    // the tree's budget needs) waits until the tree is needed.
    let short = body.len().saturating_mul(MAX_VALUES_PER_BYTE) <= MAX_JSON_VALUES;
    let (msg, counted) = if short {
        (decode_message(desc, body)?, None)
    } else {
        let (msg, count) = decode_bounded(desc, body)?;
        (msg, Some(count))
    };
    let start = out.len();
    if text_message(&msg, 0, out).is_err() {
        out.truncate(start);
        let count = match counted {
            Some(count) => count,
            None => count_values(desc, body, MAX_JSON_VALUES).ok_or(DecodeError::TooComplex)?,
        };
        let mut walker = Walker {
            budget: MAX_JSON_VALUES - count,
        };
        // Serializing a tree of strings, numbers and string-keyed objects cannot fail.
        let _ = crate::compact_json::to_vec(out, &walker.message(&msg, 0));
    }
    Ok(())
}

/// Met something only the tree walker writes (see [`decode_json_text`]).
struct NeedsTree;

/// A field or an extension: what names a key of a message object.
enum Named {
    Field(prost_reflect::FieldDescriptor),
    Ext(prost_reflect::ExtensionDescriptor),
}

impl Named {
    fn name(&self) -> &str {
        match self {
            Named::Field(f) => f.json_name(),
            Named::Ext(e) => e.json_name(),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Named::Field(f) => f.kind(),
            Named::Ext(e) => e.kind(),
        }
    }
}

fn text_message(msg: &DynamicMessage, depth: usize, out: &mut Vec<u8>) -> Result<(), NeedsTree> {
    if depth >= MAX_JSON_DEPTH {
        let _ = crate::compact_json::to_vec(out, &too_deep());
        return Ok(());
    }
    let desc = msg.descriptor();
    let name = desc.full_name();
    if name == "google.protobuf.Any" || msg.unknown_fields().next().is_some() {
        return Err(NeedsTree);
    }
    if special_json(name) {
        // As the tree walker does: prost-reflect's JSON form of a well-known type (small:
        // a Timestamp is one string), written from its tree.
        let v = msg
            .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
            .map_err(|_| NeedsTree)?;
        let _ = crate::compact_json::to_vec(out, &v);
        return Ok(());
    }
    // The tree's object is a B-tree map: keys sorted, and an extension whose JSON name equals
    // a field's replaces it.
    let mut entries: Vec<(Named, &Value)> = msg
        .fields()
        .map(|(f, v)| (Named::Field(f), v))
        .chain(msg.extensions().map(|(e, v)| (Named::Ext(e), v)))
        .collect();
    entries.sort_by(|a, b| a.0.name().cmp(b.0.name()));
    text_object(
        out,
        &entries,
        |e| e.0.name(),
        |e, out| text_value(e.1, &e.0.kind(), depth, out),
    )
}

/// `{"key":value,...}` from entries sorted by key (stably), as the tree's B-tree map writes
/// them: of entries with the same key, the last one.
fn text_object<T>(
    out: &mut Vec<u8>,
    entries: &[T],
    key: impl Fn(&T) -> &str,
    mut value: impl FnMut(&T, &mut Vec<u8>) -> Result<(), NeedsTree>,
) -> Result<(), NeedsTree> {
    out.push(b'{');
    let mut first = true;
    for (i, e) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|next| key(next) == key(e)) {
            continue;
        }
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        crate::text::write_json(out, key(e));
        out.push(b':');
        value(e, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// An integer as JSON, quoted (proto3 JSON's 64-bit integers) or not.
fn text_int(out: &mut Vec<u8>, n: impl itoa::Integer, quoted: bool) {
    if quoted {
        out.push(b'"');
    }
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    if quoted {
        out.push(b'"');
    }
}

fn text_value(
    value: &Value,
    kind: &Kind,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), NeedsTree> {
    let json = |out: &mut Vec<u8>, v: Json| {
        let _ = crate::compact_json::to_vec(out, &v);
    };
    match value {
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::I32(n) => text_int(out, *n, false),
        Value::U32(n) => text_int(out, *n, false),
        Value::I64(n) => text_int(out, *n, true),
        Value::U64(n) => text_int(out, *n, true),
        Value::F32(x) => json(out, float32(*x)),
        Value::F64(x) => json(out, float(*x)),
        Value::String(s) => crate::text::write_json(out, s),
        Value::Bytes(b) => {
            // Base64 needs no escaping.
            out.push(b'"');
            base64::encode_into(b, out);
            out.push(b'"');
        }
        Value::EnumNumber(n) => match kind {
            Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => {
                out.extend_from_slice(b"null")
            }
            Kind::Enum(e) => match e.get_value(*n) {
                Some(v) => crate::text::write_json(out, v.name()),
                None => text_int(out, *n, false),
            },
            _ => text_int(out, *n, false),
        },
        Value::Message(m) => text_message(m, depth + 1, out)?,
        Value::List(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                text_value(v, kind, depth, out)?;
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let value_kind = match kind {
                Kind::Message(entry) if entry.is_map_entry() => {
                    entry.map_entry_value_field().kind()
                }
                other => other.clone(),
            };
            let mut sorted: Vec<(String, &Value)> =
                entries.iter().map(|(k, v)| (map_key(k), v)).collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            text_object(
                out,
                &sorted,
                |e| &e.0,
                |e, out| text_value(e.1, &value_kind, depth, out),
            )?;
        }
    }
    Ok(())
}

/// An upper bound on the values decoding `data` as `desc` creates; `None` past `limit`.
///
/// Malformed input is not judged here: counting stops where parsing does, and the decode that
/// follows reports the error.
fn count_values(desc: &MessageDescriptor, data: &[u8], limit: usize) -> Option<usize> {
    let mut n = 0;
    let mut pos = 0;
    scan(Some(desc), data, &mut pos, 0, &mut n, limit).then_some(n)
}

fn read_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Counts fields of `desc` (or of an unknown type) from `data[*pos..]` to the end or to an
/// end-group; false once `*n` passes `limit`.
fn scan(
    desc: Option<&MessageDescriptor>,
    data: &[u8],
    pos: &mut usize,
    depth: usize,
    n: &mut usize,
    limit: usize,
) -> bool {
    while *pos < data.len() {
        let Some(key) = read_varint(data, pos) else {
            return true;
        };
        let number = u32::try_from(key >> 3).unwrap_or(0);
        let kind = desc.and_then(|d| {
            d.get_field(number)
                .map(|f| f.kind())
                .or_else(|| d.get_extension(number).map(|e| e.kind()))
        });
        let skip = |pos: &mut usize, len: usize| match pos.checked_add(len) {
            Some(end) if end <= data.len() => {
                *pos = end;
                true
            }
            _ => false,
        };
        let cost = match key & 7 {
            0 => {
                if read_varint(data, pos).is_none() {
                    return true;
                }
                OCCURRENCE
            }
            1 => {
                if !skip(pos, 8) {
                    return true;
                }
                OCCURRENCE
            }
            5 => {
                if !skip(pos, 4) {
                    return true;
                }
                OCCURRENCE
            }
            2 => {
                let Some(len) = read_varint(data, pos).and_then(|l| usize::try_from(l).ok()) else {
                    return true;
                };
                let start = *pos;
                if !skip(pos, len) {
                    return true;
                }
                match kind {
                    Some(Kind::Message(m)) if depth < SCAN_DEPTH => {
                        let mut p = 0;
                        if !scan(Some(&m), &data[start..*pos], &mut p, depth + 1, n, limit) {
                            return false;
                        }
                        // A map entry decodes to a key and a value even when the bytes hold
                        // neither (defaults are filled in): count them too.
                        if m.is_map_entry() {
                            3 * OCCURRENCE
                        } else {
                            OCCURRENCE
                        }
                    }
                    // Packed scalars: at least one byte per element.
                    Some(Kind::String | Kind::Bytes | Kind::Message(_)) | None => OCCURRENCE,
                    Some(_) => OCCURRENCE + len,
                }
            }
            3 => {
                if depth >= SCAN_DEPTH {
                    return true;
                }
                let group = match kind {
                    Some(Kind::Message(m)) => Some(m),
                    _ => None,
                };
                if !scan(group.as_ref(), data, pos, depth + 1, n, limit) {
                    return false;
                }
                OCCURRENCE
            }
            // The end of the group being scanned (a stray one fails the decode).
            _ => return true,
        };
        *n = n.saturating_add(cost);
        if *n > limit {
            return false;
        }
    }
    true
}

/// The full names of messages whose proto3 JSON form is not a plain object of fields.
fn special_json(full_name: &str) -> bool {
    matches!(
        full_name,
        "google.protobuf.Any"
            | "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.FieldMask"
            | "google.protobuf.Empty"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

fn too_deep() -> Json {
    let mut m = Map::new();
    m.insert(
        "_error".into(),
        format!("nested deeper than {MAX_JSON_DEPTH} levels: not shown").into(),
    );
    Json::Object(m)
}

/// Turns a decoded message into JSON, spending `budget` on unknown fields and `Any` payloads.
struct Walker {
    budget: usize,
}

impl Walker {
    fn message(&mut self, msg: &DynamicMessage, depth: usize) -> Json {
        if depth >= MAX_JSON_DEPTH {
            return too_deep();
        }
        let desc = msg.descriptor();
        let name = desc.full_name();
        if name == "google.protobuf.Any" {
            return self.any(msg, depth);
        }
        if special_json(name) {
            match msg
                .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
            {
                Ok(v) => return v,
                Err(e) => {
                    let mut v = self.plain_message(msg, depth);
                    if let Json::Object(m) = &mut v {
                        m.insert("_error".into(), format!("no {name} JSON form: {e}").into());
                    }
                    return v;
                }
            }
        }
        self.plain_message(msg, depth)
    }

    fn plain_message(&mut self, msg: &DynamicMessage, depth: usize) -> Json {
        let mut m = Map::new();
        for (field, value) in msg.fields() {
            m.insert(
                field.json_name().to_string(),
                self.value(value, &field.kind(), depth),
            );
        }
        for (ext, value) in msg.extensions() {
            m.insert(
                ext.json_name().to_string(),
                self.value(value, &ext.kind(), depth),
            );
        }
        self.unknown_fields(msg, &mut m);
        Json::Object(m)
    }

    fn unknown_fields(&mut self, msg: &DynamicMessage, m: &mut Map<String, Json>) {
        let mut bytes = Vec::new();
        for f in msg.unknown_fields() {
            f.encode(&mut bytes);
        }
        if bytes.is_empty() {
            return;
        }
        let nodes = self.budget / RAW_NODE_COST;
        match decode_raw_limited(&bytes, nodes).ok().filter(|_| nodes > 0) {
            Some((raw, nodes)) => {
                self.budget = self.budget.saturating_sub(nodes * RAW_NODE_COST);
                m.insert("_unknown_fields".into(), raw)
            }
            None => m.insert(
                "_unknown_fields_base64".into(),
                base64::encode(&bytes).into(),
            ),
        };
    }

    fn value(&mut self, value: &Value, kind: &Kind, depth: usize) -> Json {
        match value {
            Value::Bool(b) => Json::Bool(*b),
            Value::I32(n) => (*n).into(),
            Value::U32(n) => (*n).into(),
            Value::I64(n) => n.to_string().into(),
            Value::U64(n) => n.to_string().into(),
            Value::F32(x) => float32(*x),
            Value::F64(x) => float(*x),
            Value::String(s) => s.clone().into(),
            Value::Bytes(b) => base64::encode(b).into(),
            Value::EnumNumber(n) => match kind {
                Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => Json::Null,
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(v) => v.name().into(),
                    None => (*n).into(),
                },
                _ => (*n).into(),
            },
            Value::Message(m) => self.message(m, depth + 1),
            Value::List(items) => {
                Json::Array(items.iter().map(|v| self.value(v, kind, depth)).collect())
            }
            Value::Map(entries) => {
                let value_kind = match kind {
                    Kind::Message(entry) if entry.is_map_entry() => {
                        entry.map_entry_value_field().kind()
                    }
                    other => other.clone(),
                };
                let mut m = Map::new();
                for (k, v) in entries {
                    m.insert(map_key(k), self.value(v, &value_kind, depth));
                }
                Json::Object(m)
            }
        }
    }
}

fn map_key(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn float(x: f64) -> Json {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
    }
}

/// Shortest decimal form of the f32 (0.1, not 0.10000000149011612).
fn float32(x: f32) -> Json {
    if !x.is_finite() {
        return float(f64::from(x));
    }
    float(x.to_string().parse().unwrap_or(f64::from(x)))
}

impl Walker {
    /// `google.protobuf.Any`: `{"@type": url, <payload fields>}`, or `{"@type": url, "value":
    /// <JSON form>}` for a well-known payload; see the module doc for unresolved types.
    fn any(&mut self, msg: &DynamicMessage, depth: usize) -> Json {
        let type_url = msg
            .get_field_by_number(1)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let value = msg
            .get_field_by_number(2)
            .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
            .unwrap_or_default();
        let mut m = Map::new();
        m.insert("@type".into(), type_url.clone().into());
        // "type.googleapis.com/pkg.Msg": the name is what follows the last '/'.
        let type_name = type_url.rsplit('/').next().unwrap_or_default();
        let resolved = msg
            .descriptor()
            .parent_pool()
            .get_message_by_name(type_name);
        let problem = match resolved {
            None => format!("type {type_name} is not in the descriptor pool"),
            Some(desc) => match count_values(&desc, &value, self.budget) {
                None => "payload holds too many values to decode".to_string(),
                Some(count) => match DynamicMessage::decode(desc.clone(), value.as_slice()) {
                    Ok(inner) => {
                        self.budget -= count;
                        match self.message(&inner, depth + 1) {
                            Json::Object(fields) if !special_json(desc.full_name()) => {
                                m.extend(fields)
                            }
                            other => {
                                m.insert("value".into(), other);
                            }
                        }
                        self.unknown_fields(msg, &mut m);
                        return Json::Object(m);
                    }
                    Err(e) => format!("payload is not a valid {type_name}: {e}"),
                },
            },
        };
        m.insert("_unresolved".into(), problem.into());
        let nodes = self.budget / RAW_NODE_COST;
        if let Ok((raw, used)) = decode_raw_limited(&value, nodes) {
            self.budget = self.budget.saturating_sub(used * RAW_NODE_COST);
            m.insert("_raw".into(), raw);
        }
        m.insert("value".into(), base64::encode(&value).into());
        self.unknown_fields(msg, &mut m);
        Json::Object(m)
    }
}

#[cfg(test)]
mod tests;
