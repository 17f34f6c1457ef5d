//! PING frames (RFC 9113 §6.7).
//!
//! ```text
//! PING Frame {
//!   Length (24) = 0x08,
//!   Type (8) = 0x06,
//!   Unused Flags (7),
//!   ACK Flag (1),
//!   Reserved (1),
//!   Stream Identifier (31) = 0,
//!   Opaque Data (64),
//! }
//! ```

use super::{Frame, FrameError, FrameHeader};

/// "Receipt of a PING frame with a length field value other than 8 MUST be treated as a
/// connection error (Section 5.4.1) of type FRAME_SIZE_ERROR" (§6.7).
pub const LEN: u32 = 8;

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let payload: [u8; 8] = payload
        .try_into()
        .map_err(|_| super::too_short(header, LEN))?;
    Ok(Frame::Ping {
        ack: header.ack(),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    const PING: [u8; 17] = [0, 0, 8, 0x06, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    const PING_ACK: [u8; 17] = [0, 0, 8, 0x06, 0x01, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    const PING_SHORT: [u8; 16] = [0, 0, 7, 0x06, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7];

    #[test]
    fn ping_and_ack() {
        let (_, f) = parse_wire(&PING);
        assert_eq!(
            f,
            Ok(Frame::Ping {
                ack: false,
                payload: [1, 2, 3, 4, 5, 6, 7, 8]
            })
        );
        let (_, f) = parse_wire(&PING_ACK);
        assert_eq!(
            f,
            Ok(Frame::Ping {
                ack: true,
                payload: [1, 2, 3, 4, 5, 6, 7, 8]
            })
        );
    }

    #[test]
    fn length_must_be_8() {
        let (_, f) = parse_wire(&PING_SHORT);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::Ping,
                expected: LengthRule::Exactly(8),
                got: 7
            })
        );
    }
}
