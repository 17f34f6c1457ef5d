//! Throughput of each layer of the pipeline, on the bundled fixture captures (`cargo bench`).
//!
//! Each benchmark feeds one layer the exact input it sees when exporting the fixture, prepared
//! once beforehand by running the layers below it: packets for the link/IP/TCP parser, TCP
//! segments for reassembly, per-direction byte streams for the frame decoder, header blocks
//! for HPACK, DATA payloads for gRPC deframing, message bodies for protobuf decoding. Counters
//! are in bytes of that layer's input, so divan prints each layer's own MB/s.
//!
//! - `grpc`: fixtures/grpc-roundrobin.pcapng (grpcio, 3 connections, 24 calls, gzip, a 70 KB message)
//! - `h2c`: fixtures/h2c-nghttp-lo.pcap (nghttp/nghttpd, a 100 KiB body, push, PRIORITY)
//!
//! The last benchmark times the terminal UI: a key press and its draw on the message screen.
//!
//! Large-file, end-to-end figures against tshark come from `scripts/bench.sh`; the terminal
//! UI on a loading 1 GB capture from `scripts/bench-open.sh`.

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use h2scope::capture::{CaptureReader, LinkType, Record, Timestamp};
use h2scope::export;
use h2scope::grpc::{self, Deframer, Descriptors, Encoding, FrameKind, Framed};
use h2scope::http2::frame::{Event, Frame, FrameDecoder, flags};
use h2scope::http2::hpack::{Decoder, HeaderField};
use h2scope::net::{self, Parsed, TcpSegment};
use h2scope::reassembly::{self, ConnId, Dir, Reassembler, Stamp, StreamEvent};
use prost_reflect::MessageDescriptor;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const FIXTURES: &[&str] = &["grpc", "h2c"];
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn capture_bytes(name: &str) -> &'static [u8] {
    match name {
        "grpc" => include_bytes!("../fixtures/grpc-roundrobin.pcapng"),
        "h2c" => include_bytes!("../fixtures/h2c-nghttp-lo.pcap"),
        _ => unreachable!("unknown fixture {name}"),
    }
}

fn protos_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/protos")
}

/// A captured packet, owned.
struct Pkt {
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

type StreamKey = (ConnId, u32, Dir);
/// Header blocks of one connection direction, with their stream ids.
type Blocks = BTreeMap<(ConnId, Dir), Vec<(u32, Vec<u8>)>>;

/// Everything a fixture gives each layer, prepared once.
struct Prepared {
    file: &'static [u8],
    packets: Vec<Pkt>,
    /// Per connection and direction: the payload of each delivered chunk, in order
    /// (the client's preface removed).
    streams: BTreeMap<(ConnId, Dir), Vec<Vec<u8>>>,
    /// Per connection and direction: complete header blocks (HEADERS or PUSH_PROMISE plus
    /// CONTINUATIONs), in order, with their stream id.
    blocks: Blocks,
    /// Per stream direction: DATA payload chunks, in order.
    data: BTreeMap<StreamKey, Vec<Vec<u8>>>,
    /// gRPC messages (decompressed) with the type they decode as.
    messages: Vec<(MessageDescriptor, Vec<u8>)>,
}

impl Prepared {
    fn get(name: &str) -> &'static Prepared {
        static GRPC: OnceLock<Prepared> = OnceLock::new();
        static H2C: OnceLock<Prepared> = OnceLock::new();
        let cell = if name == "grpc" { &GRPC } else { &H2C };
        cell.get_or_init(|| Prepared::new(capture_bytes(name)))
    }

