//! Schema-less protobuf decoding, like `protoc --decode_raw`: what can be said about a message
//! body without its `.proto`.
//!
//! # Output
//! A JSON array with one object per field occurrence, in wire order (repeated fields appear
//! once per occurrence, as on the wire; an object keyed by field number would reorder them and
//! hide duplicates). Every object has `"field"` (the number) and `"type"` (the wire type):
//!
//! | `type`    | keys                                                                         |
//! |-----------|------------------------------------------------------------------------------|
//! | `varint`  | `value` (unsigned); `signed` (two's complement int64) when the top bit is set, as negative `int32`/`int64` are sent; `zigzag` (the `sint32`/`sint64` reading) when it differs from `value`, i.e. unless 0 |
//! | `fixed64` | `value` (unsigned); `signed` when the top bit is set; `double`                |
//! | `fixed32` | `value` (unsigned); `signed` when the top bit is set; `float`                 |
//! | `len`     | `length`, then one of `string`, `message` (a nested array like this one), `bytes` (standard base64, with `packed_varint` when the bytes also read as a packed repeated varint field), or `omitted` once the text budget is spent |
//! | `group`   | `group`: the nested array (deprecated start/end-group wire types)             |
//!
//! Non-finite floats are the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, as in proto3 JSON.
//! Where output stopped at a limit, a last object `{"truncated": true, "remaining_bytes": n}`
//! stands for the fields not shown. The body itself is not repeated here: the caller shows its
//! base64 ([`crate::grpc::base64_encode`]) beside this.
//!
//! The reading is written as compact JSON text, keys in byte order (as a sorted map gives
//! them), straight from the body: an export without schemas writes millions of these
//! objects, and building a tree of them first cost more than the writing. A failed guess
//! is cut back out of the text. [`decode_raw`] parses that text into a tree for callers
//! that want one (the terminal UI, `--pretty`).
//!
//! # Guessing length-delimited fields
//! A `len` field can be a string, bytes, a nested message or a packed repeated field; the
//! encoding does not say. The order of guesses:
//! 1. valid UTF-8 with no control characters at all (C0, DEL, C1; the text policy's bidi and
//!    invisible characters do not count, see `controls`): `string` (short text often *also*
//!    parses as a message: `"hi"` is field 13 = 105; text is the likelier reading);
//! 2. parses completely as a message with at least one field: `message`;
//! 3. valid UTF-8 whose only control characters are tab, CR and LF: `string`;
//! 4. otherwise `bytes`, plus `packed_varint` when every byte belongs to a minimally encoded
//!    varint (a guess: the bytes stay beside it). Packed fixed-width fields are not guessed:
//!    any length divisible by 4 would pass.
//!
//! # Limits
//! Nesting (messages and groups) is guessed at most [`MAX_DEPTH`] levels deep; below that a
//! field is shown as bytes, and a group below it makes the body invalid. At most
//! [`MAX_NODES`] values (fields and packed elements) and [`MAX_TEXT`] bytes of strings and
//! base64 are output. The node bound is exact: a field that holds others (a message, a group,
//! packed values) is counted only after them, so while they are decoded its own node, and
//! those of every field enclosing it, are held back from the budget (`reserved`). Work is linear in the body times the depth: a failed nested guess is
//! abandoned at its own level, never retried from above.

use super::base64;
use crate::compact_json::{write_f64, write_int};
use crate::text::write_json;
use serde_json::Value;

/// Nesting levels tried as messages or groups.
pub const MAX_DEPTH: usize = 32;
/// Field objects and packed elements in one output.
pub const MAX_NODES: usize = 50_000;
/// Bytes of string and base64 text in one output.
pub const MAX_TEXT: usize = 4 << 20;

/// The member a `len` field has instead of its text once the text budget is spent.
const OMITTED: &[u8] = b",\"omitted\":\"output limit reached\"";

