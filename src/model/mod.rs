//! The model: routes each TCP connection's byte streams to its HTTP/2 state, and keeps the
//! aggregates the views need (backends: which server served how many calls).
//!
//! `Tracker` is the reassembly sink; it owns the live connections and hands completed
//! streams and connections to an [`H2Sink`]. `Backends` aggregates per server.

use crate::capture::Timestamp;
use crate::connection::{self, Connection, ConnectionInfo, ConnectionRecord, H2Sink, Stream};
use crate::reassembly::{ConnId, StreamEvent, StreamSink};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Routes reassembly events to per-connection HTTP/2 decoding.
pub struct Tracker<S> {
    config: connection::Config,
    conns: HashMap<ConnId, Connection>,
    sink: S,
}

impl<S: H2Sink> Tracker<S> {
    pub fn new(config: connection::Config, sink: S) -> Self {
        Tracker {
            config,
            conns: HashMap::new(),
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

impl<S: H2Sink> StreamSink for Tracker<S> {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                handshake,
                ..
            } => {
                let c = Connection::new(self.config.clone(), conn, client, server, handshake);
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
                }
            }
        }
    }
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
}

/// Per-server aggregates, kept for the whole capture (one entry per server: small).
#[derive(Debug, Default)]
pub struct Backends {
    /// Lower-cased header name whose value labels the backend.
    label_header: Option<String>,
    by_server: HashMap<SocketAddr, Backend>,
}

impl Backends {
    pub fn new(label_header: Option<&str>) -> Self {
        Backends {
            label_header: label_header.map(str::to_ascii_lowercase),
            by_server: HashMap::new(),
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
        });
        b.first_seen = b.first_seen.min(ts);
        b.last_seen = b.last_seen.max(ts);
        b
    }

    pub fn stream(&mut self, conn: &ConnectionInfo, s: &Stream) {
        let label = self.label_header.as_deref().and_then(|name| {
            Stream::field(&s.response_headers, name)
                .or_else(|| Stream::field(&s.trailers, name))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let b = self.entry(conn.server, s.start);
        b.last_seen = b.last_seen.max(s.end);
        b.streams += 1;
        if label.is_some() {
            b.label = label;
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
