//! The JSON export: the document's own serde types, and how they are built from the pipeline.
//!
//! The types here are the written contract of `h2scope export` (see `docs/json.md`); they
//! are separate from the engine's types so the engine can change without breaking scripts.
//! Times are float seconds since the Unix epoch; endpoints are `"ip:port"` (`"[v6]:port"`).

use crate::capture::{CaptureError, CaptureReader, FileFormat, Timestamp};
use crate::engine::{self, CaptureSummary};
use crate::reassembly::{self, ConnStats, StreamEvent, StreamSink};
use serde::Serialize;
use std::io::{self, Write};

/// The whole document `h2scope export` writes.
#[derive(Debug, Serialize)]
pub struct Document {
    pub capture: CaptureInfo,
    pub connections: Vec<Connection>,
}

#[derive(Debug, Serialize)]
pub struct CaptureInfo {
    /// The path given on the command line (`"-"` for stdin).
    pub source: String,
    /// `"pcap"` or `"pcapng"`.
    pub format: &'static str,
    pub gzipped: bool,
    pub packets: u64,
    pub bytes: u64,
    pub tcp_packets: u64,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub interfaces: Vec<Interface>,
    pub anomalies: Vec<CaptureAnomaly>,
    pub comments: Vec<String>,
    pub decryption_secrets: usize,
    /// Connections closed to bound memory (evicted, or idle past the timeout).
    pub evicted_connections: u64,
    pub timed_out_connections: u64,
    /// Set when reading stopped early on a damaged file; what came before is still here.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub id: u32,
    pub link_type: &'static str,
    pub link_type_id: u32,
    pub snaplen: u32,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CaptureAnomaly {
    pub kind: &'static str,
    pub count: u64,
    pub details: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Connection {
    pub id: u64,
    pub client: String,
    pub server: String,
    /// The TCP handshake was captured, so client and server are certain.
    pub handshake: bool,
    pub start: f64,
    pub end: f64,
    pub packets: u64,
    /// Unique TCP payload bytes each side sent, as delivered in order.
    pub bytes_client: u64,
    pub bytes_server: u64,
    /// Holes in either direction's byte stream (bytes never captured).
    pub gaps: u64,
    /// How the connection ended: `fin`, `rst`, `idle_timeout`, `evicted`, `reused`, `end_of_capture`.
    pub close: &'static str,
    pub tcp: TcpDetail,
}

/// Per-direction TCP counters; `wire_*` count whole frames, as `tshark -z conv,tcp` does.
#[derive(Debug, Serialize)]
pub struct TcpDetail {
    pub packets_client: u64,
    pub packets_server: u64,
    pub wire_bytes_client: u64,
    pub wire_bytes_server: u64,
    pub gap_bytes_client: u64,
    pub gap_bytes_server: u64,
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub conflicting_retransmissions: u64,
}

fn secs(ts: Timestamp) -> f64 {
    ts.as_secs_f64()
}

impl Connection {
    pub fn from_stats(id: u64, st: &ConnStats) -> Self {
        Connection {
            id,
            client: st.client.to_string(),
            server: st.server.to_string(),
            handshake: st.handshake,
            start: secs(st.start),
            end: secs(st.end),
            packets: st.packets[0] + st.packets[1],
            bytes_client: st.payload_bytes[0],
            bytes_server: st.payload_bytes[1],
            gaps: st.gaps[0] + st.gaps[1],
            close: st.reason.as_str(),
            tcp: TcpDetail {
                packets_client: st.packets[0],
                packets_server: st.packets[1],
                wire_bytes_client: st.wire_bytes[0],
                wire_bytes_server: st.wire_bytes[1],
                gap_bytes_client: st.gap_bytes[0],
                gap_bytes_server: st.gap_bytes[1],
                retransmissions: st.retransmissions[0] + st.retransmissions[1],
                out_of_order: st.out_of_order[0] + st.out_of_order[1],
                conflicting_retransmissions: st.conflicts,
            },
        }
    }
}

impl CaptureInfo {
    pub fn new(
        source: String,
        format: Option<FileFormat>,
        gzipped: bool,
        s: &CaptureSummary,
        error: Option<String>,
    ) -> Self {
        CaptureInfo {
            source,
            format: match format {
                Some(FileFormat::PcapNg) => "pcapng",
                Some(FileFormat::Pcap { .. }) => "pcap",
                None => "unknown",
            },
            gzipped,
            packets: s.packets,
            bytes: s.bytes,
            tcp_packets: s.tcp_packets,
            start: s.first_ts.map(secs),
            end: s.last_ts.map(secs),
            interfaces: s
                .interfaces
                .iter()
                .map(|i| Interface {
                    id: i.id,
                    link_type: i.link_type.name(),
                    link_type_id: i.link_type.0,
                    snaplen: i.snaplen,
                    name: i.name.clone(),
                })
                .collect(),
            anomalies: s
                .anomalies
                .iter()
                .map(|(k, t)| CaptureAnomaly {
                    kind: k.as_str(),
                    count: t.count,
                    details: t.details.clone(),
                })
                .collect(),
            comments: s.comments.clone(),
            decryption_secrets: s.decryption_secrets,
            evicted_connections: s.reassembly.evicted,
            timed_out_connections: s.reassembly.timed_out,
            error,
        }
    }
}

/// Collects a connection summary as each connection closes.
#[derive(Debug, Default)]
pub struct Collector {
    pub connections: Vec<Connection>,
}

impl StreamSink for Collector {
    fn event(&mut self, ev: StreamEvent<'_>) {
        if let StreamEvent::Closed { conn, stats, .. } = ev {
            self.connections.push(Connection::from_stats(conn, stats));
        }
    }
}

impl Collector {
    /// The connections in order of first packet.
    pub fn into_connections(mut self) -> Vec<Connection> {
        self.connections.sort_unstable_by_key(|c| c.id);
        self.connections
    }
}

/// Writes the document as JSON followed by a newline.
pub fn write_document<W: Write>(out: W, doc: &Document, pretty: bool) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    if pretty {
        serde_json::to_writer_pretty(&mut out, doc)?;
    } else {
        serde_json::to_writer(&mut out, doc)?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads a whole capture and builds its document. A read error part-way keeps everything
/// decoded before it: the document is complete for that prefix, and the error is returned
/// beside it (and recorded in `capture.error`).
pub fn export_reader(
    source: &str,
    mut reader: CaptureReader,
    config: reassembly::Config,
) -> (Document, Option<CaptureError>) {
    let mut collector = Collector::default();
    let (summary, error) = engine::run_reader(&mut reader, config, &mut collector);
    let capture = CaptureInfo::new(
        source.to_string(),
        Some(reader.format()),
        reader.gzipped(),
        &summary,
        error.as_ref().map(ToString::to_string),
    );
    let doc = Document {
        capture,
        connections: collector.into_connections(),
    };
    (doc, error)
}
