//! One gRPC call, decoded: from a stream's framed messages, header values and trailers to the
//! method, status and each message as JSON (through descriptors, or schema-less).
//!
//! The caller (the HTTP/2 stream layer) gathers what it saw; nothing here knows HTTP/2.
//! Every message is kept in the result: decoded, or schema-less with its raw bytes and the
//! reason it could not be decoded. Never drop a message.

use super::raw::decode_raw_text;
use super::{
    Codec, ContentKind, DEFAULT_DECOMPRESS_CAP, Descriptors, Encoding, FrameKind, Framed,
    decode_json, decode_json_text, decompress, parse_status, percent_decode, status_details,
    status_name,
};
use crate::capture::Timestamp;
use serde_json::Value;

/// Nodes a schema-less decode of one message may produce before it is cut short.
const MAX_RAW_NODES: usize = 10_000;

/// What the stream layer saw of a call.
#[derive(Debug)]
pub struct CallInput<'a> {
    /// `:path`, when known.
    pub path: Option<&'a str>,
    /// What the content-type said, or `None` when the call was recognised by its framing
    /// alone (headers not captured).
    pub kind: Option<ContentKind>,
    /// `grpc-encoding` of each side.
    pub request_encoding: Option<&'a [u8]>,
    pub response_encoding: Option<&'a [u8]>,
    /// Response trailers (or, for a trailers-only response, the response headers), and for
    /// gRPC-Web the trailers carried in the body.
    pub trailers: Vec<(&'a str, &'a [u8])>,
    /// The framed messages of each side. Decoding takes the bodies it keeps out of them
    /// (a schema-less message keeps its bytes, [`Raw`]) rather than copying them.
    pub request: &'a mut [Framed],
    pub response: &'a mut [Framed],
    /// Messages whose bodies were not kept (beyond the per-stream bound), per direction.
    pub bodies_dropped: [u64; 2],
    /// The stream was reset (RST_STREAM): the HTTP/2 error code, and whether the client
    /// sent it.
    pub reset: Option<(u32, bool)>,
    /// The stream ended (both sides) or was reset; `false`: the capture ended first.
    pub complete: bool,
    /// Leave the decoded bodies out (`--no-messages`): sizes and times stay.
    pub no_bodies: bool,
    /// A compressed message inflating past this many bytes is shown compressed, with the
    /// error ([`crate::grpc::DEFAULT_DECOMPRESS_CAP`] unless raised).
    pub max_decompressed: usize,
    /// Message bodies (requests, responses) of other calls that share this call's unknown
    /// `:path` entry, and so its method: more evidence for inferring it.
    pub pooled: [&'a [Vec<u8>]; 2],
    /// Decode messages with a schema to compact JSON text ([`Message::json_text`]) instead
    /// of a tree: for output that writes them once and never looks at them.
    pub json_text: bool,
}

impl Default for CallInput<'_> {
    fn default() -> Self {
        CallInput {
            path: None,
            kind: None,
            request_encoding: None,
            response_encoding: None,
            trailers: Vec::new(),
            request: &mut [],
            response: &mut [],
            bodies_dropped: [0; 2],
            reset: None,
            complete: false,
            no_bodies: false,
            max_decompressed: DEFAULT_DECOMPRESS_CAP,
            pooled: [&[], &[]],
            json_text: false,
        }
    }
}

/// A decoded call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub service: Option<String>,
    pub method: Option<String>,
    /// The method was inferred from the messages, not read from `:path`.
    pub inferred: bool,
    /// `grpc`, `grpc-web` or `grpc-web-text`, with `+json` etc. when the codec is not proto;
    /// `grpc?` when recognised by framing alone.
    pub protocol: String,
    pub encoding: Option<String>,
    pub status: Option<u32>,
    pub status_name: Option<&'static str>,
    pub message: Option<String>,
    pub status_details: Option<Value>,
    pub request_messages: Vec<Message>,
    pub response_messages: Vec<Message>,
    /// Why the call has no status: reset, or cut off by the end of the capture.
    pub error: Option<String>,
}