    fn new(file: &'static [u8]) -> Prepared {
        let packets = read_packets(file);
        let segments = parse_all(&packets);
        let mut streams: BTreeMap<(ConnId, Dir), Vec<Vec<u8>>> = BTreeMap::new();
        reassemble(&segments, &mut |ev| {
            if let StreamEvent::Data {
                conn, dir, data, ..
            } = ev
            {
                streams.entry((conn, dir)).or_default().push(data.to_vec());
            }
        });
        for ((_, dir), chunks) in streams.iter_mut() {
            if *dir == Dir::ClientToServer {
                strip_preface(chunks);
            }
        }
        let mut blocks: Blocks = BTreeMap::new();
        let mut data: BTreeMap<StreamKey, Vec<Vec<u8>>> = BTreeMap::new();
        for (&(conn, dir), chunks) in &streams {
            let list = blocks.entry((conn, dir)).or_default();
            let mut open: Option<(u32, Vec<u8>)> = None;
            let mut dec = FrameDecoder::default();
            let mut on_event = |ev: Event<'_>| match ev {
                Event::DataChunk { header, data: d } => {
                    data.entry((conn, header.stream_id, dir))
                        .or_default()
                        .push(d.to_vec());
                }
                Event::Frame { header, frame } => {
                    let fragment = match frame {
                        Frame::Headers { fragment, .. } | Frame::PushPromise { fragment, .. } => {
                            open = Some((header.stream_id, Vec::new()));
                            fragment
                        }
                        Frame::Continuation { fragment } => fragment,
                        _ => return,
                    };
                    if let Some((_, block)) = open.as_mut() {
                        block.extend_from_slice(fragment);
                    }
                    if header.flags & flags::END_HEADERS != 0 {
                        list.extend(open.take());
                    }
                }
                _ => {}
            };
            for c in chunks {
                dec.push(c, &mut on_event);
            }
            dec.finish(&mut on_event);
        }
        let messages = grpc_messages(&blocks, &data);
        Prepared {
            file,
            packets,
            streams,
            blocks,
            data,
            messages,
        }
    }

    fn stream_bytes(&self) -> u64 {
        self.streams
            .values()
            .flatten()
            .map(|c| c.len() as u64)
            .sum()
    }
}

fn strip_preface(chunks: &mut [Vec<u8>]) {
    let mut left = PREFACE.len();
    for c in chunks.iter_mut() {
        let n = left.min(c.len());
        c.drain(..n);
        left -= n;
        if left == 0 {
            break;
        }
    }
}

fn read_packets(file: &[u8]) -> Vec<Pkt> {
    let mut reader = CaptureReader::from_bytes(file.to_vec()).expect("fixture opens");
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().expect("fixture reads") {
        if let Record::Packet(p) = r {
            out.push(Pkt {
                ts: p.ts,
                link: p.link_type,
                orig_len: p.orig_len,
                data: p.data.to_vec(),
            });
        }
    }
    out
}

fn parse_all(packets: &[Pkt]) -> Vec<(Stamp, u32, TcpSegment<'_>)> {
    packets
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match net::parse_packet(p.link, &p.data) {
            Ok(Parsed::Tcp(seg)) => Some((
                Stamp {
                    ts: p.ts,
                    packet: i as u64 + 1,
                },
                p.orig_len,
                seg,
            )),
            _ => None,
        })
        .collect()
}

fn reassemble(segments: &[(Stamp, u32, TcpSegment<'_>)], sink: &mut impl FnMut(StreamEvent<'_>)) {
    let mut r = Reassembler::new(reassembly::Config::default());
    for (at, len, seg) in segments {
        r.segment(*at, *len, seg, sink);
    }
    r.finish(sink);
}

fn field<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|f| f.name.as_known() == Some(name.as_bytes()))
        .and_then(|f| f.value.as_known())
}

/// The gRPC messages of a fixture, decompressed, with the type the method's schema gives them.
fn grpc_messages(
    blocks: &Blocks,
    data: &BTreeMap<StreamKey, Vec<Vec<u8>>>,
) -> Vec<(MessageDescriptor, Vec<u8>)> {
    let descriptors = descriptors();
    // Per stream: the :path (client side) and each direction's grpc-encoding.
    let mut path: BTreeMap<(ConnId, u32), String> = BTreeMap::new();
    let mut encoding: BTreeMap<StreamKey, Vec<u8>> = BTreeMap::new();
    for (&(conn, dir), list) in blocks {
        let mut dec = Decoder::new();
        for (sid, block) in list {
            let mut fields = Vec::new();
            let _ = dec.decode(block, &mut fields);
            if let Some(p) = field(&fields, ":path") {
                path.insert((conn, *sid), String::from_utf8_lossy(p).into_owned());
            }
            if let Some(e) = field(&fields, "grpc-encoding") {
                encoding.insert((conn, *sid, dir), e.to_vec());
            }
        }
    }
    let mut out = Vec::new();
    for (&(conn, sid, dir), chunks) in data {
        let Some(method) = path.get(&(conn, sid)).and_then(|p| descriptors.method(p)) else {
            continue;
        };
        let desc = if dir == Dir::ClientToServer {
            method.input
        } else {
            method.output
        };
        let enc = Encoding::from_header(
            encoding
                .get(&(conn, sid, dir))
                .map_or(&b"identity"[..], |v| v),
        );
        let mut framed: Vec<Framed> = Vec::new();
        let mut d = Deframer::new(grpc::DEFAULT_MAX_MESSAGE);
        for c in chunks {
            d.push(c, Timestamp(0), &mut framed);
        }
        d.finish(Timestamp(0), &mut framed);
        for f in framed.into_iter().filter(|f| f.kind == FrameKind::Message) {
            let body = if f.compressed {
                match grpc::decompress(&enc, &f.body, grpc::DEFAULT_DECOMPRESS_CAP) {
                    Ok(b) => b,
                    Err(_) => continue,
                }
            } else {
                f.body
            };
            out.push((desc.clone(), body));
        }
    }
    out
}

