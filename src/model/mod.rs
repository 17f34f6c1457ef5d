//! The model: what the views aggregate from the records the pipeline delivers (backends:
//! which server served how many calls).

pub mod record;

use crate::capture::Timestamp;
use crate::session::ConnectionRecord;
use record::CallRecord;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The hasher of the maps touched for every packet or stream: foldhash (seeded per
/// process), not SipHash.
type Fast = foldhash::fast::RandomState;

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

    pub fn stream(&mut self, s: &CallRecord) {
        let label = self.label_header.as_deref().and_then(|name| {
            CallRecord::field(&s.response_headers, name)
                .or_else(|| CallRecord::field(&s.trailers, name))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let b = self.entry(s.server, s.start);
        b.last_seen = b.last_seen.max(s.end);
        b.streams += 1;
        if label.is_some() {
            b.label = label;
        }
        if let Some(call) = &s.grpc {
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
