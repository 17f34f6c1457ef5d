//! gRPC status trailers: `grpc-status`, `grpc-message`, `grpc-status-details-bin`.
//!
//! PROTOCOL-HTTP2.md: `Status -> "grpc-status" 1*DIGIT`, `Status-Message -> "grpc-message"
//! Percent-Encoded`, where unreserved bytes are `%x20-%x24 / %x26-%x7E` and everything else
//! (including `%` itself) is sent as `%` 2HEXDIGIT. Receivers are told to decode leniently:
//! "When decoding invalid values, implementations MUST NOT error or throw away the message. At
//! worst, the implementation can abort decoding the status message altogether such that the
//! user would received the raw percent-encoded form." Here invalid escapes are kept literally.
//! `grpc-status-details-bin` is the base64 of a `google.rpc.Status` message
//! (google/rpc/status.proto), which the [`Descriptors`] pool always contains, along with the
//! standard detail types of google/rpc/error_details.proto.

use super::base64;
use super::decode::{DecodeError, decode_json};
use super::descriptors::Descriptors;

const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The canonical name of a status code (doc/statuscodes.md); `None` outside 0..=16.
pub fn status_name(code: u32) -> Option<&'static str> {
    NAMES.get(code as usize).copied()
}

/// Parses a `grpc-status` value: ASCII digits only, surrounding whitespace allowed.
pub fn parse_status(v: &[u8]) -> Option<u32> {
    let v = v.trim_ascii();
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a percent-encoded `grpc-message`: `%XX` becomes the byte, an invalid or cut-short
/// escape is kept literally, and the bytes are read as UTF-8 with U+FFFD for invalid
/// sequences.
pub fn percent_decode(v: &[u8]) -> String {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                v.get(i + 1).copied().and_then(hex),
                v.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes `grpc-status-details-bin` (base64, padded or not) as a `google.rpc.Status` to
/// JSON. `code`, `message` and `details` are always present (proto3 JSON would omit them when
/// they are 0, empty or empty); details are `Any` objects, decoded through their type URL when
/// the type is in `descriptors` (see [`decode_json`] for the unresolved case).
pub fn status_details(
    v: &[u8],
    descriptors: &Descriptors,
) -> Result<serde_json::Value, DecodeError> {
    let bytes = base64::decode(v).ok_or(DecodeError::Base64)?;
    let desc = descriptors
        .message("google.rpc.Status")
        .ok_or_else(|| DecodeError::MissingType("google.rpc.Status".into()))?;
    let mut json = decode_json(&desc, &bytes)?;
    if let Some(obj) = json.as_object_mut() {
        obj.entry("code").or_insert(0.into());
        obj.entry("message").or_insert("".into());
        obj.entry("details")
            .or_insert(serde_json::Value::Array(Vec::new()));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::base64_encode;
    use prost::Message;
    use prost_reflect::prost_types;
    use serde_json::json;

    #[test]
    fn names() {
        assert_eq!(status_name(0), Some("OK"));
        assert_eq!(status_name(1), Some("CANCELLED"));
        assert_eq!(status_name(4), Some("DEADLINE_EXCEEDED"));
        assert_eq!(status_name(12), Some("UNIMPLEMENTED"));
        assert_eq!(status_name(14), Some("UNAVAILABLE"));
        assert_eq!(status_name(16), Some("UNAUTHENTICATED"));
        assert_eq!(status_name(17), None);
        assert_eq!(status_name(u32::MAX), None);
    }

    #[test]
    fn parse_status_values() {
        assert_eq!(parse_status(b"0"), Some(0));
        assert_eq!(parse_status(b" 14 "), Some(14));
        assert_eq!(parse_status(b"99"), Some(99));
        assert_eq!(parse_status(b""), None);
        assert_eq!(parse_status(b"-1"), None);
        assert_eq!(parse_status(b"+1"), None);
        assert_eq!(parse_status(b"1x"), None);
        assert_eq!(parse_status(b"99999999999999999999"), None);
    }

    #[test]
    fn percent_decoding() {
        // Encodings grpc-go's and grpc-java's tests use for grpc-message.
        assert_eq!(percent_decode(b"Hello"), "Hello");
        assert_eq!(percent_decode(b"H%61o"), "Hao");
        assert_eq!(
            percent_decode(b"my favorite character is %00"),
            "my favorite character is \0"
        );
        assert_eq!(
            percent_decode(b"my favorite character is %25"),
            "my favorite character is %"
        );
        assert_eq!(percent_decode(b"%E4%BD%A0%E5%A5%BD"), "你好");
        assert_eq!(percent_decode(b"%e4%bd%a0"), "你");
        assert_eq!(percent_decode(b"not%20found"), "not found");
        // Invalid escapes are kept as they are.
        assert_eq!(percent_decode(b"%"), "%");
        assert_eq!(percent_decode(b"%4"), "%4");
        assert_eq!(percent_decode(b"50%zz"), "50%zz");
        assert_eq!(percent_decode(b"%%41"), "%A");
        // Bytes that are not UTF-8 become U+FFFD, raw or escaped.
        assert_eq!(percent_decode(b"%FF\xfe!"), "\u{fffd}\u{fffd}!");
    }

    /// google.rpc.Status { code, message, details: [Any(google.rpc.ErrorInfo),
    /// Any(google.rpc.RetryInfo), Any(unknown type)] }, built with prost and decoded back.
    #[test]
    fn status_details_round_trip() {
        #[derive(Clone, PartialEq, Message)]
        struct Status {
            #[prost(int32, tag = "1")]
            code: i32,
            #[prost(string, tag = "2")]
            message: String,
            #[prost(message, repeated, tag = "3")]
            details: Vec<prost_types::Any>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct ErrorInfo {
            #[prost(string, tag = "1")]
            reason: String,
            #[prost(string, tag = "2")]
            domain: String,
            #[prost(map = "string, string", tag = "3")]
            metadata: std::collections::HashMap<String, String>,
        }
        #[derive(Clone, PartialEq, Message)]
        struct RetryInfo {
            #[prost(message, optional, tag = "1")]
            retry_delay: Option<prost_types::Duration>,
        }
        let info = ErrorInfo {
            reason: "QUOTA".into(),
            domain: "example.com".into(),
            metadata: [("user".to_string(), "42".to_string())].into(),
        };
        let retry = RetryInfo {
            retry_delay: Some(prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000,
            }),
        };
        let status = Status {
            code: 8,
            message: "quota exceeded".into(),
            details: vec![
                prost_types::Any {
                    type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                    value: info.encode_to_vec(),
                },
                prost_types::Any {
                    type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                    value: retry.encode_to_vec(),
                },
                prost_types::Any {
                    type_url: "type.googleapis.com/acme.Secret".into(),
                    value: vec![0x08, 0x2a],
                },
            ],
        };
        let d = Descriptors::empty();
        let b64 = base64_encode(&status.encode_to_vec());
        let want = json!({
            "code": 8,
            "message": "quota exceeded",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "QUOTA",
                    "domain": "example.com",
                    "metadata": {"user": "42"}
                },
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": "1.500s"
                },
                {
                    "@type": "type.googleapis.com/acme.Secret",
                    "_unresolved": "type acme.Secret is not in the descriptor pool",
                    "_raw": [{"field": 1, "type": "varint", "value": 42, "zigzag": 21}],
                    "value": "CCo="
                }
            ]
        });
        assert_eq!(status_details(b64.as_bytes(), &d).unwrap(), want);
        // Unpadded works the same.
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(status_details(unpadded.as_bytes(), &d).unwrap(), want);

        // An OK status with nothing else still shows all three keys.
        let ok = base64_encode(&Status::default().encode_to_vec());
        assert_eq!(
            status_details(ok.as_bytes(), &d).unwrap(),
            json!({"code": 0, "message": "", "details": []})
        );
    }

    #[test]
    fn status_details_errors() {
        let d = Descriptors::empty();
        assert!(matches!(
            status_details(b"!!!", &d),
            Err(DecodeError::Base64)
        ));
        // Valid base64 of bytes that are not a Status (field 3 claims 100 bytes).
        let bad = base64_encode(&[0x1a, 100, 1]);
        assert!(matches!(
            status_details(bad.as_bytes(), &d),
            Err(DecodeError::Protobuf { .. })
        ));
    }
}
