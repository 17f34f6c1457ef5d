//! Cuts captures into seed inputs for every fuzz target, in each target's input layout:
//!
//! ```text
//! seedgen OUT_DIR CAPTURE_OR_DIR...
//! ```
//! (directories are walked; documentation, protos, scripts and reference outputs skipped)
//! writes `OUT_DIR/<target>/<hash>` files:
//! - capture_file: the capture itself (when at most 512 KiB) and its first 32 KiB;
//! - pipeline: the same, up to 64 KiB (the whole pipeline runs twice per input: small
//!   inputs keep it at hundreds of runs per second);
//! - net_packet: the link-type selector byte, then a packet (a sample per capture);
//! - http2_frames: each TCP direction's reassembled bytes (client preface removed), up to
//!   the first gap and 64 KiB, with no cuts; unsynchronized when the stream does not start
//!   at a frame;
//! - hpack: each direction's header blocks, in order;
//! - grpc_framing_compression: each gRPC stream direction's DATA bytes, with its gRPC-Web
//!   and text flags;
//! - protobuf_raw: every gRPC message body (decompressed when it was compressed);
//! - protobuf_descriptor: the selector of the body's type in demo.proto, then the body.
//!
//! The layouts are documented at the top of each target in `fuzz/fuzz_targets/`.

use h2scope::capture::{CaptureReader, Record};
use h2scope::session::{self, ConnectionInfo, ConnectionRecord, H2Sink};
use h2scope::engine;
use h2scope::grpc::{self, CallBody, Descriptors, Encoding, FrameKind, GrpcStream};
use h2scope::http2::frame::{DecoderLimits, Event, Frame, FrameDecoder, PREFACE};
use h2scope::pipeline::Tracker;
use h2scope::reassembly::{self, StreamEvent, StreamSink};
use prost_reflect::MessageDescriptor;
use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

const MAX_CAPTURE_SEED: usize = 512 << 10;
const MAX_PIPELINE_SEED: usize = 64 << 10;
const PREFIX_SEED: usize = 32 << 10;
const MAX_STREAM_SEED: usize = 64 << 10;
const PACKETS_PER_CAPTURE: usize = 40;
/// The link types in `net_packet`'s order.
const LINK_TYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];

struct Out {
    dir: PathBuf,
    written: HashSet<(String, u64)>,
}

impl Out {
    fn seed(&mut self, target: &str, bytes: &[u8]) {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let hash = h.finish();
        if !self.written.insert((target.to_string(), hash)) {
            return;
        }
        let dir = self.dir.join(target);
        std::fs::create_dir_all(&dir).expect("create the seed directory");
        std::fs::write(dir.join(format!("{hash:016x}")), bytes).expect("write a seed");
    }
}

/// Reassembled bytes per connection and direction (up to the first gap), and the streams.
struct Collect {
    tracker: Tracker<Streams>,
    raw: BTreeMap<u64, [(Vec<u8>, bool); 2]>,
}

impl StreamSink for Collect {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match &ev {
            StreamEvent::Data {
                conn, dir, data, ..
            } => {
                let (buf, cut) = &mut self.raw.entry(*conn).or_default()[dir.index()];
                if !*cut && buf.len() < MAX_STREAM_SEED {
                    let room = MAX_STREAM_SEED - buf.len();
                    buf.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            StreamEvent::Gap { conn, dir, .. } => {
                self.raw.entry(*conn).or_default()[dir.index()].1 = true;
            }
            _ => {}
        }
        self.tracker.event(ev);
    }
}

#[derive(Default)]
struct Streams(Vec<GrpcStream>);

impl H2Sink for Streams {
    type Body = CallBody;

    fn stream(&mut self, _: &ConnectionInfo, stream: GrpcStream) {
        self.0.push(stream);
    }
    fn connection(&mut self, _: ConnectionRecord) {}
}

/// demo.proto's types first, then the rest of the pool: `protobuf_descriptor`'s order.
fn demo_types() -> (Descriptors, Vec<MessageDescriptor>) {
    let protos = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/protos");
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
    (d, all)
}

fn http2_seeds(out: &mut Out, stream: &[u8]) {
    let stream = stream.strip_prefix(PREFACE.as_slice()).unwrap_or(stream);
    if stream.len() < 9 {
        return;
    }
    for unsynchronized in [false, true] {
        let mut d = if unsynchronized {
            FrameDecoder::new_unsynchronized(DecoderLimits::default())
        } else {
            FrameDecoder::new(DecoderLimits::default())
        };
        let mut frames = 0;
        let mut bad = false;
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        let mut open_block = false;
        let mut on = |e: Event<'_>| match e {
            Event::Frame { header, frame } => {
                frames += 1;
                match frame {
                    Frame::Headers { fragment, .. } | Frame::PushPromise { fragment, .. } => {
                        blocks.push(fragment.to_vec());
                        open_block = !header.end_headers();
                    }
                    Frame::Continuation { fragment } if open_block => {
                        if let Some(b) = blocks.last_mut() {
                            b.extend_from_slice(fragment);
                        }
                        open_block = !header.end_headers();
                    }
                    _ => {}
                }
            }
            Event::DataStart { .. } => frames += 1,
            Event::Malformed { .. } | Event::Oversized { .. } => bad = true,
            _ => {}
        };
        d.push(stream, &mut on);
        d.finish(&mut on);
        if frames == 0 || (bad && !unsynchronized) {
            continue;
        }
        let mut seed = vec![u8::from(unsynchronized), 0];
        seed.extend_from_slice(stream);
        out.seed("http2_frames", &seed);
        if !blocks.is_empty() {
            let mut seed = vec![0, 0, 0, 0x10, 0];
            for b in blocks.iter().filter(|b| b.len() < 0xfffe) {
                seed.extend_from_slice(&(b.len() as u16).to_be_bytes());
                seed.extend_from_slice(b);
            }
            out.seed("hpack", &seed);
        }
        return;
    }
}

