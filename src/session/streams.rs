//! The stream store: open streams by id, complete ones lingering for late frames, the ids
//! of finished ones, and the cap on open streams (RFC 9113 §5.1 without the rules a
//! capture cannot enforce: a stream is whatever id a frame names).
//!
//! A stream is reported to the sink once: when it is complete and its linger is over,
//! when the cap pushes it out (incomplete), or when the connection ends.

use super::{Connection, H2Sink, Stream, StreamBody};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::ErrorCode;
use crate::role::Role;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Finished stream ids remembered so that late frames (a WINDOW_UPDATE or RST_STREAM after
/// END_STREAM) do not resurrect them as new streams.
const MAX_FINISHED_IDS: usize = 4096;
/// Frames a complete stream waits for late arrivals before it is reported.
const LINGER_FRAMES: u64 = 32;

pub(super) struct Streams<B> {
    /// Boxed: a stream is hundreds of bytes, and a B-tree node shifts its values on every
    /// insert and remove.
    open: BTreeMap<u32, Box<Stream<B>>>,
    /// Complete streams waiting out their linger, with the frame count when they completed.
    lingering: VecDeque<(u32, u64)>,
    finished_ids: HashSet<u32, foldhash::fast::RandomState>,
    finished_order: VecDeque<u32>,
    /// Streams opened so far.
    pub(super) count: u64,
}

// Not derived: that would ask `B: Default`.
impl<B> Default for Streams<B> {
    fn default() -> Self {
        Streams {
            open: BTreeMap::new(),
            lingering: VecDeque::new(),
            finished_ids: HashSet::default(),
            finished_order: VecDeque::new(),
            count: 0,
        }
    }
}

impl<B: StreamBody> Streams<B> {
    pub(super) fn get_mut(&mut self, id: u32) -> Option<&mut Stream<B>> {
        self.open.get_mut(&id).map(|s| &mut **s)
    }

    /// Every stream not reported yet (lingering ones too).
    pub(super) fn open_mut(&mut self) -> impl Iterator<Item = &mut Stream<B>> {
        self.open.values_mut().map(|s| &mut **s)
    }

    /// Takes stream `id` out to be reported, and remembers that it finished.
    fn finish(&mut self, id: u32) -> Option<Box<Stream<B>>> {
        let mut s = self.open.remove(&id)?;
        let end = s.end;
        if let Some(b) = s.body.as_mut() {
            b.finish(end);
        }
        if self.finished_order.len() >= MAX_FINISHED_IDS
            && let Some(old) = self.finished_order.pop_front()
        {
            self.finished_ids.remove(&old);
        }
        self.finished_ids.insert(id);
        self.finished_order.push_back(id);
        Some(s)
    }
}

impl<B: StreamBody> Connection<B> {
    /// The stream `id`, created on first sight unless it already finished.
    pub(super) fn stream_mut<S: H2Sink<Body = B>>(
        &mut self,
        id: u32,
        ts: Timestamp,
        sink: &mut S,
    ) -> Option<&mut Stream<B>> {
        if id == 0 || self.streams.finished_ids.contains(&id) {
            return None;
        }
        if self.streams.open.contains_key(&id) {
            return self.streams.get_mut(id);
        }
        if self.streams.open.len() >= self.config.max_open_streams {
            // The oldest open stream goes out incomplete, to keep memory bounded.
            if let Some(&old) = self.streams.open.keys().next() {
                self.finish_stream(old, sink);
                self.anomaly(
                    Anomaly::new(
                        AnomalyKind::TooManyStreams,
                        "too many open streams: the oldest was reported incomplete",
                    )
                    .on(old),
                );
            }
        }
        Some(self.open_stream(id, ts, sink))
    }

    /// Opens stream `id`, not open yet, with the windows the sides granted so far.
    pub(super) fn open_stream<S: H2Sink<Body = B>>(
        &mut self,
        id: u32,
        ts: Timestamp,
        sink: &mut S,
    ) -> &mut Stream<B> {
        let window = self.initial_stream_window();
        sink.opened(&self.info, id);
        self.streams.count += 1;
        self.streams
            .open
            .entry(id)
            .or_insert_with(|| Box::new(Stream::new(id, ts, window)))
    }

    /// RST_STREAM from `r` (RFC 9113 §6.4) completes the stream; the first one is kept.
    pub(super) fn reset<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        id: u32,
        code: ErrorCode,
        sink: &mut S,
    ) {
        if let Some(s) = self.stream_mut(id, ts, sink)
            && s.reset.is_none()
        {
            s.reset = Some((r, code));
        }
    }

    /// Reports a stream that is complete.
    /// A complete stream lingers for `LINGER_FRAMES` more frames of the connection before
    /// it is reported: frames in flight when one side reset it (RFC 9113 §5.1) still
    /// belong to it, such as the response to a request the client already cancelled.
    pub(super) fn maybe_finish<S: H2Sink<Body = B>>(&mut self, id: u32, sink: &mut S) {
        if let Some(s) = self.streams.get_mut(id)
            && s.is_complete()
            && !s.lingering
        {
            s.lingering = true;
            self.streams.lingering.push_back((id, self.frame_count));
        }
        while let Some(&(old, at)) = self.streams.lingering.front() {
            if self.frame_count < at + LINGER_FRAMES {
                break;
            }
            self.streams.lingering.pop_front();
            self.finish_stream(old, sink);
        }
    }

    /// Live capture: reports the lingering streams that ended at or before `before`. On a
    /// quiet connection no more frames come to end their linger, and a live view should
    /// not wait for the next call to show the last one.
    pub fn flush_lingering<S: H2Sink<Body = B>>(&mut self, before: Timestamp, sink: &mut S) {
        while let Some(&(id, _)) = self.streams.lingering.front() {
            if self.streams.open.get(&id).is_some_and(|s| s.end > before) {
                break;
            }
            self.streams.lingering.pop_front();
            self.finish_stream(id, sink);
        }
    }

    fn finish_stream<S: H2Sink<Body = B>>(&mut self, id: u32, sink: &mut S) {
        if let Some(s) = self.streams.finish(id) {
            sink.stream(&self.info, *s);
        }
    }

    /// The connection ended: every stream still open is reported, in id order.
    pub(super) fn finish_all<S: H2Sink<Body = B>>(&mut self, sink: &mut S) {
        while let Some(&id) = self.streams.open.keys().next() {
            self.finish_stream(id, sink);
        }
    }
}
