//! SETTINGS frames (RFC 9113 §6.5).
//!
//! ```text
//! SETTINGS Frame {
//!   Length (24),
//!   Type (8) = 0x04,
//!   Unused Flags (7),
//!   ACK Flag (1),
//!   Reserved (1),
//!   Stream Identifier (31) = 0,
//!   Setting (48) ...,
//! }
//!
//! Setting {
//!   Identifier (16),
//!   Value (32),
//! }
//! ```
//! The settings are read in place through [`SettingsList`] (no allocation). Unknown
//! identifiers are kept: "An endpoint that receives a SETTINGS frame with any unknown or
//! unsupported identifier MUST ignore that setting" (§6.5.2), but an inspector shows it.
//! Values are not range-checked here (SETTINGS_ENABLE_PUSH > 1, INITIAL_WINDOW_SIZE above
//! 2^31-1, MAX_FRAME_SIZE outside 2^14..2^24-1 are the connection layer's to report).

use std::fmt;

use super::{Frame, FrameError, FrameHeader, LengthRule};

/// One setting is 6 octets.
pub const SETTING_LEN: usize = 6;

/// A SETTINGS parameter identifier, known or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SettingId(pub u16);

impl SettingId {
    pub const HEADER_TABLE_SIZE: SettingId = SettingId(0x1);
    pub const ENABLE_PUSH: SettingId = SettingId(0x2);
    pub const MAX_CONCURRENT_STREAMS: SettingId = SettingId(0x3);
    pub const INITIAL_WINDOW_SIZE: SettingId = SettingId(0x4);
    pub const MAX_FRAME_SIZE: SettingId = SettingId(0x5);
    pub const MAX_HEADER_LIST_SIZE: SettingId = SettingId(0x6);
    /// RFC 8441 §3.
    pub const ENABLE_CONNECT_PROTOCOL: SettingId = SettingId(0x8);
    /// RFC 9218 §2.1.
    pub const NO_RFC7540_PRIORITIES: SettingId = SettingId(0x9);

    /// The registered name without the `SETTINGS_` prefix, or `None` for an unknown id.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x1 => "HEADER_TABLE_SIZE",
            0x2 => "ENABLE_PUSH",
            0x3 => "MAX_CONCURRENT_STREAMS",
            0x4 => "INITIAL_WINDOW_SIZE",
            0x5 => "MAX_FRAME_SIZE",
            0x6 => "MAX_HEADER_LIST_SIZE",
            0x8 => "ENABLE_CONNECT_PROTOCOL",
            0x9 => "NO_RFC7540_PRIORITIES",
            _ => return None,
        })
    }
}

impl fmt::Display for SettingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "UNKNOWN(0x{:x})", self.0),
        }
    }
}

/// The settings of one SETTINGS frame, read in place. Built only from a payload whose
/// length is a multiple of 6 (a trailing partial setting would be ignored).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct SettingsList<'a> {
    bytes: &'a [u8],
}

impl<'a> SettingsList<'a> {
    /// The settings in `bytes`; a trailing partial setting is ignored.
    pub fn new(bytes: &'a [u8]) -> Self {
        SettingsList { bytes }
    }

