//! ORIGIN frames (RFC 8336 §2, type 0xc).
//!
//! ```text
//! ORIGIN Frame {
//!   Length (24),
//!   Type (8) = 0x0c,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31) = 0,
//!   Origin-Entry (..) ...,
//! }
//!
//! Origin-Entry {
//!   Origin-Len (16),
//!   ASCII-Origin (..),
//! }
//! ```
//! [`super::Frame::Origin`] carries the raw payload; [`OriginEntries`] reads the entries in
//! place. A truncated last entry is left in [`OriginEntries::trailing`] for the layer above
//! to report (RFC 8336 asks receivers to ignore invalid ORIGIN frames, not to fail).

/// Iterator over the ASCII-Origin of each Origin-Entry.
#[derive(Clone, Debug)]
pub struct OriginEntries<'a> {
    rest: &'a [u8],
}

impl<'a> OriginEntries<'a> {
    pub fn new(payload: &'a [u8]) -> Self {
        OriginEntries { rest: payload }
    }

    /// The octets not yet read: once iteration has stopped, a non-empty remainder is a
    /// truncated entry.
    pub fn trailing(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for OriginEntries<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, after) = super::take_u16(self.rest)?;
        let (origin, rest) = after.split_at_checked(usize::from(len))?;
        self.rest = rest;
        Some(origin)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// ORIGIN on stream 0 listing "https://a.example" and "https://b.example".
    const ORIGIN_TWO: [u8; 47] = [
        0, 0, 38, 0x0c, 0, 0, 0, 0, 0, //
        0, 17, b'h', b't', b't', b'p', b's', b':', b'/', b'/', b'a', b'.', b'e', b'x', b'a', b'm',
        b'p', b'l', b'e', 0, 17, b'h', b't', b't', b'p', b's', b':', b'/', b'/', b'b', b'.', b'e',
        b'x', b'a', b'm', b'p', b'l', b'e',
    ];
    /// One entry claiming 9 octets with 2 present.
    const ORIGIN_TRUNCATED: [u8; 13] = [0, 0, 4, 0x0c, 0, 0, 0, 0, 0, 0, 9, b'h', b't'];

    #[test]
    fn entries() {
        let (_, f) = parse_wire(&ORIGIN_TWO);
        let Ok(Frame::Origin { payload }) = f else {
            panic!("{f:?}")
        };
        let mut it = OriginEntries::new(payload);
        assert_eq!(it.next(), Some(&b"https://a.example"[..]));
        assert_eq!(it.next(), Some(&b"https://b.example"[..]));
        assert_eq!(it.next(), None);
        assert!(it.trailing().is_empty());
    }

    #[test]
    fn truncated_entry_left_over() {
        let (_, f) = parse_wire(&ORIGIN_TRUNCATED);
        let Ok(Frame::Origin { payload }) = f else {
            panic!("{f:?}")
        };
        let mut it = OriginEntries::new(payload);
        assert_eq!(it.next(), None);
        assert_eq!(it.trailing(), &[0, 9, b'h', b't']);
    }
}
