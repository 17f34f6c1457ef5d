//! The UI's model: every record received so far, and the aggregates the views show.
//!
//! Owned by the UI thread alone and changed only by [`Model::apply`]. Calls are numbered
//! as they arrive, and a number names a call for the whole session (views keep numbers,
//! not positions): [`Model::call`] finds it while it is kept. With a window
//! ([`Model::with_keep_calls`], `sniff --keep-calls`), the oldest calls beyond it are
//! evicted, and the connections whose records are beyond it too, so hours of live capture
//! hold a bounded number of calls; the backends keep counting them (calls, errors,
//! connections, and latency in a histogram of bounded size once exact values would grow
//! past [`EXACT_LATENCIES`]). Text here is raw, as captured: the render functions escape
//! it on its way to the terminal.

use super::feed::{CallRecord, Progress, Record, Update};
use crate::model::record::ConnId;
use crate::model::record::ErrorCode;
use crate::model::record::Message;
use crate::model::record::Role;
use crate::model::record::{ConnectionRecord, Protocol};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;

/// A call (an HTTP/2 stream) as the views see it.
#[derive(Clone, Debug)]
pub struct CallEntry {
    pub rec: CallRecord,
    /// The value of the backend header on this call, when configured and present.
    pub label: Option<String>,
    // Read once from the header lists: sorting and filtering compare them millions of times.
    http_status: Option<u16>,
    error: bool,
    path: Option<Box<[u8]>>,
    /// Index of `name(true)` in `Model::names`.
    pub name_id: u32,
}

impl CallEntry {
    pub fn new(rec: CallRecord, label: Option<String>) -> Self {
        let http_status = rec
            .response_headers
            .as_deref()
            .and_then(crate::model::record::status_of);
        let error = rec
            .grpc
            .as_ref()
            .and_then(|g| g.status)
            .is_some_and(|s| s != 0)
            || http_status.is_some_and(|s| s >= 500)
            || rec.reset.is_some_and(|(_, code)| code != ErrorCode(0));
        let path = CallRecord::field(&rec.request_headers, ":path").map(Box::from);
        CallEntry {
            rec,
            label,
            http_status,
            error,
            path,
            name_id: 0,
        }
    }

    pub fn duration_ns(&self) -> i64 {
        self.rec.end.saturating_sub(self.rec.start).max(0)
    }

    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The gRPC status code, when the call is gRPC and one is known (or mapped from a reset).
    pub fn grpc_status(&self) -> Option<u32> {
        self.rec.grpc.as_ref()?.status
    }

    /// What the status column says: the gRPC status name, else the HTTP status, else how
    /// the stream ended.
    pub fn status_text(&self) -> String {
        if let Some(g) = &self.rec.grpc {
            match (g.status_name, g.status) {
                (Some(n), _) => return n.to_string(),
                (None, Some(c)) => return c.to_string(),
                _ => {}
            }
        }
        if let Some((_, code)) = self.rec.reset {
            return format!("RST {}", error_code_name(code));
        }
        if let Some(s) = self.http_status() {
            return s.to_string();
        }
        if self.rec.complete { "-" } else { "cut off" }.to_string()
    }

    /// A non-OK gRPC status, an HTTP status of 500 or more, or a reset with an error code.
    pub fn is_error(&self) -> bool {
        self.error
    }

    pub fn path(&self) -> Option<&[u8]> {
        self.path.as_deref()
    }

    pub fn method(&self) -> Option<&[u8]> {
        CallRecord::field(&self.rec.request_headers, ":method")
    }

    /// `Service/Method` for gRPC (the service without its package), else `METHOD /path`.
    /// Raw: through `text::visible` before display.
    pub fn name(&self, long: bool) -> Vec<u8> {
        if let Some(g) = &self.rec.grpc
            && let (Some(s), Some(m)) = (&g.service, &g.method)
        {
            let s = if long {
                s.as_str()
            } else {
                s.rsplit('.').next().unwrap_or(s)
            };
            return format!("{s}/{m}").into_bytes();
        }
        let mut out = Vec::new();
        if let Some(m) = self.method() {
            out.extend_from_slice(m);
            out.push(b' ');
        }
        match self.path() {
            Some(p) => out.extend_from_slice(p),
            None => out.extend_from_slice(b"?"),
        }
        out
    }

