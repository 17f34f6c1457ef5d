//! Byte-order aware, bounds-checked integer reads from capture bytes (which are peer data).
//!
//! Every read returns `Option`: callers check a block's length once and then read, but the
//! accessors stay panic-free even if that check is ever wrong.

/// The byte order of a pcap file or of one pcapng section (each section may differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
        b.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    pub(crate) fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a = Self::array::<2>(b, at)?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        })
    }

    pub(crate) fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a = Self::array::<4>(b, at)?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        })
    }

    pub(crate) fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let a = Self::array::<8>(b, at)?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        })
    }

    pub(crate) fn i64(self, b: &[u8], at: usize) -> Option<i64> {
        self.u64(b, at).map(|v| v as i64)
    }

    /// Encoders for the test builders: the same byte order, written instead of read.
    #[cfg(test)]
    pub(crate) fn put_u16(self, out: &mut Vec<u8>, v: u16) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    #[cfg(test)]
    pub(crate) fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    #[cfg(test)]
    pub(crate) fn put_u64(self, out: &mut Vec<u8>, v: u64) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Endian;

    #[test]
    fn reads_both_orders_and_refuses_out_of_bounds() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(Endian::Little.u16(&b, 0), Some(0x0201));
        assert_eq!(Endian::Big.u16(&b, 0), Some(0x0102));
        assert_eq!(Endian::Little.u32(&b, 4), Some(0x0807_0605));
        assert_eq!(Endian::Big.u32(&b, 4), Some(0x0506_0708));
        assert_eq!(Endian::Big.u64(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(Endian::Big.u32(&b, 5), None);
        assert_eq!(Endian::Big.u32(&b, usize::MAX), None);
        assert_eq!(Endian::Little.i64(&[0xff; 8], 0), Some(-1));
    }
}
