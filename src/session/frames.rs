//! Frames: a side's bytes through its frame decoder (RFC 9113 §4), and each decoded event
//! to the job that handles it. Every frame is counted and, with `--frames`, filed on its
//! stream (or the connection's list, for stream 0 and finished streams).
//!
//! DATA is handled here as it streams out of the decoder (its payload is never held
//! whole): the stream's byte counts and END_STREAM, and the payload to the stream's
//! [`StreamBody`] (body.rs).

use super::{Connection, FrameRecord, H2Sink, StreamBody};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::{Event, Frame, FrameDecoder, FrameHeader, FrameType};
use crate::role::Role;

impl<B: StreamBody> Connection<B> {
    /// Runs bytes of side `r` through its frame decoder.
    pub(super) fn feed<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        data: &[u8],
        sink: &mut S,
    ) {
        let data = self.past_upgrade(r, data);
        if data.is_empty() {
            return;
        }
        self.with_decoder(r, sink, |dec, mut f| dec.push(data, &mut f), ts);
    }

    /// Runs `op` on side `r`'s frame decoder and applies the events it emits. The decoder
    /// is set aside meanwhile (events borrow its buffer). An event may settle the roles
    /// and swap the sides: later events then carry the new role, and the decoder goes
    /// back to the slot its side moved to.
    pub(super) fn with_decoder<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        sink: &mut S,
        op: impl FnOnce(&mut FrameDecoder, &mut dyn FnMut(Event<'_>)),
        ts: Timestamp,
    ) {
        let Some(mut dec) = self.side_mut(r).decoder.take() else {
            return;
        };
        let before = self.roles.swapped();
        op(&mut dec, &mut |e| {
            let role = if self.roles.swapped() != before {
                r.peer()
            } else {
                r
            };
            self.event(role, ts, e, sink)
        });
        let slot = if self.roles.swapped() != before {
            r.peer()
        } else {
            r
        };
        self.side_mut(slot).decoder = Some(dec);
    }

    /// Applies one decoder event from side `r`.
    fn event<S: H2Sink<Body = B>>(&mut self, r: Role, ts: Timestamp, e: Event<'_>, sink: &mut S) {
        match e {
            Event::DataStart { header, .. } => {
                self.interrupts_block(r, &header);
                self.spend_connection_window(r, &header);
                let packet = self.packet;
                if let Some(s) = self.stream_mut(header.stream_id, ts, sink) {
                    *r.of_mut(&mut s.data_frames) += 1;
                    super::flow_control::spend_stream_window(s, r, header.length, packet);
                }
            }
            Event::DataChunk { header, data } => {
                if let Some(s) = self.streams.get_mut(header.stream_id) {
                    *r.of_mut(&mut s.bytes) += data.len() as u64;
                    s.touch(ts);
                    if s.body.is_none() && !s.declined && !data.is_empty() {
                        s.body = B::open(&self.config.body, s.content_type(), data);
                        s.declined = s.body.is_none();
                    }
                    if let Some(b) = s.body.as_mut() {
                        b.data(r, data, ts);
                    }
                }
            }
            Event::DataGap { header, len } => {
                if let Some(s) = self.streams.get_mut(header.stream_id) {
                    *r.of_mut(&mut s.lost_bytes) += len;
                    s.anomaly(
                        Anomaly::new(
                            AnomalyKind::DataLost,
                            format!("{len} bytes of DATA never captured"),
                        ),
                        r,
                        self.packet,
                    );
                    if let Some(b) = s.body.as_mut() {
                        b.lost(r, len, ts);
                    }
                }
            }
            Event::DataEnd { header } => {
                self.file_frame(r, ts, &header);
                if header.end_stream()
                    && let Some(s) = self.streams.get_mut(header.stream_id)
                {
                    *r.of_mut(&mut s.ended) = true;
                }
                self.maybe_finish(header.stream_id, sink);
            }
            Event::Frame { header, frame } => {
                self.interrupts_block(r, &header);
                // Every stream id seen in a frame is a stream (one seen only through a
                // WINDOW_UPDATE or PRIORITY too), created before its first frame is filed.
                self.stream_mut(header.stream_id, ts, sink);
                self.file_frame(r, ts, &header);
                self.frame(r, ts, &header, frame, sink);
                // Also on stream 0: lingering streams age with every frame.
                self.maybe_finish(header.stream_id, sink);
            }
            Event::Malformed { header, error } => {
                self.interrupts_block(r, &header);
                let what = format!(
                    "malformed {} frame from the {} on stream {}: {error}",
                    header.kind.name(),
                    r.as_str(),
                    header.stream_id
                );
                self.unreadable_frame(r, ts, &header, AnomalyKind::MalformedFrame, what, sink);
            }
            Event::Lost { header, missing } => {
                let what = format!(
                    "{} frame from the {} on stream {} lost in a gap ({missing} bytes missing)",
                    header.kind.name(),
                    r.as_str(),
                    header.stream_id
                );
                self.unreadable_frame(r, ts, &header, AnomalyKind::FrameLost, what, sink);
            }
            Event::Oversized { header } => {
                let what = format!(
                    "{} frame of {} bytes from the {} too large to decode",
                    header.kind.name(),
                    header.length,
                    r.as_str()
                );
                self.unreadable_frame(r, ts, &header, AnomalyKind::FrameOversized, what, sink);
            }
            Event::Resync { skipped, at_start } => {
                if at_start && skipped == 0 {
                    return;
                }
                if !at_start {
                    // Frames were lost: a header block among them may have changed the table.
                    self.side_mut(r).blocks.lose_sync();
                }
                self.anomaly(
                    Anomaly::new(
                        AnomalyKind::ResyncSkipped,
                        format!(
                            "{skipped} bytes from the {} skipped looking for a frame boundary{}",
                            r.as_str(),
                            if at_start {
                                " (joined mid-connection)"
                            } else {
                                ""
                            }
                        ),
                    )
                    .by(r),
                );
            }
            Event::Truncated { header, missing } => {
                let what = header.map_or("a frame header".to_string(), |h| {
                    format!("a {} frame on stream {}", h.kind.name(), h.stream_id)
                });
                let mut a = Anomaly::new(
                    AnomalyKind::TruncatedFrame,
                    format!(
                        "the {}'s bytes end inside {what} ({missing} bytes missing)",
                        r.as_str()
                    ),
                )
                .by(r);
                if let Some(h) = header {
                    a = a.on(h.stream_id);
                }
                self.anomaly(a);
            }
        }
    }

    /// A frame whose payload could not be read (malformed, lost in a gap, too large): filed
    /// on its stream, reported; if it carried a header block, the HPACK table may have
    /// changed unseen, and a block being gathered cannot be completed.
    fn unreadable_frame<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        kind: AnomalyKind,
        what: String,
        sink: &mut S,
    ) {
        self.stream_mut(header.stream_id, ts, sink);
        self.file_frame(r, ts, header);
        self.anomaly(Anomaly::new(kind, what).by(r).on(header.stream_id));
        if matches!(
            header.kind,
            FrameType::Headers | FrameType::PushPromise | FrameType::Continuation
        ) {
            self.side_mut(r).blocks.lose_sync();
        }
    }

    /// Counts a frame and, with `--frames`, files it on its stream or the connection.
    fn file_frame(&mut self, r: Role, ts: Timestamp, header: &FrameHeader) {
        let index = self.frame_count;
        self.frame_count += 1;
        if !self.config.record_frames {
            if let Some(s) = self.streams.get_mut(header.stream_id) {
                s.touch(ts);
            }
            return;
        }
        let rec = FrameRecord {
            index,
            ts,
            packet: self.packet,
            from: r,
            kind: header.kind,
            flags: header.flags,
            length: header.length,
            stream_id: header.stream_id,
        };
        match self.streams.get_mut(header.stream_id) {
            Some(s) if header.stream_id != 0 => {
                s.touch(ts);
                s.frames.push(rec);
            }
            _ => {
                if self.frames.len() < self.config.max_connection_frames {
                    self.frames.push(rec);
                }
            }
        }
    }

    /// A complete frame other than DATA, from side `r`: to the job that handles its type.
    fn frame<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        frame: Frame<'_>,
        sink: &mut S,
    ) {
        if let Some(rule) = crate::http2::frame::check_stream_id(header) {
            self.stream_anomaly(
                AnomalyKind::WrongStream,
                r,
                header.stream_id,
                format!("{rule}, from the {}", r.as_str()),
            );
        }
        match frame {
            Frame::Headers { fragment, .. } => {
                self.stream_mut(header.stream_id, ts, sink);
                self.begin_block(r, ts, header, fragment, None, sink);
            }
            Frame::PushPromise {
                promised_stream_id,
                fragment,
                ..
            } => {
                self.stream_mut(header.stream_id, ts, sink);
                self.begin_block(r, ts, header, fragment, Some(promised_stream_id), sink);
            }
            Frame::Continuation { fragment } => self.continuation(r, ts, header, fragment, sink),
            Frame::Settings { ack, settings } => {
                if !ack {
                    self.settings(r, settings.iter().collect());
                }
            }
            Frame::Ping { ack, payload } => self.ping(r, ts, ack, payload),
            Frame::Goaway {
                last_stream_id,
                error_code,
                debug_data,
            } => self.goaway(r, ts, last_stream_id, error_code, debug_data),
            Frame::WindowUpdate { increment } => {
                self.window_update(r, ts, header, increment, sink);
            }
            Frame::RstStream { error_code } => {
                self.reset(r, ts, header.stream_id, error_code, sink);
            }
            Frame::Priority(_)
            | Frame::Data { .. }
            | Frame::AltSvc { .. }
            | Frame::Origin { .. }
            | Frame::PriorityUpdate { .. }
            | Frame::Unknown { .. } => {
                if header.stream_id != 0 {
                    self.stream_mut(header.stream_id, ts, sink);
                }
            }
        }
    }
}
