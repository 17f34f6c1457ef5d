//! What the decoding side sends the UI: owned records in batches, and progress.
//!
//! The UI never sees the pipeline, only a sequence of [`Update`]s: completed streams with
//! their decoded gRPC call ([`CallRecord`]), ended connections (the library's
//! [`ConnectionRecord`]), [`Progress`] of the source, and one [`Update::Finished`]. A file is
//! read by [`spawn_file`] on a worker thread that sends batches over a bounded channel; tests
//! call [`feed`] synchronously with a closure. A live capture ([`spawn_live`]) produces the
//! same updates, with `Progress::total` unknown and `Progress::kernel_drops` known, so the
//! UI shows both sources alike.
//!
//! Batching: records are sent every [`FLUSH_EVERY`] or [`MAX_BATCH`] records, whichever
//! comes first, so the UI thread wakes at most a few dozen times a second however fast the
//! file is read. The channel is bounded: when the UI falls behind, the reader waits, and
//! when the UI is gone (the user quit), the reader stops at its next send.

use crate::capture::live::LiveSource;
use crate::capture::{CaptureReader, Timestamp};
use crate::engine::{CaptureSummary, Engine};
use crate::grpc::call::Call;
use crate::grpc::{CallBody, Descriptors, GrpcStream};
use crate::http2::frame::ErrorCode;
use crate::http2::hpack::HeaderField;
use crate::model::{InferencePool, Tracker, grpc_call};
use crate::reassembly::{self, ConnId};
use crate::role::Role;
use crate::session::{ConnectionInfo, ConnectionRecord, FrameRecord, H2Sink};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// How often a batch is sent while reading.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Records per batch at most: the UI applies a batch whole, so this bounds how long a key
/// press can wait behind one (a few milliseconds at 512).
pub const MAX_BATCH: usize = 512;
/// Batches the channel holds before the reader waits for the UI.
const CHANNEL_DEPTH: usize = 16;

/// One completed HTTP/2 stream and the gRPC call it carried: everything the UI shows of it.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub conn: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub stream_id: u32,
    pub request_headers: Option<Vec<HeaderField>>,
    pub request_trailers: Option<Vec<HeaderField>>,
    pub informational: Vec<Vec<HeaderField>>,
    pub response_headers: Option<Vec<HeaderField>>,
    pub trailers: Option<Vec<HeaderField>>,
    /// DATA payload bytes, per sender (index by [`Role::index`]).
    pub bytes: [u64; 2],
    pub data_frames: [u64; 2],
    pub reset: Option<(Role, ErrorCode)>,
    /// Both sides ended it, or it was reset.
    pub complete: bool,
    pub start: Timestamp,
    pub end: Timestamp,
    pub frames: Vec<FrameRecord>,
    pub anomalies: Vec<crate::anomaly::Anomaly>,
    /// The decoded call, for gRPC streams.
    pub grpc: Option<Call>,
}

impl CallRecord {
    pub fn new(conn: &ConnectionInfo, s: GrpcStream, grpc: Option<Call>) -> Self {
        let complete = s.is_complete();
        CallRecord {
            conn: conn.id,
            client: conn.client,
            server: conn.server,
            stream_id: s.id,
            request_headers: s.request_headers,
            request_trailers: s.request_trailers,
            informational: s.informational,
            response_headers: s.response_headers,
            trailers: s.trailers,
            bytes: s.bytes,
            data_frames: s.data_frames,
            reset: s.reset,
            complete,
            start: s.start,
            end: s.end,
            frames: s.frames,
            anomalies: s.anomalies,
            grpc,
        }
    }
}

/// A record of the capture's content.
#[derive(Clone, Debug)]
pub enum Record {
    Call(Box<CallRecord>),
    Connection(Box<ConnectionRecord>),
}

/// How far the source is, and what it counted so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub packets: u64,
    /// Sum of the packets' lengths on the wire.
    pub bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Capture-level anomalies (damage, truncated packets, fragments, ...).
    pub capture_anomalies: u64,
    /// Input consumed, in the unit of `total`.
    pub done: u64,
    /// The input's size; `None` for streams and live capture.
    pub total: Option<u64>,
    /// Live capture: packets the kernel dropped (its ring was full); `None` for files.
    pub kernel_drops: Option<u64>,
}

/// What the UI is told.
#[derive(Clone, Debug)]
pub enum Update {
    Records(Vec<Record>),
    Progress(Progress),
    /// The source ended; `error` when reading stopped at damage.
    Finished {
        error: Option<String>,
    },
}

/// How to decode.
#[derive(Clone, Debug, Default)]
pub struct FeedOptions {
    pub descriptors: Descriptors,
    pub reassembly: reassembly::Config,
    /// The HTTP/2 and gRPC bounds.
    pub limits: crate::limits::Limits,
    /// Decode only the packets this capture filter matches.
    pub filter: Option<crate::filter::Filter>,
}

