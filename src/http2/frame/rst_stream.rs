//! RST_STREAM frames (RFC 9113 §6.4).
//!
//! ```text
//! RST_STREAM Frame {
//!   Length (24) = 0x04,
//!   Type (8) = 0x03,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   Error Code (32),
//! }
//! ```

use super::{ErrorCode, Frame, FrameError, FrameHeader};

/// "A RST_STREAM frame with a length other than 4 octets MUST be treated as a connection
/// error (Section 5.4.1) of type FRAME_SIZE_ERROR" (§6.4).
pub const LEN: u32 = 4;

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let code: [u8; 4] = payload
        .try_into()
        .map_err(|_| super::too_short(header, LEN))?;
    Ok(Frame::RstStream {
        error_code: ErrorCode(u32::from_be_bytes(code)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// RST_STREAM on stream 1, CANCEL (0x8).
    const RST_CANCEL: [u8; 13] = [0, 0, 4, 0x03, 0, 0, 0, 0, 1, 0, 0, 0, 8];
    /// RST_STREAM on stream 1 with an unregistered code 0x1234.
    const RST_UNKNOWN: [u8; 13] = [0, 0, 4, 0x03, 0, 0, 0, 0, 1, 0, 0, 0x12, 0x34];
    const RST_SHORT: [u8; 12] = [0, 0, 3, 0x03, 0, 0, 0, 0, 1, 0, 0, 8];

    #[test]
    fn error_code_by_name() {
        let (_, f) = parse_wire(&RST_CANCEL);
        assert_eq!(
            f,
            Ok(Frame::RstStream {
                error_code: ErrorCode::CANCEL
            })
        );
        let Ok(Frame::RstStream { error_code }) = f else {
            unreachable!()
        };
        assert_eq!(error_code.name(), Some("CANCEL"));
    }

    #[test]
    fn unknown_code_kept() {
        let (_, f) = parse_wire(&RST_UNKNOWN);
        assert_eq!(
            f,
            Ok(Frame::RstStream {
                error_code: ErrorCode(0x1234)
            })
        );
    }

    #[test]
    fn length_must_be_4() {
        let (_, f) = parse_wire(&RST_SHORT);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::RstStream,
                expected: LengthRule::Exactly(4),
                got: 3
            })
        );
    }
}