/// One message of a call.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub index: u32,
    pub ts: Timestamp,
    /// The length in the prefix (compressed size when compressed).
    pub size: u32,
    pub compressed: bool,
    /// Decoded through the method's descriptor.
    pub json: Option<Value>,
    /// The same, as compact JSON text, instead of `json` when the input asked for text
    /// ([`CallInput::json_text`]).
    pub json_text: Option<String>,
    /// Schema-less decode and raw bytes, when there is no descriptor or it did not parse.
    pub raw: Option<Raw>,
    pub error: Option<String>,
}

impl Message {
    /// Decoded through a schema, as a tree or as text.
    pub fn decoded(&self) -> bool {
        self.json.is_some() || self.json_text.is_some()
    }

    /// The value decoded through a schema: the tree, or the text read back into one (a
    /// viewer keeps the text and makes the tree of the messages it shows).
    pub fn json_value(&self) -> Option<std::borrow::Cow<'_, Value>> {
        use std::borrow::Cow;
        match (&self.json, &self.json_text) {
            (Some(v), _) => Some(Cow::Borrowed(v)),
            // Our own compact text: it parses (and `float_roundtrip` keeps every number).
            (None, Some(t)) => serde_json::from_str(t).ok().map(Cow::Owned),
            (None, None) => None,
        }
    }
}

/// A message shown without a schema: its bytes, read as protobuf fields when they are any.
///
/// The reading and the base64 are made when they are wanted, not when the call is decoded:
/// an export writes both straight into its record ([`Raw::write_json`]), and a viewer makes
/// them only for the messages it shows (and holds the bytes: three quarters of their
/// base64 alone).
#[derive(Clone, Debug, PartialEq)]
pub struct Raw {
    /// The message's bytes (decompressed when they could be).
    pub bytes: Vec<u8>,
    /// Whether to try a protobuf reading: not for compressed bytes that could not be
    /// inflated, nor for a JSON codec's body that is no JSON.
    pub protobuf: bool,
}

impl Raw {
    /// The bytes in standard base64.
    pub fn base64(&self) -> String {
        super::base64_encode(&self.bytes)
    }

    /// `protoc --decode_raw`-like reading as compact JSON text (UTF-8; what
    /// [`crate::grpc::decode_raw`]'s tree serializes to), appended to `out`; `false`, and
    /// nothing appended, when the bytes are no protobuf at all.
    pub fn write_fields(&self, out: &mut Vec<u8>) -> bool {
        self.protobuf && decode_raw_text(&self.bytes, MAX_RAW_NODES, out).is_ok()
    }

    /// The reading as a JSON tree, for display.
    pub fn fields(&self) -> Option<Value> {
        self.protobuf
            .then(|| super::decode_raw_limited(&self.bytes, MAX_RAW_NODES).ok())
            .flatten()
            .map(|(tree, _)| tree)
    }

    /// `{"base64":…,"fields":…}` as compact JSON, appended to `out`: what serializing
    /// [`base64`](Self::base64) and [`fields`](Self::fields) under those keys writes.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Base64's alphabet needs no escaping.
        out.extend_from_slice(b"{\"base64\":\"");
        super::base64_encode_into(&self.bytes, out);
        out.extend_from_slice(b"\",\"fields\":");
        if !self.write_fields(out) {
            out.extend_from_slice(b"null");
        }
        out.push(b'}');
    }
}

fn protocol_name(kind: &Option<ContentKind>) -> String {
    let (base, codec) = match kind {
        None => return "grpc?".to_string(),
        Some(ContentKind::Grpc(c)) => ("grpc", c),
        Some(ContentKind::GrpcWeb(c)) => ("grpc-web", c),
        Some(ContentKind::GrpcWebText(c)) => ("grpc-web-text", c),
    };
    match codec {
        Codec::Proto => base.to_string(),
        Codec::Json => format!("{base}+json"),
        Codec::Other(o) => format!("{base}+{o}"),
    }
}

