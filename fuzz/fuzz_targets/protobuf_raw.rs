//! `decode_raw` (schema-less protobuf, like `protoc --decode_raw`) over arbitrary bytes,
//! with the default node budget and a tiny one: the text an export writes must parse as
//! JSON, and be byte for byte what serde_json writes for that tree (made inert: the text
//! policy's characters that serde_json leaves raw escaped, as our writer escapes them).
//!
//! The budget is exact: the nodes reported never pass `max_nodes`.

#![no_main]

use h2scope::export::serde_json_inert;
use h2scope::grpc::raw::{MAX_NODES, decode_raw_text, to_value};
use h2scope::grpc::{decode_raw, decode_raw_limited};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut direct = Vec::new();
    match decode_raw_text(data, MAX_NODES, &mut direct) {
        Ok(_) => {
            let text = std::str::from_utf8(&direct).expect("UTF-8");
            let tree: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            let again = serde_json_inert(&tree).expect("serializable");
            assert!(again == text, "text and tree differ:\n{text}\n{again}");
            assert_eq!(decode_raw(data).ok(), Some(to_value(&direct)));
        }
        Err(_) => {
            assert!(direct.is_empty(), "a failed decode wrote {} bytes", direct.len());
            assert!(decode_raw(data).is_err());
        }
    }
    if let Ok((_, nodes)) = decode_raw_limited(data, 7) {
        assert!(nodes <= 7, "{nodes} nodes for a budget of 7");
    }
    if let Ok((_, nodes)) = decode_raw_limited(data, usize::MAX) {
        assert!(nodes <= MAX_NODES);
    }
});
