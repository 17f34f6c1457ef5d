//! h2scope: an HTTP/2 and gRPC traffic inspector that shows, from a plain capture,
//! which backend served each call.
//!
//! # The pipeline
//! ```text
//! capture::CaptureReader (pcap / pcapng / gzip, mmap or stream)
//!   or capture::live::LiveSource (AF_PACKET ring or libpcap, picked by capture::live::open)
//!    -> capture::Record::Packet { ts, link_type, data, orig_len }
//! filter::Filter (-f: matched here for files; compiled to BPF for the kernel when live)
//! net::parse_packet (Ethernet/VLAN, SLL, SLL2, NULL/LOOP, raw IP; IPv4/IPv6; TCP)
//!    -> net::TcpSegment { src, dst, seq, flags, payload }
//! reassembly::Reassembler (flow table, per-direction ordering, bounded buffers)
//!    -> reassembly::StreamEvent { Open | Data | Gap | Close | Anomaly }
//! engine::Engine (drives one packet source through the layers above)
//! pipeline::Tracker (the reassembly sink: one HTTP/2 session per TCP connection)
//! session::Connection (detection, frames, header blocks, windows, streams; sides by Role)
//!    -> session::Stream, session::ConnectionRecord, into a session::H2Sink
//!    DATA payload -> the stream's session::StreamBody (a hook: grpc::CallBody)
//! pipeline::Calls (opening order, method-inference evidence, grpc: the call decoded)
//!    -> pipeline::Sink::call / connection (a model::record::CallRecord)
//! export::Collector (JSON document, NDJSON) | tui::feed (terminal UI): the sinks
//! ```
//! Each layer knows nothing of its callers; dependencies point down the list. `net`
//! depends on no other module and `filter` only on `net`, so the sources can use both
//! although they come first: `capture` names `net::LinkType`, and `capture::live` compiles
//! filters to BPF.
//! Every byte of a capture is treated as hostile: parsers never panic, allocations
//! are bounded, and malformed input is reported as data.
//!
//! # Modules
//! - [`capture`]: capture files (pcap, pcapng, gzip) and the pcapng writer; `live`, the
//!   platform layer: live-capture backends, and the crate's only `unsafe` code
//! - [`filter`]: the capture-filter language: parser, evaluator, BPF compiler
//! - [`net`]: link types, link, IPv4/IPv6 and TCP header views
//! - [`reassembly`]: flow table, sequence arithmetic, per-direction ordering, gaps
//! - [`engine`]: drives a packet source through the layers above
//! - [`http2`]: frames (one file per frame type, streaming decoder) and HPACK
//! - [`session`]: the HTTP/2 session per connection: detection, frames, header blocks,
//!   flow control, settings, pings, GOAWAY, streams; sides by [`role::Role`]; DATA to a
//!   hook, [`session::StreamBody`]
//! - [`grpc`]: the DATA hook's gRPC side ([`grpc::CallBody`]), framing, compression,
//!   descriptors, decoding, schema-less, status, calls
//! - [`pipeline`]: the one owner of decoding, from reassembly to finished calls and
//!   connections handed to a sink (the export, the UI)
//! - [`model`]: the records users see ([`model::record`]) and what the views aggregate:
//!   backends
//! - [`export`]: the JSON document's own types, and its writers
//! - [`compact_json`]: compact JSON text, inert on a terminal
//! - [`text`]: the one policy for control, bidi and invisible characters, for JSON and
//!   for the eye (UI, stderr)
//! - [`limits`]: the bounds a user may raise, in one place
//! - [`anomaly`]: typed protocol anomalies (kind, sender, position, text)
//! - [`role`]: client or server
//! - [`tui`]: the terminal UI

// Unsafe code is confined to `capture::live` (OS-shared memory: the capture ring, mapped
// files), which allows it explicitly.
#![deny(unsafe_code)]
// Where unsafe is allowed, each block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod anomaly;
pub mod capture;
pub mod compact_json;
pub mod engine;
pub mod export;
pub mod filter;
pub mod grpc;
pub mod http2;
pub mod limits;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod reassembly;
pub mod role;
pub mod session;
pub mod text;
pub mod tui;
