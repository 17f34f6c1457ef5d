//! The model: routes each TCP connection's byte streams to its HTTP/2 state, and keeps the
//! aggregates the views need (backends: which server served how many calls).
//!
//! `Tracker` is the reassembly sink; it owns the live connections and hands completed
//! streams and connections to an [`H2Sink`]. `Backends` aggregates per server.

use crate::capture::Timestamp;
use crate::grpc::call::{Call, CallInput, decode_call};
use crate::grpc::{
    CallBody, CallConfig, Descriptors, FrameKind, GrpcConnection, GrpcStream, parse_web_trailers,
};
use crate::http2::hpack::Text;
use crate::reassembly::{ConnId, ConnStats, StreamEvent, StreamSink};
use crate::session::{self, ConnectionInfo, ConnectionRecord, H2Sink};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The hasher of the maps touched for every packet or stream: foldhash (seeded per
/// process), not SipHash.
type Fast = foldhash::fast::RandomState;

/// Live capture: how long a complete stream waits for frames still in flight (a reset's
/// stragglers) before it is reported, when no more frames come to count its linger.
const LIVE_STREAM_LINGER_NS: i64 = 200_000_000;

/// Routes reassembly events to per-connection HTTP/2 decoding.
pub struct Tracker<S> {
    config: session::Config<CallConfig>,
    /// Looked up for every reassembly event.
    conns: HashMap<ConnId, GrpcConnection, Fast>,
    /// Connections whose bytes all arrived (FIN or RST), as their small records, until
    /// reassembly closes them (it waits for trailing packets).
    ended: HashMap<ConnId, session::Ended, Fast>,
    sink: S,
}

impl<S: H2Sink<Body = CallBody>> Tracker<S> {
    pub fn new(config: session::Config<CallConfig>, sink: S) -> Self {
        Tracker {
            config,
            conns: HashMap::default(),
            ended: HashMap::default(),
            sink,
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn into_sink(self) -> S {
        self.sink
    }
}

impl<S: H2Sink<Body = CallBody>> StreamSink for Tracker<S> {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                handshake,
                ..
            } => {
                let c = GrpcConnection::new(self.config.clone(), conn, client, server, handshake);
                self.conns.insert(conn, c);
            }
            StreamEvent::Data {
                conn,
                dir,
                ts,
                packet,
                data,
            } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.data(dir, ts, packet, data, &mut self.sink);
                }
            }
            StreamEvent::Gap {
                conn,
                dir,
                ts,
                packet,
                len,
            } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.gap(dir, ts, packet, len, &mut self.sink);
                }
            }
            StreamEvent::Anomaly { .. } => {}
            StreamEvent::Closed { conn, stats, .. } => {
                if let Some(c) = self.conns.remove(&conn) {
                    c.close(stats, &mut self.sink);
                } else if let Some(e) = self.ended.remove(&conn) {
                    e.close(stats, &mut self.sink);
                }
            }
        }
    }

    fn tick(&mut self, now: Timestamp) {
        let before = Timestamp(now.0.saturating_sub(LIVE_STREAM_LINGER_NS));
        for c in self.conns.values_mut() {
            c.flush_lingering(before, &mut self.sink);
        }
    }

    fn ended(&mut self, conn: ConnId, stats: &ConnStats) {
        // A connection with bytes half-decoded waits for `Closed`: closing adds to it then.
        if self.conns.get(&conn).is_some_and(GrpcConnection::is_idle)
            && let Some(c) = self.conns.remove(&conn)
        {
            let e = c.end(stats, &mut self.sink);
            self.ended.insert(conn, e);
        }
    }
}

/// Evidence for inferring methods, shared by the calls of a connection whose `:path` is the
/// same unknown dynamic-table entry (encoders such as grpcio index `:path` once per
/// connection and refer to it ever after, so a capture joined mid-connection sees none).
/// One discriminating message (a field only one candidate type has) then settles every
/// call of that method. Bounded: a few bodies per direction per key, a few thousand keys;
/// a connection's evidence is dropped when it ends ([`forget`](Self::forget)).
#[derive(Debug, Default)]
pub struct InferencePool {
    /// By connection, then by the unknown entries: a connection's keys go in one step.
    by_conn: HashMap<ConnId, HashMap<Vec<u64>, Evidence, Fast>, Fast>,
    keys: usize,
}

