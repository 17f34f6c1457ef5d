//! The reassembly sink: one HTTP/2 session per TCP connection, fed that connection's byte
//! streams and gaps; finished streams and connections go on to an [`H2Sink`].

use crate::capture::Timestamp;
use crate::grpc::{CallBody, CallConfig, GrpcConnection};
use crate::reassembly::{ConnId, ConnStats, StreamEvent, StreamSink};
use crate::session::{self, H2Sink};
use std::collections::HashMap;

use super::Fast;

/// Live capture: how long a complete stream waits for frames still in flight (a reset's
/// stragglers) before it is reported, when no more frames come to count its linger.
const LIVE_STREAM_LINGER_NS: i64 = 200_000_000;

/// Routes reassembly events to per-connection HTTP/2 decoding.
pub struct Tracker<S> {
    config: session::Config<CallConfig>,
    /// Looked up for every reassembly event.
    conns: HashMap<ConnId, GrpcConnection, Fast>,
    /// Connections whose bytes all arrived (FIN or RST), as their small records, until
    /// reassembly closes them (it waits for trailing packets).
    ended: HashMap<ConnId, session::Ended, Fast>,
    sink: S,
}

impl<S: H2Sink<Body = CallBody>> Tracker<S> {
    pub fn new(config: session::Config<CallConfig>, sink: S) -> Self {
        Tracker {
            config,
            conns: HashMap::default(),
            ended: HashMap::default(),
            sink,
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn into_sink(self) -> S {
        self.sink
    }
}

impl<S: H2Sink<Body = CallBody>> StreamSink for Tracker<S> {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                handshake,
                ..
            } => {
                let c = GrpcConnection::new(self.config.clone(), conn, client, server, handshake);
                self.conns.insert(conn, c);
            }
            StreamEvent::Data {
                conn,
                dir,
                ts,
                packet,
                data,
            } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.data(dir, ts, packet, data, &mut self.sink);
                }
            }
            StreamEvent::Gap {
                conn,
                dir,
                ts,
                packet,
                len,
            } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.gap(dir, ts, packet, len, &mut self.sink);
                }
            }
            StreamEvent::Anomaly { .. } => {}
            StreamEvent::Closed { conn, stats, .. } => {
                if let Some(c) = self.conns.remove(&conn) {
                    c.close(stats, &mut self.sink);
                } else if let Some(e) = self.ended.remove(&conn) {
                    e.close(stats, &mut self.sink);
                }
            }
        }
    }

    fn tick(&mut self, now: Timestamp) {
        let before = Timestamp(now.0.saturating_sub(LIVE_STREAM_LINGER_NS));
        for c in self.conns.values_mut() {
            c.flush_lingering(before, &mut self.sink);
        }
    }

    fn ended(&mut self, conn: ConnId, stats: &ConnStats) {
        // A connection with bytes half-decoded waits for `Closed`: closing adds to it then.
        if self.conns.get(&conn).is_some_and(GrpcConnection::is_idle)
            && let Some(c) = self.conns.remove(&conn)
        {
            let e = c.end(stats, &mut self.sink);
            self.ended.insert(conn, e);
        }
    }
}
