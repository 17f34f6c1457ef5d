//! The export's serde types (documented field by field in `docs/json.md`) and their
//! construction from decoding records.

use crate::anomaly::Anomaly;
use crate::capture::Timestamp;
use crate::grpc::GrpcStream;
use crate::grpc::call::{Call, Message};
use crate::http2::frame::{ErrorCode, SettingId};
use crate::http2::hpack::{HeaderField, Text};
use crate::model::Backend;
use crate::model::record::CallRecord;
use crate::reassembly::ConnStats;
use crate::session::{ConnectionRecord, FrameRecord, GoawayRecord, PingRecord};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;

fn secs(ts: Timestamp) -> f64 {
    ts.as_secs_f64()
}

/// An address and port, written as `Display` writes it (`10.0.0.1:50051`, `[::1]:443`).
/// IPv4, every stream's case, is formatted on the stack: `to_string` per record cost more
/// than the rest of its scalars.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint(pub SocketAddr);

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            SocketAddr::V4(a) => {
                // "255.255.255.255:65535" is 21 bytes.
                let mut text = ArrayText::<21>::default();
                let [o1, o2, o3, o4] = a.ip().octets();
                for (octet, sep) in [(o1, b'.'), (o2, b'.'), (o3, b'.'), (o4, b':')] {
                    text.push(itoa::Buffer::new().format(octet).as_bytes());
                    text.push(&[sep]);
                }
                text.push(itoa::Buffer::new().format(a.port()).as_bytes());
                match text.as_str() {
                    Some(t) => s.serialize_str(t),
                    None => s.collect_str(&self.0),
                }
            }
            SocketAddr::V6(_) => s.collect_str(&self.0),
        }
    }
}

/// Text built on the stack, up to `N` bytes (more is dropped, and `as_str` says so).
struct ArrayText<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for ArrayText<N> {
    fn default() -> Self {
        ArrayText {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }
}

impl<const N: usize> ArrayText<N> {
    fn push(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(slot) => {
                slot.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    fn as_str(&self) -> Option<&str> {
        if self.overflow {
            return None;
        }
        std::str::from_utf8(self.buf.get(..self.len)?).ok()
    }
}

/// The whole document `h2scope export` writes. Streams come first and the capture summary
/// last, so that a compact document is written as the capture is read: only the summary
/// and the connections (known when they end) wait for the end.
#[derive(Debug, Serialize)]
pub struct Document {
    pub streams: Vec<StreamJson>,
    pub connections: Vec<ConnectionJson>,
    pub backends: Vec<BackendJson>,
    pub capture: CaptureInfo,
}

/// The version of the JSON output (docs/json.md), raised whenever a field changes meaning or
/// type, or is removed (adding a field does not raise it). 1 was every release before the
/// field existed; 2 made anomalies objects with a `kind`.
pub const FORMAT_VERSION: u32 = 2;

/// An NDJSON line: `{"type": kind, ...value}`.
#[derive(Serialize)]
pub(super) struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub value: &'a T,
}

#[derive(Debug, Serialize)]
pub struct CaptureInfo {
    /// [`FORMAT_VERSION`]: which version of docs/json.md the output follows.
    pub format_version: u32,
    pub source: String,
    pub format: &'static str,
    pub gzipped: bool,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_packets: u64,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub interfaces: Vec<Interface>,
    pub anomalies: Vec<CaptureAnomaly>,
    pub comments: Vec<String>,
    pub decryption_secrets: usize,
    pub evicted_connections: u64,
    pub timed_out_connections: u64,
    /// Live capture: packets the kernel dropped (the ring was full).
    pub kernel_drops: Option<u64>,
    /// `sniff --keep-calls`: the oldest streams and ended connections left out of the
    /// document beyond its window (still counted in `backends`).
    pub streams_beyond_window: u64,
    pub connections_beyond_window: u64,
    /// Packets the capture filter (`-f`) left out.
    pub filtered_out: u64,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub id: u32,
    pub link_type: &'static str,
    pub link_type_id: u32,
    pub snaplen: u32,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CaptureAnomaly {
    pub kind: &'static str,
    pub count: u64,
    pub details: Vec<String>,
}

/// Bytes as a string when they are UTF-8 text, otherwise `{"base64": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>, pub bool);

impl Bytes {
    /// `force_binary` for values that are binary by contract (`-bin` headers).
    pub fn new(b: &[u8], force_binary: bool) -> Self {
        Bytes(b.to_vec(), force_binary)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BytesRef(&self.0, self.1).serialize(s)
    }
}

/// [`Bytes`] without the copy, for values serialized straight from the decoded data.
struct BytesRef<'a>(&'a [u8], bool);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.1, std::str::from_utf8(self.0)) {
            (false, Ok(text)) => s.serialize_str(text),
            _ => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("base64", &base64(self.0))?;
                m.end()
            }
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(data: &[u8]) -> String {
    crate::grpc::base64_encode(data)
}

/// A header list: `[[name, value], ...]` in wire order. Names from an unknown dynamic-table
/// entry read `"<unknown dynamic #N>"`; unknown values are `null`.
#[derive(Debug)]
pub struct Headers(pub Vec<HeaderField>);

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = &self.0;
        let mut seq = s.serialize_seq(Some(fields.len()))?;
        for f in fields {
            // Borrowed where the bytes allow: this runs for every field of every stream.
            let name = match &f.name {
                Text::Known(n) => lossy(n),
                Text::Unknown => Cow::Owned(f.display_name()),
            };
            let decoded;
            let value = match &f.value {
                // gRPC binary metadata: the bytes it stands for, not its wire encoding.
                Text::Known(v) if name.ends_with("-bin") => {
                    decoded = crate::grpc::bin_header_value(v);
                    Some(BytesRef(decoded.as_deref().unwrap_or(v), true))
                }
                Text::Known(v) => Some(BytesRef(v, false)),
                Text::Unknown => None,
            };
            seq.serialize_element(&(&*name, value))?;
        }
        seq.end()
    }
}

