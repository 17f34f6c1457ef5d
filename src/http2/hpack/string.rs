//! String literal representation (RFC 7541 §5.2).
//!
//! ```text
//!   0   1   2   3   4   5   6   7
//! +---+---+---+---+---+---+---+---+
//! | H |    String Length (7+)     |
//! +---+---------------------------+
//! |  String Data (Length octets)  |
//! +-------------------------------+
//! ```
//! The length is checked against the bytes actually present before anything is allocated, so
//! a hostile length costs nothing; a Huffman string decodes to at most 8/5 of its length.

use super::{HpackError, huffman, integer};

/// Reads one string literal from the front of `input`, consuming it.
pub(super) fn read(input: &mut &[u8]) -> Result<Vec<u8>, HpackError> {
    let (&first, rest) = input.split_first().ok_or(HpackError::Truncated)?;
    *input = rest;
    let huffman_coded = first & 0x80 != 0;
    let len = integer::decode(first, 7, input)?;
    let len = usize::try_from(len).map_err(|_| HpackError::Truncated)?;
    // "String Data: The encoded data of the string literal" is exactly Length octets.
    let (data, rest) = input.split_at_checked(len).ok_or(HpackError::Truncated)?;
    *input = rest;
    if huffman_coded {
        let mut out = Vec::new();
        huffman::decode(data, &mut out)?;
        Ok(out)
    } else {
        Ok(data.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_huffman() {
        let mut input: &[u8] = b"\x03abcrest";
        assert_eq!(read(&mut input), Ok(b"abc".to_vec()));
        assert_eq!(input, b"rest");
        // RFC 7541 C.4.1: "www.example.com", Huffman-coded in 12 octets.
        let mut input: &[u8] = &[
            0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(read(&mut input), Ok(b"www.example.com".to_vec()));
        assert!(input.is_empty());
        let mut input: &[u8] = &[0x00];
        assert_eq!(read(&mut input), Ok(Vec::new()));
        let mut input: &[u8] = &[0x80];
        assert_eq!(read(&mut input), Ok(Vec::new()));
    }

    #[test]
    fn hostile_lengths_are_truncation() {
        let mut input: &[u8] = b"\x05abc";
        assert_eq!(read(&mut input), Err(HpackError::Truncated));
        // Length 2^32 - 1 with 3 bytes present: no allocation, just an error.
        let mut input: &[u8] = &[0x7f, 0x80, 0xff, 0xff, 0xff, 0x0f, b'a'];
        assert_eq!(read(&mut input), Err(HpackError::Truncated));
        let mut input: &[u8] = &[];
        assert_eq!(read(&mut input), Err(HpackError::Truncated));
        let mut input: &[u8] = &[0x7f];
        assert_eq!(read(&mut input), Err(HpackError::Truncated));
    }
}
