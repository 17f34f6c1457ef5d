//! The JSON export: the document's own serde types, and how they are built from the model.
//!
//! The types here are the written contract of `h2scope export` (see `docs/json.md`); they
//! are separate from the decoding types so decoding can change without breaking scripts.
//! Times are float seconds since the Unix epoch; endpoints are `"ip:port"` (`"[v6]:port"`);
//! bytes that are not text (and every `-bin` header) are `{"base64": "..."}`.

mod inert;
mod json;
mod records;
mod threaded;

pub use inert::TerminalSafe;
pub use json::*;

use crate::capture::{CaptureError, CaptureReader, FileFormat, Timestamp};
use crate::connection::{self, ConnectionInfo, ConnectionRecord, H2Sink, Stream};
use crate::engine::{self, CaptureSummary};
use crate::grpc::Descriptors;
use crate::grpc::call::Call;
use crate::model::{Backends, InferencePool, PoolKey, Tracker};
use crate::reassembly;
use records::Records;
use std::io::{self, Write};

/// What to put in the export.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Every frame of every stream and connection.
    pub frames: bool,
    /// Leave gRPC message bodies out (sizes and times stay).
    pub no_messages: bool,
    /// Schemas for decoding gRPC messages.
    pub descriptors: Descriptors,
    /// Decode only the packets this capture filter matches.
    pub filter: Option<crate::capture::filter::Filter>,
    /// A response header or trailer naming the backend that served the call.
    pub backend_header: Option<String>,
    /// Reassembly settings; its bounds come from `limits` ([`crate::limits::Limits::reassembly`]).
    pub reassembly: reassembly::Config,
    /// The HTTP/2 and gRPC bounds (the reassembly ones are in `reassembly`).
    pub limits: crate::limits::Limits,
    /// A document keeps at most this many streams and ended connections, the newest
    /// (`sniff --keep-calls`, so hours of capture stay bounded); `backends` counts all.
    pub keep_streams: Option<usize>,
    /// Threads for an export (0 or 1: one). With two or more, a second thread turns finished
    /// streams into JSON (gRPC message decoding included) while the first decodes packets.
    pub threads: usize,
}

fn secs(ts: Timestamp) -> f64 {
    ts.as_secs_f64()
}

/// Where converted records go: kept for one document, or written as lines at once.
enum Output<W: Write> {
    /// Pretty documents keep the records (their indentation depends on their place).
    Document {
        streams: Window<StreamJson>,
        connections: Window<ConnectionJson>,
    },
    /// Compact documents serialize each record as it completes and keep only its bytes:
    /// memory is the output's size, and the records' many small allocations are freed while
    /// they are still in cache instead of all at the end.
    Compact {
        streams: Records<(i64, u64, u32)>,
        connections: Records<u64>,
    },
    Ndjson {
        out: io::BufWriter<W>,
        /// The line being written (reused).
        line: Vec<u8>,
        /// The first write error; later records are dropped (a closed pipe ends the run).
        error: Option<io::Error>,
    },
}

/// Records in completion order, the newest `keep` of them at most: the oldest are dropped
/// in bulk once twice the window is held (amortised constant time a record).
struct Window<T> {
    items: Vec<T>,
    keep: Option<usize>,
    dropped: u64,
}

impl<T> Window<T> {
    fn new(keep: Option<usize>) -> Self {
        Window {
            items: Vec::new(),
            keep,
            dropped: 0,
        }
    }

    fn push(&mut self, item: T) {
        self.items.push(item);
        if let Some(k) = self.keep
            && self.items.len() >= k.saturating_mul(2).max(1)
        {
            self.trim(k);
        }
    }

    fn trim(&mut self, keep: usize) {
        let excess = self.items.len().saturating_sub(keep);
        self.items.drain(..excess);
        self.dropped += excess as u64;
    }

    /// The newest `keep` records, and how many older ones were dropped.
    fn into_parts(mut self) -> (Vec<T>, u64) {
        if let Some(k) = self.keep {
            self.trim(k);
        }
        (self.items, self.dropped)
    }
}

