//! The records users see, built once by the pipeline: a finished call ([`CallRecord`]) and
//! an ended connection ([`ConnectionRecord`]). The export writes them as JSON, the terminal
//! UI shows them; neither reaches into the layers below for its data.
//!
//! The vocabulary the records are made of (header fields, frames, gRPC messages, error
//! codes, roles, anomalies) is re-exported here, so a consumer names `model::record::…`
//! only.

pub use crate::anomaly::{Anomaly, AnomalyKind, Severity};
pub use crate::capture::Timestamp;
pub use crate::grpc::call::{Call, Message};
pub use crate::http2::frame::{ErrorCode, FrameType};
pub use crate::http2::hpack::{HeaderField, Text};
pub use crate::reassembly::ConnId;
pub use crate::role::Role;
pub use crate::session::stream::status_of;
pub use crate::session::{ConnectionInfo, ConnectionRecord, FrameRecord, Protocol};

use crate::grpc::GrpcStream;
use std::net::SocketAddr;

/// One finished HTTP/2 stream and the gRPC call it carried: everything shown of it.
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// The connection's id (numbered from 0 in order of first packet).
    pub conn: ConnId,
    pub client: SocketAddr,
    /// The backend that served the stream.
    pub server: SocketAddr,
    pub stream_id: u32,
    pub request_headers: Option<Vec<HeaderField>>,
    pub request_trailers: Option<Vec<HeaderField>>,
    /// 1xx responses, in order.
    pub informational: Vec<Vec<HeaderField>>,
    pub response_headers: Option<Vec<HeaderField>>,
    pub trailers: Option<Vec<HeaderField>>,
    /// DATA payload bytes (padding excluded), per role ([`Role::index`]).
    pub bytes: [u64; 2],
    pub data_frames: [u64; 2],
    /// The RST_STREAM that ended it: who sent it, and its error code.
    pub reset: Option<(Role, ErrorCode)>,
    /// Both sides ended it, or it was reset.
    pub complete: bool,
    /// For a pushed stream: the stream whose PUSH_PROMISE announced it.
    pub promised_by: Option<u32>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Flow-control send windows per role at the end, when the connection was seen from
    /// its start.
    pub window: Option<[i64; 2]>,
    /// Every frame (with `--frames`, and always in the UI).
    pub frames: Vec<FrameRecord>,
    pub anomalies: Vec<Anomaly>,
    /// The decoded call, for gRPC streams.
    pub grpc: Option<Call>,
}

impl CallRecord {
    /// The record of a finished stream on connection `conn`, with its decoded call; the
    /// stream's header lists, frames and anomalies move into it.
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
            promised_by: s.promised_by,
            start: s.start,
            end: s.end,
            window: s.window,
            frames: s.frames,
            anomalies: s.anomalies,
            grpc,
        }
    }

    /// The value of the first known field called `name` in a header list.
    pub fn field<'a>(list: &'a Option<Vec<HeaderField>>, name: &str) -> Option<&'a [u8]> {
        GrpcStream::field(list, name)
    }

    /// The final response's `:status`.
    pub fn status(&self) -> Option<u16> {
        self.response_headers
            .as_deref()
            .and_then(crate::session::stream::status_of)
    }

    /// How long the stream lasted, in nanoseconds of capture time.
    pub fn duration_ns(&self) -> i64 {
        self.end.saturating_sub(self.start)
    }
}
