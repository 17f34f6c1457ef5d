//! One HTTP/2 stream as observed: its header lists, byte counts, end and reset, and frames.
//!
//! Header blocks are classified by direction and order (RFC 9113 §8.1): the client's first
//! block is the request, a later one its trailers; the server's blocks with a 1xx `:status`
//! are informational, the first other one is the response (a trailers-only response when
//! it also ends the stream), and a later one carries the trailers.

use super::StreamBody;
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::{ErrorCode, FrameType};
use crate::http2::hpack::{HeaderField, Text};
use crate::role::Role;

/// One frame as the export lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    /// Position among the connection's frames, both directions, in capture order.
    pub index: u64,
    pub ts: Timestamp,
    /// The capture's packet number (from 1) that completed the frame, as Wireshark numbers them.
    pub packet: u64,
    pub from: Role,
    pub kind: FrameType,
    pub flags: u8,
    pub length: u32,
    pub stream_id: u32,
}

/// A stream, complete or as far as the capture shows it, with what its DATA went to.
#[derive(Debug)]
pub struct Stream<B> {
    pub id: u32,
    pub request_headers: Option<Vec<HeaderField>>,
    pub request_trailers: Option<Vec<HeaderField>>,
    /// 1xx responses, in order.
    pub informational: Vec<Vec<HeaderField>>,
    pub response_headers: Option<Vec<HeaderField>>,
    pub trailers: Option<Vec<HeaderField>>,
    /// DATA payload bytes (padding excluded), per sender (index by [`Role::index`], as
    /// every per-side array here).
    pub bytes: [u64; 2],
    pub data_frames: [u64; 2],
    /// Bytes of DATA payload that fell in TCP gaps.
    pub lost_bytes: [u64; 2],
    /// END_STREAM seen, per sender.
    pub ended: [bool; 2],
    /// RST_STREAM: who sent it, and its error code.
    pub reset: Option<(Role, ErrorCode)>,
    /// For a pushed stream: the stream whose PUSH_PROMISE announced it.
    pub promised_by: Option<u32>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Flow-control send windows per sender, when the connection was seen from its start.
    pub window: Option<[i64; 2]>,
    pub frames: Vec<FrameRecord>,
    pub anomalies: Vec<Anomaly>,
    /// Complete, and waiting a little for frames still in flight before it is reported.
    pub lingering: bool,
    /// What its DATA went to, once [`StreamBody::open`] took the stream.
    pub body: Option<B>,
    /// [`StreamBody::open`] declined the stream: do not ask again.
    pub(super) declined: bool,
}

/// Anomalies kept per stream; more are counted in the last entry.
const MAX_STREAM_ANOMALIES: usize = 32;

impl<B> Stream<B> {
    pub fn new(id: u32, ts: Timestamp, window: Option<[i64; 2]>) -> Self {
        Stream {
            id,
            request_headers: None,
            request_trailers: None,
            informational: Vec::new(),
            response_headers: None,
            trailers: None,
            bytes: [0; 2],
            data_frames: [0; 2],
            lost_bytes: [0; 2],
            ended: [false; 2],
            reset: None,
            promised_by: None,
            start: ts,
            end: ts,
            window,
            frames: Vec::new(),
            anomalies: Vec::new(),
            lingering: false,
            body: None,
            declined: false,
        }
    }

    pub fn touch(&mut self, ts: Timestamp) {
        self.start = self.start.min(ts);
        self.end = self.end.max(ts);
    }

    /// Both directions ended, or the stream was reset.
    pub fn is_complete(&self) -> bool {
        self.reset.is_some() || (self.ended[0] && self.ended[1])
    }

    /// Files an anomaly of this stream, caused by `from` and found in packet `packet`.
    pub fn anomaly(&mut self, a: Anomaly, from: Role, packet: u64) {
        if self.anomalies.len() < MAX_STREAM_ANOMALIES {
            self.anomalies.push(Anomaly {
                from: Some(from),
                packet,
                stream_id: Some(self.id),
                ..a
            });
        }
    }

    /// Files a decoded header block sent by `from`, completed in packet `packet`.
    pub fn headers(&mut self, from: Role, fields: Vec<HeaderField>, end_stream: bool, packet: u64) {
        let extra = |text| Anomaly::new(AnomalyKind::ExtraHeaderBlock, text);
        match from {
            Role::Client => {
                if self.request_headers.is_none() {
                    self.request_headers = Some(fields);
                } else if self.request_trailers.is_none() {
                    self.request_trailers = Some(fields);
                } else {
                    self.anomaly(
                        extra("a third header block from the client (RFC 9113 §8.1)"),
                        Role::Client,
                        packet,
                    );
                }
            }
            Role::Server => {
                let informational = status_of(&fields).is_some_and(|s| (100..200).contains(&s));
                if self.response_headers.is_none() && informational && !end_stream {
                    self.informational.push(fields);
                } else if self.response_headers.is_none() {
                    self.response_headers = Some(fields);
                } else if self.trailers.is_none() {
                    self.trailers = Some(fields);
                } else {
                    self.anomaly(
                        extra("a header block after the trailers (RFC 9113 §8.1)"),
                        Role::Server,
                        packet,
                    );
                }
            }
        }
        if end_stream {
            *from.of_mut(&mut self.ended) = true;
        }
    }

    /// The value of the first known field called `name` in a list.
    pub fn field<'a>(list: &'a Option<Vec<HeaderField>>, name: &str) -> Option<&'a [u8]> {
        list.as_ref()?
            .iter()
            .find_map(|f| match (&f.name, &f.value) {
                (Text::Known(n), Text::Known(v)) if n.as_slice() == name.as_bytes() => {
                    Some(v.as_slice())
                }
                _ => None,
            })
    }

    pub fn status(&self) -> Option<u16> {
        self.response_headers.as_deref().and_then(status_of)
    }

    /// The content-type of the stream, from the request or else the response.
    pub fn content_type(&self) -> Option<&[u8]> {
        Self::field(&self.request_headers, "content-type")
            .or_else(|| Self::field(&self.response_headers, "content-type"))
    }
}

impl<B: StreamBody> Stream<B> {
    /// Swaps everything kept per role (the roles were guessed wrong).
    pub fn swap_roles(&mut self) {
        self.bytes.swap(0, 1);
        self.data_frames.swap(0, 1);
        self.lost_bytes.swap(0, 1);
        self.ended.swap(0, 1);
        if let Some(w) = self.window.as_mut() {
            w.swap(0, 1);
        }
        if let Some((from, _)) = self.reset.as_mut() {
            *from = from.peer();
        }
        for f in &mut self.frames {
            f.from = f.from.peer();
        }
        if let Some(b) = self.body.as_mut() {
            b.swap_roles();
        }
    }
}

/// `:status` of a header list, when known and numeric.
pub fn status_of(fields: &[HeaderField]) -> Option<u16> {
    fields.iter().find_map(|f| match (&f.name, &f.value) {
        (Text::Known(n), Text::Known(v)) if n.as_slice() == b":status" => {
            std::str::from_utf8(v).ok()?.parse().ok()
        }
        _ => None,
    })
}
