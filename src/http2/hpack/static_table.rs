//! The static table (RFC 7541 Appendix A): 61 entries, indices 1..=61 (§2.3.1).

/// Number of static entries; dynamic indices start right after (§2.3.3).
pub(super) const LEN: u32 = 61;

/// Appendix A, in order: entry `i` here is index `i + 1` on the wire.
const ENTRIES: [(&[u8], &[u8]); LEN as usize] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The entry at wire index `index` (1..=61), or `None` (0 and dynamic indices).
pub(super) fn get(index: u32) -> Option<(&'static [u8], &'static [u8])> {
    let i = usize::try_from(index.checked_sub(1)?).ok()?;
    ENTRIES.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_spot_checks() {
        assert_eq!(get(0), None);
        assert_eq!(get(1), Some((&b":authority"[..], &b""[..])));
        assert_eq!(get(2), Some((&b":method"[..], &b"GET"[..])));
        assert_eq!(get(8), Some((&b":status"[..], &b"200"[..])));
        assert_eq!(
            get(16),
            Some((&b"accept-encoding"[..], &b"gzip, deflate"[..]))
        );
        // Indices used by the Appendix C examples.
        assert_eq!(get(24).unwrap().0, b"cache-control");
        assert_eq!(get(26).unwrap().0, b"content-encoding");
        assert_eq!(get(33).unwrap().0, b"date");
        assert_eq!(get(46).unwrap().0, b"location");
        assert_eq!(get(55).unwrap().0, b"set-cookie");
        assert_eq!(get(61), Some((&b"www-authenticate"[..], &b""[..])));
        assert_eq!(get(62), None);
        assert_eq!(get(u32::MAX), None);
    }
}