/// What [`Headers::serialize`] writes for `fields` through the compact writer, written
/// directly: every list of every stream goes through here, and serde's generic path checked
/// each name and value twice, for UTF-8 and then for escapes (a test holds the two to the
/// same bytes).
fn write_headers(out: &mut Vec<u8>, fields: &[HeaderField]) {
    use crate::text::{write_json, write_json_utf8};
    let written: Result<(), std::convert::Infallible> = write_array(out, fields, |out, f| {
        out.push(b'[');
        let bin = match &f.name {
            Text::Known(n) => {
                if !write_json_utf8(out, n) {
                    write_json(out, &String::from_utf8_lossy(n));
                }
                // As `lossy(n).ends_with("-bin")`: the suffix is ASCII, kept by lossy.
                n.ends_with(b"-bin")
            }
            Text::Unknown => {
                write_json(out, &f.display_name());
                false
            }
        };
        out.push(b',');
        match &f.value {
            Text::Known(v) if bin => {
                let decoded = crate::grpc::bin_header_value(v);
                write_base64(out, decoded.as_deref().unwrap_or(v));
            }
            Text::Known(v) => {
                if !write_json_utf8(out, v) {
                    write_base64(out, v);
                }
            }
            Text::Unknown => out.extend_from_slice(b"null"),
        }
        out.push(b']');
        Ok(())
    });
    // Writing into a Vec cannot fail.
    let Ok(()) = written;
}

/// `{"base64":"..."}`, as [`BytesRef`] writes bytes that are not text.
fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(b"{\"base64\":\"");
    crate::grpc::base64_encode_into(data, out);
    out.extend_from_slice(b"\"}");
}

fn known<'a>(list: &'a Option<Vec<HeaderField>>, name: &str) -> Option<String> {
    GrpcStream::field(list, name).map(|v: &'a [u8]| lossy(v).into_owned())
}

/// `String::from_utf8_lossy`, with the common case first: it checks valid text with a
/// slower, chunk-by-chunk loop than `str::from_utf8`.
fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(b),
    }
}

fn error_code(e: ErrorCode) -> String {
    e.name()
        .map_or_else(|| format!("UNKNOWN(0x{:x})", e.0), str::to_string)
}

fn setting_name(id: SettingId) -> String {
    id.name()
        .map_or_else(|| format!("0x{:04x}", id.0), str::to_string)
}

#[derive(Debug, Serialize)]
pub struct ResetJson {
    pub from: &'static str,
    pub error_code: String,
}

#[derive(Debug, Serialize)]
pub struct FrameJson {
    pub index: u64,
    pub ts: f64,
    pub packet: u64,
    /// `"client"` or `"server"` (written without escaping).
    pub from: &'static str,
    /// The frame type's name; a borrowed one is one of ours, written without escaping.
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    pub flags: u8,
    pub length: u32,
    pub stream_id: u32,
}

