//! `decode_raw` (schema-less protobuf, like `protoc --decode_raw`) over arbitrary bytes,
//! with the default node budget and a tiny one; the output must serialize as JSON.
//!
//! The budget is a soft one: a field that holds a nested message is counted after its
//! contents, so an output may pass `max_nodes` by one node per nesting level (at most
//! `MAX_DEPTH`). That is the bound checked here.

#![no_main]

use h2scope::grpc::{
    decode_raw, decode_raw_limited,
    raw::{MAX_DEPTH, MAX_NODES},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_raw(data) {
        let text = serde_json::to_string(&v).expect("serializable");
        assert!(!text.is_empty());
    }
    if let Ok((_, nodes)) = decode_raw_limited(data, 7) {
        assert!(nodes <= 7 + MAX_DEPTH);
    }
    if let Ok((_, nodes)) = decode_raw_limited(data, usize::MAX) {
        assert!(nodes <= MAX_NODES + MAX_DEPTH);
    }
});
