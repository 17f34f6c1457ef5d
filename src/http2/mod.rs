//! HTTP/2 wire decoding (RFC 9113 frames, RFC 7541 HPACK): stateless frame parsing, a
//! streaming frame decoder, and the HPACK decoder. Connection state lives above, in `connection`.

// Panic-freedom is checked, not hoped for: no indexing or slicing that can fail, no unwraps.
// Tests may index their own fixtures.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod frame;
pub mod hpack;
