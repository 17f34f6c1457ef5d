//! `decode_json` with a schema: the message types of `fixtures/protos/demo.proto` first, then
//! every other type in the pool (well-known types, `google.rpc`, descriptor.proto), chosen by
//! the input's first byte; the rest is the body. The output must serialize as JSON, and
//! `decode_json_text` must write exactly that JSON, compact, made inert as
//! `export::serde_json_inert` makes serde_json's (the text policy's characters that
//! serde_json leaves raw escaped), or fail as `decode_json` did.

#![no_main]

use h2scope::export::serde_json_inert;
use h2scope::grpc::{Descriptors, decode_json, decode_json_text};
use libfuzzer_sys::fuzz_target;
use prost_reflect::MessageDescriptor;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The message types, demo.proto's first (the order `seedgen` uses to label its seeds).
fn types() -> &'static [MessageDescriptor] {
    static TYPES: OnceLock<Vec<MessageDescriptor>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let protos = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/protos");
        let mut d = Descriptors::empty();
        d.add_protos(&[protos], &[PathBuf::from("demo.proto")])
            .expect("fixtures/protos/demo.proto compiles");
        let mut all: Vec<MessageDescriptor> = d.pool().all_messages().collect();
        all.sort_by_key(|m| {
            (
                !m.full_name().starts_with("h2scope.demo."),
                m.full_name().to_string(),
            )
        });
        all
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let types = types();
    let desc = &types[usize::from(selector) % types.len()];
    let tree = decode_json(desc, body);
    let mut text = Vec::new();
    let direct = decode_json_text(desc, body, &mut text);
    match (tree, direct) {
        (Ok(json), Ok(())) => {
            let want = serde_json_inert(&json).expect("serializable");
            assert!(
                want.as_bytes() == text.as_slice(),
                "text differs from the tree:\n{want}\n{}",
                String::from_utf8_lossy(&text)
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("tree {a:?}, text {b:?}"),
    }
});
