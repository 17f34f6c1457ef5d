//! `net::parse_packet` for every link type: the first byte chooses it, the rest is the frame.
//!
//! Checked beyond "no panic": a TCP segment's payload is a slice of the frame, and its
//! length on the wire is at least what was captured.

#![no_main]

use h2scope::capture::LinkType;
use h2scope::net::{Parsed, parse_packet};
use libfuzzer_sys::fuzz_target;

/// Every link type `parse_packet` decodes, and one it does not.
const LINK_TYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link_type = LinkType(LINK_TYPES[usize::from(selector) % LINK_TYPES.len()]);
    if let Ok(Parsed::Tcp(seg)) = parse_packet(link_type, frame) {
        let start = frame.as_ptr() as usize;
        let p = seg.payload.as_ptr() as usize;
        assert!(p >= start && p + seg.payload.len() <= start + frame.len());
        assert!(seg.payload_len as usize >= seg.payload.len());
    }
});