/// Turns completed streams and connections into JSON records.
pub struct Collector<W: Write> {
    frames: bool,
    no_messages: bool,
    /// Messages are decoded to JSON text rather than trees: the output is written by
    /// `compact_json` (compact documents and NDJSON), which takes the text as it is.
    json_text: bool,
    descriptors: Descriptors,
    output: Output<W>,
    backends: Backends,
    pool: InferencePool,
    /// Document mode: calls whose method must be inferred wait until every call that shares
    /// their unknown `:path` has added its evidence.
    deferred: Vec<(ConnectionInfo, Stream, PoolKey)>,
}

/// Calls held back for pooled inference; beyond this they are decoded at once.
const MAX_DEFERRED: usize = 10_000;

impl<W: Write> Collector<W> {
    /// Collects everything for one document (held as records, to be written pretty).
    pub fn document(options: &Options) -> Self {
        Self::document_as(options, true)
    }

    /// Collects everything for one document; a compact one is serialized as records
    /// complete.
    fn document_as(options: &Options, pretty: bool) -> Self {
        // A window (sniff --keep-calls) drops the oldest records: those are kept as records,
        // written at the end by serde_json, which needs trees.
        let records = pretty || options.keep_streams.is_some();
        Collector {
            frames: options.frames,
            no_messages: options.no_messages,
            json_text: !records,
            descriptors: options.descriptors.clone(),
            output: if records {
                Output::Document {
                    streams: Window::new(options.keep_streams),
                    connections: Window::new(options.keep_streams),
                }
            } else {
                Output::Compact {
                    streams: Records::new(),
                    connections: Records::new(),
                }
            },
            backends: Backends::new(options.backend_header.as_deref()),
            pool: InferencePool::default(),
            deferred: Vec::new(),
        }
    }

    /// Writes one line per record as records complete.
    pub fn ndjson(options: &Options, out: W) -> Self {
        Collector {
            frames: options.frames,
            no_messages: options.no_messages,
            json_text: true,
            descriptors: options.descriptors.clone(),
            output: Output::Ndjson {
                out: io::BufWriter::with_capacity(1 << 16, out),
                line: Vec::new(),
                error: None,
            },
            backends: Backends::new(options.backend_header.as_deref()),
            pool: InferencePool::default(),
            deferred: Vec::new(),
        }
    }

    fn line<T: serde::Serialize>(&mut self, kind: &'static str, value: &T) {
        self.line_with(|line| crate::compact_json::to_vec(line, &Tagged { kind, value }));
    }

    /// One NDJSON line, as `write` writes it (without its newline).
    fn line_with(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), crate::compact_json::Error>,
    ) {
        if let Output::Ndjson { out, line, error } = &mut self.output {
            if error.is_some() {
                return;
            }
            line.clear();
            let r = write(line).map_err(io::Error::other).and_then(|()| {
                line.push(b'\n');
                out.write_all(line)
            });
            if let Err(e) = r {
                *error = Some(e);
            }
        }
    }
}

impl<W: Write> Collector<W> {
    /// Whether calls are to be decoded with their messages as JSON text (see `json_text`).
    pub(crate) fn wants_json_text(&self) -> bool {
        self.json_text
    }

    fn emit(&mut self, conn: &ConnectionInfo, s: Stream, key: Option<&PoolKey>) {
        let pooled = self.pool.evidence(key);
        let call = crate::model::grpc_call(
            &s,
            &self.descriptors,
            self.no_messages,
            self.json_text,
            pooled,
        );
        self.emit_call(conn, s, call);
    }

