//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, one parser per frame type, and a
//! decoder fed in pieces. CONTRACT PLACEHOLDER: the frame helper replaces the bodies.

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const FRAME_HEADER_LEN: usize = 9;