impl FrameJson {
    fn new(f: &FrameRecord) -> Self {
        FrameJson {
            index: f.index,
            ts: secs(f.ts),
            packet: f.packet,
            from: f.from.as_str(),
            kind: match f.kind {
                crate::http2::frame::FrameType::Unknown(t) => Cow::Owned(format!("UNKNOWN({t})")),
                k => Cow::Borrowed(k.name()),
            },
            flags: f.flags,
            length: f.length,
            stream_id: f.stream_id,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct WindowsJson {
    pub client_window: i64,
    pub server_window: i64,
}

/// A record that the compact outputs write without serde (its `Serialize` stays for
/// `--pretty` and is what the compact bytes are tested against). Both come from one field
/// list in `record!`.
pub trait Members {
    /// The members as compact JSON, without the braces.
    fn write_members(&self, out: &mut Vec<u8>) -> Result<(), crate::compact_json::Error>;
}

/// Declares an exported record from one list of fields: the struct, its `Serialize` (for
/// `--pretty` and held documents) and its [`Members`] (the compact writer), so a field is
/// added, renamed or moved in one line and both writers follow. Each field names the
/// function of [`put`] that writes its value compactly; serde writes it through the field
/// type's own `Serialize`. Fields after `optional:` (each an `Option`) are left out when
/// `None`, as serde's `skip_serializing_if = "Option::is_none"` does.
///
/// Why not serde alone: every stream of a capture goes through the compact writer, and
/// serde's generic path (a call, a key copy and an `Option` dispatch per member) was a
/// third of an export without bodies; the keys here are `concat!`ed constants.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(#[doc = $doc0:literal])*
            pub $f0:ident: $t0:ty => $p0:path,
            $(
                $(#[doc = $doc:literal])*
                pub $f:ident: $t:ty => $p:path,
            )*
            $(
                optional:
                $(
                    $(#[doc = $odoc:literal])*
                    pub $o:ident: $ot:ty => $op:path,
                )*
            )?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name {
            $(#[doc = $doc0])*
            pub $f0: $t0,
            $(
                $(#[doc = $doc])*
                pub $f: $t,
            )*
            $($(
                $(#[doc = $odoc])*
                pub $o: $ot,
            )*)?
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                // serde_json takes a length of 0 for an empty object: count the members.
                let len = [stringify!($f0) $(, stringify!($f))*].len()
                    $($( + usize::from(self.$o.is_some()) )*)?;
                let mut st = s.serialize_struct(stringify!($name), len)?;
                st.serialize_field(stringify!($f0), &self.$f0)?;
                $(st.serialize_field(stringify!($f), &self.$f)?;)*
                $($(
                    match &self.$o {
                        Some(v) => st.serialize_field(stringify!($o), v)?,
                        None => st.skip_field(stringify!($o))?,
                    }
                )*)?
                st.end()
            }
        }

        impl Members for $name {
            fn write_members(
                &self,
                out: &mut Vec<u8>,
            ) -> Result<(), crate::compact_json::Error> {
                out.extend_from_slice(concat!("\"", stringify!($f0), "\":").as_bytes());
                $p0(out, &self.$f0)?;
                $(
                    out.extend_from_slice(concat!(",\"", stringify!($f), "\":").as_bytes());
                    $p(out, &self.$f)?;
                )*
                $($(
                    if let Some(v) = &self.$o {
                        out.extend_from_slice(concat!(",\"", stringify!($o), "\":").as_bytes());
                        $op(out, v)?;
                    }
                )*)?
                Ok(())
            }
        }
    };
}

/// The compact writers `record!` fields name: each writes one value as compact JSON,
/// exactly as `compact_json::to_vec` would (tests hold the two to the same bytes).
pub mod put {
    use super::{FrameJson, Headers, JsonText, Members, RawJson, write_array, write_object};
    use crate::compact_json::{self, Error};
    use serde::Serialize;

    pub fn int<I: itoa::Integer + Copy>(out: &mut Vec<u8>, v: &I) -> Result<(), Error> {
        compact_json::write_int(out, *v);
        Ok(())
    }

    pub fn float(out: &mut Vec<u8>, v: &f64) -> Result<(), Error> {
        compact_json::write_f64(out, *v);
        Ok(())
    }

    pub fn boolean(out: &mut Vec<u8>, v: &bool) -> Result<(), Error> {
        out.extend_from_slice(if *v { b"true" } else { b"false" });
        Ok(())
    }

    pub fn text<T: AsRef<str> + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
        crate::text::write_json(out, v.as_ref());
        Ok(())
    }

    /// `null`, or the value as `put` writes it.
    pub fn opt<T>(
        out: &mut Vec<u8>,
        v: &Option<T>,
        put: impl FnOnce(&mut Vec<u8>, &T) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match v {
            Some(v) => put(out, v),
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    pub fn opt_text<T: AsRef<str>>(out: &mut Vec<u8>, v: &Option<T>) -> Result<(), Error> {
        opt(out, v, |out, v| text(out, v))
    }

    pub fn opt_int<I: itoa::Integer + Copy>(out: &mut Vec<u8>, v: &Option<I>) -> Result<(), Error> {
        opt(out, v, int)
    }

    pub fn opt_float(out: &mut Vec<u8>, v: &Option<f64>) -> Result<(), Error> {
        opt(out, v, float)
    }

    /// Through serde (nested objects that are not on the hot path).
    pub fn serde<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
        compact_json::to_vec(out, v)
    }

    pub fn headers(out: &mut Vec<u8>, v: &Headers) -> Result<(), Error> {
        super::write_headers(out, &v.0);
        Ok(())
    }

    pub fn opt_headers(out: &mut Vec<u8>, v: &Option<Headers>) -> Result<(), Error> {
        opt(out, v, headers)
    }

    pub fn header_lists(out: &mut Vec<u8>, v: &[Headers]) -> Result<(), Error> {
        write_array(out, v, headers)
    }

    pub fn object<T: Members>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
        write_object(out, None, v)
    }

    pub fn opt_object<T: Members>(out: &mut Vec<u8>, v: &Option<T>) -> Result<(), Error> {
        opt(out, v, object)
    }

    pub fn objects<T: Members>(out: &mut Vec<u8>, v: &[T]) -> Result<(), Error> {
        write_array(out, v, object)
    }

    pub fn frames(out: &mut Vec<u8>, v: &[FrameJson]) -> Result<(), Error> {
        FrameJson::write_all(out, v)
    }

    pub fn json_text(out: &mut Vec<u8>, v: &Option<JsonText>) -> Result<(), Error> {
        JsonText::write(out, v.as_ref())
    }

    pub fn raw(out: &mut Vec<u8>, v: &Option<RawJson>) -> Result<(), Error> {
        opt(out, v, |out, r| {
            r.0.write_json(out);
            Ok(())
        })
    }
}

record! {
    /// One HTTP/2 stream (docs/json.md, `streams[]`).
    pub struct StreamJson {
        pub connection: u64 => put::int,
        pub stream_id: u32 => put::int,
        pub client: Endpoint => put::serde,
        pub server: Endpoint => put::serde,
        pub method: Option<String> => put::opt_text,
        pub path: Option<String> => put::opt_text,
        pub authority: Option<String> => put::opt_text,
        pub scheme: Option<String> => put::opt_text,
        pub status: Option<u16> => put::opt_int,
        pub request_headers: Option<Headers> => put::opt_headers,
        pub informational: Vec<Headers> => put::header_lists,
        pub response_headers: Option<Headers> => put::opt_headers,
        pub trailers: Option<Headers> => put::opt_headers,
        pub request_trailers: Option<Headers> => put::opt_headers,
        pub request_bytes: u64 => put::int,
        pub response_bytes: u64 => put::int,
        pub request_data_frames: u64 => put::int,
        pub response_data_frames: u64 => put::int,
        pub start: f64 => put::float,
        pub end: f64 => put::float,
        pub duration_ms: f64 => put::float,
        pub complete: bool => put::boolean,
        pub reset: Option<ResetJson> => put::serde,
        pub promised_by: Option<u32> => put::opt_int,
        pub flow_control: Option<WindowsJson> => put::serde,
        pub anomalies: Vec<Anomaly> => put::serde,
        pub grpc: Option<GrpcJson> => put::opt_object,
        optional:
        pub frames: Option<Vec<FrameJson>> => put::frames,
    }
}

/// `{members}`, or with `kind` the NDJSON line's object `{"type":kind,members}` (what
/// serde writes for the flattened `Tagged`).
pub(super) fn write_object(
    out: &mut Vec<u8>,
    kind: Option<&str>,
    record: &impl Members,
) -> Result<(), crate::compact_json::Error> {
    out.push(b'{');
    if let Some(kind) = kind {
        out.extend_from_slice(b"\"type\":");
        crate::text::write_json(out, kind);
        out.push(b',');
    }
    record.write_members(out)?;
    out.push(b'}');
    Ok(())
}

/// `[a,b,...]`, each item written by `write`.
fn write_array<T, E>(
    out: &mut Vec<u8>,
    items: &[T],
    mut write: impl FnMut(&mut Vec<u8>, &T) -> Result<(), E>,
) -> Result<(), E> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item)?;
    }
    out.push(b']');
    Ok(())
}

impl FrameJson {
    /// `[...]` of the frames as compact JSON, by hand as [`StreamJson`]'s `write_members`
    /// (with `--frames`, most of the output is these).
    fn write_all(out: &mut Vec<u8>, all: &[FrameJson]) -> Result<(), crate::compact_json::Error> {
        use crate::compact_json::{write_f64, write_int};
        use crate::text::write_json;
        /// Quoted as it is: the direction and type names are ours and need no escaping.
        fn quoted(out: &mut Vec<u8>, s: &str) {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        // Frames that arrived in one packet share its time: its text is copied, not
        // formatted again (where in `out` the last one is, and its value).
        let mut last_ts: Option<(u64, std::ops::Range<usize>)> = None;
        out.reserve(all.len().saturating_mul(128));
        write_array(out, all, |out, f| {
            out.extend_from_slice(b"{\"index\":");
            write_int(out, f.index);
            out.extend_from_slice(b",\"ts\":");
            match &last_ts {
                Some((bits, at)) if *bits == f.ts.to_bits() => out.extend_from_within(at.clone()),
                _ => {
                    let start = out.len();
                    write_f64(out, f.ts);
                    last_ts = Some((f.ts.to_bits(), start..out.len()));
                }
            }
            out.extend_from_slice(b",\"packet\":");
            write_int(out, f.packet);
            out.extend_from_slice(b",\"from\":");
            quoted(out, f.from);
            out.extend_from_slice(b",\"type\":");
            match &f.kind {
                Cow::Borrowed(name) => quoted(out, name),
                Cow::Owned(name) => write_json(out, name),
            }
            out.extend_from_slice(b",\"flags\":");
            write_int(out, f.flags);
            out.extend_from_slice(b",\"length\":");
            write_int(out, f.length);
            out.extend_from_slice(b",\"stream_id\":");
            write_int(out, f.stream_id);
            out.push(b'}');
            Ok(())
        })
    }
}

record! {
    /// A gRPC call (see `grpc::call`; docs/json.md, `streams[].grpc`).
    pub struct GrpcJson {
        pub service: Option<String> => put::opt_text,
        pub method: Option<String> => put::opt_text,
        pub inferred: bool => put::boolean,
        pub protocol: String => put::text,
        pub encoding: Option<String> => put::opt_text,
        pub status: Option<u32> => put::opt_int,
        pub status_name: Option<&'static str> => put::opt_text,
        pub message: Option<String> => put::opt_text,
        pub status_details: Option<Value> => put::serde,
        pub request_messages: Vec<MessageJson> => put::objects,
        pub response_messages: Vec<MessageJson> => put::objects,
        pub error: Option<String> => put::opt_text,
    }
}

record! {
    /// One gRPC message (docs/json.md, `streams[].grpc.request_messages[]`).
    pub struct MessageJson {
        pub index: u32 => put::int,
        pub ts: f64 => put::float,
        pub size: u32 => put::int,
        pub compressed: bool => put::boolean,
        /// Decoded through a schema.
        pub json: Option<JsonText> => put::json_text,
        pub raw: Option<RawJson> => put::raw,
        pub error: Option<String> => put::opt_text,
    }
}

/// A schema-less message, written as `{"base64":…,"fields":…}` from its bytes: the base64
/// and the reading are made as the record is written, straight into it by the compact
/// writer ([`Raw::write_json`](crate::grpc::call::Raw::write_json)), as values for serde.
#[derive(Debug)]
pub struct RawJson(pub crate::grpc::call::Raw);

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RawJson", 2)?;
        st.serialize_field("base64", &self.0.base64())?;
        st.serialize_field("fields", &self.0.fields())?;
        st.end()
    }
}