    /// Every gRPC message of both directions, by time (requests first on ties).
    pub fn messages(&self) -> Vec<(Role, &Message)> {
        let Some(g) = &self.rec.grpc else {
            return Vec::new();
        };
        let mut v: Vec<(Role, &Message)> = g
            .request_messages
            .iter()
            .map(|m| (Role::Client, m))
            .chain(g.response_messages.iter().map(|m| (Role::Server, m)))
            .collect();
        v.sort_by_key(|(d, m)| (m.ts, *d));
        v
    }

    /// Orders calls by outcome: fine ones first, then by status (no allocation).
    pub fn status_key(&self) -> (bool, Option<u32>, Option<u16>, Option<u32>) {
        (
            self.is_error(),
            self.grpc_status(),
            self.http_status(),
            self.rec.reset.map(|(_, c)| c.0),
        )
    }

    pub fn message_counts(&self) -> Option<(usize, usize)> {
        let g = self.rec.grpc.as_ref()?;
        Some((g.request_messages.len(), g.response_messages.len()))
    }
}

pub fn error_code_name(code: ErrorCode) -> String {
    code.name()
        .map_or_else(|| format!("0x{:x}", code.0), str::to_string)
}

/// Call durations kept exactly per backend; beyond this they go into a histogram.
pub const EXACT_LATENCIES: usize = 1 << 16;

/// Mantissa bits of a histogram bucket: values within 1/128 (0.8%) share a bucket.
const BUCKET_BITS: u32 = 7;

/// Call durations (ns), for percentiles: exact while few, then a log-linear histogram
/// whose size depends on the spread of the values, not on their number.
#[derive(Clone, Debug, PartialEq)]
enum Latencies {
    /// In no particular order (percentiles are selected from it).
    Exact(Vec<i64>),
    /// Bucket (see [`bucket`]) to count, and the number of values.
    Histogram(BTreeMap<u32, u64>, u64),
}

/// The histogram bucket of `v`: exact below 128, then the top [`BUCKET_BITS`] bits of the
/// mantissa under each power of two; buckets order as their values do.
fn bucket(v: i64) -> u32 {
    let v = v.max(0) as u64;
    let e = 63 - v.max(1).leading_zeros();
    if e < BUCKET_BITS {
        return v as u32;
    }
    let mantissa = (v >> (e - BUCKET_BITS)) & ((1 << BUCKET_BITS) - 1);
    (e << BUCKET_BITS) | mantissa as u32
}

/// The smallest value of a bucket.
fn bucket_floor(b: u32) -> i64 {
    let e = b >> BUCKET_BITS;
    if e < BUCKET_BITS {
        return i64::from(b);
    }
    let mantissa = u64::from(b & ((1 << BUCKET_BITS) - 1)) | (1 << BUCKET_BITS);
    (mantissa << (e - BUCKET_BITS)) as i64
}

impl Latencies {
    fn push(&mut self, v: i64) {
        match self {
            Latencies::Exact(all) if all.len() < EXACT_LATENCIES => all.push(v),
            Latencies::Exact(all) => {
                let mut h = BTreeMap::new();
                for x in all.iter().copied().chain([v]) {
                    *h.entry(bucket(x)).or_insert(0) += 1;
                }
                *self = Latencies::Histogram(h, all.len() as u64 + 1);
            }
            Latencies::Histogram(h, n) => {
                *h.entry(bucket(v)).or_insert(0) += 1;
                *n += 1;
            }
        }
    }

    /// The `q`-quantile (0..=1), nearest rank. Exact values: a selection, O(n), which
    /// reorders them (kept unsorted: sorted insertion is quadratic over a long capture,
    /// and this runs once per batch, not once per call). Histogram: its bucket's floor.
    fn quantile(&mut self, q: f64) -> Option<i64> {
        let rank = |n: u64| ((q * n as f64).ceil() as u64).clamp(1, n);
        match self {
            Latencies::Exact(all) if all.is_empty() => None,
            Latencies::Exact(all) => {
                let r = rank(all.len() as u64) as usize;
                Some(*all.select_nth_unstable(r - 1).1)
            }
            Latencies::Histogram(h, n) => {
                let r = rank(*n);
                let mut seen = 0;
                h.iter().find_map(|(&b, &count)| {
                    seen += count;
                    (seen >= r).then(|| bucket_floor(b))
                })
            }
        }
    }

    fn is_exact(&self) -> bool {
        matches!(self, Latencies::Exact(_))
    }
}

/// One server and the calls it served.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendStats {
    pub server: SocketAddr,
    pub label: Option<String>,
    pub calls: u64,
    pub errors: u64,
    latencies: Latencies,
    /// Nearest-rank p50 and p99 of the call durations, refreshed after each batch.
    pub p50: Option<i64>,
    pub p99: Option<i64>,
    /// Calls were added since the percentiles were computed.
    stale: bool,
    /// HTTP/2 connections to it that the model still knows by id.
    pub conns: BTreeSet<ConnId>,
    /// Its connections the model forgot (ended, beyond the window): counted, not kept.
    pub conns_forgotten: u64,
}