    pub fn iter(&self) -> SettingsIter<'a> {
        SettingsIter {
            chunks: self.bytes.chunks_exact(SETTING_LEN),
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / SETTING_LEN
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value in effect for `id` after this frame: "Each parameter in a SETTINGS frame
    /// replaces any existing value for that parameter. Parameters are processed in the
    /// order in which they appear" (§6.5.3), so the last occurrence wins.
    pub fn get(&self, id: SettingId) -> Option<u32> {
        self.iter().filter(|&(i, _)| i == id).map(|(_, v)| v).last()
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl fmt::Debug for SettingsList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for SettingsList<'a> {
    type Item = (SettingId, u32);
    type IntoIter = SettingsIter<'a>;
    fn into_iter(self) -> SettingsIter<'a> {
        self.iter()
    }
}

/// Iterator over `(identifier, value)` pairs, in wire order.
#[derive(Clone, Debug)]
pub struct SettingsIter<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for SettingsIter<'_> {
    type Item = (SettingId, u32);
    fn next(&mut self) -> Option<(SettingId, u32)> {
        let (id, value) = self.chunks.next()?.split_first_chunk::<2>()?;
        let value: [u8; 4] = value.try_into().ok()?;
        Some((
            SettingId(u16::from_be_bytes(*id)),
            u32::from_be_bytes(value),
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

pub(super) fn length_rule(header: &FrameHeader) -> LengthRule {
    if header.ack() {
        // "Receipt of a SETTINGS frame with the ACK flag set and a length field value other
        // than 0 MUST be treated as a connection error (Section 5.4.1) of type
        // FRAME_SIZE_ERROR" (§6.5).
        LengthRule::Exactly(0)
    } else {
        // "A SETTINGS frame with a length other than a multiple of 6 octets MUST be treated
        // as a connection error (Section 5.4.1) of type FRAME_SIZE_ERROR" (§6.5).
        LengthRule::MultipleOf(SETTING_LEN as u32)
    }
}

pub(super) fn parse<'a>(header: &FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    // The length rule was checked by `parse_frame`; checked again so a direct caller cannot
    // get a list that silently drops a partial setting.
    let rule = length_rule(header);
    if !rule.admits(header.length) {
        return Err(FrameError::BadLength {
            kind: header.kind,
            expected: rule,
            got: header.length,
        });
    }
    Ok(Frame::Settings {
        ack: header.ack(),
        settings: SettingsList::new(payload),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::parse_wire;
    use super::super::*;

    /// SETTINGS: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 65535, unknown 0xf00d = 7,
    /// NO_RFC7540_PRIORITIES 1.
    const SETTINGS_MIXED: [u8; 33] = [
        0, 0, 24, 0x04, 0, 0, 0, 0, 0, //
        0x00, 0x03, 0, 0, 0, 100, //
        0x00, 0x04, 0, 0, 0xff, 0xff, //
        0xf0, 0x0d, 0, 0, 0, 7, //
        0x00, 0x09, 0, 0, 0, 1,
    ];
    const SETTINGS_ACK: [u8; 9] = [0, 0, 0, 0x04, 0x01, 0, 0, 0, 0];
    /// ACK with a payload: FRAME_SIZE_ERROR.
    const SETTINGS_ACK_WITH_PAYLOAD: [u8; 15] = [0, 0, 6, 0x04, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    /// 7 octets: not a multiple of 6.
    const SETTINGS_RAGGED: [u8; 16] = [0, 0, 7, 0x04, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0];
    /// MAX_FRAME_SIZE twice: the last one wins.
    const SETTINGS_REPEATED: [u8; 21] = [
        0, 0, 12, 0x04, 0, 0, 0, 0, 0, //
        0x00, 0x05, 0, 0, 0x40, 0, //
        0x00, 0x05, 0, 0x01, 0, 0,
    ];

    #[test]
    fn settings_with_unknown_id_kept() {
        let (h, f) = parse_wire(&SETTINGS_MIXED);
        assert!(!h.ack());
        let Ok(Frame::Settings {
            ack: false,
            settings,
        }) = f
        else {
            panic!("{f:?}")
        };
        let all: Vec<_> = settings.iter().collect();
        assert_eq!(
            all,
            [
                (SettingId::MAX_CONCURRENT_STREAMS, 100),
                (SettingId::INITIAL_WINDOW_SIZE, 65535),
                (SettingId(0xf00d), 7),
                (SettingId::NO_RFC7540_PRIORITIES, 1),
            ]
        );
        assert_eq!(settings.len(), 4);
        assert_eq!(settings.get(SettingId(0xf00d)), Some(7));
        assert_eq!(settings.get(SettingId::ENABLE_PUSH), None);
        assert_eq!(
            format!("{settings:?}"),
            "[(SettingId(3), 100), (SettingId(4), 65535), (SettingId(61453), 7), (SettingId(9), 1)]"
        );
    }

    #[test]
    fn names() {
        assert_eq!(SettingId(1).name(), Some("HEADER_TABLE_SIZE"));
        assert_eq!(SettingId(6).name(), Some("MAX_HEADER_LIST_SIZE"));
        assert_eq!(SettingId(8).name(), Some("ENABLE_CONNECT_PROTOCOL"));
        assert_eq!(SettingId(9).name(), Some("NO_RFC7540_PRIORITIES"));
        assert_eq!(SettingId(7).name(), None);
        assert_eq!(SettingId(0xf00d).to_string(), "UNKNOWN(0xf00d)");
    }

    #[test]
    fn ack() {
        let (_, f) = parse_wire(&SETTINGS_ACK);
        let Ok(Frame::Settings {
            ack: true,
            settings,
        }) = f
        else {
            panic!("{f:?}")
        };
        assert!(settings.is_empty());
    }

    #[test]
    fn last_value_wins() {
        let (_, f) = parse_wire(&SETTINGS_REPEATED);
        let Ok(Frame::Settings { settings, .. }) = f else {
            panic!("{f:?}")
        };
        assert_eq!(settings.get(SettingId::MAX_FRAME_SIZE), Some(65536));
    }

    #[test]
    fn structural_errors() {
        let (_, f) = parse_wire(&SETTINGS_ACK_WITH_PAYLOAD);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::Settings,
                expected: LengthRule::Exactly(0),
                got: 6
            })
        );
        let (_, f) = parse_wire(&SETTINGS_RAGGED);
        assert_eq!(
            f,
            Err(FrameError::BadLength {
                kind: FrameType::Settings,
                expected: LengthRule::MultipleOf(6),
                got: 7
            })
        );
    }
}
