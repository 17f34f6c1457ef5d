//! The JSON export: the document's own serde types, and how they are built from the model.
//!
//! The types here are the written contract of `h2scope export` (see `docs/json.md`); they
//! are separate from the decoding types so decoding can change without breaking scripts.
//! Times are float seconds since the Unix epoch; endpoints are `"ip:port"` (`"[v6]:port"`);
//! bytes that are not text (and every `-bin` header) are `{"base64": "..."}`.

mod json;
mod records;
mod threaded;

pub use json::*;

use crate::capture::{CaptureError, CaptureReader, FileFormat, Timestamp};
use crate::engine::{self, CaptureSummary};
use crate::grpc::{CallBody, CallConfig, Descriptors};
use crate::model::Backends;
use crate::model::record::CallRecord;
use crate::pipeline::{self, Calls, Tracker};
use crate::reassembly;
use crate::session::{self, ConnectionRecord, H2Sink};
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
    pub filter: Option<crate::filter::Filter>,
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

/// Where converted records go: kept for one document, or written as they complete.
enum Output<W: Write> {
    /// Pretty documents and windows keep the records (a pretty record's indentation depends
    /// on its place; a window drops the oldest), each stream with its place in the order.
    Document {
        streams: Window<(u64, StreamJson)>,
        connections: Window<ConnectionJson>,
    },
    /// Compact documents write each stream once every stream opened before it has been
    /// written; connections are held as serialized records until the end.
    Compact {
        streams: Streams<W>,
        connections: Records<u64>,
    },
    Ndjson {
        out: Lines<W>,
    },
}

/// A buffered writer that keeps its first error (later writes are dropped: a closed pipe
/// ends the run), with the record being serialized (reused).
struct Lines<W: Write> {
    out: io::BufWriter<W>,
    line: Vec<u8>,
    error: Option<io::Error>,
}