/// Where records wait for the next flush; shared by the sink (inside the tracker) and the
/// reading loop.
struct Outbox<F> {
    emit: F,
    batch: Vec<Record>,
    /// The receiver is gone: stop reading.
    stopped: bool,
}

impl<F: FnMut(Update) -> bool> Outbox<F> {
    fn flush(&mut self, progress: Progress) {
        if self.stopped {
            return;
        }
        // In pieces of at most MAX_BATCH: the end of a capture closes every connection at
        // once, and one batch of thousands would hold a key press back.
        for piece in pieces(std::mem::take(&mut self.batch), MAX_BATCH) {
            if !(self.emit)(Update::Records(piece)) {
                self.stopped = true;
                return;
            }
        }
        if !(self.emit)(Update::Progress(progress)) {
            self.stopped = true;
        }
    }
}

/// `batch` in order, in pieces of at most `max` (at least 1) items; none when it is empty.
fn pieces<T>(batch: Vec<T>, max: usize) -> Vec<Vec<T>> {
    let max = max.max(1);
    if batch.len() <= max {
        return if batch.is_empty() {
            Vec::new()
        } else {
            vec![batch]
        };
    }
    let mut items = batch.into_iter();
    std::iter::from_fn(|| Some(items.by_ref().take(max).collect::<Vec<T>>()))
        .take_while(|piece| !piece.is_empty())
        .collect()
}

struct Sink<F> {
    descriptors: Descriptors,
    outbox: Rc<RefCell<Outbox<F>>>,
    /// Evidence for inferring methods, pooled as calls arrive (as in NDJSON: a call is
    /// decided with what has been seen by the time it completes).
    pool: InferencePool,
}

impl<F> H2Sink for Sink<F> {
    type Body = CallBody;

    fn stream(&mut self, conn: &ConnectionInfo, mut s: GrpcStream) {
        let key = InferencePool::key(conn.id, &s);
        if let Some(k) = &key {
            self.pool.add(k, &s);
        }
        // Decoded messages as compact text, not trees: the viewer holds every call, and
        // the views make the tree of the messages they show.
        let call = grpc_call(
            &mut s,
            &self.descriptors,
            false,
            true,
            self.pool.evidence(key.as_ref()),
        );
        let rec = CallRecord::new(conn, s, call);
        self.outbox
            .borrow_mut()
            .batch
            .push(Record::Call(Box::new(rec)));
    }

    fn connection(&mut self, c: ConnectionRecord) {
        self.pool.forget(c.info.id);
        self.outbox
            .borrow_mut()
            .batch
            .push(Record::Connection(Box::new(c)));
    }
}

/// What the capture summary says, as progress (the source's own figures left at zero).
fn summary_progress(s: &CaptureSummary) -> Progress {
    Progress {
        packets: s.packets,
        bytes: s.bytes,
        first_ts: s.first_ts,
        last_ts: s.last_ts,
        capture_anomalies: s.anomalies.values().map(|t| t.count).sum(),
        ..Progress::default()
    }
}

fn progress(engine: &Engine, reader: &CaptureReader) -> Progress {
    let (done, total) = reader.progress();
    Progress {
        done,
        total,
        ..summary_progress(engine.summary())
    }
}

type Pipeline<F> = (Rc<RefCell<Outbox<F>>>, Tracker<Sink<F>>);

/// The decoding side of the feed (the same as `export`, with frames recorded): the tracker
/// to give the engine, and the outbox its records wait in.
fn pipeline<F>(options: &FeedOptions, emit: F) -> Pipeline<F> {
    let outbox = Rc::new(RefCell::new(Outbox {
        emit,
        batch: Vec::new(),
        stopped: false,
    }));
    let sink = Sink {
        descriptors: options.descriptors.clone(),
        outbox: Rc::clone(&outbox),
        pool: InferencePool::default(),
    };
    let config = options.limits.session(true, true);
    (outbox, Tracker::new(config, sink))
}

