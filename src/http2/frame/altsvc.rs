//! ALTSVC frames (RFC 7838 §4, type 0xa).
//!
//! ```text
//! ALTSVC Frame {
//!   Length (24),
//!   Type (8) = 0x0a,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   Origin-Len (16),
//!   Origin (..),
//!   Alt-Svc-Field-Value (..),
//! }
//! ```
//! "The ALTSVC frame does not define any flags" (RFC 7838 §4).

use super::{Frame, FrameError, FrameHeader, LengthRule, take_u16};

/// Origin-Len is mandatory.
pub const MIN_LEN: u32 = 2;

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let (origin_len, rest) = take_u16(payload).ok_or_else(|| super::too_short(header, MIN_LEN))?;
    // The Origin must fit in the payload; what follows it is the field value, "length
    // determined by subtracting the length of all preceding fields from the frame length".
    let (origin, field_value) =
        rest.split_at_checked(usize::from(origin_len))
            .ok_or(FrameError::BadLength {
                kind: header.kind,
                expected: LengthRule::AtLeast(MIN_LEN + u32::from(origin_len)),
                got: header.length,
            })?;
    Ok(Frame::AltSvc {
        origin,
        field_value,
    })
}

/// The RFC 7838 §4 rule on where an Origin may appear, for the connection layer to report:
/// "An ALTSVC frame on a stream other than stream 0 containing non-empty Origin information
/// is invalid and MUST be ignored" and "An ALTSVC frame on stream 0 with empty (length 0)
/// Origin information is invalid and MUST be ignored".
pub fn check_origin(stream_id: u32, origin: &[u8]) -> Option<&'static str> {
    match (stream_id, origin.is_empty()) {
        (0, true) => Some("ALTSVC on stream 0 without an Origin (RFC 7838 §4)"),
        (1.., false) => Some("ALTSVC on a stream with an Origin (RFC 7838 §4)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;
    use super::check_origin;

    /// ALTSVC on stream 0: origin "https://a.example", field value `h2=":8443"`.
    const ALTSVC_CONN: [u8; 38] = [
        0, 0, 29, 0x0a, 0, 0, 0, 0, 0, 0, 17, //
        b'h', b't', b't', b'p', b's', b':', b'/', b'/', b'a', b'.', b'e', b'x', b'a', b'm', b'p',
        b'l', b'e', b'h', b'2', b'=', b'"', b':', b'8', b'4', b'4', b'3', b'"',
    ];
    /// ALTSVC on stream 1 with no origin and field value "clear".
    const ALTSVC_STREAM: [u8; 16] = [
        0, 0, 7, 0x0a, 0, 0, 0, 0, 1, 0, 0, b'c', b'l', b'e', b'a', b'r',
    ];
    /// One octet: no room for Origin-Len.
    const ALTSVC_SHORT: [u8; 10] = [0, 0, 1, 0x0a, 0, 0, 0, 0, 0, 0];
    /// Origin-Len 5 with 3 octets left.
    const ALTSVC_ORIGIN_TOO_LONG: [u8; 14] = [0, 0, 5, 0x0a, 0, 0, 0, 0, 0, 0, 5, b'a', b'b', b'c'];

    #[test]
    fn origin_and_value() {
        let (h, f) = parse_wire(&ALTSVC_CONN);
        assert_eq!(
            f,
            Ok(Frame::AltSvc {
                origin: b"https://a.example",
                field_value: b"h2=\":8443\""
            })
        );
        assert_eq!(check_origin(h.stream_id, b"https://a.example"), None);
        let (h, f) = parse_wire(&ALTSVC_STREAM);
        assert_eq!(
            f,
            Ok(Frame::AltSvc {
                origin: b"",
                field_value: b"clear"
            })
        );
        assert_eq!(check_origin(h.stream_id, b""), None);
        assert!(check_origin(0, b"").is_some());
        assert!(check_origin(3, b"x").is_some());
    }

    #[test]
    fn structural_errors() {
        assert_eq!(
            parse_wire(&ALTSVC_SHORT).1,
            Err(FrameError::BadLength {
                kind: FrameType::AltSvc,
                expected: LengthRule::AtLeast(2),
                got: 1
            })
        );
        assert_eq!(
            parse_wire(&ALTSVC_ORIGIN_TOO_LONG).1,
            Err(FrameError::BadLength {
                kind: FrameType::AltSvc,
                expected: LengthRule::AtLeast(7),
                got: 5
            })
        );
    }
}
