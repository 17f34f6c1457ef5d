//! HTTP/2 wire decoding (RFC 9113 frames, RFC 7541 HPACK): stateless frame parsing, a
//! streaming frame decoder, and the HPACK decoder. Connection state lives above, in `connection`.

pub mod frame;
pub mod hpack;