impl BackendStats {
    fn new(server: SocketAddr) -> Self {
        BackendStats {
            server,
            label: None,
            calls: 0,
            errors: 0,
            latencies: Latencies::Exact(Vec::new()),
            p50: None,
            p99: None,
            stale: false,
            conns: BTreeSet::new(),
            conns_forgotten: 0,
        }
    }

    /// Its HTTP/2 connections, forgotten ones included.
    pub fn connections(&self) -> u64 {
        self.conns.len() as u64 + self.conns_forgotten
    }

    /// Whether p50 and p99 are exact (else within 0.8%, from the histogram).
    pub fn exact_latencies(&self) -> bool {
        self.latencies.is_exact()
    }

    fn refresh(&mut self) {
        if self.stale {
            self.p50 = self.latencies.quantile(0.5);
            self.p99 = self.latencies.quantile(0.99);
            self.stale = false;
        }
    }
}

/// How the calls spread over the backends: the load-balancing verdict.
#[derive(Clone, Debug, PartialEq)]
pub enum Spread {
    /// No calls yet.
    Empty,
    /// Every call went to one backend.
    Single { calls: u64, conns: usize },
    /// Every backend has between half and one and a half times its fair share.
    Even { backends: usize },
    /// Some backend is far from its fair share: `server` has `share` (0..=1) of the calls.
    Uneven {
        server: SocketAddr,
        share: f64,
        fair: f64,
    },
}

/// How the source is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceState {
    Reading,
    Done,
    /// Reading stopped at damage; everything before it is shown.
    Damaged(String),
}

#[derive(Debug)]
pub struct Model {
    /// What is being shown (the file name, or `live:IFACE`).
    pub source: String,
    /// A live capture rather than a file: the header speaks of capturing, not reading.
    pub live: bool,
    /// Lower-cased header naming the backend that served a call.
    pub label_header: Option<String>,
    /// The calls kept: numbers `evicted..evicted + calls.len()`.
    /// Boxed: a call is over 600 bytes, and growing the queue moved every one of them
    /// at once (a 200 ms stall past 100,000 calls, under a key press); a box moves 8 bytes.
    calls: VecDeque<Box<CallEntry>>,
    /// Calls evicted (the oldest, beyond the window): the number of the first kept call.
    pub evicted: usize,
    /// Completed calls kept at most (`None`: all).
    pub keep_calls: Option<usize>,
    /// Ended connections (within the window).
    pub connections: BTreeMap<ConnId, ConnectionRecord>,
    /// Every connection known, ended or seen through its calls, and not forgotten.
    pub conn_ids: BTreeSet<ConnId>,
    /// Ended connections forgotten beyond the window: counted, not kept.
    pub conns_forgotten: u64,
    /// Kept calls per connection (call numbers, ascending).
    pub by_conn: HashMap<ConnId, Vec<usize>>,
    /// Most calls first, ties by address.
    pub backends: Vec<BackendStats>,
    pub progress: Progress,
    pub state: SourceState,
    pub grpc_calls: u64,
    /// Anomalies of streams and connections (capture-level ones are in `progress`).
    pub protocol_anomalies: u64,
    /// Bumped by every change, so views know when to recompute what they derive.
    pub generation: u64,
    /// Calls were applied since the backends were last [settled](Self::settle).
    unsettled: bool,
    /// Distinct call names (`CallEntry::name(true)`), interned so that sorting by name
    /// compares small numbers.
    pub names: Vec<Vec<u8>>,
    name_ids: HashMap<Vec<u8>, u32>,
}

impl Model {
    pub fn new(source: impl Into<String>, label_header: Option<&str>) -> Self {
        Model {
            source: source.into(),
            live: false,
            label_header: label_header.map(str::to_ascii_lowercase),
            calls: VecDeque::new(),
            evicted: 0,
            keep_calls: None,
            connections: BTreeMap::new(),
            conn_ids: BTreeSet::new(),
            conns_forgotten: 0,
            by_conn: HashMap::new(),
            backends: Vec::new(),
            progress: Progress::default(),
            state: SourceState::Reading,
            grpc_calls: 0,
            protocol_anomalies: 0,
            generation: 0,
            unsettled: false,
            names: Vec::new(),
            name_ids: HashMap::new(),
        }
    }

