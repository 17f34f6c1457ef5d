//! The two-thread export: this thread reads, reassembles and decodes HTTP/2; a worker
//! thread turns the finished streams and connections into JSON (gRPC message decoding,
//! serialization, freeing the records).
//!
//! Why this split: the profile has two halves of about equal weight, packets to streams
//! and streams to JSON, and the hand-over between them is already a stream of owned
//! records (`H2Sink`). The worker runs the one-thread [`Collector`] on the same events in
//! the same order, so the output is byte-identical to a one-thread run. Events cross in
//! batches to amortise the channel; at most `QUEUED_BATCHES` wait, which bounds the memory
//! in flight. The output (NDJSON lines, a compact document) comes back to this thread in
//! chunks and is written here, so the writer need not be `Send` (standard output's lock is
//! not).

use super::{Collector, Options, capture_info, decode, tracker_config};
use crate::capture::{CaptureError, CaptureReader};
use crate::grpc::call::Call;
use crate::grpc::{CallBody, GrpcStream};
use crate::pipeline::{self, Calls, InferencePool, Tracker, grpc_call};
use crate::reassembly::ConnId;
use crate::session::{ConnectionInfo, ConnectionRecord, H2Sink};
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

/// Records per batch: enough to make the channel's cost negligible, few enough that the
/// worker starts early and memory in flight stays small.
const BATCH: usize = 64;
/// Batches waiting for the worker before the decoding thread blocks.
const QUEUED_BATCHES: usize = 4;

// Unboxed on purpose: the records move by value into a batch, and a box would cost one
// more allocation per record for no gain (the variants are of similar size).
#[allow(clippy::large_enum_variant)]
enum Event {
    Opened(ConnId, u32),
    Stream(ConnectionInfo, GrpcStream),
    /// A stream without a pool key whose call this thread decoded (see `Forward::stream`).
    Decoded(ConnectionInfo, GrpcStream, Option<Call>),
    Connection(ConnectionRecord),
}

/// The decoding thread's sink: batches events for the worker and writes the NDJSON chunks
/// it has sent back.
struct Forward<W> {
    batch: Vec<Event>,
    tx: Option<mpsc::SyncSender<Vec<Event>>>,
    /// Batches sent and not yet taken by the worker.
    queued: Arc<AtomicUsize>,
    /// The worker's decoding options: calls decoded here go to it as if decoded there.
    decoding: pipeline::Options,
    chunks: mpsc::Receiver<Vec<u8>>,
    /// Written chunks go back to the worker for reuse (see [`Chunks`]).
    spent: mpsc::Sender<Vec<u8>>,
    /// NDJSON or a compact document: the output and its first write error (later chunks
    /// are dropped).
    lines: Option<(W, Option<io::Error>)>,
}

impl<W: Write> Forward<W> {
    fn push(&mut self, ev: Event) {
        self.batch.push(ev);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            if let Some(tx) = &self.tx {
                self.queued.fetch_add(1, Ordering::Relaxed);
                // An error means the worker has ended (it panicked): `join` reports it.
                let _ = tx.send(batch);
            }
        }
        while let Ok(chunk) = self.chunks.try_recv() {
            self.write(chunk);
        }
    }

    /// Whether writing the output has failed.
    fn failed(&self) -> bool {
        matches!(&self.lines, Some((_, Some(_))))
    }

    /// Writes a chunk and hands its buffer back.
    fn write(&mut self, chunk: Vec<u8>) {
        if let Some((out, error @ None)) = &mut self.lines
            && let Err(e) = out.write_all(&chunk)
        {
            *error = Some(e);
        }
        // A buffer grown past a chunk is not kept; the worker may be gone (then the buffer
        // is freed here).
        if chunk.capacity() <= MAX_CHUNK {
            let _ = self.spent.send(chunk);
        }
    }
}

impl<W: Write> H2Sink for Forward<W> {
    type Body = CallBody;