fn descriptors() -> Descriptors {
    let mut d = Descriptors::empty();
    d.add_protos(&[protos_dir()], &[])
        .expect("fixture protos compile");
    d
}

/// pcap/pcapng record reading (the file in memory, as a memory map would give it).
#[divan::bench(args = FIXTURES)]
fn capture_read(bencher: Bencher, name: &str) {
    let file = Prepared::get(name).file;
    bencher
        .counter(BytesCount::of_slice(file))
        .with_inputs(|| file.to_vec())
        .bench_local_values(|bytes| {
            let mut reader = CaptureReader::from_bytes(bytes).unwrap();
            let mut n = 0usize;
            while let Ok(Some(r)) = reader.next_record() {
                if let Record::Packet(p) = r {
                    n += p.data.len();
                }
            }
            n
        });
}

/// Link, IP and TCP header parsing.
#[divan::bench(args = FIXTURES)]
fn net_parse(bencher: Bencher, name: &str) {
    let p = Prepared::get(name);
    let bytes: usize = p.packets.iter().map(|p| p.data.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        let mut n = 0usize;
        for pkt in &p.packets {
            if let Ok(Parsed::Tcp(seg)) = net::parse_packet(pkt.link, black_box(&pkt.data)) {
                n += seg.payload.len();
            }
        }
        n
    });
}

/// TCP reassembly: the flow table and per-direction ordering (segments parsed beforehand).
#[divan::bench(args = FIXTURES)]
fn reassembly(bencher: Bencher, name: &str) {
    let p = Prepared::get(name);
    let segments = parse_all(&p.packets);
    let bytes: usize = segments.iter().map(|s| s.2.payload.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        let mut n = 0usize;
        reassemble(&segments, &mut |ev| {
            if let StreamEvent::Data { data, .. } = ev {
                n += data.len();
            }
        });
        n
    });
}

/// HTTP/2 frame decoding of each direction's byte stream, fed in the captured chunks.
#[divan::bench(args = FIXTURES)]
fn http2_frames(bencher: Bencher, name: &str) {
    let p = Prepared::get(name);
    bencher
        .counter(BytesCount::new(p.stream_bytes()))
        .bench_local(|| {
            let mut n = 0usize;
            for chunks in p.streams.values() {
                let mut dec = FrameDecoder::default();
                let mut f = |ev: Event<'_>| {
                    if let Event::Frame { .. } | Event::DataEnd { .. } = ev {
                        n += 1;
                    }
                };
                for c in chunks {
                    dec.push(c, &mut f);
                }
                dec.finish(&mut f);
            }
            n
        });
}

/// HPACK: every header block of every direction, through that direction's decoder.
#[divan::bench(args = FIXTURES)]
fn hpack(bencher: Bencher, name: &str) {
    let p = Prepared::get(name);
    let bytes: usize = p.blocks.values().flatten().map(|b| b.1.len()).sum();
    let blocks: usize = p.blocks.values().map(Vec::len).sum();
    bencher
        .counter(BytesCount::new(bytes))
        .counter(ItemsCount::new(blocks))
        .bench_local(|| {
            let mut n = 0usize;
            let mut fields = Vec::new();
            for list in p.blocks.values() {
                let mut dec = Decoder::new();
                for (_, block) in list {
                    fields.clear();
                    let _ = dec.decode(block, &mut fields);
                    n += fields.len();
                }
            }
            n
        });
}

/// gRPC length-prefixed message deframing of each stream direction's DATA.
#[divan::bench]
fn grpc_deframe(bencher: Bencher) {
    let p = Prepared::get("grpc");
    let bytes: usize = p.data.values().flatten().map(Vec::len).sum();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        let mut out: Vec<Framed> = Vec::new();
        for chunks in p.data.values() {
            let mut d = Deframer::new(grpc::DEFAULT_MAX_MESSAGE);
            for c in chunks {
                d.push(c, Timestamp(0), &mut out);
            }
            d.finish(Timestamp(0), &mut out);
        }
        out.len()
    });
}

