//! The pipeline: the one owner of decoding, from reassembled byte streams to finished
//! calls and connections, handed to a [`Sink`] (the export's writer, the terminal UI's
//! feed).
//!
//! ```text
//! engine (packets -> reassembly events)
//!   -> Tracker: one session::Connection per TCP connection     (tracker.rs)
//!   -> Calls: places streams in opening order (order.rs), pools evidence and holds calls
//!      whose method must be inferred (inference.rs), decodes each call (decode.rs)
//!   -> Sink::call / Sink::connection
//! ```
//!
//! Consumers see finished records only, each stream with its `place` (the order streams
//! opened in) and how far the stream order is settled (`ready`): a document that lists
//! streams in opening order writes every stream placed before `ready`. The two-thread
//! export splits the pipeline at the [`H2Sink`] between `Tracker` and `Calls`, and may
//! decode a call on the first thread ([`Calls::decoded`]) when the second is behind.

mod decode;
mod inference;
mod order;
mod tracker;

pub use decode::grpc_call;
pub use inference::{InferencePool, PoolKey};
pub use order::OpenOrder;
pub use tracker::Tracker;

use crate::grpc::Descriptors;
use crate::grpc::call::Call;
use crate::grpc::{CallBody, GrpcStream};
use crate::model::record::CallRecord;
use crate::reassembly::ConnId;
use crate::session::{ConnectionInfo, ConnectionRecord, H2Sink};

/// The hasher of the maps touched for every packet or stream: foldhash (seeded per
/// process), not SipHash.
type Fast = foldhash::fast::RandomState;

/// Where finished records go.
pub trait Sink {
    /// A finished stream and the gRPC call it carried. `place` is its rank among the
    /// streams in the order they opened; every stream placed before `ready` has now been
    /// delivered (or never will be).
    fn call(&mut self, rec: CallRecord, place: u64, ready: u64);

    /// `ready` moved without a new call (calls held for inference went out).
    fn ready(&mut self, _ready: u64) {}

    /// A connection that ended, after all of its streams.
    fn connection(&mut self, c: ConnectionRecord);
}

/// How calls are decoded.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub descriptors: Descriptors,
    /// Sizes and times of messages only (`--no-messages`).
    pub no_messages: bool,
    /// Messages decoded with a schema come as compact JSON text rather than trees (for
    /// consumers that only write them, or show a few).
    pub json_text: bool,
    /// Hold a call whose method must be inferred from pooled evidence until its connection
    /// ends, when all the evidence is in (a document); without it a call is decided with
    /// the evidence seen by the time it completes (NDJSON, the terminal UI).
    pub defer_inference: bool,
}

/// Calls held back for pooled inference; beyond this they are decoded at once.
const MAX_DEFERRED: usize = 10_000;

/// The stage from finished streams to decoded calls (see the module doc).
pub struct Calls<S> {
    options: Options,
    pool: InferencePool,
    /// Where each stream goes among the streams in opening order.
    order: OpenOrder,
    /// Calls whose method must be inferred, waiting until every call that shares their
    /// unknown `:path` has added its evidence; each with its stream's place.
    deferred: Vec<(ConnectionInfo, GrpcStream, PoolKey, u64)>,
    /// The first place among `deferred` (nothing after it is ready until they are).
    deferred_first: u64,
    /// The connections with calls in `deferred`: a connection's end looks there, not
    /// through every held call.
    deferred_conns: std::collections::HashSet<ConnId, Fast>,
    sink: S,
}

impl<S: Sink> Calls<S> {
    pub fn new(options: Options, sink: S) -> Self {
        Calls {
            options,
            pool: InferencePool::default(),
            order: OpenOrder::default(),
            deferred: Vec::new(),
            deferred_first: u64::MAX,
            deferred_conns: Default::default(),
            sink,
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Calls held until their connection ends (see [`Options::defer_inference`]).
    pub fn held(&self) -> usize {
        self.deferred.len()
    }

    /// The evidence pooled so far.
    pub fn pool(&self) -> &InferencePool {
        &self.pool
    }

    /// Delivers the calls still held (the capture has ended) and hands the sink back.
    pub fn finish(mut self) -> S {
        self.flush_deferred(None);
        self.sink
    }

    /// [`H2Sink::opened`] by connection id (the two-thread export forwards only that).
    pub fn open(&mut self, conn: ConnId, id: u32) {
        self.order.opened(conn, id);
    }

    /// A stream whose call was decoded beforehand, on another thread: only for streams
    /// without a pool key (their decoding depends on nothing collected).
    pub fn decoded(&mut self, conn: &ConnectionInfo, s: GrpcStream, call: Option<Call>) {
        let place = self.order.done(conn.id, s.id);
        self.deliver(conn, s, call, place);
    }

    /// The first place not yet settled: every stream before it has been delivered.
    fn ready(&self) -> u64 {
        self.order.first_open().min(self.deferred_first)
    }

    fn deliver(&mut self, conn: &ConnectionInfo, s: GrpcStream, call: Option<Call>, place: u64) {
        let ready = self.ready();
        self.sink.call(CallRecord::new(conn, s, call), place, ready);
    }

    fn decode(
        &mut self,
        conn: &ConnectionInfo,
        mut s: GrpcStream,
        key: Option<&PoolKey>,
        place: u64,
    ) {
        let call = grpc_call(&mut s, &self.options, self.pool.evidence(key));
        self.deliver(conn, s, call, place);
    }

    /// Decodes the calls held for pooled inference whose evidence is all in: those of
    /// connection `conn` once it has ended (a key names its connection), or all of them at
    /// the end. They are decoded in the order they completed (as before they were held)
    /// while the first of them still holds back every stream placed after it; then `ready`
    /// moves past them and the streams they held back.
    fn flush_deferred(&mut self, conn: Option<ConnId>) {
        let any = match conn {
            Some(c) => self.deferred_conns.remove(&c),
            None => !std::mem::take(&mut self.deferred_conns).is_empty(),
        };
        if !any {
            return;
        }
        let (due, held) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|d| conn.is_none_or(|c| d.0.id == c));
        self.deferred = held;
        for (conn, s, key, place) in due {
            self.decode(&conn, s, Some(&key), place);
        }
        self.deferred_first = self.deferred.iter().map(|d| d.3).min().unwrap_or(u64::MAX);
        let ready = self.ready();
        self.sink.ready(ready);
    }
}

impl<S: Sink> H2Sink for Calls<S> {
    type Body = CallBody;

    fn opened(&mut self, conn: &ConnectionInfo, id: u32) {
        self.open(conn.id, id);
    }

    fn stream(&mut self, conn: &ConnectionInfo, s: GrpcStream) {
        let place = self.order.done(conn.id, s.id);
        let key = InferencePool::key(conn.id, &s);
        if let Some(k) = &key {
            self.pool.add(k, &s);
            if self.options.defer_inference
                && !self.options.descriptors.is_empty()
                && self.deferred.len() < MAX_DEFERRED
            {
                self.deferred
                    .push((conn.clone(), s, key.unwrap_or_default(), place));
                self.deferred_conns.insert(conn.id);
                // The first place still to come is the same: this one, held.
                self.deferred_first = self.deferred_first.min(place);
                return;
            }
        }
        self.decode(conn, s, key.as_ref(), place);
    }

    fn connection(&mut self, c: ConnectionRecord) {
        // Every stream of the connection has come (`Connection::end` reports them first).
        self.flush_deferred(Some(c.info.id));
        self.pool.forget(c.info.id);
        self.sink.connection(c);
    }
}