/// Decodes a call.
pub fn decode_call(input: &mut CallInput<'_>, descriptors: &Descriptors) -> Call {
    let mut method = input.path.and_then(|p| descriptors.method(p));
    let mut inferred = false;
    if method.is_none() && input.path.is_none() {
        // Joined mid-call: `:path` was never seen. The messages themselves can name it.
        method = infer_method(input, descriptors);
        inferred = method.is_some();
    }
    let (service, method_name) = match (&method, input.path) {
        (Some(m), _) => (Some(m.service.clone()), Some(m.method.clone())),
        (None, Some(p)) => split_path(p),
        (None, None) => (None, None),
    };
    let codec = match &input.kind {
        Some(ContentKind::Grpc(c) | ContentKind::GrpcWeb(c) | ContentKind::GrpcWebText(c)) => {
            c.clone()
        }
        None => Codec::Proto,
    };
    let request_encoding = input.request_encoding.map(Encoding::from_header);
    let response_encoding = input.response_encoding.map(Encoding::from_header);
    let limits = (input.no_bodies, input.max_decompressed, input.json_text);
    let decode = |frames: &mut [Framed],
                  desc: Option<&prost_reflect::MessageDescriptor>,
                  enc: &Option<Encoding>| {
        frames
            .iter_mut()
            .filter(|f| f.kind == FrameKind::Message)
            .map(|f| message(f, desc, enc.as_ref(), &codec, limits))
            .collect::<Vec<_>>()
    };
    let mut request_messages = decode(
        input.request,
        method.as_ref().map(|m| &m.input),
        &request_encoding,
    );
    let mut response_messages = decode(
        input.response,
        method.as_ref().map(|m| &m.output),
        &response_encoding,
    );
    for (msgs, frames, dropped) in [
        (
            &mut request_messages,
            &*input.request,
            input.bodies_dropped[0],
        ),
        (
            &mut response_messages,
            &*input.response,
            input.bodies_dropped[1],
        ),
    ] {
        if let Some(f) = frames.iter().find(|f| f.kind == FrameKind::SyncLost) {
            msgs.push(Message {
                index: u32::MAX,
                ts: f.ts,
                size: 0,
                compressed: false,
                json: None,
                json_text: None,
                raw: None,
                error: f
                    .error
                    .clone()
                    .or_else(|| Some("message framing lost".into())),
            });
        }
        if dropped > 0
            && let Some(last) = msgs.last_mut()
        {
            let note = format!("{dropped} later messages kept without their bodies");
            last.error = Some(
                last.error
                    .take()
                    .map_or(note.clone(), |e| format!("{e}; {note}")),
            );
        }
    }

    let trailer = |name: &str| {
        input
            .trailers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let wire_status = trailer("grpc-status").and_then(parse_status);
    // gRPC over HTTP/2, "Errors": a reset without a status maps to one.
    let reset_status = input.reset.map(|(code, _)| reset_to_status(code));
    let status = wire_status.or(reset_status);
    let message = trailer("grpc-message").map(percent_decode);
    let status_details = trailer("grpc-status-details-bin").map(|v| {
        status_details(v, descriptors)
            .unwrap_or_else(|e| Value::String(format!("undecodable: {e}")))
    });
    let error = match (wire_status, input.reset) {
        (Some(_), _) => None,
        (None, Some((code, by_client))) => Some(format!(
            "no grpc-status: RST_STREAM {} from the {}, mapped to {} by the gRPC spec",
            crate::http2::frame::ErrorCode(code)
                .name()
                .map_or_else(|| format!("0x{code:x}"), str::to_string),
            if by_client { "client" } else { "server" },
            status_name(reset_to_status(code)).unwrap_or("UNKNOWN")
        )),
        (None, None) if !input.complete => {
            Some("cut off before trailers (the capture or connection ended)".to_string())
        }
        (None, None) => Some("no grpc-status in the trailers".to_string()),
    };
    Call {
        service,
        method: method_name,
        inferred,
        protocol: protocol_name(&input.kind),
        encoding: request_encoding
            .as_ref()
            .or(response_encoding.as_ref())
            .map(|e| e.name().to_string()),
        status,
        status_name: status.and_then(status_name),
        message,
        status_details,
        request_messages,
        response_messages,
        error,
    }
}

/// The status a call reset by RST_STREAM has (gRPC over HTTP/2, section "Errors").
fn reset_to_status(http2_error: u32) -> u32 {
    match http2_error {
        0x7 => 14, // REFUSED_STREAM -> UNAVAILABLE: the call may be retried
        0x8 => 1,  // CANCEL -> CANCELLED
        0xb => 8,  // ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED
        0xc => 7,  // INADEQUATE_SECURITY -> PERMISSION_DENIED
        _ => 13,   // everything else -> INTERNAL
    }
}

/// `/package.Service/Method` into its two names.
fn split_path(path: &str) -> (Option<String>, Option<String>) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next(), parts.next()) {
        (Some(s), Some(m)) if !s.is_empty() && !m.is_empty() => {
            (Some(s.to_string()), Some(m.to_string()))
        }
        _ => (None, None),
    }
}

