//! A decoded header field. Names and values are bytes (RFC 7541 §5.2 strings are octets, not
//! text); they are `Unknown` when they came from a dynamic table entry this decoder never saw.

use std::fmt;

/// A header name or value: known bytes, or unknown because it came from a dynamic-table entry
/// inserted before the capture started (or before HPACK state was lost).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    Known(Vec<u8>),
    Unknown,
}

impl Text {
    /// The bytes, when known.
    pub fn as_known(&self) -> Option<&[u8]> {
        match self {
            Text::Known(b) => Some(b),
            Text::Unknown => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Text::Unknown)
    }

    /// Length in bytes; 0 when unknown (what the bytes cost us, not what they were).
    pub fn known_len(&self) -> usize {
        self.as_known().map_or(0, <[u8]>::len)
    }
}

impl From<&[u8]> for Text {
    fn from(b: &[u8]) -> Self {
        Text::Known(b.to_vec())
    }
}

/// One field of a decoded header list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    pub name: Text,
    pub value: Text,
    /// Literal Never Indexed (RFC 7541 §6.2.3).
    pub never_indexed: bool,
    /// For fields that came from (or whose name came from) an unknown dynamic entry: the HPACK
    /// index used (absolute index as on the wire, e.g. 62 = newest dynamic entry).
    pub unknown_index: Option<u32>,
    /// For fields read from the unknown part of the table: which unknown entry, stable
    /// across header blocks (its place in the unknown tail, which never moves, and a
    /// generation that changes when the table is lost again), though the wire index shifts
    /// as entries are inserted. Two fields with the same value refer to the same entry: calls
    /// whose `:path` is the same unknown entry share one method.
    pub unknown_entry: Option<u64>,
}

impl HeaderField {
    /// The name for display: lossy UTF-8 when known, `<unknown dynamic #N>` (N the wire index)
    /// when not.
    pub fn display_name(&self) -> String {
        match &self.name {
            Text::Known(b) => String::from_utf8_lossy(b).into_owned(),
            Text::Unknown => match self.unknown_index {
                Some(n) => format!("<unknown dynamic #{n}>"),
                None => "<unknown dynamic>".to_owned(),
            },
        }
    }

    /// The value for display: lossy UTF-8 when known, `<unknown>` when not.
    pub fn display_value(&self) -> String {
        match &self.value {
            Text::Known(b) => String::from_utf8_lossy(b).into_owned(),
            Text::Unknown => "<unknown>".to_owned(),
        }
    }
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.display_name(), self.display_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_of_unknown_uses_wire_index() {
        let f = HeaderField {
            name: Text::Unknown,
            value: Text::Known(b"v".to_vec()),
            never_indexed: false,
            unknown_index: Some(64),
            unknown_entry: None,
        };
        assert_eq!(f.display_name(), "<unknown dynamic #64>");
        assert_eq!(f.to_string(), "<unknown dynamic #64>: v");
        let g = HeaderField {
            name: Text::Known(b"x-a".to_vec()),
            value: Text::Unknown,
            never_indexed: false,
            unknown_index: Some(70),
            unknown_entry: None,
        };
        assert_eq!(g.display_name(), "x-a");
        assert_eq!(g.display_value(), "<unknown>");
    }
}
