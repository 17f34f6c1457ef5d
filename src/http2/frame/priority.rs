//! PRIORITY frames (RFC 9113 §6.3) and the priority fields shared with HEADERS (§6.2).
//!
//! ```text
//! PRIORITY Frame {
//!   Length (24) = 0x05,
//!   Type (8) = 0x02,
//!   Unused Flags (8),
//!   Reserved (1),
//!   Stream Identifier (31),
//!   Exclusive (1),
//!   Stream Dependency (31),
//!   Weight (8),
//! }
//! ```
//! RFC 9113 deprecates this priority scheme (§5.3.2) but peers still send it.

use super::{Frame, FrameError, FrameHeader};

/// "A PRIORITY frame with a length other than 5 octets MUST be treated as a stream error
/// (Section 5.4.2) of type FRAME_SIZE_ERROR" (§6.3).
pub const LEN: u32 = 5;

/// The priority fields of PRIORITY and HEADERS frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    pub exclusive: bool,
    /// The 31-bit stream this one depends on.
    pub dependency: u32,
    /// The wire value 0..=255; the weight is value+1.
    pub weight: u8,
}

impl Priority {
    pub fn parse(b: &[u8; 5]) -> Self {
        let [d0, d1, d2, d3, weight] = *b;
        let dep = u32::from_be_bytes([d0, d1, d2, d3]);
        Priority {
            exclusive: dep >> 31 == 1,
            dependency: dep & 0x7fff_ffff,
            weight,
        }
    }

    /// "Add one to the value to obtain a weight between 1 and 256" (§6.3).
    pub fn effective_weight(self) -> u16 {
        u16::from(self.weight) + 1
    }
}

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let fields: &[u8; 5] = payload
        .try_into()
        .map_err(|_| super::too_short(header, LEN))?;
    Ok(Frame::Priority(Priority::parse(fields)))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// PRIORITY on stream 3: exclusive dependency on stream 1, weight 219 (220).
    const PRIORITY_EXCLUSIVE: [u8; 14] = [0, 0, 5, 0x02, 0, 0, 0, 0, 3, 0x80, 0, 0, 1, 219];
    /// PRIORITY on stream 5: dependency on stream 0, weight 0 (1).
    const PRIORITY_ROOT: [u8; 14] = [0, 0, 5, 0x02, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0];
    const PRIORITY_SHORT: [u8; 13] = [0, 0, 4, 0x02, 0, 0, 0, 0, 3, 0, 0, 0, 1];
    const PRIORITY_LONG: [u8; 15] = [0, 0, 6, 0x02, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0];

    #[test]
    fn parses_fields() {
        let (_, f) = parse_wire(&PRIORITY_EXCLUSIVE);
        assert_eq!(
            f,
            Ok(Frame::Priority(Priority {
                exclusive: true,
                dependency: 1,
                weight: 219
            }))
        );
        let (_, f) = parse_wire(&PRIORITY_ROOT);
        let Ok(Frame::Priority(p)) = f else {
            panic!("{f:?}")
        };
        assert_eq!(
            (p.exclusive, p.dependency, p.effective_weight()),
            (false, 0, 1)
        );
    }

    #[test]
    fn length_must_be_5() {
        for (wire, got) in [(&PRIORITY_SHORT[..], 4), (&PRIORITY_LONG[..], 6)] {
            let (_, f) = parse_wire(wire);
            assert_eq!(
                f,
                Err(FrameError::BadLength {
                    kind: FrameType::Priority,
                    expected: LengthRule::Exactly(5),
                    got
                })
            );
        }
    }
}
