//! The 9-octet frame header (RFC 9113 §4.1), frame types (§6, §11.2) and flags.
//!
//! ```text
//! HTTP Frame {
//!   Length (24),
//!   Type (8),
//!   Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   Frame Payload (..),
//! }
//! ```
//! Parsing a header cannot fail: every 9-octet value is a header. Whether it makes sense
//! (flags defined for the type, the stream id allowed, the length allowed) is judged
//! elsewhere: [`super::check_stream_id`], [`super::check_length`], and the decoder's
//! resynchronisation heuristic.

use std::fmt;

use super::FRAME_HEADER_LEN;

/// Frame flags (RFC 9113 §6). The same bit means different things for different frame
/// types; use the [`FrameHeader`] accessors, which look at the type too.
pub mod flags {
    /// DATA, HEADERS (RFC 9113 §6.1, §6.2).
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING (RFC 9113 §6.5, §6.7).
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION (RFC 9113 §6.2, §6.6, §6.10).
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE (RFC 9113 §6.1, §6.2, §6.6).
    pub const PADDED: u8 = 0x8;
    /// HEADERS (RFC 9113 §6.2).
    pub const PRIORITY: u8 = 0x20;
}

/// A frame type (RFC 9113 §6 and the extensions h2scope knows of). Unknown types are
/// kept: "Implementations MUST ignore and discard frames of unknown types" (§4.1), and
/// an inspector shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    Goaway,
    WindowUpdate,
    Continuation,
    /// RFC 7838 §4, type 0xa.
    AltSvc,
    /// RFC 8336 §2, type 0xc.
    Origin,
    /// RFC 9218 §7.1, type 0x10.
    PriorityUpdate,
    Unknown(u8),
}

impl FrameType {
    pub fn from_u8(v: u8) -> Self {
        match v {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::Goaway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            0xa => FrameType::AltSvc,
            0xc => FrameType::Origin,
            0x10 => FrameType::PriorityUpdate,
            other => FrameType::Unknown(other),
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::Goaway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::AltSvc => 0xa,
            FrameType::Origin => 0xc,
            FrameType::PriorityUpdate => 0x10,
            FrameType::Unknown(v) => v,
        }
    }

    /// The registry name (RFC 9113 §11.2), or "UNKNOWN".
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::Goaway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
            FrameType::AltSvc => "ALTSVC",
            FrameType::Origin => "ORIGIN",
            FrameType::PriorityUpdate => "PRIORITY_UPDATE",
            FrameType::Unknown(_) => "UNKNOWN",
        }
    }

    /// The flags this type defines. "Flags that have no defined semantics for a particular
    /// frame type MUST be ignored and MUST be left unset (0x00) when sent" (RFC 9113 §4.1).
    /// Unknown types: all flags (nothing is known to be undefined).
    pub fn defined_flags(self) -> u8 {
        use flags::*;
        match self {
            FrameType::Data => END_STREAM | PADDED,
            FrameType::Headers => END_STREAM | END_HEADERS | PADDED | PRIORITY,
            FrameType::Settings | FrameType::Ping => ACK,
            FrameType::PushPromise => END_HEADERS | PADDED,
            FrameType::Continuation => END_HEADERS,
            FrameType::Priority
            | FrameType::RstStream
            | FrameType::Goaway
            | FrameType::WindowUpdate
            | FrameType::AltSvc
            | FrameType::Origin
            | FrameType::PriorityUpdate => 0,
            FrameType::Unknown(_) => 0xff,
        }
    }

    pub fn is_known(self) -> bool {
        !matches!(self, FrameType::Unknown(_))
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameType::Unknown(v) => write!(f, "UNKNOWN(0x{v:02x})"),
            known => f.write_str(known.name()),
        }
    }
}

/// The 9-octet frame header (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length, 24 bits.
    pub length: u32,
    pub kind: FrameType,
    pub flags: u8,
    /// The 31-bit stream identifier, the reserved bit masked off.
    pub stream_id: u32,
    /// "The semantics of this bit are undefined, and the bit MUST remain unset (0x0) when
    /// sending and MUST be ignored when receiving" (RFC 9113 §4.1). Kept for reporting.
    pub reserved_bit: bool,
}

const STREAM_ID_MASK: u32 = 0x7fff_ffff;

impl FrameHeader {
    pub fn parse(b: &[u8; FRAME_HEADER_LEN]) -> Self {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *b;
        let raw_id = u32::from_be_bytes([s0, s1, s2, s3]);
        FrameHeader {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from_u8(kind),
            flags,
            stream_id: raw_id & STREAM_ID_MASK,
            reserved_bit: raw_id & !STREAM_ID_MASK != 0,
        }
    }

