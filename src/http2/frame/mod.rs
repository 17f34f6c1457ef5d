//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, one parser per frame type, and a
//! decoder fed reassembled TCP bytes in pieces.
//!
//! # Layout
//! - [`head`]: the 9-octet header, [`FrameType`], [`flags`].
//! - one file per frame type, named after the spec: [`data`], [`headers`], [`priority`],
//!   [`rst_stream`], [`settings`], [`push_promise`], [`ping`], [`goaway`],
//!   [`window_update`], [`continuation`], and the extensions [`altsvc`] (RFC 7838),
//!   [`origin`] (RFC 8336), [`priority_update`] (RFC 9218).
//! - [`error_code`]: [`ErrorCode`] with the registered names.
//! - [`decoder`]: [`FrameDecoder`], the streaming decoder with resynchronisation.
//!
//! # Contract
//! [`parse_frame`] reads one complete payload and fails only on *structural* problems,
//! the ones that make the payload unreadable ([`FrameError`]): a length the type does not
//! allow, padding longer than the payload. Everything else is reported as data: unknown
//! frame types, flags, settings and error codes are kept; rules that need connection state
//! (a WINDOW_UPDATE increment of 0, SETTINGS values out of range, frame sizes above
//! SETTINGS_MAX_FRAME_SIZE, CONTINUATION sequencing) belong to the connection layer.
//! [`check_stream_id`] names the stream-id rule a header breaks on its own, for that layer
//! to report as an anomaly.
//!
//! Nothing here panics on peer data, slices with unchecked indices, or allocates per
//! frame (SETTINGS are read through a borrowed [`SettingsList`]).

pub mod altsvc;
pub mod continuation;
pub mod data;
pub mod decoder;
pub mod error_code;
pub mod goaway;
pub mod head;
pub mod headers;
pub mod origin;
pub mod ping;
pub mod priority;
pub mod priority_update;
pub mod push_promise;
pub mod rst_stream;
pub mod settings;
pub mod window_update;

use std::fmt;

pub use decoder::{DecoderLimits, Event, FrameDecoder};
pub use error_code::ErrorCode;
pub use head::{FrameHeader, FrameType, flags};
pub use origin::OriginEntries;
pub use priority::Priority;
pub use settings::{SettingId, SettingsIter, SettingsList};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// "All frames begin with a fixed 9-octet header followed by a variable-length frame
/// payload" (RFC 9113 §4.1).
pub const FRAME_HEADER_LEN: usize = 9;

/// A parsed frame payload, borrowing from the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// RFC 9113 §6.1. `data` excludes the pad-length octet and the padding.
    Data { data: &'a [u8], pad_len: Option<u8> },
    /// RFC 9113 §6.2. `fragment` excludes the pad-length octet, priority fields and padding.
    Headers {
        priority: Option<Priority>,
        fragment: &'a [u8],
        pad_len: Option<u8>,
    },
    /// RFC 9113 §6.3.
    Priority(Priority),
    /// RFC 9113 §6.4.
    RstStream { error_code: ErrorCode },
    /// RFC 9113 §6.5. Unknown identifiers are kept in `settings`.
    Settings {
        ack: bool,
        settings: SettingsList<'a>,
    },
    /// RFC 9113 §6.6. `promised_stream_id` has its reserved bit masked off.
    PushPromise {
        promised_stream_id: u32,
        fragment: &'a [u8],
        pad_len: Option<u8>,
    },
    /// RFC 9113 §6.7.
    Ping { ack: bool, payload: [u8; 8] },
    /// RFC 9113 §6.8. `last_stream_id` has its reserved bit masked off.
    Goaway {
        last_stream_id: u32,
        error_code: ErrorCode,
        debug_data: &'a [u8],
    },
    /// RFC 9113 §6.9. The reserved bit is masked off; 0 is kept (the connection layer judges).
    WindowUpdate { increment: u32 },
    /// RFC 9113 §6.10.
    Continuation { fragment: &'a [u8] },
    /// RFC 7838 §4.
    AltSvc {
        origin: &'a [u8],
        field_value: &'a [u8],
    },
    /// RFC 8336 §2. Read the entries with [`OriginEntries`].
    Origin { payload: &'a [u8] },
    /// RFC 9218 §7.1. The reserved bit is masked off.
    PriorityUpdate {
        prioritized_stream_id: u32,
        field_value: &'a [u8],
    },
    /// A frame of a type h2scope does not know (RFC 9113 §5.5).
    Unknown { payload: &'a [u8] },
}

/// What a frame type allows as payload length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthRule {
    Exactly(u32),
    AtLeast(u32),
    MultipleOf(u32),
}

impl LengthRule {
    pub fn admits(self, len: u32) -> bool {
        match self {
            LengthRule::Exactly(n) => len == n,
            LengthRule::AtLeast(n) => len >= n,
            LengthRule::MultipleOf(n) => n != 0 && len.is_multiple_of(n),
        }
    }
}

impl fmt::Display for LengthRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthRule::Exactly(n) => write!(f, "exactly {n}"),
            LengthRule::AtLeast(n) => write!(f, "at least {n}"),
            LengthRule::MultipleOf(n) => write!(f, "a multiple of {n}"),
        }
    }
}