    /// A model for a live capture.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// Keeps at most `n` calls (and `n` ended connections), evicting the oldest.
    pub fn with_keep_calls(mut self, n: Option<usize>) -> Self {
        self.keep_calls = n;
        self
    }

    /// The call numbered `id`, while it is kept.
    pub fn call(&self, id: usize) -> Option<&CallEntry> {
        self.calls.get(id.checked_sub(self.evicted)?).map(|c| &**c)
    }

    /// The kept calls, oldest first.
    pub fn calls(&self) -> impl Iterator<Item = &CallEntry> {
        self.calls.iter().map(|c| &**c)
    }

    /// Calls kept now.
    pub fn kept_calls(&self) -> usize {
        self.calls.len()
    }

    /// Every call received, evicted ones included (the next call's number).
    pub fn total_calls(&self) -> usize {
        self.evicted + self.calls.len()
    }

    /// HTTP/2 and other connections seen, forgotten ones included.
    pub fn total_connections(&self) -> u64 {
        self.conn_ids.len() as u64 + self.conns_forgotten
    }

    /// Evicts the oldest calls and ended connections beyond the window.
    fn evict(&mut self) {
        let Some(keep) = self.keep_calls else {
            return;
        };
        while self.calls.len() > keep {
            let Some(c) = self.calls.pop_front() else {
                break;
            };
            let id = self.evicted;
            self.evicted += 1;
            if let Some(ids) = self.by_conn.get_mut(&c.rec.conn) {
                // Numbers ascend, so an evicted call is its connection's first.
                if ids.first() == Some(&id) {
                    ids.remove(0);
                }
                if ids.is_empty() {
                    self.by_conn.remove(&c.rec.conn);
                }
            }
        }
        // Ended connections beyond the window, oldest first, unless calls of theirs are
        // still kept (those go with their last call's window): no call of them will come,
        // so they are counted instead of kept.
        let excess = self.connections.len().saturating_sub(keep);
        if excess > 0 {
            let old: Vec<ConnId> = self
                .connections
                .keys()
                .filter(|id| !self.by_conn.contains_key(id))
                .take(excess)
                .copied()
                .collect();
            for id in old {
                let Some(c) = self.connections.remove(&id) else {
                    continue;
                };
                if self.conn_ids.remove(&id) {
                    self.conns_forgotten += 1;
                }
                if let Some(b) = self.backends.iter_mut().find(|b| b.server == c.info.server)
                    && b.conns.remove(&id)
                {
                    b.conns_forgotten += 1;
                }
            }
        }
    }

    /// Applies an update, then [`settle`](Self::settle)s.
    pub fn apply(&mut self, update: Update) {
        self.apply_unsettled(update);
        self.settle();
    }

    /// Applies an update but leaves the backends' percentiles and order as they were: a
    /// percentile is a selection over up to [`EXACT_LATENCIES`] durations per backend, so
    /// a burst of batches (the UI drains many between two frames) settles once, before it
    /// is drawn.
    pub fn apply_unsettled(&mut self, update: Update) {
        self.generation += 1;
        match update {
            Update::Records(records) => {
                for r in records {
                    match r {
                        Record::Call(c) => self.add_call(*c),
                        Record::Connection(c) => self.connection(*c),
                    }
                }
                self.evict();
                self.unsettled = true;
            }
            Update::Progress(p) => self.progress = p,
            Update::Finished { error } => {
                self.state = match error {
                    Some(e) => SourceState::Damaged(e),
                    None => SourceState::Done,
                }
            }
        }
    }