    /// The header's wire form (the length is truncated to 24 bits, the stream id to 31).
    pub fn to_bytes(&self) -> [u8; FRAME_HEADER_LEN] {
        let [_, l0, l1, l2] = self.length.to_be_bytes();
        let id = (self.stream_id & STREAM_ID_MASK)
            | if self.reserved_bit {
                !STREAM_ID_MASK
            } else {
                0
            };
        let [s0, s1, s2, s3] = id.to_be_bytes();
        [l0, l1, l2, self.kind.as_u8(), self.flags, s0, s1, s2, s3]
    }

    fn flag(&self, types: &[FrameType], bit: u8) -> bool {
        self.flags & bit != 0 && types.contains(&self.kind)
    }

    /// END_STREAM on DATA or HEADERS.
    pub fn end_stream(&self) -> bool {
        self.flag(&[FrameType::Data, FrameType::Headers], flags::END_STREAM)
    }

    /// END_HEADERS on HEADERS, PUSH_PROMISE or CONTINUATION.
    pub fn end_headers(&self) -> bool {
        self.flag(
            &[
                FrameType::Headers,
                FrameType::PushPromise,
                FrameType::Continuation,
            ],
            flags::END_HEADERS,
        )
    }

    /// ACK on SETTINGS or PING.
    pub fn ack(&self) -> bool {
        self.flag(&[FrameType::Settings, FrameType::Ping], flags::ACK)
    }

    /// PADDED on DATA, HEADERS or PUSH_PROMISE.
    pub fn padded(&self) -> bool {
        self.flag(
            &[FrameType::Data, FrameType::Headers, FrameType::PushPromise],
            flags::PADDED,
        )
    }

    /// PRIORITY on HEADERS.
    pub fn has_priority(&self) -> bool {
        self.flag(&[FrameType::Headers], flags::PRIORITY)
    }

    /// Flags set that the type does not define (an anomaly to report, not an error).
    pub fn undefined_flags(&self) -> u8 {
        self.flags & !self.kind.defined_flags()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HEADERS, length 0x0d, END_STREAM|END_HEADERS, stream 1.
    const HEADERS_HEAD: [u8; 9] = [0x00, 0x00, 0x0d, 0x01, 0x05, 0x00, 0x00, 0x00, 0x01];
    /// DATA, length 0xffffff, PADDED, reserved bit set, stream 0x7fffffff.
    const DATA_MAX_R: [u8; 9] = [0xff, 0xff, 0xff, 0x00, 0x08, 0xff, 0xff, 0xff, 0xff];
    /// SETTINGS ACK on stream 0.
    const SETTINGS_ACK: [u8; 9] = [0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00];

    #[test]
    fn parses_headers_header() {
        let h = FrameHeader::parse(&HEADERS_HEAD);
        assert_eq!(h.length, 13);
        assert_eq!(h.kind, FrameType::Headers);
        assert_eq!(h.stream_id, 1);
        assert!(!h.reserved_bit);
        assert!(h.end_stream() && h.end_headers());
        assert!(!h.padded() && !h.has_priority() && !h.ack());
        assert_eq!(h.undefined_flags(), 0);
        assert_eq!(h.to_bytes(), HEADERS_HEAD);
    }

    #[test]
    fn masks_reserved_bit_and_reads_24_bit_length() {
        let h = FrameHeader::parse(&DATA_MAX_R);
        assert_eq!(h.length, 0x00ff_ffff);
        assert_eq!(h.stream_id, 0x7fff_ffff);
        assert!(h.reserved_bit);
        assert!(h.padded());
        assert_eq!(h.to_bytes(), DATA_MAX_R);
    }

    #[test]
    fn flag_accessors_look_at_the_type() {
        let h = FrameHeader::parse(&SETTINGS_ACK);
        assert!(h.ack());
        // Bit 0x1 on SETTINGS is ACK, not END_STREAM.
        assert!(!h.end_stream());
        // PADDED (0x8) on a PING means nothing.
        let ping = FrameHeader {
            length: 8,
            kind: FrameType::Ping,
            flags: 0x09,
            stream_id: 0,
            reserved_bit: false,
        };
        assert!(ping.ack() && !ping.padded());
        assert_eq!(ping.undefined_flags(), 0x08);
    }

    #[test]
    fn type_codes_round_trip_with_names() {
        for v in 0..=u8::MAX {
            let t = FrameType::from_u8(v);
            assert_eq!(t.as_u8(), v);
            assert_eq!(t.is_known(), matches!(v, 0x0..=0xa | 0xc | 0x10));
        }
        assert_eq!(FrameType::RstStream.name(), "RST_STREAM");
        assert_eq!(FrameType::WindowUpdate.name(), "WINDOW_UPDATE");
        assert_eq!(FrameType::PriorityUpdate.name(), "PRIORITY_UPDATE");
        assert_eq!(FrameType::from_u8(0xb).name(), "UNKNOWN");
        assert_eq!(FrameType::from_u8(0xb).to_string(), "UNKNOWN(0x0b)");
        assert_eq!(FrameType::AltSvc.to_string(), "ALTSVC");
    }
}