    fn opened(&mut self, conn: &ConnectionInfo, id: u32) {
        self.push(Event::Opened(conn.id, id));
    }

    fn stream(&mut self, conn: &ConnectionInfo, mut stream: GrpcStream) {
        // Decoding messages to JSON can be most of the worker's load (three quarters of a
        // full export): while the worker is behind, this thread decodes calls too rather
        // than wait. Only calls without a pool key: theirs depend on nothing collected.
        let behind = self.queued.load(Ordering::Relaxed) >= QUEUED_BATCHES / 2;
        if behind && InferencePool::key(conn.id, &stream).is_none() {
            let call = grpc_call(&mut stream, &self.decoding, [&[], &[]]);
            self.push(Event::Decoded(conn.clone(), stream, call));
        } else {
            self.push(Event::Stream(conn.clone(), stream));
        }
    }

    fn connection(&mut self, conn: ConnectionRecord) {
        self.push(Event::Connection(conn));
    }
}

/// The worker's writer (NDJSON, a compact document): each write goes back to the decoding
/// thread (the collector buffers into 64 KiB writes). Unbounded while the capture is read
/// (see `export`); bounded for what the collector writes at the end, when the decoding
/// thread only drains: the connection records (read back from memory or a spill file much
/// faster than a pipe takes them, in runs as long as a chunk) must not pile up here.
///
/// Buffers come back once written and are reused: freed on the other thread, the
/// allocator gave their memory back to this one too late, and a megabyte-sized buffer per
/// write left an export's end 100 MB above the rest of it.
struct Chunks {
    tx: ChunkTx,
    spent: mpsc::Receiver<Vec<u8>>,
}

enum ChunkTx {
    Reading(mpsc::Sender<Vec<u8>>),
    Finishing(mpsc::SyncSender<Vec<u8>>),
}

/// The most one chunk carries, and so the largest buffer handed back for reuse.
const MAX_CHUNK: usize = 1 << 20;

/// Chunks waiting for the decoding thread while the collector finishes.
const FINISH_CHUNKS: usize = 8;