/// A structural problem that makes a payload unreadable. RFC 9113 calls most of these
/// FRAME_SIZE_ERROR (§4.2: a frame that "is too small to contain mandatory frame data")
/// or PROTOCOL_ERROR (padding).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The pad-length octet announces more padding than the payload has room for.
    #[error("pad length {pad_len} exceeds the room left in a {length}-octet payload")]
    PaddingTooLong { pad_len: u8, length: u32 },
    /// The payload length is not one the frame type allows (for ALTSVC, also an Origin-Len
    /// running past the payload: `expected` is then `AtLeast(2 + origin_len)`).
    #[error("{kind} payload of {got} octets, expected {expected}")]
    BadLength {
        kind: FrameType,
        expected: LengthRule,
        got: u32,
    },
    /// [`parse_frame`] was given a payload whose size differs from the header's length
    /// (a caller bug, never produced by the decoder).
    #[error("payload of {got} octets for a header announcing {length}")]
    PayloadMismatch { length: u32, got: usize },
}

/// The length rule of the header's type and flags, if the type has one.
pub fn length_rule(header: &FrameHeader) -> Option<LengthRule> {
    match header.kind {
        FrameType::Data => data::length_rule(header),
        FrameType::Headers => headers::length_rule(header),
        FrameType::Priority => Some(LengthRule::Exactly(priority::LEN)),
        FrameType::RstStream => Some(LengthRule::Exactly(rst_stream::LEN)),
        FrameType::Settings => Some(settings::length_rule(header)),
        FrameType::PushPromise => Some(push_promise::length_rule(header)),
        FrameType::Ping => Some(LengthRule::Exactly(ping::LEN)),
        FrameType::Goaway => Some(LengthRule::AtLeast(goaway::MIN_LEN)),
        FrameType::WindowUpdate => Some(LengthRule::Exactly(window_update::LEN)),
        FrameType::AltSvc => Some(LengthRule::AtLeast(altsvc::MIN_LEN)),
        FrameType::PriorityUpdate => Some(LengthRule::AtLeast(priority_update::MIN_LEN)),
        FrameType::Continuation | FrameType::Origin | FrameType::Unknown(_) => None,
    }
}

/// The structural length check that needs the header alone (the decoder uses it to
/// reject a frame before buffering its payload).
pub fn check_length(header: &FrameHeader) -> Result<(), FrameError> {
    match length_rule(header) {
        Some(rule) if !rule.admits(header.length) => Err(FrameError::BadLength {
            kind: header.kind,
            expected: rule,
            got: header.length,
        }),
        _ => Ok(()),
    }
}

/// Parses a complete payload. Structural errors only; see the module doc.
pub fn parse_frame<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    if u32::try_from(payload.len()).ok() != Some(header.length) {
        return Err(FrameError::PayloadMismatch {
            length: header.length,
            got: payload.len(),
        });
    }
    check_length(header)?;
    match header.kind {
        FrameType::Data => data::parse(header, payload),
        FrameType::Headers => headers::parse(header, payload),
        FrameType::Priority => priority::parse(header, payload),
        FrameType::RstStream => rst_stream::parse(header, payload),
        FrameType::Settings => settings::parse(header, payload),
        FrameType::PushPromise => push_promise::parse(header, payload),
        FrameType::Ping => ping::parse(header, payload),
        FrameType::Goaway => goaway::parse(header, payload),
        FrameType::WindowUpdate => window_update::parse(header, payload),
        FrameType::Continuation => Ok(continuation::parse(payload)),
        FrameType::AltSvc => altsvc::parse(header, payload),
        FrameType::Origin => Ok(Frame::Origin { payload }),
        FrameType::PriorityUpdate => priority_update::parse(header, payload),
        FrameType::Unknown(_) => Ok(Frame::Unknown { payload }),
    }
}

