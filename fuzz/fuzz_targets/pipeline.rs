//! The whole pipeline: raw capture bytes through `export::export`, as `h2scope export` runs
//! it, once as a document (default limits, schemas from `fixtures/protos`) and once as NDJSON
//! (every frame recorded, tiny reassembly limits so eviction and gaps happen).
//!
//! The document must be one valid JSON value; NDJSON goes to `io::sink()`.

#![no_main]

use h2scope::capture::CaptureReader;
use h2scope::export::{self, Options};
use h2scope::grpc::Descriptors;
use h2scope::reassembly;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn descriptors() -> &'static Descriptors {
    static D: OnceLock<Descriptors> = OnceLock::new();
    D.get_or_init(|| {
        let protos = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/protos");
        let mut d = Descriptors::empty();
        d.add_protos(&[protos], &[PathBuf::from("demo.proto")])
            .expect("fixtures/protos/demo.proto compiles");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let document = Options {
        descriptors: descriptors().clone(),
        backend_header: Some("x-backend".into()),
        ..Options::default()
    };
    if let Ok(reader) = CaptureReader::from_bytes(data.to_vec()) {
        let mut out = Vec::new();
        let (written, _) = export::export("fuzz", reader, &document, false, false, &mut out);
        written.expect("writing to memory cannot fail");
        serde_json::from_slice::<serde_json::Value>(&out).expect("the document is valid JSON");
    }

    let lines = Options {
        frames: true,
        reassembly: reassembly::Config {
            max_buffered_per_direction: 2048,
            max_buffered_total: 8192,
            max_connections: 2,
            ..reassembly::Config::default()
        },
        ..Options::default()
    };
    if let Ok(reader) = CaptureReader::from_bytes(data.to_vec()) {
        let (written, _) = export::export("fuzz", reader, &lines, true, false, std::io::sink());
        written.expect("writing to a sink cannot fail");
    }
});
