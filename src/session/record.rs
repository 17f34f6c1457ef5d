//! What a connection reports at its end: its [`ConnectionRecord`] (protocol, handshake,
//! SETTINGS, PINGs, GOAWAYs, windows, frames of stream 0, anomalies, TCP counters), and
//! [`Ended`], the record alone waiting for reassembly's final counters.
//!
//! Every sender in a record is a [`Role`] and every per-side array is indexed by
//! [`Role::index`]: a connection whose roles were swapped reports them corrected.

use super::handshake::State;
use super::roles::Roles;
use super::{Connection, ConnectionInfo, FrameRecord, H2Sink, StreamBody};
use crate::anomaly::Anomaly;
use crate::capture::Timestamp;
use crate::http2::frame::{ErrorCode, SettingId};
use crate::reassembly::ConnStats;
use crate::role::Role;

/// The protocol a connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http2,
    Http1,
    Tls,
    Unknown,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http2 => "http2",
            Protocol::Http1 => "http1",
            Protocol::Tls => "tls",
            Protocol::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingRecord {
    pub from: Role,
    pub payload: [u8; 8],
    pub sent: Timestamp,
    pub acked: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoawayRecord {
    pub ts: Timestamp,
    pub from: Role,
    pub last_stream_id: u32,
    pub error_code: ErrorCode,
    pub debug_data: Vec<u8>,
}

/// A connection at its end.
#[derive(Clone, Debug)]
pub struct ConnectionRecord {
    pub info: ConnectionInfo,
    pub protocol: Protocol,
    pub joined_mid_connection: bool,
    pub h2c_upgrade: bool,
    /// The target of an HTTP/1.1 CONNECT whose tunnel carried the protocol.
    pub tunnel: Option<String>,
    pub tls: Option<TlsInfo>,
    /// SETTINGS each side sent, in order (index by [`Role::index`]).
    pub settings: [Vec<Vec<(SettingId, u32)>>; 2],
    pub pings: Vec<PingRecord>,
    pub goaways: Vec<GoawayRecord>,
    /// Connection-level send windows (index by [`Role::index`]), when seen from the start.
    pub window: Option<[i64; 2]>,
    pub streams: u64,
    pub frames: Vec<FrameRecord>,
    pub frame_count: u64,
    pub anomalies: Vec<Anomaly>,
    /// TCP counters, oriented by the final roles.
    pub tcp: ConnStats,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    pub sni: Option<String>,
    pub client_alpn: Vec<String>,
    pub server_alpn: Vec<String>,
}

impl<B: StreamBody> Connection<B> {
    /// The connection's record, every stream having been reported.
    pub(super) fn into_ended(self, tcp: &ConnStats) -> Ended {
        let protocol = match self.state {
            State::Http2 => Protocol::Http2,
            State::Http1 | State::AwaitUpgrade(_) | State::AwaitTunnel(_) => Protocol::Http1,
            State::Tls => Protocol::Tls,
            State::Detecting | State::Unknown => Protocol::Unknown,
        };
        let [client, server] = self.sides;
        let record = Box::new(ConnectionRecord {
            info: self.info,
            protocol,
            joined_mid_connection: self.mid,
            h2c_upgrade: self.h2c_upgrade,
            tunnel: self.tunnel,
            tls: self.tls,
            settings: [client.settings_sent, server.settings_sent],
            pings: self.pings,
            goaways: self.goaways,
            window: self
                .track_windows
                .then_some([client.windows.connection, server.windows.connection]),
            streams: self.streams.count,
            frames: self.frames,
            frame_count: self.frame_count,
            anomalies: self.anomalies,
            tcp: tcp.clone(),
        });
        Ended {
            record,
            roles: self.roles,
        }
    }
}

/// A connection whose bytes are all decoded and whose streams are all reported, waiting
/// for its final TCP counters: only the boxed record is kept.
pub struct Ended {
    record: Box<ConnectionRecord>,
    /// The TCP counters come by reassembly's directions.
    roles: Roles,
}

impl Ended {
    /// Reports the connection with its final TCP counters.
    pub fn close<S: H2Sink>(self, tcp: &ConnStats, sink: &mut S) {
        let mut record = *self.record;
        record.tcp = tcp.clone();
        self.roles.orient(&mut record.tcp);
        sink.connection(record);
    }
}