/// Decoded JSON: a tree, or compact text already written by `compact_json` (a message
/// decoded as text), which the hand-written record writers copy as it is
/// (`MessageJson::write_all`). Given to any serializer (`--pretty`, serde_json in a
/// script), the text is read back into its tree first, so it comes out as the JSON it is in
/// every writer, never as the bytes that hold it.
#[derive(Debug)]
pub enum JsonText {
    Tree(Value),
    Text(Vec<u8>),
}

impl JsonText {
    /// Compact JSON, as the compact writer writes it; `null` for none.
    fn write(out: &mut Vec<u8>, json: Option<&JsonText>) -> Result<(), crate::compact_json::Error> {
        match json {
            None => out.extend_from_slice(b"null"),
            Some(JsonText::Text(t)) => out.extend_from_slice(t),
            Some(JsonText::Tree(v)) => crate::compact_json::to_vec(out, v)?,
        }
        Ok(())
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonText::Tree(v) => v.serialize(s),
            // Text the writer made reads back to the tree it was written from (keys sorted
            // as the tree's map sorts them, floats exact with `float_roundtrip`).
            JsonText::Text(t) => serde_json::from_slice::<Value>(t)
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

impl GrpcJson {
    pub fn new(c: &Call) -> Self {
        GrpcJson::from_call(c.clone())
    }

    /// From a call that is done with: its messages (JSON trees or text, schema-less bytes)
    /// move, not copied.
    pub fn from_call(c: Call) -> Self {
        let messages = |m: Vec<Message>| -> Vec<MessageJson> {
            m.into_iter()
                .map(|m| MessageJson {
                    index: m.index,
                    ts: secs(m.ts),
                    size: m.size,
                    compressed: m.compressed,
                    json: match m.json_text {
                        Some(text) => Some(JsonText::Text(text.into_bytes())),
                        None => m.json.map(JsonText::Tree),
                    },
                    raw: m.raw.map(RawJson),
                    error: m.error,
                })
                .collect()
        };
        GrpcJson {
            service: c.service,
            method: c.method,
            inferred: c.inferred,
            protocol: c.protocol,
            encoding: c.encoding,
            status: c.status,
            status_name: c.status_name,
            message: c.message,
            status_details: c.status_details,
            request_messages: messages(c.request_messages),
            response_messages: messages(c.response_messages),
            error: c.error,
        }
    }
}

impl StreamJson {
    /// From a record still in use: everything is copied.
    pub fn new(rec: &CallRecord, frames: bool) -> Self {
        StreamJson::from_record(rec.clone(), frames, false)
    }

    /// From a record that is done with: its header lists, anomalies and call move into the
    /// JSON record instead of being copied (the export's path: every field of every
    /// stream). `held`: the record is kept until the end (a pretty document), not written
    /// at once.
    pub fn from_record(mut s: CallRecord, frames: bool, held: bool) -> Self {
        let scalars = StreamJson::scalars(&s, frames);
        // Lists grew by pushes: trim them, as a copy would have been, when the record is
        // held until the end.
        let trim = |mut h: Vec<HeaderField>| {
            if held {
                h.shrink_to_fit();
            }
            Headers(h)
        };
        StreamJson {
            request_headers: s.request_headers.take().map(trim),
            informational: std::mem::take(&mut s.informational)
                .into_iter()
                .map(trim)
                .collect(),
            response_headers: s.response_headers.take().map(trim),
            trailers: s.trailers.take().map(trim),
            request_trailers: s.request_trailers.take().map(trim),
            anomalies: std::mem::take(&mut s.anomalies),
            grpc: s.grpc.take().map(GrpcJson::from_call),
            ..scalars
        }
    }

    /// Everything but the header lists, anomalies and call (left empty).
    fn scalars(s: &CallRecord, frames: bool) -> Self {
        StreamJson {
            connection: s.conn,
            stream_id: s.stream_id,
            client: Endpoint(s.client),
            server: Endpoint(s.server),
            method: known(&s.request_headers, ":method"),
            path: known(&s.request_headers, ":path"),
            authority: known(&s.request_headers, ":authority"),
            scheme: known(&s.request_headers, ":scheme"),
            status: s.status(),
            request_headers: None,
            informational: Vec::new(),
            response_headers: None,
            trailers: None,
            request_trailers: None,
            request_bytes: s.bytes[0],
            response_bytes: s.bytes[1],
            request_data_frames: s.data_frames[0],
            response_data_frames: s.data_frames[1],
            start: secs(s.start),
            end: secs(s.end),
            duration_ms: s.duration_ns() as f64 / 1e6,
            complete: s.complete,
            reset: s.reset.map(|(from, e)| ResetJson {
                from: from.as_str(),
                error_code: error_code(e),
            }),
            promised_by: s.promised_by,
            flow_control: s.window.map(|w| WindowsJson {
                client_window: w[0],
                server_window: w[1],
            }),
            anomalies: Vec::new(),
            grpc: None,
            frames: frames.then(|| s.frames.iter().map(FrameJson::new).collect()),
        }
    }
}

record! {
    /// A PING and its round trip (docs/json.md, `connections[].pings[]`).
    pub struct PingJson {
        pub from: &'static str => put::text,
        pub sent: f64 => put::float,
        pub acked: Option<f64> => put::opt_float,
        pub rtt_ms: Option<f64> => put::opt_float,
    }
}

impl PingJson {
    fn new(p: &PingRecord) -> Self {
        PingJson {
            from: p.from.as_str(),
            sent: secs(p.sent),
            acked: p.acked.map(secs),
            rtt_ms: p.acked.map(|a| a.saturating_sub(p.sent) as f64 / 1e6),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GoawayJson {
    pub ts: f64,
    pub from: &'static str,
    pub last_stream_id: u32,
    pub error_code: String,
    pub debug_data: Bytes,
}

impl GoawayJson {
    fn new(g: &GoawayRecord) -> Self {
        GoawayJson {
            ts: secs(g.ts),
            from: g.from.as_str(),
            last_stream_id: g.last_stream_id,
            error_code: error_code(g.error_code),
            debug_data: Bytes::new(&g.debug_data, false),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SettingsJson {
    /// The values in force at the end: every SETTINGS frame the side sent, applied in order.
    pub client: BTreeMap<String, u32>,
    pub server: BTreeMap<String, u32>,
}

#[derive(Debug, Serialize)]
pub struct TlsJson {
    pub sni: Option<String>,
    pub client_alpn: Vec<String>,
    pub server_alpn: Vec<String>,
}

/// Per-direction TCP counters; `wire_*` count whole frames, as `tshark -z conv,tcp` does.
#[derive(Debug, Serialize)]
pub struct TcpDetail {
    pub packets_client: u64,
    pub packets_server: u64,
    pub wire_bytes_client: u64,
    pub wire_bytes_server: u64,
    pub gap_bytes_client: u64,
    pub gap_bytes_server: u64,
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub conflicting_retransmissions: u64,
    pub handshake: bool,
}

impl TcpDetail {
    fn new(st: &ConnStats) -> Self {
        TcpDetail {
            packets_client: st.packets[0],
            packets_server: st.packets[1],
            wire_bytes_client: st.wire_bytes[0],
            wire_bytes_server: st.wire_bytes[1],
            gap_bytes_client: st.gap_bytes[0],
            gap_bytes_server: st.gap_bytes[1],
            retransmissions: st.retransmissions[0] + st.retransmissions[1],
            out_of_order: st.out_of_order[0] + st.out_of_order[1],
            conflicting_retransmissions: st.conflicts,
            handshake: st.handshake,
        }
    }
}

record! {
    /// One TCP connection (docs/json.md, `connections[]`).
    pub struct ConnectionJson {
        pub id: u64 => put::int,
        pub client: Endpoint => put::serde,
        pub server: Endpoint => put::serde,
        pub protocol: &'static str => put::text,
        pub joined_mid_connection: bool => put::boolean,
        pub h2c_upgrade: bool => put::boolean,
        pub tunnel: Option<String> => put::opt_text,
        pub tls: Option<TlsJson> => put::serde,
        pub start: f64 => put::float,
        pub end: f64 => put::float,
        pub streams: u64 => put::int,
        pub settings: SettingsJson => put::serde,
        pub pings: Vec<PingJson> => put::objects,
        pub goaway: Option<GoawayJson> => put::serde,
        pub flow_control: Option<WindowsJson> => put::serde,
        pub frame_count: u64 => put::int,
        pub anomalies: Vec<Anomaly> => put::serde,
        pub packets: u64 => put::int,
        pub bytes_client: u64 => put::int,
        pub bytes_server: u64 => put::int,
        pub gaps: u64 => put::int,
        pub close: &'static str => put::text,
        pub tcp: TcpDetail => put::serde,
        optional:
        pub frames: Option<Vec<FrameJson>> => put::frames,
    }
}

impl ConnectionJson {
    pub fn new(c: &ConnectionRecord, frames: bool) -> Self {
        let settings = |frames: &Vec<Vec<(SettingId, u32)>>| {
            let mut m = BTreeMap::new();
            for f in frames {
                for &(id, v) in f {
                    m.insert(setting_name(id), v);
                }
            }
            m
        };
        let st = &c.tcp;
        ConnectionJson {
            id: c.info.id,
            client: Endpoint(c.info.client),
            server: Endpoint(c.info.server),
            protocol: c.protocol.as_str(),
            joined_mid_connection: c.joined_mid_connection,
            h2c_upgrade: c.h2c_upgrade,
            tunnel: c.tunnel.clone(),
            tls: c.tls.as_ref().map(|t| TlsJson {
                sni: t.sni.clone(),
                client_alpn: t.client_alpn.clone(),
                server_alpn: t.server_alpn.clone(),
            }),
            start: secs(st.start),
            end: secs(st.end),
            streams: c.streams,
            settings: SettingsJson {
                client: settings(&c.settings[0]),
                server: settings(&c.settings[1]),
            },
            pings: c.pings.iter().map(PingJson::new).collect(),
            goaway: c.goaways.last().map(GoawayJson::new),
            flow_control: c.window.map(|w| WindowsJson {
                client_window: w[0],
                server_window: w[1],
            }),
            frame_count: c.frame_count,
            anomalies: c.anomalies.clone(),
            packets: st.packets[0] + st.packets[1],
            bytes_client: st.payload_bytes[0],
            bytes_server: st.payload_bytes[1],
            gaps: st.gaps[0] + st.gaps[1],
            close: st.reason.as_str(),
            tcp: TcpDetail::new(st),
            frames: frames.then(|| c.frames.iter().map(FrameJson::new).collect()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BackendJson {
    pub server: String,
    pub label: Option<String>,
    pub connections: u64,
    pub streams: u64,
    pub first_seen: f64,
    pub last_seen: f64,
    pub grpc_calls: u64,
    pub grpc_status: BTreeMap<String, u64>,
    pub latency_ms: Option<LatencyJson>,
}

/// gRPC call latency percentiles (nearest rank), in ms.
#[derive(Debug, Serialize)]
pub struct LatencyJson {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl BackendJson {
    pub fn new(b: &Backend) -> Self {
        BackendJson {
            server: b.server.to_string(),
            label: b.label.clone(),
            connections: b.connections,
            streams: b.streams,
            first_seen: secs(b.first_seen),
            last_seen: secs(b.last_seen),
            grpc_calls: b.grpc_calls,
            grpc_status: b.grpc_status.clone(),
            latency_ms: b.latency_quantile(0.5).map(|p50| LatencyJson {
                p50,
                p90: b.latency_quantile(0.9).unwrap_or(p50),
                p99: b.latency_quantile(0.99).unwrap_or(p50),
                max: b.latency_quantile(1.0).unwrap_or(p50),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::{AnomalyKind, Role};
    use crate::grpc::call::Raw;
    use proptest::prelude::*;

    fn field(name: Option<&[u8]>, value: Option<&[u8]>) -> HeaderField {
        let text = |t: Option<&[u8]>| t.map_or(Text::Unknown, |b| Text::Known(b.to_vec()));
        HeaderField {
            name: text(name),
            value: text(value),
            never_indexed: false,
            unknown_index: name.is_none().then_some(70),
            unknown_entry: None,
        }
    }

    /// The header list written directly and through serde_json from the fields (made inert
    /// as the compact writer's text is).
    fn both_ways(fields: Vec<HeaderField>) -> (String, String) {
        let want = crate::export::serde_json_inert(&Headers(fields.clone())).unwrap();
        let mut got = Vec::new();
        write_headers(&mut got, &fields);
        (String::from_utf8(got).unwrap(), want)
    }

    /// A record with every member set (or not), each way it can be.
    fn record(full: bool) -> StreamJson {
        let addr = |s: &str| Endpoint(s.parse().unwrap());
        let some = |s: &str| full.then(|| s.to_string());
        let headers = || {
            full.then(|| {
                Headers(vec![
                    field(Some(b":path"), Some(b"/a.B/\"C\"")),
                    field(Some(b"x-bin"), Some(b"AAE")),
                ])
            })
        };
        StreamJson {
            connection: u64::MAX,
            stream_id: 7,
            client: addr("10.0.0.1:50000"),
            server: addr("[2001:db8::1]:443"),
            method: some("POST"),
            path: some("/a.B/\"C\"\u{1}"),
            authority: some("h\u{e9}te"),
            scheme: None,
            status: full.then_some(200),
            request_headers: headers(),
            informational: if full { vec![Headers(vec![])] } else { vec![] },
            response_headers: headers(),
            trailers: headers(),
            request_trailers: None,
            request_bytes: 0,
            response_bytes: 1 << 40,
            request_data_frames: 3,
            response_data_frames: 0,
            start: 1_795_321_478.420_048,
            end: if full { f64::NAN } else { 0.1 },
            duration_ms: if full { f64::INFINITY } else { 0.820_049 },
            complete: full,
            reset: full.then(|| ResetJson {
                from: "client",
                error_code: "CANCEL".into(),
            }),
            promised_by: full.then_some(1),
            flow_control: full.then_some(WindowsJson {
                client_window: -5,
                server_window: 65_535,
            }),
            anomalies: if full {
                vec![
                    Anomaly::new(AnomalyKind::DataLost, "odd \u{7}")
                        .by(Role::Server)
                        .on(1),
                ]
            } else {
                vec![]
            },
            // Both ways a call's members can be; streams without a call are in every
            // h2c fixture.
            grpc: Some(GrpcJson {
                service: some("a.B"),
                method: some("C"),
                inferred: full,
                protocol: "grpc-web".into(),
                encoding: some("gzip"),
                status: full.then_some(13),
                status_name: full.then_some("INTERNAL"),
                message: some("bad \"x\"\n"),
                status_details: full.then(|| serde_json::json!({"k": [1, "v", null]})),
                request_messages: if full {
                    vec![
                        MessageJson {
                            index: 0,
                            ts: 1.5,
                            size: 7,
                            compressed: true,
                            json: Some(JsonText::Text(b"{\"a\":1}".to_vec())),
                            raw: None,
                            error: None,
                        },
                        MessageJson {
                            index: 1,
                            ts: f64::NAN,
                            size: u32::MAX,
                            compressed: false,
                            json: Some(JsonText::Tree(serde_json::json!({"b": "\u{1}"}))),
                            raw: Some(RawJson(Raw {
                                bytes: vec![0, 1],
                                protobuf: false,
                            })),
                            error: some("bad"),
                        },
                    ]
                } else {
                    Vec::new()
                },
                response_messages: vec![MessageJson {
                    index: 3,
                    ts: 0.25,
                    size: 0,
                    compressed: false,
                    json: None,
                    // A schema-less reading, written as the record is.
                    raw: full.then(|| {
                        RawJson(Raw {
                            bytes: vec![0x08, 0x96, 0x01, 0x12, 0x01, 0xff],
                            protobuf: true,
                        })
                    }),
                    error: None,
                }],
                error: some("cut short"),
            }),
            frames: full.then(|| {
                vec![
                    FrameJson {
                        index: 0,
                        ts: 2.0,
                        packet: 9,
                        from: "client",
                        kind: Cow::Borrowed("HEADERS"),
                        flags: 5,
                        length: 120,
                        stream_id: 1,
                    },
                    FrameJson {
                        index: u64::MAX,
                        ts: f64::NEG_INFINITY,
                        packet: 0,
                        from: "server",
                        kind: Cow::Owned("UNKNOWN(250)".into()),
                        flags: 255,
                        length: 0,
                        stream_id: u32::MAX,
                    },
                ]
            }),
        }
    }

    fn connection(full: bool) -> ConnectionJson {
        let addr = |s: &str| Endpoint(s.parse().unwrap());
        let some = |s: &str| full.then(|| s.to_string());
        let settings = |n: u32| {
            (0..n)
                .map(|i| (format!("SETTING_{i}"), i * 1000))
                .collect::<BTreeMap<String, u32>>()
        };
        ConnectionJson {
            id: 3,
            client: addr("127.0.0.1:1"),
            server: addr("[::1]:50051"),
            protocol: "http2",
            joined_mid_connection: full,
            h2c_upgrade: !full,
            tunnel: some("example.com:443"),
            tls: full.then(|| TlsJson {
                sni: some("h\u{e9}"),
                client_alpn: vec!["h2".into(), "http/1.1".into()],
                server_alpn: vec![],
            }),
            start: 0.5,
            end: if full { f64::NAN } else { 1e300 },
            streams: 9,
            settings: SettingsJson {
                client: settings(if full { 3 } else { 0 }),
                server: settings(1),
            },
            pings: if full {
                vec![
                    PingJson {
                        from: "client",
                        sent: 1.25,
                        acked: Some(1.5),
                        rtt_ms: Some(250.0),
                    },
                    PingJson {
                        from: "server",
                        sent: f64::INFINITY,
                        acked: None,
                        rtt_ms: None,
                    },
                ]
            } else {
                vec![]
            },
            goaway: full.then(|| GoawayJson {
                ts: 2.0,
                from: "server",
                last_stream_id: 7,
                error_code: "NO_ERROR".into(),
                debug_data: Bytes::new(b"bye \xff", false),
            }),
            flow_control: full.then_some(WindowsJson {
                client_window: 1,
                server_window: -1,
            }),
            frame_count: 12,
            anomalies: if full {
                vec![Anomaly::new(AnomalyKind::TcpGap, "x\"y")]
            } else {
                vec![]
            },
            packets: 100,
            bytes_client: 1,
            bytes_server: 2,
            gaps: 0,
            close: "fin",
            tcp: TcpDetail {
                packets_client: 1,
                packets_server: 2,
                wire_bytes_client: 3,
                wire_bytes_server: 4,
                gap_bytes_client: 5,
                gap_bytes_server: 6,
                retransmissions: 7,
                out_of_order: 8,
                conflicting_retransmissions: 9,
                handshake: full,
            },
            frames: full.then(|| record(true).frames.unwrap_or_default()),
        }
    }

    /// A record written by hand and by serde, as a document record and as an NDJSON line.
    fn by_hand_and_by_serde<T: Serialize + Members>(record: &T, kind: &'static str) {
        let mut want = Vec::new();
        crate::compact_json::to_vec(&mut want, record).unwrap();
        let mut got = Vec::new();
        write_object(&mut got, None, record).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
        let mut want = Vec::new();
        let line = Tagged {
            kind,
            value: record,
        };
        crate::compact_json::to_vec(&mut want, &line).unwrap();
        let mut got = Vec::new();
        write_object(&mut got, Some(kind), record).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    /// Compact JSON text already written reaches other serializers as the JSON it is: an
    /// object, not an array of its bytes' numbers.
    #[test]
    fn json_text_is_json_to_every_serializer() {
        let text = "{\"a\":{},\"b\":[1,2.5,\"\\u202e\",-0.0]}";
        let m = JsonText::Text(text.as_bytes().to_vec());
        let tree = serde_json::json!({"a": {}, "b": [1, 2.5, "\u{202e}", -0.0]});
        assert_eq!(serde_json::to_value(&m).unwrap(), tree);
        let mut ours = Vec::new();
        crate::compact_json::to_vec(&mut ours, &m).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), text);
        let mut pretty = Vec::new();
        crate::compact_json::to_vec_pretty(&mut pretty, &m).unwrap();
        let want = crate::export::serde_json_inert_pretty(&tree).unwrap();
        assert_eq!(String::from_utf8(pretty).unwrap(), want);
        // Text that is not JSON (never written by the writer) is an error, not bytes.
        assert!(serde_json::to_string(&JsonText::Text(b"{".to_vec())).is_err());
    }

    /// A held document (`--pretty`, `sniff --keep-calls`) is written member by member:
    /// `Document`'s members in its order, in both layouts, what serde_json writes for it
    /// (made inert).
    #[test]
    fn documents_are_written_as_serde_json_writes_them() {
        for n in [0, 3] {
            let summary = Default::default();
            let doc = Document {
                streams: (0..n).map(|i| record(i % 2 == 0)).collect(),
                connections: (0..n).map(|i| connection(i == 1)).collect(),
                backends: Vec::new(),
                capture: CaptureInfo::new("s\u{202e}".into(), None, false, &summary, None),
            };
            for pretty in [false, true] {
                let mut got = Vec::new();
                crate::export::write_document(&mut got, &doc, pretty).unwrap();
                let mut want = if pretty {
                    crate::export::serde_json_inert_pretty(&doc).unwrap()
                } else {
                    crate::export::serde_json_inert(&doc).unwrap()
                };
                want.push('\n');
                assert_eq!(String::from_utf8(got).unwrap(), want, "{n} pretty {pretty}");
            }
        }
    }

    #[test]
    fn records_written_by_hand_are_what_serde_writes() {
        for full in [false, true] {
            by_hand_and_by_serde(&record(full), "stream");
            by_hand_and_by_serde(&connection(full), "connection");
        }
    }

    #[test]
    fn header_lists_as_text_are_what_serde_json_writes() {
        let long = "x".repeat(40);
        let escaped = format!("{long}\"{long}\n");
        type Case<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);
        let cases: &[Case] = &[
            (Some(b":path"), Some(b"/a.B/C")),
            (Some(b"quote\"d"), Some(b"back\\slash\ttab\x01\x7f")),
            (Some(long.as_bytes()), Some(escaped.as_bytes())),
            (
                Some("n\u{e9}me".as_bytes()),
                Some("\u{2713} v\u{e4}lue \u{1f600}".as_bytes()),
            ),
            (Some(b"bad\xffname"), Some(b"bad\xc3value")),
            (Some(b"x-trace-bin"), Some(b"AAEC/v8E")),
            (Some(b"x-raw-bin"), Some(b"\x00\x01\xfftrue binary")),
            (Some(b"x-broken-bin"), Some(b"not base64!")),
            (Some(b"\xff-bin"), Some(b"AAEC")),
            (None, Some(b"value of an unknown name")),
            (Some(b"unknown-value"), None),
            (None, None),
            (Some(b""), Some(b"")),
        ];
        let fields: Vec<HeaderField> = cases.iter().map(|&(n, v)| field(n, v)).collect();
        let (got, want) = both_ways(fields);
        assert_eq!(got, want);
        assert_eq!(both_ways(Vec::new()), ("[]".into(), "[]".into()));
    }

    proptest! {
        #[test]
        fn header_lists_of_any_bytes_as_text_are_what_serde_json_writes(
            list in proptest::collection::vec(
                (
                    proptest::option::weighted(0.9, proptest::collection::vec(any::<u8>(), 0..40)),
                    proptest::option::weighted(0.9, proptest::collection::vec(any::<u8>(), 0..80)),
                    any::<bool>(),
                ),
                0..6,
            )
        ) {
            let fields = list
                .iter()
                .map(|(n, v, bin)| {
                    let mut n = n.clone();
                    if *bin && let Some(n) = n.as_mut() {
                        n.extend_from_slice(b"-bin");
                    }
                    field(n.as_deref(), v.as_deref())
                })
                .collect();
            let (got, want) = both_ways(fields);
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn endpoints_are_written_as_display_writes_them() {
        for a in [
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.0.0.1:50051",
            "127.0.0.1:8",
            "[::1]:443",
            "[fe80::1%2]:80",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(
                serde_json::to_string(&Endpoint(addr)).unwrap(),
                format!("\"{addr}\"")
            );
        }
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input), *want);
        }
    }

    #[test]
    fn bytes_are_text_or_base64() {
        let text = serde_json::to_string(&Bytes::new(b"ok", false)).unwrap();
        assert_eq!(text, "\"ok\"");
        let bin = serde_json::to_string(&Bytes::new(&[0xff, 0], false)).unwrap();
        assert_eq!(bin, "{\"base64\":\"/wA=\"}");
        let forced = serde_json::to_string(&Bytes::new(b"ok", true)).unwrap();
        assert_eq!(forced, "{\"base64\":\"b2s=\"}");
    }
}
