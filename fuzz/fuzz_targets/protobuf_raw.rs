//! `decode_raw` (schema-less protobuf, like `protoc --decode_raw`) over arbitrary bytes,
//! with the default node budget and a tiny one; the output must serialize as JSON, and the
//! typed items an export writes must serialize as that same JSON.
//!
//! The budget is exact: the nodes reported never pass `max_nodes`.

#![no_main]

use h2scope::grpc::raw::{MAX_NODES, decode_raw_items};
use h2scope::grpc::{decode_raw, decode_raw_limited};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_raw(data) {
        let text = serde_json::to_string(&v).expect("serializable");
        assert!(!text.is_empty());
        let (items, _) = decode_raw_items(data, MAX_NODES).expect("decodes as decode_raw did");
        let direct = serde_json::to_string(&items).expect("serializable");
        assert!(direct == text, "items and tree differ:\n{direct}\n{text}");
    }
    if let Ok((_, nodes)) = decode_raw_limited(data, 7) {
        assert!(nodes <= 7, "{nodes} nodes for a budget of 7");
    }
    if let Ok((_, nodes)) = decode_raw_limited(data, usize::MAX) {
        assert!(nodes <= MAX_NODES);
    }
});
