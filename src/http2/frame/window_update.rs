//! WINDOW_UPDATE frames (RFC 9113 §6.9).
//!
//! ```text
//! WINDOW_UPDATE Frame {
//!   Length (24) = 0x04,
//!   Type (8) = 0x08,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   Reserved (1),
//!   Window Size Increment (31),
//! }
//! ```
//! An increment of 0 parses: "A receiver MUST treat the receipt of a WINDOW_UPDATE frame
//! with a flow-control window increment of 0 as a stream error" (§6.9) is the connection
//! layer's to report.

use super::{Frame, FrameError, FrameHeader};

/// "A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated as a
/// connection error (Section 5.4.1) of type FRAME_SIZE_ERROR" (§6.9).
pub const LEN: u32 = 4;

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let word: [u8; 4] = payload
        .try_into()
        .map_err(|_| super::too_short(header, LEN))?;
    Ok(Frame::WindowUpdate {
        increment: u32::from_be_bytes(word) & 0x7fff_ffff,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// Connection-level WINDOW_UPDATE of 983041 (grpc-go's usual first update).
    const WINDOW_UPDATE_CONN: [u8; 13] = [0, 0, 4, 0x08, 0, 0, 0, 0, 0, 0x00, 0x0f, 0x00, 0x01];
    /// Stream 1, reserved bit set, increment 0x7fffffff.
    const WINDOW_UPDATE_R: [u8; 13] = [0, 0, 4, 0x08, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
    /// Increment 0: structurally fine.
    const WINDOW_UPDATE_ZERO: [u8; 13] = [0, 0, 4, 0x08, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    const WINDOW_UPDATE_LONG: [u8; 14] = [0, 0, 5, 0x08, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0];

    #[test]
    fn increments() {
        assert_eq!(
            parse_wire(&WINDOW_UPDATE_CONN).1,
            Ok(Frame::WindowUpdate { increment: 983_041 })
        );
        assert_eq!(
            parse_wire(&WINDOW_UPDATE_R).1,
            Ok(Frame::WindowUpdate {
                increment: 0x7fff_ffff
            })
        );
        assert_eq!(
            parse_wire(&WINDOW_UPDATE_ZERO).1,
            Ok(Frame::WindowUpdate { increment: 0 })
        );
    }

    #[test]
    fn length_must_be_4() {
        assert_eq!(
            parse_wire(&WINDOW_UPDATE_LONG).1,
            Err(FrameError::BadLength {
                kind: FrameType::WindowUpdate,
                expected: LengthRule::Exactly(4),
                got: 5
            })
        );
    }
}