/// Message bodies of the calls under one key: requests, responses.
type Evidence = [Vec<Vec<u8>>; 2];

/// A connection and the unknown entries its request headers referred to.
pub type PoolKey = (ConnId, Vec<u64>);

const MAX_POOLED_BODIES: usize = 32;
const MAX_POOL_KEYS: usize = 4096;
const NO_BODIES: &[Vec<u8>] = &[];

impl InferencePool {
    /// The key of a call whose `:path` was not readable because of unknown table entries.
    pub fn key(conn: ConnId, s: &GrpcStream) -> Option<PoolKey> {
        let headers = s.request_headers.as_ref()?;
        if s.body.is_none() || GrpcStream::field(&s.request_headers, ":path").is_some() {
            return None;
        }
        let mut entries: Vec<u64> = headers.iter().filter_map(|f| f.unknown_entry).collect();
        entries.sort_unstable();
        entries.dedup();
        (!entries.is_empty()).then_some((conn, entries))
    }

    /// Adds a call's complete, uncompressed message bodies to its key's evidence.
    pub fn add(&mut self, key: &PoolKey, s: &GrpcStream) {
        let Some(g) = s.body.as_ref() else {
            return;
        };
        let conn = self.by_conn.entry(key.0).or_default();
        let pooled = match conn.get_mut(&key.1) {
            Some(p) => p,
            None if self.keys >= MAX_POOL_KEYS => return,
            None => {
                self.keys += 1;
                conn.entry(key.1.clone()).or_default()
            }
        };
        for (d, frames) in g.frames.iter().enumerate() {
            for f in frames {
                if pooled[d].len() >= MAX_POOLED_BODIES {
                    break;
                }
                if f.is_complete() && !f.compressed && !f.body.is_empty() {
                    pooled[d].push(f.body.clone());
                }
            }
        }
    }

    pub fn evidence(&self, key: Option<&PoolKey>) -> [&[Vec<u8>]; 2] {
        match key.and_then(|(conn, entries)| self.by_conn.get(conn)?.get(entries)) {
            Some([a, b]) => [a.as_slice(), b.as_slice()],
            None => [NO_BODIES, NO_BODIES],
        }
    }

    /// Drops the evidence of a connection that has ended: no call can join its keys now
    /// (a key names its connection).
    pub fn forget(&mut self, conn: ConnId) {
        if let Some(keys) = self.by_conn.remove(&conn) {
            self.keys -= keys.len();
        }
    }
}

/// The gRPC call a stream carried, decoded through `descriptors`; `None` for other streams.
/// `pooled` is evidence from calls that share its unknown `:path` (see [`InferencePool`]).
///
/// `json_text`: messages decoded with a schema come as compact JSON text
/// ([`crate::grpc::call::Message::json_text`]), for output that only writes them.
pub fn grpc_call(
    s: &mut GrpcStream,
    descriptors: &Descriptors,
    no_bodies: bool,
    json_text: bool,
    pooled: [&[Vec<u8>]; 2],
) -> Option<Call> {
    let complete = s.is_complete();
    // Mutable for the message bodies, which move into the call (see `CallInput::request`).
    let g = s.body.as_mut()?;
    // Borrowed from the header lists (copies of every trailer were a few percent of an
    // export without bodies); gRPC-Web's trailers, parsed from the body, are owned.
    type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, [u8]>)>;
    fn text(list: &Option<Vec<crate::http2::hpack::HeaderField>>) -> Pairs<'_> {
        list.iter()
            .flatten()
            .filter_map(|f| match (&f.name, &f.value) {
                (Text::Known(n), Text::Known(v)) => {
                    // Valid text checked first: from_utf8_lossy's own check is slower.
                    let name = match std::str::from_utf8(n) {
                        Ok(text) => Cow::Borrowed(text),
                        Err(_) => String::from_utf8_lossy(n),
                    };
                    Some((name, Cow::Borrowed(v.as_slice())))
                }
                _ => None,
            })
            .collect()
    }
    // Trailers, or for a trailers-only response (RFC 9113 §8.1, gRPC's "Trailers-Only")
    // the response headers; gRPC-Web carries them in the body.
    let mut trailers = text(&s.trailers);
    if trailers.is_empty() && GrpcStream::field(&s.response_headers, "grpc-status").is_some() {
        trailers = text(&s.response_headers);
    }
    for f in g.frames[1]
        .iter()
        .filter(|f| f.kind == FrameKind::WebTrailers)
    {
        trailers.extend(
            parse_web_trailers(&f.body)
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v))),
        );
    }
    let [request, response] = &mut g.frames;
    let mut input = CallInput {
        path: GrpcStream::field(&s.request_headers, ":path")
            .and_then(|p| std::str::from_utf8(p).ok()),
        kind: g.kind.clone(),
        request_encoding: GrpcStream::field(&s.request_headers, "grpc-encoding"),
        response_encoding: GrpcStream::field(&s.response_headers, "grpc-encoding"),
        trailers: trailers
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect(),
        request,
        response,
        bodies_dropped: g.bodies_dropped,
        reset: s
            .reset
            .map(|(from, e)| (e.0, from == crate::role::Role::Client)),
        complete,
        no_bodies,
        max_decompressed: g.max_decompressed,
        pooled,
        json_text,
    };
    Some(decode_call(&mut input, descriptors))
}