fn grpc_seeds(out: &mut Out, s: &GrpcStream, d: &Descriptors, types: &[MessageDescriptor]) {
    let Some(g) = &s.body else {
        return;
    };
    let kind = g.kind.as_ref();
    let ctrl = u8::from(kind.is_some_and(|k| k.is_web()))
        | (u8::from(kind.is_some_and(|k| k.is_text())) << 1);
    let method = GrpcStream::field(&s.request_headers, ":path")
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| d.method(p));
    let encodings = [
        GrpcStream::field(&s.request_headers, "grpc-encoding"),
        GrpcStream::field(&s.response_headers, "grpc-encoding"),
    ];
    for (dir, (frames, encoding)) in g.frames.iter().zip(encodings).enumerate() {
        // The direction's DATA bytes again, as they went over the wire (text streams are
        // re-encoded by the target's own base64 decoder, so they are left out here).
        let mut wire = vec![ctrl & 1, 0];
        for f in frames {
            if f.kind == FrameKind::SyncLost || f.body.len() != f.declared_len as usize {
                continue;
            }
            wire.push(f.flags);
            wire.extend_from_slice(&f.declared_len.to_be_bytes());
            wire.extend_from_slice(&f.body);
            let enc = Encoding::from_header(encoding.unwrap_or_default());
            let body = if f.compressed {
                match grpc::decompress(&enc, &f.body, grpc::DEFAULT_DECOMPRESS_CAP) {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            } else {
                f.body.clone()
            };
            if f.kind != FrameKind::Message {
                continue;
            }
            out.seed("protobuf_raw", &body);
            if let Some(m) = &method {
                let ty = if dir == 0 { &m.input } else { &m.output };
                if let Some(i) = types.iter().position(|t| t == ty) {
                    let mut seed = vec![(i % 256) as u8];
                    seed.extend_from_slice(&body);
                    out.seed("protobuf_descriptor", &seed);
                }
            }
        }
        if wire.len() > 2 && wire.len() <= MAX_STREAM_SEED {
            out.seed("grpc_framing_compression", &wire);
        }
    }
}

fn capture(out: &mut Out, path: &Path, d: &Descriptors, types: &[MessageDescriptor]) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    if bytes.len() <= MAX_CAPTURE_SEED {
        out.seed("capture_file", &bytes);
    }
    if bytes.len() <= MAX_PIPELINE_SEED {
        out.seed("pipeline", &bytes);
    }
    if bytes.len() > PREFIX_SEED {
        out.seed("capture_file", &bytes[..PREFIX_SEED]);
        out.seed("pipeline", &bytes[..PREFIX_SEED]);
    }

    let Ok(mut reader) = CaptureReader::from_bytes(bytes.clone()) else {
        return;
    };
    let mut n = 0;
    while let Ok(Some(record)) = reader.next_record() {
        if let Record::Packet(p) = record {
            let Some(sel) = LINK_TYPES.iter().position(|&l| l == p.link_type.0) else {
                continue;
            };
            if n < PACKETS_PER_CAPTURE {
                let mut seed = vec![sel as u8];
                seed.extend_from_slice(p.data);
                out.seed("net_packet", &seed);
                n += 1;
            }
        }
    }

    let Ok(mut reader) = CaptureReader::from_bytes(bytes) else {
        return;
    };
    let mut collect = Collect {
        tracker: Tracker::new(session::Config::default(), Streams::default()),
        raw: BTreeMap::new(),
    };
    let _ = engine::run_reader(
        &mut reader,
        reassembly::Config::default(),
        None,
        &mut collect,
    );
    for [(a, _), (b, _)] in collect.raw.values() {
        http2_seeds(out, a);
        http2_seeds(out, b);
    }
    for s in &collect.tracker.into_sink().0 {
        grpc_seeds(out, s, d, types);
    }
}

/// Capture files under `path` (or `path` itself), skipping what is not a capture, as the
/// integration tests' `capture_files` does.
fn captures(path: &Path, out: &mut Vec<PathBuf>) {
    const NOT_CAPTURES: &[&str] = &[
        "md", "proto", "txt", "tsv", "json", "desc", "py", "sh", "toml", "rs",
    ];
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name.starts_with('.') || ["tshark", "protos", "gen"].contains(&name.as_str()) {
                continue;
            }
            captures(&p, out);
        }
    } else if !path
        .extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| NOT_CAPTURES.contains(&x))
    {
        out.push(path.to_path_buf());
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: seedgen OUT_DIR CAPTURE_OR_DIR...");
        std::process::exit(2);
    };
    let (d, types) = demo_types();
    let mut out = Out {
        dir: PathBuf::from(dir),
        written: HashSet::new(),
    };
    let mut files = Vec::new();
    for path in args {
        captures(Path::new(&path), &mut files);
    }
    for path in &files {
        capture(&mut out, path, &d, &types);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (t, _) in &out.written {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    for (t, n) in counts {
        println!("{t}: {n} seeds");
    }
}