/// The stream-id rule the header breaks on its own, if any, for the connection layer to
/// report as an anomaly. WINDOW_UPDATE and ALTSVC may use any stream (for ALTSVC the rule
/// depends on the payload: see [`altsvc::check_origin`]); unknown types have no rule.
pub fn check_stream_id(header: &FrameHeader) -> Option<&'static str> {
    let on_zero = header.stream_id == 0;
    match header.kind {
        // "If a DATA frame is received whose Stream Identifier field is 0x00, the recipient
        // MUST respond with a connection error" (§6.1); same wording for the others.
        FrameType::Data if on_zero => Some("DATA on stream 0 (RFC 9113 §6.1)"),
        FrameType::Headers if on_zero => Some("HEADERS on stream 0 (RFC 9113 §6.2)"),
        FrameType::Priority if on_zero => Some("PRIORITY on stream 0 (RFC 9113 §6.3)"),
        FrameType::RstStream if on_zero => Some("RST_STREAM on stream 0 (RFC 9113 §6.4)"),
        FrameType::PushPromise if on_zero => Some("PUSH_PROMISE on stream 0 (RFC 9113 §6.6)"),
        FrameType::Continuation if on_zero => Some("CONTINUATION on stream 0 (RFC 9113 §6.10)"),
        // "If an endpoint receives a SETTINGS frame whose Stream Identifier field is anything
        // other than 0x00, the endpoint MUST respond with a connection error" (§6.5).
        FrameType::Settings if !on_zero => {
            Some("SETTINGS on a stream other than 0 (RFC 9113 §6.5)")
        }
        FrameType::Ping if !on_zero => Some("PING on a stream other than 0 (RFC 9113 §6.7)"),
        FrameType::Goaway if !on_zero => Some("GOAWAY on a stream other than 0 (RFC 9113 §6.8)"),
        // An ORIGIN frame on a stream other than 0 is invalid and is ignored (RFC 8336 §2).
        FrameType::Origin if !on_zero => Some("ORIGIN on a stream other than 0 (RFC 8336 §2)"),
        // PRIORITY_UPDATE is sent on stream 0; elsewhere a PROTOCOL_ERROR (RFC 9218 §7.1).
        FrameType::PriorityUpdate if !on_zero => {
            Some("PRIORITY_UPDATE on a stream other than 0 (RFC 9218 §7.1)")
        }
        _ => None,
    }
}

/// Removes the pad-length octet and the padding of a PADDED frame. `fixed` is the size of
/// the fields between the pad-length octet and the fragment (5 for HEADERS with PRIORITY,
/// 4 for PUSH_PROMISE). Padding may use all of the room left after `fixed` but no more
/// ("Padding that exceeds the size remaining for the field block fragment MUST be treated
/// as a PROTOCOL_ERROR", RFC 9113 §6.2; for DATA this is "the length of the frame payload
/// or greater", §6.1, counting the pad-length octet).
/// Returns the payload between the pad-length octet and the padding.
fn strip_padding<'a>(
    header: &FrameHeader,
    payload: &'a [u8],
    fixed: usize,
) -> Result<(&'a [u8], Option<u8>), FrameError> {
    if !header.padded() {
        return Ok((payload, None));
    }
    let too_short = || FrameError::BadLength {
        kind: header.kind,
        expected: LengthRule::AtLeast(1 + fixed as u32),
        got: header.length,
    };
    let (&pad_len, rest) = payload.split_first().ok_or_else(too_short)?;
    let room = rest.len().checked_sub(fixed).ok_or_else(too_short)?;
    let Some(body_len) = room.checked_sub(usize::from(pad_len)) else {
        return Err(FrameError::PaddingTooLong {
            pad_len,
            length: header.length,
        });
    };
    let (body, _padding) = rest
        .split_at_checked(fixed + body_len)
        .ok_or_else(too_short)?;
    Ok((body, Some(pad_len)))
}

/// Reads a big-endian u32 and splits it off.
fn take_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (word, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*word), rest))
}

/// Reads a big-endian u16 and splits it off.
fn take_u16(b: &[u8]) -> Option<(u16, &[u8])> {
    let (word, rest) = b.split_first_chunk::<2>()?;
    Some((u16::from_be_bytes(*word), rest))
}