/// Reads a whole capture through the pipeline, handing updates to `emit` as it goes; `emit`
/// returns `false` to stop reading. The last updates are the final progress and `Finished`.
pub fn feed(mut reader: CaptureReader, options: &FeedOptions, emit: impl FnMut(Update) -> bool) {
    let (outbox, mut tracker) = pipeline(options, emit);
    let mut engine = Engine::new(options.reassembly.clone()).with_filter(options.filter.clone());
    let mut last_flush = Instant::now();
    let mut n = 0u64;
    let error = loop {
        match reader.next_record() {
            Ok(Some(record)) => engine.record(record, &mut tracker),
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
        n += 1;
        if n.is_multiple_of(256) {
            let full = outbox.borrow().batch.len() >= MAX_BATCH;
            if full || last_flush.elapsed() >= FLUSH_EVERY {
                let p = progress(&engine, &reader);
                let mut o = outbox.borrow_mut();
                o.flush(p);
                if o.stopped {
                    return;
                }
                last_flush = Instant::now();
            }
        }
    };
    let done = progress(&engine, &reader);
    let summary = engine.finish(&mut tracker);
    let mut o = outbox.borrow_mut();
    o.flush(Progress {
        capture_anomalies: summary.anomalies.values().map(|t| t.count).sum(),
        ..done
    });
    if !o.stopped {
        (o.emit)(Update::Finished { error });
    }
}

/// Reads a capture on a worker thread; updates arrive on the returned channel, which
/// disconnects after `Finished`. Dropping the receiver stops the worker.
pub fn spawn_file(
    reader: CaptureReader,
    options: FeedOptions,
) -> std::io::Result<Receiver<Update>> {
    let (tx, rx): (SyncSender<Update>, Receiver<Update>) = sync_channel(CHANNEL_DEPTH);
    std::thread::Builder::new()
        .name("h2scope-reader".into())
        .spawn(move || feed(reader, &options, |u| tx.send(u).is_ok()))?;
    Ok(rx)
}

/// How a live capture ended, handed back by the worker of [`spawn_live`].
pub struct LiveEnd<W: std::io::Write> {
    pub summary: CaptureSummary,
    pub kernel_drops: u64,
    /// What stopped the capture, when it was not asked to stop (a capture or write error).
    pub error: Option<String>,
    /// The `-w` writer, to be finished by the caller (so a write error reaches it).
    pub save: Option<crate::capture::writer::PcapngWriter<W>>,
}

/// Runs a live capture through the pipeline until `stop` is set, `until` is reached or
/// `emit` returns `false`; records go out in batches every [`crate::engine::LIVE_TICK`],
/// each followed by the progress (with the kernel's drop count), then `Finished`.
pub fn feed_live<C: LiveSource + ?Sized, W: std::io::Write>(
    capture: &mut C,
    save: Option<&mut crate::capture::writer::PcapngWriter<W>>,
    options: &FeedOptions,
    stop: &std::sync::atomic::AtomicBool,
    until: crate::engine::Until,
    emit: impl FnMut(Update) -> bool,
) -> (CaptureSummary, u64, Option<String>) {
    let (outbox, mut tracker) = pipeline(options, emit);
    let mut last = Progress::default();
    let (summary, drops, error) = crate::engine::run_live(
        capture,
        options.reassembly.clone(),
        &mut tracker,
        stop,
        until,
        save,
        |summary, drops| {
            let p = Progress {
                kernel_drops: Some(drops),
                ..summary_progress(summary)
            };
            let mut o = outbox.borrow_mut();
            // A quiet interface sends nothing: the UI redraws only when something changed.
            if !o.batch.is_empty() || p != last {
                o.flush(p.clone());
                last = p;
            }
            !o.stopped
        },
    );
    let mut o = outbox.borrow_mut();
    o.flush(Progress {
        kernel_drops: Some(drops),
        ..summary_progress(&summary)
    });
    if !o.stopped {
        (o.emit)(Update::Finished {
            error: error.clone(),
        });
    }
    (summary, drops, error)
}

/// Runs a live capture on a worker thread that owns it (and the `-w` writer); updates
/// arrive on the returned channel, and joining the handle gives how it ended. Setting
/// `stop` (or dropping the receiver) ends the capture within [`crate::engine::LIVE_TICK`].
pub fn spawn_live<W: std::io::Write + Send + 'static>(
    mut capture: Box<dyn LiveSource + Send>,
    mut save: Option<crate::capture::writer::PcapngWriter<W>>,
    options: FeedOptions,
    stop: &'static std::sync::atomic::AtomicBool,
    until: crate::engine::Until,
) -> std::io::Result<(Receiver<Update>, std::thread::JoinHandle<LiveEnd<W>>)> {
    let (tx, rx): (SyncSender<Update>, Receiver<Update>) = sync_channel(CHANNEL_DEPTH);
    let handle = std::thread::Builder::new()
        .name("h2scope-capture".into())
        .spawn(move || {
            let (summary, kernel_drops, error) = feed_live(
                capture.as_mut(),
                save.as_mut(),
                &options,
                stop,
                until,
                |u| tx.send(u).is_ok(),
            );
            LiveEnd {
                summary,
                kernel_drops,
                error,
                save,
            }
        })?;
    Ok((rx, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_go_out_in_order_in_pieces_of_at_most_max() {
        assert!(pieces(Vec::<u32>::new(), 4).is_empty());
        assert_eq!(pieces(vec![1, 2, 3], 4), vec![vec![1, 2, 3]]);
        assert_eq!(pieces(vec![1, 2, 3, 4], 4), vec![vec![1, 2, 3, 4]]);
        assert_eq!(
            pieces((1..=10).collect(), 4),
            vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]
        );
        let many = pieces((0..100_000u32).collect(), MAX_BATCH);
        assert!(many.iter().all(|p| !p.is_empty() && p.len() <= MAX_BATCH));
        assert!(many.concat().into_iter().eq(0..100_000));
    }
}