/// The largest field number protobuf allows (2^29 - 1).
const MAX_FIELD: u64 = (1 << 29) - 1;

/// The body is not a protobuf encoding at all (as far as the top level goes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a protobuf message: {reason} at byte {offset}")]
pub struct RawError {
    pub offset: usize,
    pub reason: &'static str,
}

/// Decodes `body` without a schema. `Err` when it does not parse as protobuf fields; an empty
/// body is a valid, empty message.
pub fn decode_raw(body: &[u8]) -> Result<Value, RawError> {
    decode_raw_limited(body, MAX_NODES).map(|(v, _)| v)
}

/// [`decode_raw`] with at most `max_nodes` values (at most [`MAX_NODES`]); also returns how
/// many were output, for callers that share a budget.
pub fn decode_raw_limited(body: &[u8], max_nodes: usize) -> Result<(Value, usize), RawError> {
    let mut text = Vec::new();
    let nodes = decode_raw_text(body, max_nodes, &mut text)?;
    Ok((to_value(&text), nodes))
}

/// The reading written by [`decode_raw_text`] as a JSON tree.
pub fn to_value(text: &[u8]) -> Value {
    // Written by `decode_raw_text`: valid JSON (serde_json's float parsing round-trips,
    // the `float_roundtrip` feature), so this does not fail.
    serde_json::from_slice(text).unwrap_or_default()
}

/// [`decode_raw_limited`] as compact JSON text appended to `out` (the bytes serde_json
/// writes for the tree); returns how many values were output. On `Err`, `out` is as it was.
pub fn decode_raw_text(
    body: &[u8],
    max_nodes: usize,
    out: &mut Vec<u8>,
) -> Result<usize, RawError> {
    let mut raw = Raw {
        nodes: 0,
        reserved: 0,
        max_nodes: max_nodes.min(MAX_NODES),
        text: 0,
        exhausted: max_nodes == 0,
    };
    let start = out.len();
    let mut pos = 0;
    match raw.fields(body, &mut pos, 0, None, out) {
        Ok(_) => Ok(raw.nodes),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

#[derive(Clone, Copy)]
struct Raw {
    nodes: usize,
    /// Nodes promised to enclosing fields being decoded, which count when they are done.
    reserved: usize,
    max_nodes: usize,
    text: usize,
    exhausted: bool,
}

fn read_varint(data: &[u8], pos: &mut usize) -> Result<u64, &'static str> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = *data.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        if i == 9 && b > 1 {
            return Err("varint longer than 64 bits");
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint longer than 64 bits")
}

/// The control characters (`char::is_control`: C0, DEL, C1) a text holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Controls {
    None,
    /// Only tab, line feed and carriage return.
    Whitespace,
    /// Others.
    Other,
}

/// Read with the text policy's scan ([`crate::text::find`]: by bytes, a word at a time, as
/// every text field of every schema-less message goes through here), whose list holds the
/// controls. The policy's other characters (bidi and invisible formatting) are no sign of
/// bytes: right-to-left scripts, emoji joiners and byte-order marks are ordinary in text.
/// They are skipped here, and escaped when the string is written, as in any other string.
fn controls(s: &str) -> Controls {
    let mut found = Controls::None;
    let mut at = 0;
    while let Some((i, c)) = crate::text::find(s, at) {
        match c {
            '\t' | '\n' | '\r' => found = Controls::Whitespace,
            c if c.is_control() => return Controls::Other,
            _ => {}
        }
        at = i + c.len_utf8();
    }
    found
}

fn take<'a>(data: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let end = pos.checked_add(n)?;
    let s = data.get(*pos..end)?;
    *pos = end;
    Some(s)
}

/// A floating-point reading: a number, or "NaN", "Infinity", "-Infinity" as in proto3 JSON.
fn write_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        write_f64(out, x);
    }
}