    /// A stream whose call was decoded beforehand, as [`emit`](Self::emit) would have: only
    /// for streams without a pool key (their decoding depends on nothing collected).
    fn emit_call(&mut self, conn: &ConnectionInfo, s: Stream, call: Option<Call>) {
        self.backends.stream(conn, &s, call.as_ref());
        let json = StreamJson::from_stream(conn, s, self.frames, call, self.json_text);
        match &mut self.output {
            Output::Document { streams, .. } => streams.push(json),
            Output::Compact { streams, .. } => streams.push_with(
                (total_order_key(json.start), json.connection, json.stream_id),
                |out| write_object(out, None, &json),
            ),
            Output::Ndjson { .. } => self.line_with(|out| write_object(out, Some("stream"), &json)),
        }
    }

    /// Decodes the calls held for pooled inference, now that all evidence is in.
    fn flush_deferred(&mut self) {
        for (conn, s, key) in std::mem::take(&mut self.deferred) {
            self.emit(&conn, s, Some(&key));
        }
    }
}

impl<W: Write> H2Sink for Collector<W> {
    fn stream(&mut self, conn: &ConnectionInfo, s: Stream) {
        let key = InferencePool::key(conn.id, &s);
        if let Some(k) = &key {
            self.pool.add(k, &s);
            let document = !matches!(self.output, Output::Ndjson { .. });
            if document && !self.descriptors.is_empty() && self.deferred.len() < MAX_DEFERRED {
                self.deferred
                    .push((conn.clone(), s, key.unwrap_or_default()));
                return;
            }
        }
        self.emit(conn, s, key.as_ref());
    }

    fn connection(&mut self, c: ConnectionRecord) {
        if c.protocol == connection::Protocol::Http2 {
            self.backends.connection(&c);
        }
        let json = ConnectionJson::new(&c, self.frames);
        match &mut self.output {
            Output::Document { connections, .. } => connections.push(json),
            Output::Compact { connections, .. } => {
                connections.push_with(json.id, |out| write_object(out, None, &json))
            }
            Output::Ndjson { .. } => {
                self.line_with(|out| write_object(out, Some("connection"), &json))
            }
        }
    }
}

/// An export being made: the pipeline's sink, and where the output goes. Feed it packets
/// from any source (a file, a live interface) through [`Session::sink`], then [`finish`]
/// it with what is known of the capture.
///
/// [`finish`]: Session::finish
pub struct Session<W: Write> {
    tracker: Tracker<Collector<W>>,
    /// The writer, until the document is written (NDJSON holds it in the collector).
    out: Option<W>,
    pretty: bool,
}

impl<W: Write> Session<W> {
    pub fn new(options: &Options, ndjson: bool, pretty: bool, out: W) -> Self {
        let mut out = Some(out);
        let collector = match out.take() {
            Some(w) if ndjson => Collector::ndjson(options, w),
            w => {
                out = w;
                Collector::document_as(options, pretty)
            }
        };
        Session {
            tracker: Tracker::new(tracker_config(options), collector),
            out,
            pretty,
        }
    }

    /// Where the engine's reassembly events go.
    pub fn sink(&mut self) -> &mut Tracker<Collector<W>> {
        &mut self.tracker
    }

    /// Writes what remains: the whole document, or the last NDJSON lines (backends, then the
    /// capture).
    pub fn finish(self, capture: CaptureInfo) -> io::Result<()> {
        self.tracker
            .into_sink()
            .finish(capture, self.out, self.pretty)
    }
}

fn tracker_config(options: &Options) -> connection::Config {
    options
        .limits
        .connection(options.frames, !options.no_messages)
}

