//! HEADERS frames (RFC 9113 §6.2).
//!
//! ```text
//! HEADERS Frame {
//!   Length (24),
//!   Type (8) = 0x01,
//!   Unused Flags (2),
//!   PRIORITY Flag (1),
//!   Unused Flag (1),
//!   PADDED Flag (1),
//!   END_HEADERS Flag (1),
//!   Unused Flag (1),
//!   END_STREAM Flag (1),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   [Pad Length (8)],
//!   [Exclusive (1)],
//!   [Stream Dependency (31)],
//!   [Weight (8)],
//!   Field Block Fragment (..),
//!   Padding (..2040),
//! }
//! ```
//! The field block fragment is returned undecoded (HPACK is the connection layer's job).

use super::{Frame, FrameError, FrameHeader, LengthRule, priority, strip_padding};

/// Room for the pad-length octet and the priority fields the flags announce.
pub(super) fn length_rule(header: &FrameHeader) -> Option<LengthRule> {
    let need = u32::from(header.padded())
        + if header.has_priority() {
            priority::LEN
        } else {
            0
        };
    (need > 0).then_some(LengthRule::AtLeast(need))
}

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let fixed = if header.has_priority() {
        priority::LEN as usize
    } else {
        0
    };
    // "Padding that exceeds the size remaining for the field block fragment MUST be treated
    // as a PROTOCOL_ERROR" (§6.2).
    let (body, pad_len) = strip_padding(header, payload, fixed)?;
    let (priority, fragment) = if header.has_priority() {
        let (fields, fragment) = body
            .split_first_chunk::<5>()
            .ok_or_else(|| super::too_short(header, priority::LEN))?;
        (Some(priority::Priority::parse(fields)), fragment)
    } else {
        (None, body)
    };
    Ok(Frame::Headers {
        priority,
        fragment,
        pad_len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// HEADERS on stream 1, END_STREAM|END_HEADERS, fragment 0x82 0x86 0x84 (HPACK
    /// indexed :method GET, :scheme http, :path /, RFC 7541 §C.3.1).
    const HEADERS_PLAIN: [u8; 12] = [0, 0, 3, 0x01, 0x05, 0, 0, 0, 1, 0x82, 0x86, 0x84];
    /// HEADERS on stream 3, END_HEADERS|PADDED|PRIORITY: pad length 2, exclusive
    /// dependency on stream 1, weight 15 (16), fragment 0x82, two octets of padding.
    const HEADERS_PADDED_PRIORITY: [u8; 18] = [
        0, 0, 9, 0x01, 0x2c, 0, 0, 0, 3, //
        2, 0x80, 0, 0, 1, 15, 0x82, 0, 0,
    ];
    /// HEADERS with PRIORITY only: dependency 0x7fffffff, not exclusive, weight 255.
    const HEADERS_PRIORITY: [u8; 15] = [
        0, 0, 6, 0x01, 0x24, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x88,
    ];
    /// HEADERS with PRIORITY but only 4 octets of payload.
    const HEADERS_PRIORITY_SHORT: [u8; 13] = [0, 0, 4, 0x01, 0x24, 0, 0, 0, 5, 0, 0, 0, 1];
    /// HEADERS with PADDED|PRIORITY, 7-octet payload: pad length 2 leaves -1 for the fragment.
    const HEADERS_PAD_TOO_LONG: [u8; 16] =
        [0, 0, 7, 0x01, 0x28 | 0x04, 0, 0, 0, 5, 2, 0, 0, 0, 1, 15, 0];

    #[test]
    fn plain_headers() {
        let (h, f) = parse_wire(&HEADERS_PLAIN);
        assert!(h.end_stream() && h.end_headers());
        assert_eq!(
            f,
            Ok(Frame::Headers {
                priority: None,
                fragment: &[0x82, 0x86, 0x84],
                pad_len: None
            })
        );
    }

    #[test]
    fn padded_with_priority() {
        let (h, f) = parse_wire(&HEADERS_PADDED_PRIORITY);
        assert!(h.padded() && h.has_priority() && h.end_headers() && !h.end_stream());
        assert_eq!(
            f,
            Ok(Frame::Headers {
                priority: Some(Priority {
                    exclusive: true,
                    dependency: 1,
                    weight: 15
                }),
                fragment: &[0x82],
                pad_len: Some(2),
            })
        );
    }

    #[test]
    fn priority_fields() {
        let (_, f) = parse_wire(&HEADERS_PRIORITY);
        let Ok(Frame::Headers {
            priority: Some(p),
            fragment,
            ..
        }) = f
        else {
            panic!("{f:?}")
        };
        assert_eq!(
            p,
            Priority {
                exclusive: false,
                dependency: 0x7fff_ffff,
                weight: 255
            }
        );
        assert_eq!(p.effective_weight(), 256);
        assert_eq!(fragment, &[0x88]);
    }

    #[test]
    fn structural_errors() {
        let (_, f) = parse_wire(&HEADERS_PRIORITY_SHORT);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::Headers,
                expected: LengthRule::AtLeast(5),
                got: 4
            })
        );
        let (_, f) = parse_wire(&HEADERS_PAD_TOO_LONG);
        assert_eq!(
            f,
            Err(FrameError::PaddingTooLong {
                pad_len: 2,
                length: 7
            })
        );
    }
}