/// One backend: a server endpoint and what it served.
#[derive(Clone, Debug, PartialEq)]
pub struct Backend {
    pub server: SocketAddr,
    /// From `--backend-header`: the value the server reported about itself.
    pub label: Option<String>,
    pub connections: u64,
    pub streams: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub grpc_calls: u64,
    /// gRPC calls by status name (`OK`, `NOT_FOUND`, ...; `none` when no status was seen).
    pub grpc_status: BTreeMap<String, u64>,
    /// Durations of its gRPC calls, in ms (kept for percentiles: 8 bytes a call).
    pub grpc_latencies_ms: Vec<f64>,
}

impl Backend {
    /// The `q`-quantile (0..=1) of gRPC call latency, nearest rank.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let mut v = self.grpc_latencies_ms.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

/// Per-server aggregates, kept for the whole capture (one entry per server: small).
#[derive(Debug, Default)]
pub struct Backends {
    /// Lower-cased header name whose value labels the backend.
    label_header: Option<String>,
    by_server: HashMap<SocketAddr, Backend, Fast>,
}

impl Backends {
    pub fn new(label_header: Option<&str>) -> Self {
        Backends {
            label_header: label_header.map(str::to_ascii_lowercase),
            by_server: HashMap::default(),
        }
    }

    fn entry(&mut self, server: SocketAddr, ts: Timestamp) -> &mut Backend {
        let b = self.by_server.entry(server).or_insert_with(|| Backend {
            server,
            label: None,
            connections: 0,
            streams: 0,
            first_seen: ts,
            last_seen: ts,
            grpc_calls: 0,
            grpc_status: BTreeMap::new(),
            grpc_latencies_ms: Vec::new(),
        });
        b.first_seen = b.first_seen.min(ts);
        b.last_seen = b.last_seen.max(ts);
        b
    }

    pub fn stream(&mut self, conn: &ConnectionInfo, s: &GrpcStream, call: Option<&Call>) {
        let label = self.label_header.as_deref().and_then(|name| {
            GrpcStream::field(&s.response_headers, name)
                .or_else(|| GrpcStream::field(&s.trailers, name))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let b = self.entry(conn.server, s.start);
        b.last_seen = b.last_seen.max(s.end);
        b.streams += 1;
        if label.is_some() {
            b.label = label;
        }
        if let Some(call) = call {
            b.grpc_calls += 1;
            let status = match (call.status_name, call.status) {
                (Some(n), _) => n.to_string(),
                (None, Some(code)) => code.to_string(),
                (None, None) => "none".to_string(),
            };
            *b.grpc_status.entry(status).or_default() += 1;
            b.grpc_latencies_ms
                .push(s.end.saturating_sub(s.start) as f64 / 1e6);
        }
    }

    /// Counts a connection that carried HTTP/2.
    pub fn connection(&mut self, c: &ConnectionRecord) {
        let b = self.entry(c.info.server, c.tcp.start);
        b.last_seen = b.last_seen.max(c.tcp.end);
        b.connections += 1;
    }

    /// Backends by streams served, most first (ties by address, for stable output).
    pub fn sorted(&self) -> Vec<&Backend> {
        let mut v: Vec<&Backend> = self.by_server.values().collect();
        v.sort_by(|a, b| b.streams.cmp(&a.streams).then(a.server.cmp(&b.server)));
        v
    }
}