/// An f32 as the f64 with the same shortest decimal form (0.1f32 shows as 0.1, not
/// 0.10000000149011612).
fn float32(x: f32) -> f64 {
    if !x.is_finite() {
        return f64::from(x);
    }
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// `,"signed":n` when the value's top bit is set (a negative two's complement number).
fn write_signed(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.extend_from_slice(b",\"signed\":");
        write_int(out, v);
    }
}

/// `"field":n,"length":n` of a length-delimited field: after `{` (or `{"bytes":...,`), then
/// its reading and `"type"`.
fn len_head(out: &mut Vec<u8>, field: u32, length: usize) {
    out.extend_from_slice(b"\"field\":");
    write_int(out, field);
    out.extend_from_slice(b",\"length\":");
    write_int(out, length);
}

const LEN_TAIL: &[u8] = b",\"type\":\"len\"}";

fn err(offset: usize, reason: &'static str) -> RawError {
    RawError { offset, reason }
}

impl Raw {
    /// Writes the fields of `data[*pos..]`, until its end or the end-group of `group`, as a
    /// JSON array; returns how many objects it holds. On `Err` the text written is garbage
    /// for the caller to cut.
    fn fields(
        &mut self,
        data: &[u8],
        pos: &mut usize,
        depth: usize,
        group: Option<u32>,
        out: &mut Vec<u8>,
    ) -> Result<usize, RawError> {
        out.push(b'[');
        let mut items = 0;
        loop {
            if !self.exhausted && self.nodes.saturating_add(self.reserved) >= self.max_nodes {
                // Only the enclosing fields' own nodes are left.
                self.exhausted = true;
            }
            if self.exhausted {
                if *pos < data.len() {
                    if items > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"remaining_bytes\":");
                    write_int(out, data.len() - *pos);
                    out.extend_from_slice(b",\"truncated\":true}");
                    items += 1;
                    *pos = data.len();
                }
                out.push(b']');
                return Ok(items);
            }
            if *pos >= data.len() {
                return match group {
                    Some(_) => Err(err(*pos, "group not ended")),
                    None => {
                        out.push(b']');
                        Ok(items)
                    }
                };
            }
            let start = *pos;
            let key = read_varint(data, pos).map_err(|r| err(start, r))?;
            let number = key >> 3;
            if number == 0 || number > MAX_FIELD {
                return Err(err(start, "invalid field number"));
            }
            let field = number as u32;
            let wire = key & 7;
            if wire == 4 {
                return match group {
                    Some(g) if g == field => {
                        out.push(b']');
                        Ok(items)
                    }
                    _ => Err(err(start, "unexpected end-group")),
                };
            }
            if items > 0 {
                out.push(b',');
            }
            match wire {
                0 => {
                    let v = read_varint(data, pos).map_err(|r| err(start, r))?;
                    out.extend_from_slice(b"{\"field\":");
                    write_int(out, field);
                    write_signed(out, v as i64);
                    out.extend_from_slice(b",\"type\":\"varint\",\"value\":");
                    write_int(out, v);
                    if v != 0 {
                        out.extend_from_slice(b",\"zigzag\":");
                        write_int(out, ((v >> 1) as i64) ^ -((v & 1) as i64));
                    }
                    out.push(b'}');
                }
                1 => {
                    let b = take(data, pos, 8).ok_or(err(start, "truncated fixed64"))?;
                    let v = u64::from_le_bytes(b.try_into().unwrap_or_default());
                    out.extend_from_slice(b"{\"double\":");
                    write_float(out, f64::from_bits(v));
                    out.extend_from_slice(b",\"field\":");
                    write_int(out, field);
                    write_signed(out, v as i64);
                    out.extend_from_slice(b",\"type\":\"fixed64\",\"value\":");
                    write_int(out, v);
                    out.push(b'}');
                }
                5 => {
                    let b = take(data, pos, 4).ok_or(err(start, "truncated fixed32"))?;
                    let v = u32::from_le_bytes(b.try_into().unwrap_or_default());
                    out.extend_from_slice(b"{\"field\":");
                    write_int(out, field);
                    out.extend_from_slice(b",\"float\":");
                    write_float(out, float32(f32::from_bits(v)));
                    write_signed(out, i64::from(v as i32));
                    out.extend_from_slice(b",\"type\":\"fixed32\",\"value\":");
                    write_int(out, v);
                    out.push(b'}');
                }
                2 => {
                    let len = read_varint(data, pos).map_err(|r| err(start, r))?;
                    let body = usize::try_from(len)
                        .ok()
                        .and_then(|n| take(data, pos, n))
                        .ok_or(err(start, "length-delimited field runs past the end"))?;
                    self.reserved += 1;
                    self.len_delimited(field, body, depth, out);
                    self.reserved -= 1;
                }
                3 => {
                    if depth + 1 >= MAX_DEPTH {
                        return Err(err(start, "groups nested too deep"));
                    }
                    // On error the whole guess is abandoned and `Raw` restored by the caller
                    // (or the decode fails), so `reserved` need not be undone on that path.
                    self.reserved += 1;
                    out.extend_from_slice(b"{\"field\":");
                    write_int(out, field);
                    out.extend_from_slice(b",\"group\":");
                    self.fields(data, pos, depth + 1, Some(field), out)?;
                    self.reserved -= 1;
                    out.extend_from_slice(b",\"type\":\"group\"}");
                }
                _ => return Err(err(start, "invalid wire type")),
            }
            self.count(1);
            items += 1;
        }
    }

    fn count(&mut self, n: usize) {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes.saturating_add(self.reserved) >= self.max_nodes {
            self.exhausted = true;
        }
    }

    fn len_delimited(&mut self, field: u32, body: &[u8], depth: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(b'{');
        len_head(out, field, body.len());
        if body.is_empty() {
            out.extend_from_slice(b",\"string\":\"\"");
            out.extend_from_slice(LEN_TAIL);
            return;
        }
        let text = std::str::from_utf8(body).ok();
        let controls = text.map(controls);
        if let (Some(s), Some(Controls::None)) = (text, controls) {
            self.string(s, out);
            return;
        }
        if depth + 1 < MAX_DEPTH {
            let saved = *self;
            let mark = out.len();
            out.extend_from_slice(b",\"message\":");
            let mut pos = 0;
            match self.fields(body, &mut pos, depth + 1, None, out) {
                Ok(n) if n > 0 => {
                    out.extend_from_slice(LEN_TAIL);
                    return;
                }
                _ => {
                    *self = saved;
                    out.truncate(mark);
                }
            }
        }
        if let (Some(s), Some(Controls::Whitespace)) = (text, controls) {
            self.string(s, out);
            return;
        }
        let encoded = body.len().div_ceil(3) * 4;
        if encoded > MAX_TEXT.saturating_sub(self.text) {
            out.extend_from_slice(OMITTED);
            out.extend_from_slice(LEN_TAIL);
            return;
        }
        self.text += encoded;
        // `"bytes"` sorts before `"field"`: the head is written again after it.
        out.truncate(start);
        out.extend_from_slice(b"{\"bytes\":\"");
        base64::encode_into(body, out);
        out.extend_from_slice(b"\",");
        len_head(out, field, body.len());
        self.packed_varints(body, out);
        out.extend_from_slice(LEN_TAIL);
    }

    /// `,"string":...` (after the head), if the text budget allows; else `,"omitted":...`.
    fn string(&mut self, s: &str, out: &mut Vec<u8>) {
        if s.len() > MAX_TEXT.saturating_sub(self.text) {
            out.extend_from_slice(OMITTED);
        } else {
            self.text += s.len();
            out.extend_from_slice(b",\"string\":");
            write_json(out, s);
        }
        out.extend_from_slice(LEN_TAIL);
    }

    /// `,"packed_varint":[...]` when `body` is exactly minimally encoded varints and the node
    /// budget allows them all; else nothing.
    fn packed_varints(&mut self, body: &[u8], out: &mut Vec<u8>) {
        let mark = out.len();
        out.extend_from_slice(b",\"packed_varint\":[");
        let mut values = 0usize;
        let mut pos = 0;
        while pos < body.len() {
            let start = pos;
            let fits = read_varint(body, &mut pos).ok().filter(|_| {
                // A multi-byte varint ending in 0x00 is padded: no encoder writes that.
                !(pos - start > 1 && body[pos - 1] == 0)
                    && self.nodes + self.reserved + values < self.max_nodes
            });
            let Some(v) = fits else {
                out.truncate(mark);
                return;
            };
            if values > 0 {
                out.push(b',');
            }
            write_int(out, v);
            values += 1;
        }
        out.push(b']');
        self.count(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn key(field: u32, wt: u8) -> Vec<u8> {
        varint(u64::from(field) << 3 | u64::from(wt))
    }

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    fn ld(field: u32, body: &[u8]) -> Vec<u8> {
        [key(field, 2), varint(body.len() as u64), body.to_vec()].concat()
    }

    #[test]
    fn scalar_wire_types() {
        let body = [
            key(1, 0),
            varint(150),
            key(2, 0),
            varint(-2i64 as u64),
            key(3, 1),
            1.5f64.to_le_bytes().to_vec(),
            key(4, 5),
            0.1f32.to_le_bytes().to_vec(),
            key(5, 5),
            (-1i32).to_le_bytes().to_vec(),
            key(6, 0),
            varint(0),
            key(7, 1),
            f64::NAN.to_bits().to_le_bytes().to_vec(),
        ]
        .concat();
        assert_eq!(
            decode_raw(&body).unwrap(),
            json!([
                {"field": 1, "type": "varint", "value": 150, "zigzag": 75},
                {"field": 2, "type": "varint", "value": 18446744073709551614u64, "signed": -2, "zigzag": 9223372036854775807i64},
                {"field": 3, "type": "fixed64", "value": 4609434218613702656u64, "double": 1.5},
                {"field": 4, "type": "fixed32", "value": 1036831949, "float": 0.1},
                {"field": 5, "type": "fixed32", "value": 4294967295u32, "signed": -1, "float": "NaN"},
                {"field": 6, "type": "varint", "value": 0},
                {"field": 7, "type": "fixed64", "value": 9221120237041090560u64, "double": "NaN"},
            ])
        );
    }

    #[test]
    fn strings_messages_bytes_and_packed() {
        let inner = [key(1, 0), varint(7), ld(2, b"deep")].concat();
        let body = [
            ld(1, b"hello"),
            ld(2, &inner),
            ld(3, &[0xff, 0x00, 0x80]),
            ld(4, &[1, 2, 0x96, 0x01]),
            ld(5, b""),
            ld(6, b"two\nlines"),
            ld(1, b"again"),
        ]
        .concat();
        assert_eq!(
            decode_raw(&body).unwrap(),
            json!([
                {"field": 1, "type": "len", "length": 5, "string": "hello"},
                {"field": 2, "type": "len", "length": 8, "message": [
                    {"field": 1, "type": "varint", "value": 7, "zigzag": -4},
                    {"field": 2, "type": "len", "length": 4, "string": "deep"},
                ]},
                {"field": 3, "type": "len", "length": 3, "bytes": "/wCA"},
                {"field": 4, "type": "len", "length": 4, "bytes": "AQKWAQ==", "packed_varint": [1, 2, 150]},
                {"field": 5, "type": "len", "length": 0, "string": ""},
                {"field": 6, "type": "len", "length": 9, "string": "two\nlines"},
                {"field": 1, "type": "len", "length": 5, "string": "again"},
            ])
        );
    }

    #[test]
    fn groups() {
        let body = [
            key(1, 3),
            key(2, 0),
            varint(5),
            key(1, 4),
            key(3, 0),
            varint(1),
        ]
        .concat();
        assert_eq!(
            decode_raw(&body).unwrap(),
            json!([
                {"field": 1, "type": "group", "group": [
                    {"field": 2, "type": "varint", "value": 5, "zigzag": -3}
                ]},
                {"field": 3, "type": "varint", "value": 1, "zigzag": -1},
            ])
        );
        // Mismatched or missing end-groups are not protobuf.
        assert!(decode_raw(&[key(1, 3), key(2, 4)].concat()).is_err());
        assert!(decode_raw(&key(1, 3)).is_err());
        assert!(decode_raw(&key(1, 4)).is_err());
    }

    #[test]
    fn invalid_encodings_are_errors_with_offsets() {
        let cases: &[(&[u8], RawError)] = &[
            (&[0x00], err(0, "invalid field number")),
            (&[0x0f], err(0, "invalid wire type")),
            (&[0x08], err(0, "truncated varint")),
            (
                &[0x08, 0x01, 0x0a, 0x05, b'a'],
                err(2, "length-delimited field runs past the end"),
            ),
            (&[0x09, 1, 2, 3], err(0, "truncated fixed64")),
            (&[0x0d, 1, 2, 3], err(0, "truncated fixed32")),
            (
                &[
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                ],
                err(0, "varint longer than 64 bits"),
            ),
            (b"hello world", err(2, "unexpected end-group")),
        ];
        for (body, want) in cases {
            assert_eq!(decode_raw(body).unwrap_err(), *want, "{body:?}");
        }
        assert_eq!(decode_raw(b"").unwrap(), json!([]));
        assert_eq!(
            err(3, "invalid wire type").to_string(),
            "not a protobuf message: invalid wire type at byte 3"
        );
    }

    #[test]
    fn depth_bomb_is_bounded() {
        // 100 000 levels of `field 1 { ... }`: nested guesses stop at MAX_DEPTH, the rest is
        // shown as bytes, and the stack never sees more than MAX_DEPTH levels.
        let mut headers = Vec::new();
        let mut size = 1u64;
        for _ in 0..100_000 {
            let h = [key(1, 2), varint(size)].concat();
            size += h.len() as u64;
            headers.push(h);
        }
        let mut body: Vec<u8> = headers.into_iter().rev().flatten().collect();
        body.push(1);
        let v = decode_raw(&body).unwrap();
        let mut depth = 0;
        let mut cur = &v;
        while let Some(next) = cur[0].get("message") {
            cur = next;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH - 1);
        assert!(cur[0]["bytes"].is_string());

        // Groups nested past the limit cannot be skipped without parsing: not accepted.
        let groups = [
            (1..=100).flat_map(|_| key(1, 3)).collect::<Vec<_>>(),
            (1..=100).flat_map(|_| key(1, 4)).collect(),
        ]
        .concat();
        assert_eq!(
            decode_raw(&groups).unwrap_err().reason,
            "groups nested too deep"
        );
    }

    #[test]
    fn output_is_bounded() {
        // 300 000 one-byte varint fields: only MAX_NODES are shown, then a truncation marker.
        let body: Vec<u8> = (0..300_000).flat_map(|_| [0x08, 0x01]).collect();
        let v = decode_raw(&body).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), MAX_NODES + 1);
        assert_eq!(
            arr[MAX_NODES],
            json!({"truncated": true, "remaining_bytes": (300_000 - MAX_NODES) * 2})
        );
        // Text beyond the budget is omitted, not copied.
        let big = vec![b'a'; MAX_TEXT / 2 + 1];
        let body = [ld(1, &big), ld(2, &big), ld(3, b"small")].concat();
        let v = decode_raw(&body).unwrap();
        assert!(v[0]["string"].is_string());
        assert_eq!(v[1]["omitted"], "output limit reached");
        assert_eq!(v[2]["string"], "small");
    }

    /// Values in an output as the budget counts them: field objects and packed elements,
    /// nested ones included, truncation markers not.
    fn nodes(v: &Value) -> usize {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|f| f.get("truncated").is_none())
            .map(|f| {
                let packed = f
                    .get("packed_varint")
                    .map_or(0, |p| p.as_array().unwrap().len());
                let inner = f.get("message").or(f.get("group")).map_or(0, nodes);
                1 + packed + inner
            })
            .sum()
    }

    /// A message nested `levels` deep, each level with a varint, packed varints and a group
    /// around the next level's message.
    fn nested(levels: usize) -> Vec<u8> {
        let mut body = [key(1, 0), varint(1)].concat();
        for _ in 0..levels {
            body = [
                key(1, 0),
                varint(7),
                ld(2, &[0x80, 0x01, 0x02, 0x03]),
                key(3, 3),
                ld(4, &body),
                key(3, 4),
            ]
            .concat();
        }
        body
    }

    /// Regression: a message or group was counted after its contents had used the whole
    /// budget, one node over `max_nodes` per nesting level (up to 32 over).
    #[test]
    fn the_node_bound_is_exact_at_every_depth() {
        let body = nested(MAX_DEPTH);
        let all = nodes(&decode_raw(&body).unwrap());
        for max in 0..all + 3 {
            let (v, used) = decode_raw_limited(&body, max).unwrap();
            assert_eq!(nodes(&v), used, "max {max}");
            assert!(used <= max, "{used} nodes for a budget of {max}");
        }
    }

    /// Random nested structures for the property below: (field, wire type, children).
    fn tree() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            (1u32..20, any::<u64>()).prop_map(|(f, v)| [key(f, 0), varint(v)].concat()),
            (1u32..20, prop::collection::vec(0u8..0x7f, 1..6)).prop_map(|(f, b)| ld(f, &b)),
            (1u32..20, any::<u32>())
                .prop_map(|(f, v)| [key(f, 5), v.to_le_bytes().to_vec()].concat()),
        ];
        leaf.prop_recursive(8, 200, 6, |inner| {
            prop_oneof![
                (1u32..20, prop::collection::vec(inner.clone(), 1..6))
                    .prop_map(|(f, kids)| ld(f, &kids.concat())),
                (1u32..20, prop::collection::vec(inner, 0..6)).prop_map(|(f, kids)| [
                    key(f, 3),
                    kids.concat(),
                    key(f, 4)
                ]
                .concat()),
            ]
        })
    }

    /// The text written directly (as an export writes it) is the sorted-key JSON its tree
    /// gives, byte for byte, and the tree is what `decode_raw_limited` returns.
    fn text_is_its_tree(body: &[u8], max_nodes: usize) -> Option<Value> {
        let mut text = b"prefix".to_vec();
        let Ok(nodes) = decode_raw_text(body, max_nodes, &mut text) else {
            assert_eq!(
                text, b"prefix",
                "a failed decode leaves the output as it was"
            );
            return None;
        };
        let text = &text[b"prefix".len()..];
        let tree = to_value(text);
        assert_eq!(
            std::str::from_utf8(text).unwrap(),
            crate::export::serde_json_inert(&tree).unwrap()
        );
        assert_eq!(
            decode_raw_limited(body, max_nodes),
            Ok((tree.clone(), nodes))
        );
        Some(tree)
    }

    #[test]
    fn every_kind_of_item_is_written_as_its_tree() {
        let fixed64 = |f, v: u64| [key(f, 1), v.to_le_bytes().to_vec()].concat();
        let fixed32 = |f, v: u32| [key(f, 5), v.to_le_bytes().to_vec()].concat();
        let body = [
            [key(1, 0), varint(u64::MAX)].concat(),
            [key(2, 0), varint(7)].concat(),
            fixed64(3, f64::NAN.to_bits()),
            fixed64(3, (-1.5f64).to_bits()),
            fixed64(3, u64::MAX),
            fixed64(3, 1e300f64.to_bits()),
            fixed64(3, 5e-324f64.to_bits()),
            fixed32(4, 0.1f32.to_bits()),
            fixed32(4, f32::NEG_INFINITY.to_bits()),
            fixed32(4, u32::MAX),
            fixed32(4, f32::MIN_POSITIVE.to_bits()),
            ld(5, b""),
            ld(5, "text \"quoted\" \\ and \u{e9}".as_bytes()),
            ld(5, b"tab\tand\nline"),
            ld(6, &[key(1, 0), varint(1)].concat()),
            ld(7, &[0xff, 0x01, 0x80]),
            ld(8, &[0x96, 0x01, 0x02]),
            [key(9, 3), key(1, 0), varint(3), key(9, 4)].concat(),
        ]
        .concat();
        let all = text_is_its_tree(&body, MAX_NODES).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 18);
        // Cut short by the node budget: the truncation marker.
        let cut = text_is_its_tree(&body, 3).unwrap();
        assert_eq!(cut.as_array().unwrap().last().unwrap()["truncated"], true);
        // Not protobuf: nothing written.
        assert_eq!(text_is_its_tree(&[0x0f], MAX_NODES), None);
    }

    /// What `controls` reads by bytes, as the chars say it.
    fn controls_by_chars(s: &str) -> Controls {
        if s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            Controls::Other
        } else if s.chars().any(char::is_control) {
            Controls::Whitespace
        } else {
            Controls::None
        }
    }

    #[test]
    fn controls_by_bytes_are_the_chars_controls() {
        for s in [
            "",
            "plain",
            "tab\there",
            "a\r\nb",
            "\u{7f}",
            "\u{80}",
            "\u{9f}",
            "\u{a0}é",
            "\u{85}\n",
            "x\u{0}",
            "¢£",
            "\u{c2}\u{80}",
            "\u{202e}txet",
            "\u{200d}\t\u{2066}",
            "\u{feff}\u{9b}",
        ] {
            assert_eq!(controls(s), controls_by_chars(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn controls_agree_with_chars(
            s in "\\PC*|[\\x00-\\x{a0}]{0,12}|[a\\t\\x{9b}\\x{61c}\\x{2000}-\\x{2070}\\x{feff}]{0,12}"
        ) {
            prop_assert_eq!(controls(&s), controls_by_chars(&s));
        }

        #[test]
        fn any_text_is_its_tree(body in tree(), budget in 0usize..40) {
            text_is_its_tree(&body, budget);
            text_is_its_tree(&body, MAX_NODES);
        }

        /// Any budget, any nesting: the output holds exactly the nodes reported, never more
        /// than the budget.
        #[test]
        fn the_node_bound_holds_for_any_structure(
            fields in prop::collection::vec(tree(), 0..8),
            max in 0usize..120,
        ) {
            let body = fields.concat();
            let (v, used) = decode_raw_limited(&body, max).unwrap();
            prop_assert_eq!(nodes(&v), used);
            prop_assert!(used <= max, "{} nodes for a budget of {}", used, max);
        }

        #[test]
        fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            text_is_its_tree(&body, MAX_NODES);
        }

        /// Random nested structures of valid fields always decode, field for field.
        #[test]
        fn valid_encodings_decode(values in prop::collection::vec((1u32..1000, any::<u64>()), 0..20)) {
            let body: Vec<u8> = values.iter().flat_map(|(f, v)| [key(*f, 0), varint(*v)].concat()).collect();
            let got = decode_raw(&body).unwrap();
            let got = got.as_array().unwrap();
            prop_assert_eq!(got.len(), values.len());
            for ((f, v), g) in values.iter().zip(got) {
                prop_assert_eq!(&g["field"], &json!(f));
                prop_assert_eq!(&g["value"], &json!(v));
            }
        }
    }
}
