//! PUSH_PROMISE frames (RFC 9113 §6.6).
//!
//! ```text
//! PUSH_PROMISE Frame {
//!   Length (24),
//!   Type (8) = 0x05,
//!   Unused Flags (4),
//!   PADDED Flag (1),
//!   END_HEADERS Flag (1),
//!   Unused Flags (2),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   [Pad Length (8)],
//!   Reserved (1),
//!   Promised Stream ID (31),
//!   Field Block Fragment (..),
//!   Padding (..2040),
//! }
//! ```
//! Whether push was enabled, and whether the promised id is valid, are connection state.

use super::{Frame, FrameError, FrameHeader, LengthRule, strip_padding, take_u32};

/// The promised stream id.
pub const PROMISED_ID_LEN: u32 = 4;

/// Room for the pad-length octet (if PADDED) and the promised stream id: a frame "too
/// small to contain mandatory frame data" is a FRAME_SIZE_ERROR (§4.2).
pub(super) fn length_rule(header: &FrameHeader) -> LengthRule {
    LengthRule::AtLeast(u32::from(header.padded()) + PROMISED_ID_LEN)
}

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    // Padding is bounded like HEADERS' (§6.6 reuses §6.2's Pad Length and Padding fields):
    // it may not reach into the promised stream id.
    let (body, pad_len) = strip_padding(header, payload, PROMISED_ID_LEN as usize)?;
    let (id, fragment) = take_u32(body).ok_or_else(|| super::too_short(header, PROMISED_ID_LEN))?;
    Ok(Frame::PushPromise {
        promised_stream_id: id & 0x7fff_ffff,
        fragment,
        pad_len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// PUSH_PROMISE on stream 1, END_HEADERS, promising stream 2, fragment 0x82 0x87.
    const PUSH_PROMISE_PLAIN: [u8; 15] = [0, 0, 6, 0x05, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0x82, 0x87];
    /// PADDED: pad length 1, promised stream 4 with the reserved bit set, fragment 0x82.
    const PUSH_PROMISE_PADDED: [u8; 16] =
        [0, 0, 7, 0x05, 0x0c, 0, 0, 0, 1, 1, 0x80, 0, 0, 4, 0x82, 0];
    /// Only 3 octets.
    const PUSH_PROMISE_SHORT: [u8; 12] = [0, 0, 3, 0x05, 0x04, 0, 0, 0, 1, 0, 0, 2];
    /// PADDED, 5 octets: pad length 1 would eat into the promised id.
    const PUSH_PROMISE_PAD_TOO_LONG: [u8; 14] = [0, 0, 5, 0x05, 0x0c, 0, 0, 0, 1, 1, 0, 0, 0, 2];

    #[test]
    fn plain() {
        let (h, f) = parse_wire(&PUSH_PROMISE_PLAIN);
        assert!(h.end_headers());
        assert_eq!(
            f,
            Ok(Frame::PushPromise {
                promised_stream_id: 2,
                fragment: &[0x82, 0x87],
                pad_len: None
            })
        );
    }

    #[test]
    fn padded_and_reserved_bit_masked() {
        let (_, f) = parse_wire(&PUSH_PROMISE_PADDED);
        assert_eq!(
            f,
            Ok(Frame::PushPromise {
                promised_stream_id: 4,
                fragment: &[0x82],
                pad_len: Some(1)
            })
        );
    }

    #[test]
    fn structural_errors() {
        let (_, f) = parse_wire(&PUSH_PROMISE_SHORT);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::PushPromise,
                expected: LengthRule::AtLeast(4),
                got: 3
            })
        );
        let (_, f) = parse_wire(&PUSH_PROMISE_PAD_TOO_LONG);
        assert_eq!(
            f,
            Err(FrameError::PaddingTooLong {
                pad_len: 1,
                length: 5
            })
        );
    }
}
