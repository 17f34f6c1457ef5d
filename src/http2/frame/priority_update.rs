//! PRIORITY_UPDATE frames (RFC 9218 §7.1, type 0x10).
//!
//! ```text
//! PRIORITY_UPDATE Frame {
//!   Length (24),
//!   Type (8) = 0x10,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31) = 0,
//!   Reserved (1),
//!   Prioritized Stream ID (31),
//!   Priority Field Value (..),
//! }
//! ```
//! A Prioritized Stream ID of 0 parses (RFC 9218 §7.1 makes it a connection error of type
//! PROTOCOL_ERROR: the connection layer reports it).

use super::{Frame, FrameError, FrameHeader, take_u32};

/// The Prioritized Stream ID is mandatory: a shorter frame is "too small to contain
/// mandatory frame data" (RFC 9113 §4.2).
pub const MIN_LEN: u32 = 4;

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let (id, field_value) = take_u32(payload).ok_or_else(|| super::too_short(header, MIN_LEN))?;
    Ok(Frame::PriorityUpdate {
        prioritized_stream_id: id & 0x7fff_ffff,
        field_value,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// PRIORITY_UPDATE for stream 5 (reserved bit set on the wire): "u=1, i".
    const PRIORITY_UPDATE: [u8; 19] = [
        0, 0, 10, 0x10, 0, 0, 0, 0, 0, 0x80, 0, 0, 5, b'u', b'=', b'1', b',', b' ', b'i',
    ];
    const PRIORITY_UPDATE_SHORT: [u8; 12] = [0, 0, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 5];

    #[test]
    fn parses() {
        let (h, f) = parse_wire(&PRIORITY_UPDATE);
        assert_eq!(h.kind, FrameType::PriorityUpdate);
        assert_eq!(
            f,
            Ok(Frame::PriorityUpdate {
                prioritized_stream_id: 5,
                field_value: b"u=1, i"
            })
        );
    }

    #[test]
    fn too_short() {
        assert_eq!(
            parse_wire(&PRIORITY_UPDATE_SHORT).1,
            Err(FrameError::BadLength {
                kind: FrameType::PriorityUpdate,
                expected: LengthRule::AtLeast(4),
                got: 3
            })
        );
    }
}
