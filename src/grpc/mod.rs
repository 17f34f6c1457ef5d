//! gRPC over HTTP/2 (and gRPC-Web): the building blocks that turn a stream's DATA bytes and
//! headers into decoded messages and statuses.
//!
//! ```text
//! DATA payload bytes (one direction of one stream)
//!   [grpc-web-text: WebTextDecoder, base64 -> bytes]
//!   -> framing::Deframer::push / lost / finish
//!   -> Framed { index, kind, compressed, declared_len, body, error }
//!   -> compression::decompress(Encoding::from_header(grpc-encoding), body, cap)   if compressed
//!   -> decode::decode_json(descriptors.method(":path")?.input/output, body)      with a schema
//!      | raw::decode_raw(body)                                                  without one
//! trailers: status::status_name(grpc-status), status::percent_decode(grpc-message),
//!           status::status_details(grpc-status-details-bin)
//!           [gRPC-Web: framing::parse_web_trailers(body of a trailers frame)]
//! ```
//!
//! Contracts shared by every part:
//! - Every byte is attacker-controlled. Nothing here panics on input, and every allocation is
//!   bounded by a limit named in the part that makes it (message size, decompressed size,
//!   nesting depth, output nodes).
//! - Malformed input is data: a damaged message is still reported, with what was captured
//!   and an error string; only the caller decides what to show.
//! - Nothing does I/O except [`Descriptors`] loading its files at start-up.
//!
//! The module knows nothing of HTTP/2 but the session's DATA hook: `stream.rs`'s
//! [`CallBody`] is the session's `StreamBody`, fed each stream's DATA; the rest is fed
//! bytes and header values.

mod base64;
pub mod call;
pub mod compression;
pub mod decode;
pub mod descriptors;
pub mod framing;
pub mod raw;
pub mod status;
pub mod stream;

pub use compression::{CompressionError, DEFAULT_DECOMPRESS_CAP, Encoding, decompress};
pub use decode::{DecodeError, decode_json, decode_json_text};
pub use descriptors::{DescriptorError, Descriptors, MethodInfo};
pub use framing::{
    DEFAULT_MAX_MESSAGE, Deframer, DeframerStats, FrameKind, Framed, WebTextDecoder,
    parse_web_trailers,
};
pub use raw::{RawError, decode_raw, decode_raw_limited};
pub use status::{parse_status, percent_decode, status_details, status_name};
pub use stream::{CallBody, CallConfig, GrpcConnection, GrpcStream};

/// Standard padded base64 of `data`: how raw bodies and `-bin` values go out in JSON.
pub fn base64_encode(data: &[u8]) -> String {
    base64::encode(data)
}

/// [`base64_encode`], appended to `out`.
pub fn base64_encode_into(data: &[u8], out: &mut Vec<u8>) {
    base64::encode_into(data, out)
}

/// The bytes a `-bin` metadata value stands for: base64 text on the wire (padded or not),
/// or, with gRPC's true-binary metadata extension (negotiated by SETTINGS 0xfe03), a 0x00
/// byte then the raw bytes. `None` when it is neither.
pub fn bin_header_value(v: &[u8]) -> Option<Vec<u8>> {
    match v.split_first() {
        Some((0, raw)) => Some(raw.to_vec()),
        _ => base64::decode(v),
    }
}

/// The message codec named by a content-type's `+suffix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Codec {
    /// No suffix (the spec's default) or `+proto`.
    Proto,
    /// `+json`: messages are JSON text, not protobuf.
    Json,
    /// Any other suffix, kept lowercased (at most 64 bytes) for display.
    Other(String),
}

/// What a content-type says about a stream's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentKind {
    /// `application/grpc[+codec]`: gRPC over HTTP/2.
    Grpc(Codec),
    /// `application/grpc-web[+codec]`: same framing, trailers may come in a frame with the
    /// 0x80 flag.
    GrpcWeb(Codec),
    /// `application/grpc-web-text[+codec]`: gRPC-Web whose DATA is base64 text
    /// (decode it with [`WebTextDecoder`] before framing).
    GrpcWebText(Codec),
}

impl ContentKind {
    /// gRPC-Web (binary or text): the Deframer should be created with `web(true)`.
    pub fn is_web(&self) -> bool {
        !matches!(self, ContentKind::Grpc(_))
    }

    /// The payload is base64 text.
    pub fn is_text(&self) -> bool {
        matches!(self, ContentKind::GrpcWebText(_))
    }

    pub fn codec(&self) -> &Codec {
        match self {
            ContentKind::Grpc(c) | ContentKind::GrpcWeb(c) | ContentKind::GrpcWebText(c) => c,
        }
    }
}

/// Classifies a `content-type` value; `None` when it is not gRPC or gRPC-Web.
///
/// Case-insensitive, parameters after `;` and surrounding whitespace ignored. The spec
/// (PROTOCOL-HTTP2.md) defines `application/grpc` with an optional `+proto` / `+json` / custom
/// suffix; gRPC-Web (PROTOCOL-WEB.md) adds `application/grpc-web` and `application/grpc-web-text`
/// with the same suffixes. `application/grpcfoo` is not gRPC.
pub fn content_kind(content_type: &[u8]) -> Option<ContentKind> {
    let media = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii()
        .to_ascii_lowercase();
    let (base, suffix) = match media.iter().position(|&b| b == b'+') {
        Some(at) => (&media[..at], Some(&media[at + 1..])),
        None => (&media[..], None),
    };
    let codec = match suffix {
        None | Some(b"proto") => Codec::Proto,
        Some(b"json") => Codec::Json,
        Some(other) => {
            let other = &other[..other.len().min(64)];
            Codec::Other(String::from_utf8_lossy(other).into_owned())
        }
    };
    match base {
        b"application/grpc" => Some(ContentKind::Grpc(codec)),
        b"application/grpc-web" => Some(ContentKind::GrpcWeb(codec)),
        b"application/grpc-web-text" => Some(ContentKind::GrpcWebText(codec)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_kinds() {
        use Codec::*;
        use ContentKind::*;
        let cases: &[(&[u8], Option<ContentKind>)] = &[
            (b"application/grpc", Some(Grpc(Proto))),
            (b"application/grpc+proto", Some(Grpc(Proto))),
            (b"application/grpc+json", Some(Grpc(Json))),
            (b"Application/GRPC+Proto", Some(Grpc(Proto))),
            (b" application/grpc ; charset=utf-8", Some(Grpc(Proto))),
            (
                b"application/grpc+thrift",
                Some(Grpc(Other("thrift".into()))),
            ),
            (b"application/grpc-web", Some(GrpcWeb(Proto))),
            (b"application/grpc-web+proto", Some(GrpcWeb(Proto))),
            (b"application/grpc-web-text", Some(GrpcWebText(Proto))),
            (b"application/grpc-web-text+proto", Some(GrpcWebText(Proto))),
            (b"application/grpcfoo", None),
            (b"application/json", None),
            (b"text/grpc", None),
            (b"", None),
            (b"\xff\xfe", None),
        ];
        for (ct, want) in cases {
            assert_eq!(&content_kind(ct), want, "{:?}", String::from_utf8_lossy(ct));
        }
        let k = content_kind(b"application/grpc-web-text").unwrap();
        assert!(k.is_web() && k.is_text());
        let k = content_kind(b"application/grpc-web").unwrap();
        assert!(k.is_web() && !k.is_text());
        assert!(!content_kind(b"application/grpc").unwrap().is_web());
    }
}
