//! Base64 (RFC 4648) as gRPC uses it: `-bin` metadata and `grpc-status-details-bin` are sent
//! unpadded or padded, gRPC-Web text bodies arrive in separately padded chunks, and exported
//! raw bytes go out padded in the standard alphabet.
//!
//! The decoder is written here rather than taken from a crate because the tolerant, streaming
//! decoder that gRPC-Web text needs ([`Base64Stream`]) is not what general-purpose decoders
//! do. The encoder is `base64-simd`'s: every raw message body and protobuf `bytes` field
//! of a schema-less export goes through it (twice the capture's size in text), and its
//! vector code (AVX2 and others, detected at run time) made a one-core `--ndjson --frames`
//! export of the 100 MB gRPC bench capture 15% faster than the table-driven scalar encoder
//! that was here (0.34 -> 0.29 s CPU).

/// Standard alphabet, padded: the form every JSON consumer decodes.
pub fn encode(data: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(data)
}

/// [`encode`], appended to `out`.
pub fn encode_into(data: &[u8], out: &mut Vec<u8>) {
    base64_simd::STANDARD.encode_append(data, out);
}

/// The 6-bit value of a base64 character, standard or URL-safe alphabet.
fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decodes base64 arriving in pieces, one quantum (4 characters) buffered at most.
///
/// Tolerant by design, because what it reads came off the wire: whitespace is skipped, `=`
/// ends the current quantum wherever it appears (gRPC-Web text pads each chunk separately, so
/// padding in the middle of a body is normal), extra `=` are ignored, and characters outside
/// both alphabets are skipped and counted rather than ending the stream.
#[derive(Debug, Default, Clone)]
pub struct Base64Stream {
    quad: [u8; 4],
    have: usize,
    invalid: u64,
}

impl Base64Stream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `text` into `out` (at most 3 bytes per 4 characters); returns how many
    /// characters of this call were not base64 and were skipped.
    pub fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> u64 {
        let mut invalid = 0;
        out.reserve(text.len() / 4 * 3 + 3);
        for &c in text {
            if let Some(v) = value(c) {
                self.quad[self.have] = v;
                self.have += 1;
                if self.have == 4 {
                    self.flush(out);
                }
            } else if c == b'=' {
                // Padding ends the quantum; with 0 characters it is the second '=' of "==".
                // A lone character cannot make a byte: it is dropped and counted.
                if self.have == 1 {
                    invalid += 1;
                }
                self.flush(out);
            } else if !c.is_ascii_whitespace() {
                invalid += 1;
            }
        }
        self.invalid += invalid;
        invalid
    }

    /// Ends the input: an unpadded tail of 2 or 3 characters is decoded. Returns false when a
    /// single dangling character had to be dropped.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        let ok = self.have != 1;
        if !ok {
            self.invalid += 1;
        }
        self.flush(out);
        ok
    }

    /// Drops a partial quantum (the input had a gap); the skipped count is kept.
    pub fn reset(&mut self) {
        self.quad = [0; 4];
        self.have = 0;
    }

    /// Characters skipped so far (outside the alphabet, or a lone character before `=`).
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        let q = self.quad;
        let n = (u32::from(q[0]) << 18)
            | (u32::from(q[1]) << 12)
            | (u32::from(q[2]) << 6)
            | u32::from(q[3]);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // 2 characters carry 1 byte, 3 carry 2, 4 carry 3; 0 or 1 carry none.
        let keep = self.have.saturating_sub(1);
        out.extend_from_slice(&bytes[..keep]);
        self.quad = [0; 4];
        self.have = 0;
    }
}

/// Decodes a whole value (padded or not); `None` when any character is outside the alphabets
/// or the length leaves a dangling character. Whitespace around and inside is ignored.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut s = Base64Stream::new();
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let invalid = s.push(text, &mut out);
    (invalid == 0 && s.finish(&mut out)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 section 10 test vectors.
    const VECTORS: &[(&str, &str)] = &[
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc4648_vectors_both_ways() {
        for (plain, b64) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), *b64);
            assert_eq!(decode(b64.as_bytes()).unwrap(), plain.as_bytes());
            let unpadded = b64.trim_end_matches('=');
            assert_eq!(decode(unpadded.as_bytes()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn encode_round_trips_every_length_and_byte() {
        // Past the vector encoder's block sizes, at every alignment it might care about.
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for len in 0..300 {
            for start in [0, 1, 2, 7, 200] {
                let d = &data[start..start + len];
                let e = encode(d);
                assert_eq!(e.len(), len.div_ceil(3) * 4);
                assert_eq!(decode(e.as_bytes()).unwrap(), d, "len {len}");
                let mut appended = b"kept".to_vec();
                encode_into(d, &mut appended);
                assert_eq!(&appended[..4], b"kept");
                assert_eq!(&appended[4..], e.as_bytes());
            }
        }
    }

    #[test]
    fn url_safe_and_whitespace_accepted() {
        assert_eq!(decode(b"-_8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode(b" Zm9v\r\nYmFy ").unwrap(), b"foobar");
    }

    #[test]
    fn invalid_input_is_none() {
        assert_eq!(decode(b"Zm9v!"), None);
        assert_eq!(decode(b"Z"), None);
        assert_eq!(decode(b"Zm9vY"), None);
    }

    #[test]
    fn padding_in_the_middle_restarts_the_quantum() {
        // Two chunks padded separately, as gRPC-Web text sends them.
        let mut s = Base64Stream::new();
        let mut out = Vec::new();
        assert_eq!(s.push(b"Zg==Zm8=Zm9v", &mut out), 0);
        assert!(s.finish(&mut out));
        assert_eq!(out, b"ffofoo");
    }

    #[test]
    fn any_split_gives_the_same_bytes() {
        let text = b"Zm9v\nYmE=Zg==Zm9vYmFy";
        let mut whole = Vec::new();
        let mut s = Base64Stream::new();
        s.push(text, &mut whole);
        s.finish(&mut whole);
        for a in 0..=text.len() {
            for b in a..=text.len() {
                let mut out = Vec::new();
                let mut s = Base64Stream::new();
                s.push(&text[..a], &mut out);
                s.push(&text[a..b], &mut out);
                s.push(&text[b..], &mut out);
                s.finish(&mut out);
                assert_eq!(out, whole, "split at {a}, {b}");
            }
        }
        assert_eq!(whole, b"foobaffoobar");
    }

    #[test]
    fn junk_is_counted_not_fatal() {
        let mut s = Base64Stream::new();
        let mut out = Vec::new();
        assert_eq!(s.push(b"Zm\x009v", &mut out), 1);
        assert!(s.finish(&mut out));
        assert_eq!(out, b"foo");
        assert_eq!(s.invalid(), 1);
        // A lone character before '=' carries no byte.
        let mut s = Base64Stream::new();
        let mut out = Vec::new();
        assert_eq!(s.push(b"Z=Zm9v", &mut out), 1);
        assert_eq!(out, b"foo");
    }
}
