//! Error codes carried by RST_STREAM and GOAWAY (RFC 9113 §7).
//!
//! "Unknown or unsupported error codes MUST NOT trigger any special behavior. These MAY be
//! treated by an implementation as being equivalent to INTERNAL_ERROR" (§7). An inspector
//! keeps the raw value: [`ErrorCode`] is a plain `u32` with a name when registered.

use std::fmt;

/// A 32-bit HTTP/2 error code, known or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The registered name (RFC 9113 §7), or `None` for an unknown code.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "NO_ERROR",
            0x1 => "PROTOCOL_ERROR",
            0x2 => "INTERNAL_ERROR",
            0x3 => "FLOW_CONTROL_ERROR",
            0x4 => "SETTINGS_TIMEOUT",
            0x5 => "STREAM_CLOSED",
            0x6 => "FRAME_SIZE_ERROR",
            0x7 => "REFUSED_STREAM",
            0x8 => "CANCEL",
            0x9 => "COMPRESSION_ERROR",
            0xa => "CONNECT_ERROR",
            0xb => "ENHANCE_YOUR_CALM",
            0xc => "INADEQUATE_SECURITY",
            0xd => "HTTP_1_1_REQUIRED",
            _ => return None,
        })
    }
}

/// The name, or `UNKNOWN(0x...)`.
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "UNKNOWN(0x{:x})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_codes_have_names() {
        assert_eq!(ErrorCode(0).name(), Some("NO_ERROR"));
        assert_eq!(ErrorCode::CANCEL.name(), Some("CANCEL"));
        assert_eq!(ErrorCode(0xb).name(), Some("ENHANCE_YOUR_CALM"));
        assert_eq!(ErrorCode(0xd).name(), Some("HTTP_1_1_REQUIRED"));
        assert!((0..=0xd).all(|c| ErrorCode(c).name().is_some()));
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(ErrorCode(0xe).name(), None);
        assert_eq!(ErrorCode(0xdead_beef).to_string(), "UNKNOWN(0xdeadbeef)");
        assert_eq!(ErrorCode::PROTOCOL_ERROR.to_string(), "PROTOCOL_ERROR");
    }
}
