//! DATA frames (RFC 9113 §6.1).
//!
//! ```text
//! DATA Frame {
//!   Length (24),
//!   Type (8) = 0x00,
//!   Unused Flags (4),
//!   PADDED Flag (1),
//!   Unused Flags (2),
//!   END_STREAM Flag (1),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   [Pad Length (8)],
//!   Data (..),
//!   Padding (..2040),
//! }
//! ```
//! The streaming [`super::FrameDecoder`] never buffers DATA: it strips the padding as the
//! payload arrives. `parse_frame` reads a DATA payload already in hand.

use super::{Frame, FrameError, FrameHeader, LengthRule, strip_padding};

/// A PADDED DATA frame needs room for its pad-length octet.
pub(super) fn length_rule(header: &FrameHeader) -> Option<LengthRule> {
    header.padded().then_some(LengthRule::AtLeast(1))
}

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    // "If the length of the padding is the length of the frame payload or greater, the
    // recipient MUST treat this as a connection error (Section 5.4.1) of type
    // PROTOCOL_ERROR" (§6.1). The payload counts the pad-length octet, so a padding that
    // fills everything after it (leaving no data) is allowed.
    let (data, pad_len) = strip_padding(header, payload, 0)?;
    Ok(Frame::Data { data, pad_len })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// DATA on stream 1, END_STREAM, "hello".
    const DATA_HELLO: [u8; 14] = [
        0, 0, 5, 0x00, 0x01, 0, 0, 0, 1, b'h', b'e', b'l', b'l', b'o',
    ];
    /// DATA on stream 3, PADDED: pad length 2, "hi", two zero octets.
    const DATA_PADDED: [u8; 14] = [0, 0, 5, 0x00, 0x08, 0, 0, 0, 3, 2, b'h', b'i', 0, 0];
    /// PADDED, pad length 4 = the whole rest of the payload: no data, allowed.
    const DATA_ALL_PADDING: [u8; 14] = [0, 0, 5, 0x00, 0x08, 0, 0, 0, 3, 4, 0, 0, 0, 0];
    /// PADDED, pad length 5 in a 5-octet payload: "the length of the frame payload or greater".
    const DATA_PAD_TOO_LONG: [u8; 14] = [0, 0, 5, 0x00, 0x08, 0, 0, 0, 3, 5, 0, 0, 0, 0];
    /// PADDED with no room for the pad-length octet.
    const DATA_PADDED_EMPTY: [u8; 9] = [0, 0, 0, 0x00, 0x08, 0, 0, 0, 3];

    #[test]
    fn plain_data() {
        let (h, f) = parse_wire(&DATA_HELLO);
        assert!(h.end_stream());
        assert_eq!(
            f,
            Ok(Frame::Data {
                data: b"hello",
                pad_len: None
            })
        );
    }

    #[test]
    fn padding_is_stripped() {
        let (_, f) = parse_wire(&DATA_PADDED);
        assert_eq!(
            f,
            Ok(Frame::Data {
                data: b"hi",
                pad_len: Some(2)
            })
        );
        let (_, f) = parse_wire(&DATA_ALL_PADDING);
        assert_eq!(
            f,
            Ok(Frame::Data {
                data: b"",
                pad_len: Some(4)
            })
        );
    }

    #[test]
    fn padding_too_long() {
        let (_, f) = parse_wire(&DATA_PAD_TOO_LONG);
        assert_eq!(
            f,
            Err(FrameError::PaddingTooLong {
                pad_len: 5,
                length: 5
            })
        );
    }

    #[test]
    fn padded_without_pad_length() {
        let (_, f) = parse_wire(&DATA_PADDED_EMPTY);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::Data,
                expected: LengthRule::AtLeast(1),
                got: 0
            })
        );
    }
}