/// The error for a payload too short for `kind` (only reachable if a length rule and a
/// parser disagree; kept so parsers never index unchecked).
fn too_short(header: &FrameHeader, need: u32) -> FrameError {
    FrameError::BadLength {
        kind: header.kind,
        expected: LengthRule::AtLeast(need),
        got: header.length,
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    pub fn header(kind: FrameType, flags: u8, stream_id: u32, length: usize) -> FrameHeader {
        FrameHeader {
            length: length as u32,
            kind,
            flags,
            stream_id,
            reserved_bit: false,
        }
    }

    /// The wire form of a frame: header then payload.
    pub fn frame(kind: FrameType, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = header(kind, flags, stream_id, payload.len())
            .to_bytes()
            .to_vec();
        v.extend_from_slice(payload);
        v
    }

    /// Parses a frame in its wire form (header then exactly `length` payload octets).
    pub fn parse_wire(wire: &[u8]) -> (FrameHeader, Result<Frame<'_>, FrameError>) {
        let (head, payload) = wire
            .split_first_chunk::<FRAME_HEADER_LEN>()
            .expect("a header");
        let h = FrameHeader::parse(head);
        (h, parse_frame(&h, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stream_id_rules() {
        let cases: &[(FrameType, u32, bool)] = &[
            (FrameType::Data, 0, true),
            (FrameType::Data, 1, false),
            (FrameType::Headers, 0, true),
            (FrameType::Priority, 0, true),
            (FrameType::RstStream, 0, true),
            (FrameType::PushPromise, 0, true),
            (FrameType::Continuation, 0, true),
            (FrameType::Settings, 0, false),
            (FrameType::Settings, 3, true),
            (FrameType::Ping, 1, true),
            (FrameType::Goaway, 1, true),
            (FrameType::Goaway, 0, false),
            (FrameType::WindowUpdate, 0, false),
            (FrameType::WindowUpdate, 5, false),
            (FrameType::AltSvc, 0, false),
            (FrameType::AltSvc, 1, false),
            (FrameType::Origin, 1, true),
            (FrameType::PriorityUpdate, 1, true),
            (FrameType::PriorityUpdate, 0, false),
            (FrameType::Unknown(0xf0), 0, false),
        ];
        for &(kind, id, bad) in cases {
            let h = header(kind, 0, id, 0);
            assert_eq!(check_stream_id(&h).is_some(), bad, "{kind} on stream {id}");
        }
        assert_eq!(
            check_stream_id(&header(FrameType::Data, 0, 0, 0)),
            Some("DATA on stream 0 (RFC 9113 §6.1)")
        );
    }

    /// An unknown type with flags set: kept whole.
    const UNKNOWN_FRAME: [u8; 12] = [
        0x00, 0x00, 0x03, 0xfa, 0xff, 0x00, 0x00, 0x00, 0x07, 1, 2, 3,
    ];

    #[test]
    fn unknown_types_are_kept() {
        let (h, f) = parse_wire(&UNKNOWN_FRAME);
        assert_eq!(h.kind, FrameType::Unknown(0xfa));
        assert_eq!(
            f,
            Ok(Frame::Unknown {
                payload: &[1, 2, 3]
            })
        );
    }

    #[test]
    fn payload_must_match_the_header() {
        let h = header(FrameType::Ping, 0, 0, 8);
        assert_eq!(
            parse_frame(&h, &[0; 7]),
            Err(FrameError::PayloadMismatch { length: 8, got: 7 })
        );
    }

    #[test]
    fn error_messages_read_well() {
        let e = FrameError::BadLength {
            kind: FrameType::Ping,
            expected: LengthRule::Exactly(8),
            got: 7,
        };
        assert_eq!(
            e.to_string(),
            "PING payload of 7 octets, expected exactly 8"
        );
        let e = FrameError::BadLength {
            kind: FrameType::Settings,
            expected: LengthRule::MultipleOf(6),
            got: 7,
        };
        assert_eq!(
            e.to_string(),
            "SETTINGS payload of 7 octets, expected a multiple of 6"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Any header and payload: parse_frame returns, and a success obeys the length rule.
        #[test]
        fn parse_frame_never_panics(kind in any::<u8>(), flags in any::<u8>(), id in any::<u32>(),
                                    payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut h = header(FrameType::from_u8(kind), flags, id & 0x7fff_ffff, payload.len());
            h.reserved_bit = id >> 31 == 1;
            let r = parse_frame(&h, &payload);
            if r.is_ok() {
                prop_assert!(check_length(&h).is_ok());
            }
            let _ = check_stream_id(&h);
        }
    }
}
