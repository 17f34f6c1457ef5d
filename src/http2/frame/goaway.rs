//! GOAWAY frames (RFC 9113 §6.8).
//!
//! ```text
//! GOAWAY Frame {
//!   Length (24),
//!   Type (8) = 0x07,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31) = 0,
//!   Reserved (1),
//!   Last-Stream-ID (31),
//!   Error Code (32),
//!   Additional Debug Data (..),
//! }
//! ```

use super::{ErrorCode, Frame, FrameError, FrameHeader, take_u32};

/// Last-Stream-ID and Error Code are mandatory: a shorter frame is "too small to contain
/// mandatory frame data" (§4.2).
pub const MIN_LEN: u32 = 8;

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let short = || super::too_short(header, MIN_LEN);
    let (last, rest) = take_u32(payload).ok_or_else(short)?;
    let (code, debug_data) = take_u32(rest).ok_or_else(short)?;
    Ok(Frame::Goaway {
        last_stream_id: last & 0x7fff_ffff,
        error_code: ErrorCode(code),
        debug_data,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// GOAWAY: last stream 0x7fffffff (reserved bit set on the wire), ENHANCE_YOUR_CALM,
    /// debug data "too_many_pings" (as grpc-go sends).
    const GOAWAY_DEBUG: [u8; 31] = [
        0, 0, 22, 0x07, 0, 0, 0, 0, 0, //
        0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x0b, //
        b't', b'o', b'o', b'_', b'm', b'a', b'n', b'y', b'_', b'p', b'i', b'n', b'g', b's',
    ];
    /// GOAWAY: last stream 3, NO_ERROR, no debug data.
    const GOAWAY_PLAIN: [u8; 17] = [0, 0, 8, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0];
    const GOAWAY_SHORT: [u8; 16] = [0, 0, 7, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0];

    #[test]
    fn with_debug_data() {
        let (_, f) = parse_wire(&GOAWAY_DEBUG);
        let Ok(Frame::Goaway {
            last_stream_id,
            error_code,
            debug_data,
        }) = f
        else {
            panic!("{f:?}")
        };
        assert_eq!(last_stream_id, 0x7fff_ffff);
        assert_eq!(error_code.name(), Some("ENHANCE_YOUR_CALM"));
        assert_eq!(debug_data, b"too_many_pings");
    }

    #[test]
    fn without_debug_data() {
        let (_, f) = parse_wire(&GOAWAY_PLAIN);
        assert_eq!(
            f,
            Ok(Frame::Goaway {
                last_stream_id: 3,
                error_code: ErrorCode::NO_ERROR,
                debug_data: &[]
            })
        );
    }

    #[test]
    fn too_short() {
        let (_, f) = parse_wire(&GOAWAY_SHORT);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::Goaway,
                expected: LengthRule::AtLeast(8),
                got: 7
            })
        );
    }
}
