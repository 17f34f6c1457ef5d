//! CONTINUATION frames (RFC 9113 §6.10).
//!
//! ```text
//! CONTINUATION Frame {
//!   Length (24),
//!   Type (8) = 0x09,
//!   Unused Flags (5),
//!   END_HEADERS Flag (1),
//!   Unused Flags (2),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   Field Block Fragment (..),
//! }
//! ```
//! Any length is structurally valid. That a CONTINUATION follows a HEADERS, PUSH_PROMISE or
//! CONTINUATION without END_HEADERS on the same stream (§6.10) is connection state.

use super::Frame;

pub(super) fn parse(payload: &[u8]) -> Frame<'_> {
    Frame::Continuation { fragment: payload }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// CONTINUATION on stream 1, END_HEADERS, fragment 0x84.
    const CONTINUATION_END: [u8; 10] = [0, 0, 1, 0x09, 0x04, 0, 0, 0, 1, 0x84];
    /// Empty, no END_HEADERS.
    const CONTINUATION_EMPTY: [u8; 9] = [0, 0, 0, 0x09, 0, 0, 0, 0, 1];

    #[test]
    fn fragments() {
        let (h, f) = parse_wire(&CONTINUATION_END);
        assert!(h.end_headers());
        assert_eq!(f, Ok(Frame::Continuation { fragment: &[0x84] }));
        let (h, f) = parse_wire(&CONTINUATION_EMPTY);
        assert!(!h.end_headers());
        assert_eq!(f, Ok(Frame::Continuation { fragment: &[] }));
    }
}
