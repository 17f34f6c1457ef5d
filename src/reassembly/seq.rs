//! TCP sequence-number arithmetic: 32-bit sequence numbers mapped to 64-bit stream offsets.
//!
//! RFC 9293 §3.4: sequence space is modulo 2^32, so "before" and "after" only mean something
//! within half the space. We keep, per direction, the sequence number that corresponds to a
//! 64-bit offset we already know (the next byte to deliver), and place every new segment
//! relative to it with a signed 32-bit difference. Offsets never wrap, so everything above
//! this module works with plain `u64` ranges.

/// Maps sequence numbers to stream offsets around one anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqAnchor {
    /// The sequence number of the byte at `offset`.
    pub seq: u32,
    pub offset: u64,
}

impl SeqAnchor {
    /// The signed distance from the anchor to `seq`, within ±2^31.
    pub fn delta(self, seq: u32) -> i64 {
        i64::from(seq.wrapping_sub(self.seq) as i32)
    }

    /// Moves the anchor forward by `n` bytes, keeping the mapping.
    pub fn advance(&mut self, n: u64) {
        self.offset = self.offset.saturating_add(n);
        // Truncation is the point: sequence numbers are modulo 2^32.
        self.seq = self.seq.wrapping_add(n as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_follow_the_anchor() {
        let a = SeqAnchor {
            seq: 1000,
            offset: 10,
        };
        assert_eq!(a.delta(1000), 0);
        assert_eq!(a.delta(1500), 500);
        assert_eq!(a.delta(995), -5);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = SeqAnchor {
            seq: u32::MAX - 2,
            offset: 0,
        };
        assert_eq!(a.delta(1), 4);
        a.advance(10);
        assert_eq!((a.seq, a.offset), (7, 10));
        assert_eq!(a.delta(u32::MAX), -8);
    }

    #[test]
    fn half_the_space_is_the_horizon() {
        let a = SeqAnchor {
            seq: 0,
            offset: 1 << 40,
        };
        assert_eq!(a.delta(0x7fff_ffff), i64::from(i32::MAX));
        assert_eq!(a.delta(0x8000_0000), i64::from(i32::MIN));
    }
}