impl Chunks {
    /// Tells the decoding thread that every batch has been taken (an empty chunk, which
    /// `write` never sends).
    fn end_of_batches(&mut self) {
        if let ChunkTx::Reading(tx) = &self.tx {
            // The decoding thread gone: nothing to tell.
            let _ = tx.send(Vec::new());
        }
    }
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // At most a megabyte a chunk (`write_all` sends the rest): the connection records
        // are written in runs as long as a chunk of theirs (16 MiB, or one large record),
        // and what waits in the channel is bounded by the number of chunks.
        let buf = buf.get(..MAX_CHUNK).unwrap_or(buf);
        let mut chunk = self.spent.try_recv().unwrap_or_default();
        chunk.clear();
        // Exact: a reused buffer never outgrows what is handed back.
        chunk.reserve_exact(buf.len());
        chunk.extend_from_slice(buf);
        let sent = match &self.tx {
            ChunkTx::Reading(tx) => tx.send(chunk).is_ok(),
            ChunkTx::Finishing(tx) => tx.send(chunk).is_ok(),
        };
        if !sent {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// [`super::export`] on two threads.
pub(super) fn export<W: Write>(
    source: &str,
    mut reader: CaptureReader,
    options: &Options,
    ndjson: bool,
    pretty: bool,
    out: W,
) -> (io::Result<()>, Option<CaptureError>) {
    let (tx, rx) = mpsc::sync_channel::<Vec<Event>>(QUEUED_BATCHES);
    let queued = Arc::new(AtomicUsize::new(0));
    let taken = Arc::clone(&queued);
    // Unbounded on purpose: the decoding thread drains it after every batch, and a bound
    // here could deadlock with the bound above (each thread waiting on the other).
    let (chunk_tx, chunks) = mpsc::channel();
    let (spent, spent_rx) = mpsc::channel();
    // What the collector writes as it goes (NDJSON, a compact document) comes back here
    // in chunks; a document held to the end is written here by `finish`.
    let writer = Chunks {
        tx: ChunkTx::Reading(chunk_tx),
        spent: spent_rx,
    };
    let (collector, held) = Collector::for_export(options, ndjson, pretty, writer);
    let decoding = collector.pipeline_options(options);
    let calls = Calls::new(decoding.clone(), collector);
    // A held document sends no chunks: its sender is dropped now, so the drain below ends
    // at once instead of waiting on it.
    let held = match held {
        Some(unused) => {
            drop(unused);
            true
        }
        None => false,
    };
    let (out, lines) = if held {
        (Some(out), None)
    } else {
        (None, Some((out, None)))
    };
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut calls = calls;
            for batch in rx {
                taken.fetch_sub(1, Ordering::Relaxed);
                for ev in batch {
                    match ev {
                        Event::Opened(conn, id) => calls.open(conn, id),
                        Event::Stream(conn, s) => calls.stream(&conn, s),
                        Event::Decoded(conn, s, call) => calls.decoded(&conn, s, call),
                        Event::Connection(c) => calls.connection(c),
                    }
                }
            }
            // The capture has ended: the calls still held for inference go out.
            let mut collector = calls.finish();
            // Every batch is in: the decoding thread stops draining at this marker.
            if let Some(w) = collector.writer_mut() {
                w.end_of_batches();
            }
            collector
        });
        let forward = Forward {
            batch: Vec::with_capacity(BATCH),
            tx: Some(tx),
            queued,
            decoding,
            chunks,
            spent,
            lines,
        };
        let mut tracker = Tracker::new(tracker_config(options), forward);
        let (summary, error) = decode(&mut reader, options, &mut tracker);
        let mut forward = tracker.into_sink();
        forward.send();
        forward.tx = None;
        // The worker still has the last batches, and the capture's end completes every
        // stream still open: write its chunks out as they come rather than let them pile
        // up while waiting for it, until its end marker (an empty chunk). With a held
        // document, or a worker that panicked, no sender is left and this ends at once.
        while let Ok(chunk) = forward.chunks.recv() {
            if chunk.is_empty() {
                break;
            }
            forward.write(chunk);
        }
        let collector = match worker.join() {
            Ok(c) => c,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let capture = capture_info(source, &reader, &summary, error.as_ref());
        let written = match out {
            // A held document is written here, straight to `out`.
            Some(out) => collector.finish(capture, Some(out), pretty),
            // NDJSON and compact documents: what the worker sent is written out, then the
            // collector writes what remains (for a compact document, every connection
            // record) into a bounded channel on another thread while this one writes it
            // out, so at most FINISH_CHUNKS wait; the collector drops its sender when done,
            // which ends the drain.
            None => {
                let mut collector = collector;
                let (tx, finish_chunks) = mpsc::sync_channel(FINISH_CHUNKS);
                // Everything the worker sent while reading was written above, up to its end
                // marker, and it wrote nothing after it: the collector's writes now go through
                // the bounded channel. (A held document, without a writer, took the other
                // branch.)
                if let Some(w) = collector.writer_mut() {
                    w.tx = ChunkTx::Finishing(tx);
                }
                let finishing =
                    scope.spawn(move || collector.finish(capture, None::<io::Sink>, pretty));
                while let Ok(chunk) = finish_chunks.recv() {
                    forward.write(chunk);
                    if forward.failed() {
                        // The output is closed: the collector's next write fails and it
                        // stops, rather than read back every record for nothing.
                        break;
                    }
                }
                drop(finish_chunks);
                match finishing.join() {
                    Ok(written) => written,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        };
        // The output's own error first: the collector's, after it, is the closed channel.
        let written = match (written, forward.lines) {
            (_, Some((_, Some(e)))) | (Err(e), _) => Err(e),
            (Ok(()), Some((mut out, None))) => out.flush(),
            (Ok(()), None) => Ok(()),
        };
        (written, error)
    })
}
