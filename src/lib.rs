//! h2scope: an HTTP/2 and gRPC traffic inspector that shows, from a plain capture,
//! which backend served each call.
//!
//! # The pipeline
//! ```text
//! capture::CaptureReader (pcap / pcapng / gzip, mmap or stream)
//!    -> capture::Record::Packet { ts, link_type, data, orig_len }
//! net::parse_packet (Ethernet/VLAN, SLL, SLL2, NULL/LOOP, raw IP; IPv4/IPv6; TCP)
//!    -> net::TcpSegment { src, dst, seq, flags, payload }
//! reassembly::Reassembler (flow table, per-direction ordering, bounded buffers)
//!    -> reassembly::StreamEvent { Open | Data | Gap | Close | Anomaly }
//! engine::Engine (drives the layers above for one source)
//!    -> export (JSON document)
//! ```
//! Each layer knows nothing of its callers; dependencies point down the list.
//! Every byte of a capture is treated as hostile: parsers never panic, allocations
//! are bounded, and malformed input is reported as data.

// Unsafe code is confined to `capture::live` (OS-shared memory: the capture ring, mapped
// files), which allows it explicitly.
#![deny(unsafe_code)]

pub mod capture;
pub mod compact_json;
pub mod connection;
pub mod engine;
pub mod export;
pub mod grpc;
pub mod http2;
pub mod limits;
pub mod model;
pub mod net;
pub mod reassembly;
pub mod text;
pub mod tui;
