//! Flow control: each side's send windows, for the connection and for every stream
//! (RFC 9113 §5.2, §6.9). DATA spends them, WINDOW_UPDATE from the peer widens them,
//! SETTINGS_INITIAL_WINDOW_SIZE moves every open stream's. A side that sends beyond a
//! window is reported.
//!
//! Windows are followed only when the connection was seen from its start (a preface
//! without gaps, or an h2c upgrade): joined later, their starting values are unknown and
//! any number would be made up.

use super::{Connection, H2Sink, Stream, StreamBody};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::FrameHeader;
use crate::role::Role;

/// RFC 9113 §6.9.2: the initial window of the connection and of every stream.
const DEFAULT_WINDOW: i64 = 65_535;

/// One side's windows.
pub(super) struct Windows {
    /// Connection-level send window of this side.
    pub(super) connection: i64,
    /// Initial stream window this side grants (its SETTINGS_INITIAL_WINDOW_SIZE).
    initial_stream: i64,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            connection: DEFAULT_WINDOW,
            initial_stream: DEFAULT_WINDOW,
        }
    }
}

/// DATA of `length` bytes from `r` on stream `s`: spends its stream send window.
pub(super) fn spend_stream_window<B>(s: &mut Stream<B>, r: Role, length: u32, packet: u64) {
    let Some(w) = s.window.as_mut() else {
        return;
    };
    let w = r.of_mut(w);
    *w -= i64::from(length);
    if *w < 0 {
        let w = *w;
        s.anomaly(
            Anomaly::new(
                AnomalyKind::StreamWindowExceeded,
                format!("DATA beyond the stream window ({w})"),
            ),
            r,
            packet,
        );
    }
}

impl<B: StreamBody> Connection<B> {
    /// DATA from `r`: spends its connection send window.
    pub(super) fn spend_connection_window(&mut self, r: Role, header: &FrameHeader) {
        if !self.track_windows {
            return;
        }
        let window = &mut self.side_mut(r).windows.connection;
        *window -= i64::from(header.length);
        if *window < 0 {
            let w = *window;
            self.stream_anomaly(
                AnomalyKind::ConnectionWindowExceeded,
                r,
                header.stream_id,
                format!(
                    "the {} sent DATA beyond the connection window ({w})",
                    r.as_str()
                ),
            );
        }
    }

    /// WINDOW_UPDATE from `r`: widens its peer's send window, on the connection (stream 0)
    /// or on one stream.
    pub(super) fn window_update<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        increment: u32,
        sink: &mut S,
    ) {
        if increment == 0 {
            self.stream_anomaly(
                AnomalyKind::ZeroWindowIncrement,
                r,
                header.stream_id,
                format!(
                    "WINDOW_UPDATE with increment 0 on stream {} (RFC 9113 §6.9)",
                    header.stream_id
                ),
            );
        }
        let peer = r.peer();
        if header.stream_id == 0 {
            if self.track_windows {
                self.side_mut(peer).windows.connection += i64::from(increment);
            }
        } else if let Some(s) = self.stream_mut(header.stream_id, ts, sink)
            && let Some(w) = s.window.as_mut()
        {
            *peer.of_mut(w) += i64::from(increment);
        }
    }

    /// `r` announced SETTINGS_INITIAL_WINDOW_SIZE `value` (at most 2^31-1): RFC 9113
    /// §6.9.2, the change applies to the window of every open stream its peer sends on.
    pub(super) fn initial_window_changed(&mut self, r: Role, value: u32) {
        let new = i64::from(value);
        let granted = &mut self.side_mut(r).windows.initial_stream;
        let delta = new - *granted;
        *granted = new;
        let peer = r.peer();
        for s in self.streams.open_mut() {
            if let Some(w) = s.window.as_mut() {
                *peer.of_mut(w) += delta;
            }
        }
    }

    /// Both sides' send windows for a new stream, each the initial window its peer granted.
    pub(super) fn initial_stream_window(&self) -> Option<[i64; 2]> {
        let [client, server] = &self.sides;
        self.track_windows
            .then_some([server.windows.initial_stream, client.windows.initial_stream])
    }
}