/// Protobuf to JSON through the fixture's schemas: decode to a JSON value, then write it.
#[divan::bench]
fn protobuf_to_json(bencher: Bencher) {
    let p = Prepared::get("grpc");
    let bytes: usize = p.messages.iter().map(|m| m.1.len()).sum();
    bencher
        .counter(BytesCount::new(bytes))
        .counter(ItemsCount::new(p.messages.len()))
        .bench_local(|| {
            let mut out = Vec::new();
            for (desc, body) in &p.messages {
                if let Ok(v) = grpc::decode_json(desc, body) {
                    serde_json::to_writer(&mut out, &v).unwrap();
                }
            }
            out.len()
        });
}

/// Schema-less decoding (`protoc --decode_raw`-like), what messages get without --proto-path.
#[divan::bench]
fn protobuf_raw(bencher: Bencher) {
    let p = Prepared::get("grpc");
    let bytes: usize = p.messages.iter().map(|m| m.1.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        let mut n = 0usize;
        for (_, body) in &p.messages {
            n += grpc::decode_raw(body).is_ok() as usize;
        }
        n
    });
}

/// Base64 of message bodies (raw bodies and `-bin` values in the JSON).
#[divan::bench]
fn base64_encode(bencher: Bencher) {
    let p = Prepared::get("grpc");
    let bytes: usize = p.messages.iter().map(|m| m.1.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench_local(|| {
        let mut n = 0usize;
        for (_, body) in &p.messages {
            n += grpc::base64_encode(body).len();
        }
        n
    });
}

/// The whole export of a fixture held in memory, written to io::sink.
fn export_bench(bencher: Bencher, name: &str, mode: &str) {
    let file = Prepared::get(name).file;
    let options = export::Options {
        no_messages: mode == "no-messages",
        frames: mode == "frames",
        descriptors: if mode == "full" {
            descriptors()
        } else {
            Descriptors::empty()
        },
        ..export::Options::default()
    };
    let ndjson = mode == "ndjson";
    bencher
        .counter(BytesCount::of_slice(file))
        .with_inputs(|| CaptureReader::from_bytes(file.to_vec()).unwrap())
        .bench_local_values(|reader| {
            let (w, e) = export::export("bench", reader, &options, ndjson, false, io::sink());
            w.unwrap();
            assert!(e.is_none());
        });
}

/// `h2scope export --no-messages`
#[divan::bench(args = FIXTURES)]
fn export_no_messages(bencher: Bencher, name: &str) {
    export_bench(bencher, name, "no-messages");
}

/// `h2scope export --proto-path fixtures/protos`: messages decoded to JSON.
#[divan::bench(args = FIXTURES)]
fn export_full(bencher: Bencher, name: &str) {
    export_bench(bencher, name, "full");
}

/// `h2scope export --frames`
#[divan::bench(args = FIXTURES)]
fn export_frames(bencher: Bencher, name: &str) {
    export_bench(bencher, name, "frames");
}

/// `h2scope export --ndjson` (messages decoded without schemas)
#[divan::bench(args = FIXTURES)]
fn export_ndjson(bencher: Bencher, name: &str) {
    export_bench(bencher, name, "ndjson");
}

/// `h2scope open`: a scroll key and the draw after it on the message screen (160x48) of
/// the fixture's largest message, read schema-less: 70 KB, 4,400 hex dump lines.
#[divan::bench]
fn tui_message_scroll(bencher: Bencher) {
    use h2scope::tui::app::Screen;
    use h2scope::tui::model::Model;
    use h2scope::tui::{App, event, feed};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::Event as Input;
    let mut app = App::new(Model::new("bench", None), 160, 48);
    let reader = CaptureReader::from_bytes(capture_bytes("grpc").to_vec()).unwrap();
    feed::feed(reader, &feed::FeedOptions::default(), |u| {
        app.update(u);
        true
    });
    let (_, call, msg) = (0..app.model.total_calls())
        .filter_map(|i| app.model.call(i).map(|c| (i, c)))
        .flat_map(|(i, c)| {
            let sizes: Vec<usize> = c
                .messages()
                .iter()
                .map(|(_, m)| m.raw.as_ref().map_or(0, |r| r.bytes.len()))
                .collect();
            sizes.into_iter().enumerate().map(move |(k, n)| (n, i, k))
        })
        .max()
        .unwrap();
    app.view.open = Some(call);
    app.view.screen = Screen::Message;
    app.view.msg_sel = msg;
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let keys = event::keys("jk");
    let mut n = 0;
    bencher.bench_local(|| {
        app.handle(&Input::Key(keys[n % 2]));
        n += 1;
        app.draw(&mut term).unwrap();
    });
}