    /// Brings the backends' percentiles and order up to date with the calls applied.
    pub fn settle(&mut self) {
        if !std::mem::take(&mut self.unsettled) {
            return;
        }
        for b in &mut self.backends {
            b.refresh();
        }
        self.backends.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then(b.conns.len().cmp(&a.conns.len()))
                .then(a.server.cmp(&b.server))
        });
    }

    fn backend(&mut self, server: SocketAddr) -> &mut BackendStats {
        let i = match self.backends.iter().position(|b| b.server == server) {
            Some(i) => i,
            None => {
                self.backends.push(BackendStats::new(server));
                self.backends.len() - 1
            }
        };
        &mut self.backends[i]
    }

    fn add_call(&mut self, rec: CallRecord) {
        let label = self.label_header.as_deref().and_then(|name| {
            CallRecord::field(&rec.response_headers, name)
                .or_else(|| CallRecord::field(&rec.trailers, name))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let mut entry = CallEntry::new(rec, label);
        let name = entry.name(true);
        entry.name_id = match self.name_ids.get(&name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(name.clone());
                self.name_ids.insert(name, id);
                id
            }
        };
        let index = self.total_calls();
        let (conn, server, dur, err) = (
            entry.rec.conn,
            entry.rec.server,
            entry.duration_ns(),
            entry.is_error(),
        );
        if entry.rec.grpc.is_some() {
            self.grpc_calls += 1;
        }
        self.protocol_anomalies += entry.rec.anomalies.len() as u64;
        let b = self.backend(server);
        b.calls += 1;
        b.errors += u64::from(err);
        b.latencies.push(dur);
        b.stale = true;
        b.conns.insert(conn);
        if entry.label.is_some() {
            b.label.clone_from(&entry.label);
        }
        self.conn_ids.insert(conn);
        self.by_conn.entry(conn).or_default().push(index);
        self.calls.push_back(Box::new(entry));
    }

    fn connection(&mut self, c: ConnectionRecord) {
        self.conn_ids.insert(c.info.id);
        self.protocol_anomalies += c.anomalies.len() as u64;
        if c.protocol == Protocol::Http2 {
            self.backend(c.info.server).conns.insert(c.info.id);
        }
        self.connections.insert(c.info.id, c);
    }

    /// Total anomalies: capture, connections and streams.
    pub fn anomalies(&self) -> u64 {
        self.progress.capture_anomalies + self.protocol_anomalies
    }

    pub fn total_backend_calls(&self) -> u64 {
        self.backends.iter().map(|b| b.calls).sum()
    }

    pub fn spread(&self) -> Spread {
        let total = self.total_backend_calls();
        if total == 0 {
            return Spread::Empty;
        }
        let serving: Vec<&BackendStats> = self.backends.iter().filter(|b| b.calls > 0).collect();
        if serving.len() == 1 && self.backends.len() == 1 {
            return Spread::Single {
                calls: total,
                conns: serving[0].connections() as usize,
            };
        }
        let fair = 1.0 / self.backends.len() as f64;
        // Backends are sorted by calls: the first is the busiest, the last the idlest.
        let share = |b: &BackendStats| b.calls as f64 / total as f64;
        let (top, low) = (&self.backends[0], &self.backends[self.backends.len() - 1]);
        if share(top) > 1.5 * fair {
            Spread::Uneven {
                server: top.server,
                share: share(top),
                fair,
            }
        } else if share(low) < 0.5 * fair {
            Spread::Uneven {
                server: low.server,
                share: share(low),
                fair,
            }
        } else {
            Spread::Even {
                backends: self.backends.len(),
            }
        }
    }

    /// Orders backends the way their names read: labelled ones by label, then addresses.
    pub fn backend_sort_key(&self, server: SocketAddr) -> (Option<&str>, SocketAddr) {
        let label = self
            .backends
            .iter()
            .find(|b| b.server == server)
            .and_then(|b| b.label.as_deref());
        (label, server)
    }

    /// The display name of a backend: its label, or its address.
    pub fn backend_name(&self, server: SocketAddr) -> String {
        self.backends
            .iter()
            .find(|b| b.server == server)
            .and_then(|b| b.label.clone())
            .unwrap_or_else(|| server.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_order_as_values_and_hold_them_within_one_128th() {
        let mut last = 0;
        for v in (0..200_000i64).chain((18..62).map(|e| (1i64 << e) + 12_345)) {
            let b = bucket(v);
            assert!(b >= last, "{v}");
            last = b;
            let floor = bucket_floor(b);
            assert!(floor <= v && v - floor <= v / 128, "{v}: {floor}");
        }
        assert_eq!(bucket(-5), 0);
    }

    #[test]
    fn latencies_switch_to_a_histogram_with_close_percentiles() {
        let mut exact = Latencies::Exact(Vec::new());
        // 1..=N ms, shuffled by a stride coprime to N.
        let n = EXACT_LATENCIES as i64 + 1000;
        for i in 0..n {
            exact.push(((i * 7919) % n + 1) * 1_000_000);
        }
        assert!(!exact.is_exact());
        let Latencies::Histogram(h, count) = &exact else {
            unreachable!()
        };
        assert_eq!(*count, n as u64);
        // A few hundred buckets for tens of thousands of values.
        assert!(h.len() < 2_000, "{}", h.len());
        for (q, want) in [(0.5, n / 2), (0.99, n * 99 / 100)] {
            let got = exact.quantile(q).unwrap();
            let want = want * 1_000_000;
            assert!((got - want).abs() <= want / 100, "q{q}: {got} vs {want}");
        }
    }
}