impl<W: Write> Lines<W> {
    fn new(out: W) -> Self {
        Lines {
            out: io::BufWriter::with_capacity(1 << 16, out),
            line: Vec::new(),
            error: None,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    /// Writes the record in `line`.
    fn write_line(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(&self.line)
        {
            self.error = Some(e);
        }
    }

    /// The first error, or the flush's.
    fn finish(mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

/// The compact document's `streams` array, written in the order the streams opened (see
/// [`H2Sink::opened`]): a stream that completes while one opened before it is still open
/// waits in `pending`. Calls mostly complete in the order they start, so most records go
/// straight out; memory is the records completed behind a stream still open (a call
/// open for the whole capture holds everything after it, as a held document would).
struct Streams<W: Write> {
    out: Lines<W>,
    pending: std::collections::BTreeMap<u64, Vec<u8>>,
    /// Buffers of records written from `pending`, for the next records to wait in.
    spare: Vec<Vec<u8>>,
    written: u64,
}

/// Spare record buffers kept, and the largest kept.
const MAX_SPARE: usize = 8;
const MAX_SPARE_ROOM: usize = 4 << 20;

impl<W: Write> Streams<W> {
    /// Adds the record in `out.line`, the stream at `place`; writes every record before
    /// `limit` (the first place still to come).
    fn push(&mut self, place: u64, limit: u64) {
        if self.pending.is_empty() && place < limit {
            self.separate();
            self.out.write_line();
            return;
        }
        // A record that fills at least half its buffer waits in that buffer (no copy; the
        // next record gets a spare buffer as large, or a fresh one); a smaller one waits in
        // a copy of its own size. Either way a waiting record holds at most twice its size.
        let room = self.out.line.capacity();
        let record = if self.out.line.len().saturating_mul(2) >= room {
            let next = match self.spare.pop() {
                Some(b) if b.capacity() >= room => b,
                _ => Vec::with_capacity(room),
            };
            std::mem::replace(&mut self.out.line, next)
        } else {
            self.out.line.clone()
        };
        self.pending.insert(place, record);
        self.release(limit);
    }

    /// Writes the waiting records placed before `limit`.
    fn release(&mut self, limit: u64) {
        while let Some(entry) = self.pending.first_entry()
            && *entry.key() < limit
        {
            let mut record = entry.remove();
            self.emit(&record);
            if self.spare.len() < MAX_SPARE && record.capacity() <= MAX_SPARE_ROOM {
                record.clear();
                self.spare.push(record);
            }
        }
    }

    fn emit(&mut self, record: &[u8]) {
        self.separate();
        self.out.write(record);
    }

    /// What goes before a record: the array's start, or a comma.
    fn separate(&mut self) {
        self.out.write(if self.written == 0 {
            b"{\"streams\":["
        } else {
            b","
        });
        self.written += 1;
    }

    /// Writes every waiting record and closes the array; the writer, for what follows.
    fn finish(mut self) -> Lines<W> {
        self.release(u64::MAX);
        if self.written == 0 {
            self.separate();
        }
        self.out.write(b"]");
        self.out
    }
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

/// Turns the pipeline's finished streams and connections into JSON records: the export's
/// [`pipeline::Sink`].
pub struct Collector<W: Write> {
    frames: bool,
    /// Messages are decoded to JSON text rather than trees: the output is written by
    /// `compact_json` (compact documents and NDJSON), which takes the text as it is.
    json_text: bool,
    output: Output<W>,
    backends: Backends,
}

impl<W: Write> Collector<W> {
    fn with_output(options: &Options, output: Output<W>) -> Self {
        Collector {
            frames: options.frames,
            // serde_json lays a held document's records out: they need trees.
            json_text: !matches!(output, Output::Document { .. }),
            output,
            backends: Backends::new(options.backend_header.as_deref()),
        }
    }

    /// How the pipeline in front of this collector decodes: calls held for inference
    /// until their connection ends in a document (compact or held), decided as they come
    /// in NDJSON.
    fn pipeline_options(&self, options: &Options) -> pipeline::Options {
        pipeline::Options {
            descriptors: options.descriptors.clone(),
            no_messages: options.no_messages,
            json_text: self.json_text,
            defer_inference: !matches!(self.output, Output::Ndjson { .. }),
        }
    }

    /// Collects everything for one document, written when the capture ends:
    /// pretty, or within a window (`options.keep_streams`).
    pub fn document(options: &Options) -> Self {
        let output = Output::Document {
            streams: Window::new(options.keep_streams),
            connections: Window::new(options.keep_streams),
        };
        Self::with_output(options, output)
    }

    /// Writes a compact document to `out` as the capture is read.
    pub fn compact(options: &Options, out: W) -> Self {
        let output = Output::Compact {
            streams: Streams {
                out: Lines::new(out),
                pending: Default::default(),
                spare: Vec::new(),
                written: 0,
            },
            connections: Records::new(),
        };
        Self::with_output(options, output)
    }

    /// Writes one line per record as records complete.
    pub fn ndjson(options: &Options, out: W) -> Self {
        let output = Output::Ndjson {
            out: Lines::new(out),
        };
        Self::with_output(options, output)
    }

    /// The collector for `export`'s options: NDJSON, a compact document written as it
    /// goes, or a document held to the end (pretty, or windowed).
    fn for_export(options: &Options, ndjson: bool, pretty: bool, out: W) -> (Self, Option<W>) {
        if ndjson {
            (Self::ndjson(options, out), None)
        } else if pretty || options.keep_streams.is_some() {
            (Self::document(options), Some(out))
        } else {
            (Self::compact(options, out), None)
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
        if let Output::Ndjson { out } = &mut self.output {
            if out.error.is_some() {
                return;
            }
            out.line.clear();
            match write(&mut out.line) {
                Ok(()) => {
                    out.line.push(b'\n');
                    out.write_line();
                }
                Err(e) => out.error = Some(io::Error::other(e)),
            }
        }
    }
}

impl<W: Write> Collector<W> {
    /// The writer a compact document or NDJSON goes to as it is made (`None` for a held
    /// document), for the two-thread export to change how its bytes travel.
    fn writer_mut(&mut self) -> Option<&mut W> {
        match &mut self.output {
            Output::Compact { streams, .. } => Some(streams.out.out.get_mut()),
            Output::Ndjson { out } => Some(out.out.get_mut()),
            Output::Document { .. } => None,
        }
    }
}

impl<W: Write> pipeline::Sink for Collector<W> {
    fn call(&mut self, rec: CallRecord, place: u64, ready: u64) {
        self.backends.stream(&rec);
        let json = StreamJson::from_record(rec, self.frames, !self.json_text);
        match &mut self.output {
            Output::Document { streams, .. } => streams.push((place, json)),
            Output::Compact { streams, .. } => {
                streams.out.line.clear();
                // Our types serialize without errors (string keys only); a failed record
                // is left out.
                if write_object(&mut streams.out.line, None, &json).is_ok() {
                    streams.push(place, ready);
                }
            }
            Output::Ndjson { .. } => self.line_with(|out| write_object(out, Some("stream"), &json)),
        }
    }

    fn ready(&mut self, ready: u64) {
        if let Output::Compact { streams, .. } = &mut self.output {
            streams.release(ready);
        }
    }

    fn connection(&mut self, c: ConnectionRecord) {
        if c.protocol == session::Protocol::Http2 {
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
    tracker: Tracker<Calls<Collector<W>>>,
    /// The writer, until the document is written (NDJSON holds it in the collector).
    out: Option<W>,
    pretty: bool,
}

impl<W: Write> Session<W> {
    pub fn new(options: &Options, ndjson: bool, pretty: bool, out: W) -> Self {
        let (collector, out) = Collector::for_export(options, ndjson, pretty, out);
        let calls = Calls::new(collector.pipeline_options(options), collector);
        Session {
            tracker: Tracker::new(tracker_config(options), calls),
            out,
            pretty,
        }
    }

    /// Where the engine's reassembly events go.
    pub fn sink(&mut self) -> &mut Tracker<Calls<Collector<W>>> {
        &mut self.tracker
    }

    /// Writes what remains: the whole document, or the last NDJSON lines (backends, then the
    /// capture).
    pub fn finish(self, capture: CaptureInfo) -> io::Result<()> {
        self.tracker
            .into_sink()
            .finish()
            .finish(capture, self.out, self.pretty)
    }
}

fn tracker_config(options: &Options) -> session::Config<CallConfig> {
    options.limits.session(options.frames, !options.no_messages)
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
                // Records are large: sort their places, then move each record once.
                streams.sort_unstable_by_key(|(place, _)| *place);
                let doc = Document {
                    streams: streams.into_iter().map(|(_, s)| s).collect(),
                    connections,
                    backends,
                    capture,
                };
                match out {
                    Some(out) => write_document(out, &doc, pretty),
                    None => Ok(()),
                }
            }
            Output::Compact {
                streams,
                connections,
            } => {
                // The same bytes serde_json writes for a `Document`: its fields in order.
                let mut lines = streams.finish();
                if let Some(e) = lines.error.take() {
                    return Err(e);
                }
                let out = &mut lines.out;
                out.write_all(b",\"connections\":")?;
                connections.write_sorted(&mut *out)?;
                // Through compact_json, as every record: its strings are inert on a terminal.
                let mut tail = b",\"backends\":".to_vec();
                crate::compact_json::to_vec(&mut tail, &backends).map_err(io::Error::other)?;
                tail.extend_from_slice(b",\"capture\":");
                crate::compact_json::to_vec(&mut tail, &capture).map_err(io::Error::other)?;
                tail.extend_from_slice(b"}\n");
                out.write_all(&tail)?;
                out.flush()
            }
            Output::Ndjson { .. } => {
                for b in &backends {
                    self.line("backend", b);
                }
                self.line("capture", &capture);
                match self.output {
                    Output::Ndjson { out } => out.finish(),
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
fn decode<S: H2Sink<Body = CallBody>>(
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

/// Writes the document as JSON followed by a newline, through the one writer (so its strings
/// are inert, as every record's), its streams and connections one by one.
pub fn write_document<W: Write>(out: W, doc: &Document, pretty: bool) -> io::Result<()> {
    // The members of `Document` in its order (a test holds this to its serde form).
    let mut w = crate::compact_json::ObjectWriter::new(out, pretty);
    w.array("streams", &doc.streams)?;
    w.array("connections", &doc.connections)?;
    w.member("backends", &doc.backends)?;
    w.member("capture", &doc.capture)?;
    let mut out = w.finish()?;
    out.write_all(b"\n")?;
    out.flush()
}

/// serde_json's compact text of `value` with the text policy's characters that serde_json
/// leaves raw escaped: what `compact_json` writes for it, by another road. The oracle tests
/// and fuzz targets hold the writer to.
pub fn serde_json_inert<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(value).map(|text| inert(&text))
}

/// [`serde_json_inert`], laid out as `--pretty` lays it out.
pub fn serde_json_inert_pretty<T: serde::Serialize + ?Sized>(
    value: &T,
) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(|text| inert(&text))
}

/// serde_json's `text` with the policy's characters escaped. Outside strings its JSON holds
/// only printable ASCII and the layout's newlines, and inside them the C0 controls are
/// escaped already: every other character of the policy is in a string, where its escape
/// means the same.
fn inert(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut start = 0;
    while let Some((i, c)) = crate::text::find(text, start) {
        out.extend_from_slice(text.get(start..i).unwrap_or_default().as_bytes());
        if c == '\n' {
            out.push(b'\n');
        } else {
            crate::text::write_json_escape(&mut out, c);
        }
        start = i + c.len_utf8();
    }
    out.extend_from_slice(text.get(start..).unwrap_or_default().as_bytes());
    String::from_utf8(out).unwrap_or_default()
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
            format_version: json::FORMAT_VERSION,
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
    use super::{Collector, Lines, Options, Output, Session, Streams, capture_info, decode};
    use crate::capture::CaptureReader;
    use std::io::{self, Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// A waiting record holds at most twice its size, whatever came before it: a small one
    /// after a large one is copied out of the large buffer.
    #[test]
    fn waiting_records_hold_at_most_twice_their_size() {
        let mut streams = Streams {
            out: Lines::new(Vec::new()),
            pending: Default::default(),
            spare: Vec::new(),
            written: 0,
        };
        // Place 0 never completes here: everything waits.
        for (place, size) in [(1, 100_000), (2, 10), (3, 90_000), (4, 50), (5, 100_000)] {
            streams.out.line.clear();
            streams.out.line.resize(size, b'x');
            streams.push(place, 0);
        }
        for (place, record) in &streams.pending {
            assert!(
                record.capacity() <= 2 * record.len(),
                "place {place}: {} for {}",
                record.capacity(),
                record.len()
            );
        }
        streams.release(u64::MAX);
        assert_eq!(streams.written, 5);
        assert!(streams.pending.is_empty());
    }

    /// A call held for pooled inference goes out when its connection ends, with the stream
    /// it held back, not at the end of the capture; the connection's evidence goes with it.
    #[test]
    fn held_calls_go_out_when_their_connection_ends() {
        use crate::capture::Timestamp;
        use crate::grpc::Framed;
        use crate::grpc::GrpcStream;
        use crate::grpc::{CallBody, CallConfig};
        use crate::http2::hpack::{HeaderField, Text};
        use crate::pipeline::Calls;
        use crate::reassembly::ConnStats;
        use crate::session::{ConnectionInfo, ConnectionRecord, H2Sink, Protocol};
        let protos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/protos");
        let mut options = Options::default();
        options.descriptors.add_protos(&[protos], &[]).unwrap();
        let collector = Collector::compact(&options, Vec::new());
        let mut calls = Calls::new(collector.pipeline_options(&options), collector);
        let info = |id| ConnectionInfo {
            id,
            client: "10.0.0.1:1000".parse().unwrap(),
            server: "10.0.0.2:50051".parse().unwrap(),
        };
        // A gRPC call whose `:path` is an unknown table entry (a pool key), or a plain one.
        let call = |id, unknown: bool| {
            let mut s = GrpcStream::new(id, Timestamp(0), None);
            let field = |name: &str, value: &str| HeaderField {
                name: Text::Known(name.into()),
                value: Text::Known(value.into()),
                never_indexed: false,
                unknown_index: None,
                unknown_entry: None,
            };
            let mut headers = vec![field(":method", "POST")];
            if unknown {
                headers.push(HeaderField {
                    name: Text::Unknown,
                    value: Text::Unknown,
                    unknown_index: Some(62),
                    unknown_entry: Some(1),
                    ..field("", "")
                });
            } else {
                headers.push(field(":path", "/h2scope.demo.v1.Inventory/GetItem"));
            }
            s.request_headers = Some(headers);
            let mut g = CallBody::new(
                None,
                &CallConfig {
                    keep_bodies: true,
                    max_message: 1 << 20,
                    max_decompressed: 1 << 20,
                },
            );
            // GetItemRequest {id: "abc"}: evidence for the pool.
            g.frames[0].push(Framed::whole(0, b"\x0a\x03abc"));
            s.body = Some(g);
            s
        };
        let stats = ConnStats::new(info(1).client, info(1).server, true, Timestamp(0));
        let record = |id| ConnectionRecord {
            info: info(id),
            protocol: Protocol::Http2,
            joined_mid_connection: true,
            h2c_upgrade: false,
            tunnel: None,
            tls: None,
            settings: Default::default(),
            pings: Vec::new(),
            goaways: Vec::new(),
            window: None,
            streams: 1,
            frames: Vec::new(),
            frame_count: 0,
            anomalies: Vec::new(),
            tcp: stats.clone(),
        };
        let written = |c: &Collector<Vec<u8>>| match &c.output {
            Output::Compact { streams, .. } => (streams.written, streams.pending.len()),
            _ => unreachable!(),
        };
        // Connection 1's call is held; connection 2's, opened after it, waits behind it.
        calls.opened(&info(1), 1);
        calls.opened(&info(2), 1);
        calls.stream(&info(1), call(1, true));
        calls.stream(&info(2), call(1, false));
        assert_eq!(calls.held(), 1);
        assert_eq!(written(calls.sink()), (0, 1));
        let key = (1, vec![1]);
        assert_eq!(calls.pool().evidence(Some(&key))[0].len(), 1);
        // Connection 2 ending changes nothing for connection 1's call.
        calls.connection(record(2));
        assert_eq!(written(calls.sink()), (0, 1));
        // Connection 1 ends: its call goes out in its place, then the one it held back.
        calls.connection(record(1));
        assert_eq!(calls.held(), 0);
        assert_eq!(written(calls.sink()), (2, 0));
        assert!(calls.pool().evidence(Some(&key))[0].is_empty());
    }

    /// The capture, handed out 4 KiB a read, counting what was taken.
    struct Counted {
        data: Vec<u8>,
        taken: Arc<AtomicUsize>,
    }

    impl Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let at = self.taken.load(Ordering::SeqCst);
            let n = buf.len().min(4096).min(self.data.len() - at);
            buf[..n].copy_from_slice(&self.data[at..at + n]);
            self.taken.store(at + n, Ordering::SeqCst);
            Ok(n)
        }
    }

    /// Output, with how much of the capture had been taken at each write.
    struct Watched {
        taken: Arc<AtomicUsize>,
        at_writes: Arc<Mutex<Vec<usize>>>,
    }

    impl Write for Watched {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let taken = self.taken.load(Ordering::SeqCst);
            self.at_writes.lock().unwrap().push(taken);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The compact document goes out while the capture is read; a pretty one, held, only
    /// once it has all been read. (That the two hold the same records is
    /// `cli::the_compact_writer_writes_what_serde_json_writes`.)
    #[test]
    fn a_compact_document_is_written_while_the_capture_is_read() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/grpc-roundrobin.pcapng"
        );
        let data = std::fs::read(path).unwrap();
        let total = data.len();
        let options = Options {
            frames: true,
            ..Options::default()
        };
        let run = |pretty: bool| {
            let taken = Arc::new(AtomicUsize::new(0));
            let at_writes = Arc::new(Mutex::new(Vec::new()));
            let counted = Counted {
                data: data.clone(),
                taken: Arc::clone(&taken),
            };
            let mut reader = CaptureReader::from_reader(counted).unwrap();
            let out = Watched {
                taken,
                at_writes: Arc::clone(&at_writes),
            };
            let mut session = Session::new(&options, false, pretty, out);
            let (summary, error) = decode(&mut reader, &options, session.sink());
            assert!(error.is_none());
            let capture = capture_info("-", &reader, &summary, None);
            session.finish(capture).unwrap();
            at_writes.lock().unwrap().first().copied()
        };
        // Held to the end: written once the whole capture was taken.
        assert_eq!(run(true), Some(total));
        // Written as it goes: its first 64 KiB (the writer's buffer) before the capture's
        // end. Only just before, on this small capture: a complete stream lingers for 32
        // more frames of its connection in case late frames come (`LINGER_FRAMES`), and
        // these connections are quiet at their end.
        let first = run(false).unwrap();
        assert!(first < total, "first write after {first} of {total} bytes");
    }

    #[test]
    fn streams_come_out_in_the_order_they_opened() {
        let mut order = crate::pipeline::OpenOrder::default();
        let mut streams = Streams {
            out: Lines::new(Vec::new()),
            pending: Default::default(),
            spare: Vec::new(),
            written: 0,
        };
        // Connection 7 opens streams 1, 3, 5; connection 9 opens 1 between them.
        for (conn, id) in [(7, 1), (7, 3), (9, 1), (7, 5)] {
            order.opened(conn, id);
        }
        let mut complete = |conn: u64, id: u32| {
            let place = order.done(conn, id);
            streams.out.line = format!("\"{conn}/{id}\"").into_bytes();
            streams.push(place, order.first_open());
            (streams.written, streams.pending.len())
        };
        // Each completes behind one opened before it, until that one does.
        assert_eq!(complete(9, 1), (0, 1));
        assert_eq!(complete(7, 3), (0, 2));
        assert_eq!(complete(7, 1), (3, 0));
        // Never opened (a sink that skipped `opened`): placed after everything so far.
        assert_eq!(complete(8, 2), (3, 1));
        assert_eq!(complete(7, 5), (5, 0));
        let out = streams.out.out.into_inner().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"streams":["7/1","7/3","9/1","7/5","8/2""#
        );
    }
}