fn message(
    f: &mut Framed,
    desc: Option<&prost_reflect::MessageDescriptor>,
    enc: Option<&Encoding>,
    codec: &Codec,
    (no_bodies, max_decompressed, json_text): (bool, usize, bool),
) -> Message {
    let mut m = Message {
        index: f.index,
        ts: f.ts,
        size: f.declared_len,
        compressed: f.compressed,
        json: None,
        json_text: None,
        raw: None,
        error: f.error.clone(),
    };
    if no_bodies || !f.is_complete() && f.body.is_empty() {
        return m;
    }
    let note = |m: &mut Message, e: String| {
        m.error = Some(m.error.take().map_or(e.clone(), |p| format!("{p}; {e}")));
    };
    // The frame is done with: its body moves into the message rather than being copied.
    let raw = |bytes: Vec<u8>, protobuf: bool| Some(Raw { bytes, protobuf });
    let body = if f.compressed {
        match enc {
            Some(Encoding::Identity) | None => {
                note(&mut m, "compressed flag set but no grpc-encoding".into());
                m.raw = raw(std::mem::take(&mut f.body), false);
                return m;
            }
            Some(e) => match decompress(e, &f.body, max_decompressed) {
                Ok(b) => b,
                Err(err) => {
                    note(&mut m, format!("cannot decompress ({e}): {err}"));
                    m.raw = raw(std::mem::take(&mut f.body), false);
                    return m;
                }
            },
        }
    } else {
        std::mem::take(&mut f.body)
    };
    if !f.is_complete() {
        // A partial body decodes as far as it goes, schema-less.
        m.raw = raw(body, true);
        return m;
    }
    if !matches!(codec, Codec::Json) && looks_like_json(&body) {
        // Some servers send JSON under a protobuf content-type (grpc-java with a JSON
        // marshaller): show what it is.
        if let Ok(v) = serde_json::from_slice(&body) {
            m.json = Some(v);
            note(
                &mut m,
                "a JSON payload, though the content-type names protobuf".into(),
            );
            return m;
        }
    }
    match codec {
        Codec::Json => match serde_json::from_slice(&body) {
            Ok(v) => m.json = Some(v),
            Err(e) => {
                note(&mut m, format!("not JSON: {e}"));
                m.raw = raw(body, false);
            }
        },
        Codec::Proto | Codec::Other(_) => match desc {
            Some(d) => {
                let decoded = if json_text {
                    // Room for the usual case (base64 of bytes fields is 4/3 of them), so
                    // the text is rarely copied while it grows.
                    let mut text = Vec::with_capacity(body.len().saturating_mul(2) + 256);
                    decode_json_text(d, &body, &mut text).map(|()| {
                        // The writer escapes what JSON needs and copies valid UTF-8 strings.
                        m.json_text = Some(String::from_utf8(text).unwrap_or_else(|e| {
                            String::from_utf8_lossy(e.as_bytes()).into_owned()
                        }));
                    })
                } else {
                    decode_json(d, &body).map(|v| m.json = Some(v))
                };
                if let Err(e) = decoded {
                    note(&mut m, format!("does not parse as {}: {e}", d.full_name()));
                    m.raw = raw(body, true);
                }
            }
            None => m.raw = raw(body, true),
        },
    }
    m
}