impl<W: Write> Collector<W> {
    /// Writes what remains to `out` (document modes) or to the collector's own writer
    /// (NDJSON).
    fn finish<O: Write>(
        mut self,
        mut capture: CaptureInfo,
        out: Option<O>,
        pretty: bool,
    ) -> io::Result<()> {
        self.flush_deferred();
        let backends: Vec<BackendJson> = self
            .backends
            .sorted()
            .into_iter()
            .map(BackendJson::new)
            .collect();
        match self.output {
            Output::Document {
                streams,
                connections,
            } => {
                let (mut streams, streams_beyond) = streams.into_parts();
                let (mut connections, connections_beyond) = connections.into_parts();
                capture.streams_beyond_window = streams_beyond;
                capture.connections_beyond_window = connections_beyond;
                connections.sort_by_key(|c| c.id);
                // Records are large: sort their keys, then move each record once (ties keep
                // their order, as in a stable sort).
                streams
                    .sort_by_cached_key(|s| (total_order_key(s.start), s.connection, s.stream_id));
                let doc = Document {
                    capture,
                    connections,
                    streams,
                    backends,
                };
                match out {
                    Some(out) => write_document(out, &doc, pretty),
                    None => Ok(()),
                }
            }
            Output::Compact {
                streams,
                connections,
            } => match out {
                // The same bytes serde_json writes for a `Document`: its fields in order.
                Some(out) => {
                    let mut out = io::BufWriter::with_capacity(1 << 16, out);
                    out.write_all(b"{\"capture\":")?;
                    serde_json::to_writer(&mut out, &capture)?;
                    out.write_all(b",\"connections\":")?;
                    connections.write_sorted(&mut out)?;
                    out.write_all(b",\"streams\":")?;
                    streams.write_sorted(&mut out)?;
                    out.write_all(b",\"backends\":")?;
                    serde_json::to_writer(&mut out, &backends)?;
                    out.write_all(b"}\n")?;
                    out.flush()
                }
                None => Ok(()),
            },
            Output::Ndjson { .. } => {
                for b in &backends {
                    self.line("backend", b);
                }
                self.line("capture", &capture);
                match self.output {
                    Output::Ndjson { mut out, error, .. } => match error {
                        Some(e) => Err(e),
                        None => out.flush(),
                    },
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Reads a whole capture and writes its export to `out`: one document, or NDJSON lines as
/// streams complete. A read error part-way keeps everything decoded before it (the
/// document is complete for that prefix and says so in `capture.error`); the error is
/// returned beside the write result so the caller can report both.
pub fn export<W: Write>(
    source: &str,
    mut reader: CaptureReader,
    options: &Options,
    ndjson: bool,
    pretty: bool,
    out: W,
) -> (io::Result<()>, Option<CaptureError>) {
    if options.threads >= 2 {
        return threaded::export(source, reader, options, ndjson, pretty, out);
    }
    let mut session = Session::new(options, ndjson, pretty, out);
    let (summary, error) = decode(&mut reader, options, session.sink());
    let capture = capture_info(source, &reader, &summary, error.as_ref());
    (session.finish(capture), error)
}

/// Runs the capture through reassembly into `tracker`.
fn decode<S: H2Sink>(
    reader: &mut CaptureReader,
    options: &Options,
    tracker: &mut Tracker<S>,
) -> (CaptureSummary, Option<CaptureError>) {
    let (reassembly, filter) = (options.reassembly.clone(), options.filter.clone());
    engine::run_reader(reader, reassembly, filter, tracker)
}

fn capture_info(
    source: &str,
    reader: &CaptureReader,
    summary: &CaptureSummary,
    error: Option<&CaptureError>,
) -> CaptureInfo {
    CaptureInfo::new(
        source.to_string(),
        Some(reader.format()),
        reader.gzipped(),
        summary,
        error.map(ToString::to_string),
    )
}

/// An integer that orders like `f64::total_cmp` (the same bit trick it uses).
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
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

/// The export's name for a capture file format.
pub fn format_name(format: Option<FileFormat>) -> &'static str {
    match format {
        Some(FileFormat::PcapNg) => "pcapng",
        Some(FileFormat::Pcap { .. }) => "pcap",
        None => "unknown",
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
            format: format_name(format),
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
            kernel_drops: None,
            streams_beyond_window: 0,
            connections_beyond_window: 0,
            filtered_out: s.filtered_out,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::total_order_key;

    #[test]
    fn total_order_key_orders_like_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            1.0,
            1_700_000_000.123_456,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order_key(a).cmp(&total_order_key(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
    }
}
