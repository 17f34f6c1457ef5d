//! Integer representation (RFC 7541 §5.1), bounded to `u32`.
//!
//! "If I < 2^N - 1, encode I on N bits. Else encode (2^N - 1) on N bits, then I - (2^N - 1)
//! in 7-bit groups, least significant first, each octet but the last with its MSB set."
//! The RFC sets no upper bound ("Integer encodings that exceed implementation limits ... MUST
//! be treated as decoding errors", §5.1): ours is `u32::MAX`, and at most five continuation
//! octets (enough for 32 bits; a sixth, even a zero one, is an overflow), so a hostile run of
//! 0x80 octets cannot keep the decoder looping.

use super::HpackError;

/// Continuation octets a `u32` can need: 5 × 7 = 35 bits.
const MAX_CONTINUATION_OCTETS: u32 = 5;

/// Decodes an integer whose first octet is `first` with an `prefix_bits`-bit prefix
/// (1..=8); continuation octets are consumed from the front of `input`.
pub(super) fn decode(first: u8, prefix_bits: u8, input: &mut &[u8]) -> Result<u32, HpackError> {
    debug_assert!((1..=8).contains(&prefix_bits));
    let mask = u8::MAX >> (8 - prefix_bits.clamp(1, 8));
    let prefix = first & mask;
    if prefix < mask {
        return Ok(u32::from(prefix));
    }
    let mut value = u64::from(prefix);
    let mut octets = 0;
    loop {
        let (&b, rest) = input.split_first().ok_or(HpackError::Truncated)?;
        *input = rest;
        if octets == MAX_CONTINUATION_OCTETS {
            return Err(HpackError::IntegerOverflow);
        }
        // At most 255 + 127·2^28 after five octets: no u64 overflow is possible.
        value += u64::from(b & 0x7f) << (7 * octets);
        octets += 1;
        if value > u64::from(u32::MAX) {
            return Err(HpackError::IntegerOverflow);
        }
        if b & 0x80 == 0 {
            return u32::try_from(value).map_err(|_| HpackError::IntegerOverflow);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Test-only encoder (§5.1 pseudocode), `flags` already in the first octet's high bits.
    pub(in super::super) fn encode(value: u32, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
        let max = (1u32 << prefix_bits) - 1;
        if value < max {
            out.push(flags | value as u8);
            return;
        }
        out.push(flags | max as u8);
        let mut rest = value - max;
        while rest >= 128 {
            out.push((rest % 128) as u8 | 0x80);
            rest /= 128;
        }
        out.push(rest as u8);
    }

    fn dec(bytes: &[u8], prefix_bits: u8) -> (Result<u32, HpackError>, usize) {
        let (&first, mut rest) = bytes.split_first().unwrap();
        let r = decode(first, prefix_bits, &mut rest);
        (r, rest.len())
    }

    #[test]
    fn rfc7541_c1_1_ten_with_5_bit_prefix() {
        // The 3 high bits belong to the representation and are ignored.
        assert_eq!(dec(&[0b1110_1010], 5), (Ok(10), 0));
    }

    #[test]
    fn rfc7541_c1_2_1337_with_5_bit_prefix() {
        assert_eq!(
            dec(&[0b0001_1111, 0b1001_1010, 0b0000_1010], 5),
            (Ok(1337), 0)
        );
    }

    #[test]
    fn rfc7541_c1_3_42_on_an_octet_boundary() {
        assert_eq!(dec(&[0b0010_1010], 8), (Ok(42), 0));
    }

    #[test]
    fn prefix_boundaries() {
        // 2^N - 1 itself needs one (zero) continuation octet.
        assert_eq!(dec(&[0x1f, 0x00], 5), (Ok(31), 0));
        assert_eq!(dec(&[0x1e], 5), (Ok(30), 0));
        assert_eq!(dec(&[0xff, 0x00], 8), (Ok(255), 0));
        assert_eq!(dec(&[0xfe], 1), (Ok(0), 0));
        assert_eq!(dec(&[0x01, 0x05], 1), (Ok(6), 0));
        // Trailing octets are left for the caller.
        assert_eq!(dec(&[0x1f, 0x01, 0xaa], 5), (Ok(32), 1));
    }

    #[test]
    fn round_trips_edge_values() {
        for prefix in 1..=8u8 {
            for v in [
                0,
                1,
                30,
                31,
                127,
                128,
                254,
                255,
                256,
                1337,
                1 << 20,
                u32::MAX - 1,
                u32::MAX,
            ] {
                let mut buf = Vec::new();
                encode(v, prefix, 0, &mut buf);
                assert_eq!(dec(&buf, prefix), (Ok(v), 0), "value {v} prefix {prefix}");
            }
        }
    }

    #[test]
    fn overflow_above_u32() {
        // 31 + (2^32 - 1) - 31 + 1 = 2^32 with a 5-bit prefix.
        let mut buf = vec![0x1f];
        let mut rest = (1u64 << 32) - 31;
        while rest >= 128 {
            buf.push((rest % 128) as u8 | 0x80);
            rest /= 128;
        }
        buf.push(rest as u8);
        assert_eq!(dec(&buf, 5).0, Err(HpackError::IntegerOverflow));
        // The largest 5-octet continuation.
        assert_eq!(
            dec(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0x0f], 5).0,
            Err(HpackError::IntegerOverflow)
        );
    }

    #[test]
    fn too_many_continuation_octets_even_if_zero() {
        assert_eq!(dec(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00], 5), (Ok(31), 0));
        assert_eq!(
            dec(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5).0,
            Err(HpackError::IntegerOverflow)
        );
        let long = [0x7f_u8; 1]
            .into_iter()
            .chain(std::iter::repeat_n(0x80, 10_000))
            .collect::<Vec<_>>();
        assert_eq!(dec(&long, 7).0, Err(HpackError::IntegerOverflow));
    }

    #[test]
    fn truncated() {
        assert_eq!(dec(&[0x1f], 5).0, Err(HpackError::Truncated));
        assert_eq!(dec(&[0x1f, 0x9a], 5).0, Err(HpackError::Truncated));
    }
}