/// A JSON object or array: a protobuf message can hardly start so (0x7b and 0x5b would be
/// field 15 and 11 starting deprecated groups).
fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// How well a message type explains some bodies: `None` when one does not parse;
/// otherwise (unknown fields, known fields), counted through nested messages.
fn fit(desc: &prost_reflect::MessageDescriptor, bodies: &[&[u8]]) -> Option<(u64, u64)> {
    fn count(m: &prost_reflect::DynamicMessage, depth: u32, acc: &mut (u64, u64)) {
        acc.0 += m.unknown_fields().count() as u64;
        if depth > 32 {
            return;
        }
        for (_, v) in m.fields() {
            acc.1 += 1;
            match v {
                prost_reflect::Value::Message(n) => count(n, depth + 1, acc),
                prost_reflect::Value::List(items) => {
                    for i in items {
                        if let prost_reflect::Value::Message(n) = i {
                            count(n, depth + 1, acc);
                        }
                    }
                }
                prost_reflect::Value::Map(map) => {
                    for i in map.values() {
                        if let prost_reflect::Value::Message(n) = i {
                            count(n, depth + 1, acc);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut acc = (0, 0);
    for body in bodies {
        let m = prost_reflect::DynamicMessage::decode(desc.clone(), *body).ok()?;
        count(&m, 0, &mut acc);
    }
    Some(acc)
}

/// The method whose input and output types explain the call's messages best, when there is
/// a clear winner: no unknown field, and strictly fewer unknown or more known fields than
/// any other candidate with different types. Many messages parse as several types, so
/// requests and responses are weighed together.
fn infer_method(input: &CallInput<'_>, descriptors: &Descriptors) -> Option<super::MethodInfo> {
    let bodies = |frames: &'_ [Framed]| -> Vec<Vec<u8>> {
        frames
            .iter()
            .filter(|f| f.kind == FrameKind::Message && f.is_complete() && !f.compressed)
            .map(|f| f.body.clone())
            .collect()
    };
    let (req, resp) = (bodies(input.request), bodies(input.response));
    let req: Vec<&[u8]> = req
        .iter()
        .chain(input.pooled[0])
        .map(Vec::as_slice)
        .collect();
    let resp: Vec<&[u8]> = resp
        .iter()
        .chain(input.pooled[1])
        .map(Vec::as_slice)
        .collect();
    if req
        .iter()
        .chain(&resp)
        .all(|b| b.is_empty() || looks_like_json(b))
    {
        return None;
    }
    let mut ranked: Vec<((u64, u64), super::MethodInfo)> = descriptors
        .methods()
        .filter_map(|m| {
            let (ru, rk) = fit(&m.input, &req)?;
            let (su, sk) = fit(&m.output, &resp)?;
            Some(((ru + su, rk + sk), m))
        })
        .filter(|((_, known), _)| *known > 0)
        .collect();
    // Fewest unknown fields first, then most known.
    ranked.sort_by(|a, b| a.0.0.cmp(&b.0.0).then(b.0.1.cmp(&a.0.1)));
    let (best_score, best) = ranked.first()?;
    if best_score.0 > 0 {
        return None;
    }
    let same_types = |m: &super::MethodInfo| {
        m.input.full_name() == best.input.full_name()
            && m.output.full_name() == best.output.full_name()
    };
    let clear = ranked
        .iter()
        .skip(1)
        .filter(|(_, m)| !same_types(m))
        .all(|(score, _)| score.0 > best_score.0 || score.1 < best_score.1);
    let ambiguous = ranked
        .iter()
        .skip(1)
        .any(|(score, m)| same_types(m) && score == best_score);
    (clear && !ambiguous).then(|| best.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message decoded as text reads back as the tree it was written from.
    #[test]
    fn a_message_decoded_as_text_gives_its_tree() {
        let tree = serde_json::json!({"id": "sku-2", "price": 0.1, "n": [1, -2]});
        let text = serde_json::to_string(&tree).unwrap();
        let blank = Message {
            index: 0,
            ts: Timestamp::default(),
            size: 0,
            compressed: false,
            json: None,
            json_text: None,
            raw: None,
            error: None,
        };
        let as_text = Message {
            json_text: Some(text),
            ..blank.clone()
        };
        let as_tree = Message {
            json: Some(tree.clone()),
            ..blank.clone()
        };
        assert!(as_text.decoded() && as_tree.decoded() && !blank.decoded());
        assert_eq!(as_text.json_value().as_deref(), Some(&tree));
        assert_eq!(as_tree.json_value().as_deref(), Some(&tree));
        assert_eq!(blank.json_value(), None);
    }

    #[test]
    fn without_descriptors_messages_are_schema_less_and_never_dropped() {
        // field 1 = "hi", field 2 = 150
        let body = [0x0a, 0x02, b'h', b'i', 0x10, 0x96, 0x01];
        let mut req = [Framed::whole(0, &body)];
        let mut input = CallInput {
            path: Some("/pkg.Svc/Do"),
            kind: Some(ContentKind::Grpc(Codec::Proto)),
            trailers: vec![("grpc-status", b"5"), ("grpc-message", b"not%20found")],
            request: &mut req,
            complete: true,
            ..CallInput::default()
        };
        let call = decode_call(&mut input, &Descriptors::empty());
        assert_eq!(call.service.as_deref(), Some("pkg.Svc"));
        assert_eq!(call.method.as_deref(), Some("Do"));
        assert_eq!(call.status, Some(5));
        assert_eq!(call.status_name, Some("NOT_FOUND"));
        assert_eq!(call.message.as_deref(), Some("not found"));
        assert_eq!(call.request_messages.len(), 1);
        let raw = call.request_messages[0].raw.as_ref().unwrap();
        assert_eq!(raw.base64(), "CgJoaRCWAQ==");
        let mut text = Vec::new();
        assert!(raw.write_fields(&mut text));
        assert_eq!(
            text,
            br#"[{"field":1,"length":2,"string":"hi","type":"len"},{"field":2,"type":"varint","value":150,"zigzag":75}]"#
        );
        let mut json = Vec::new();
        raw.write_json(&mut json);
        let tree = serde_json::json!({"base64": raw.base64(), "fields": raw.fields()});
        assert_eq!(json, serde_json::to_vec(&tree).unwrap());
        assert!(call.error.is_none());
    }

    #[test]
    fn a_reset_call_says_so() {
        let mut input = CallInput {
            kind: Some(ContentKind::Grpc(Codec::Proto)),
            reset: Some((0x8, true)),
            complete: true,
            ..CallInput::default()
        };
        let call = decode_call(&mut input, &Descriptors::empty());
        assert_eq!(call.status, Some(1));
        assert_eq!(call.status_name, Some("CANCELLED"));
        assert_eq!(
            call.error.as_deref(),
            Some(
                "no grpc-status: RST_STREAM CANCEL from the client, mapped to CANCELLED by the gRPC spec"
            )
        );
        assert_eq!(call.protocol, "grpc");
    }

    #[test]
    fn compressed_without_encoding_keeps_the_bytes() {
        let mut f = Framed::whole(0, b"\x1f\x8b junk");
        f.compressed = true;
        let mut req = [f];
        let mut input = CallInput {
            request: &mut req,
            complete: true,
            ..CallInput::default()
        };
        let call = decode_call(&mut input, &Descriptors::empty());
        let m = &call.request_messages[0];
        assert!(m.error.as_deref().unwrap().contains("no grpc-encoding"));
        // The bytes as they came, and no reading of compressed bytes as protobuf.
        let raw = m.raw.as_ref().unwrap();
        assert_eq!(raw.bytes, b"\x1f\x8b junk");
        let mut text = Vec::new();
        assert!(!raw.write_fields(&mut text));
        assert!(text.is_empty());
        assert_eq!(raw.fields(), None);
        let mut json = Vec::new();
        raw.write_json(&mut json);
        assert_eq!(json, br#"{"base64":"H4sganVuaw==","fields":null}"#);
        assert_eq!(call.protocol, "grpc?");
    }
}
