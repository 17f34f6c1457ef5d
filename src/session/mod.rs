//! The HTTP/2 session of one TCP connection: from its two reassembled byte streams to the
//! streams and the connection record users see.
//!
//! Input is one TCP connection's bytes and gaps, per TCP direction ([`Connection::data`],
//! [`Connection::gap`]); output is completed [`Stream`]s and, at the end, a
//! [`ConnectionRecord`], pushed into an [`H2Sink`]. Nothing here aborts a connection:
//! protocol violations, HPACK errors and gaps become anomalies on the stream or
//! connection, and decoding goes on.
//!
//! Split the way h2 splits `src/proto/`: one job per file, most of them an
//! `impl Connection` block over the state that job owns (named beside each field below):
//!
//! ```text
//! roles.rs         TCP direction -> Role, and the swap when reassembly guessed wrong
//! handshake.rs     held first bytes, detect.rs's verdict, h2c upgrade, CONNECT, mid-connection
//! detect.rs        what the first bytes of a direction are (preface, HTTP/1.x, TLS hello)
//! frames.rs        a side's bytes through its frame decoder, each frame to its job below
//! header_block.rs  HEADERS/PUSH_PROMISE + CONTINUATION, HPACK per side, filed on the stream
//! flow_control.rs  connection and stream send windows
//! settings.rs      SETTINGS, applied where they bind the peer
//! ping.rs          PINGs and their ACKs
//! goaway.rs        GOAWAYs
//! streams.rs       the stream store: open, lingering, finished, the open-stream cap
//! stream.rs        one stream as observed (Stream, FrameRecord)
//! record.rs        what the connection reports at its end (ConnectionRecord, Ended)
//! body.rs          the hook a stream's DATA payload goes to (StreamBody: gRPC, above)
//! ```
//!
//! Inside the session a side is a [`Role`]: per-side state is indexed by [`Role::index`].
//! Reassembly's `Dir` is taken by the entry points and kept on the bytes held during
//! detection (replayed under the roles in force then); `roles.rs` alone maps it to a role.

// Tests may index their own fixtures.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod body;
pub mod detect;
mod flow_control;
mod frames;
mod goaway;
mod handshake;
mod header_block;
mod ping;
mod record;
mod roles;
mod settings;
pub mod stream;
mod streams;

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::{DecoderLimits, FrameDecoder, SettingId};
use crate::http2::hpack::HeaderField;
use crate::reassembly::{ConnId, ConnStats, Dir};
use crate::role::Role;
pub use body::StreamBody;
use flow_control::Windows;
use handshake::{Arrival, Held, State};
use header_block::Blocks;
pub use record::{ConnectionRecord, Ended, GoawayRecord, PingRecord, Protocol, TlsInfo};
use roles::Roles;
use std::net::SocketAddr;
pub use stream::{FrameRecord, Stream};
use streams::Streams;

/// Limits and options for HTTP/2 decoding, and `body`'s for the [`StreamBody`] of the streams.
#[derive(Clone, Debug)]
pub struct Config<C> {
    /// Keep every frame (for `--frames`); off, only counts are kept.
    pub record_frames: bool,
    /// A header block (HEADERS/PUSH_PROMISE + CONTINUATION) larger than this is dropped.
    pub max_header_block: usize,
    /// Open streams per connection; beyond it the oldest is reported incomplete.
    pub max_open_streams: usize,
    /// Frames kept per connection for stream 0 (and late frames of finished streams).
    pub max_connection_frames: usize,
    /// What each direction's frame decoder may hold (frames over the buffered size are
    /// skipped and reported).
    pub frame_limits: DecoderLimits,
    /// The most an HPACK dynamic table may hold (SETTINGS values above it are capped, size
    /// updates above it are errors).
    pub max_hpack_table: u32,
    /// The streams' [`StreamBody::Config`].
    pub body: C,
}

impl<C: Default> Default for Config<C> {
    fn default() -> Self {
        Config {
            record_frames: false,
            max_header_block: 1 << 20,
            max_open_streams: 10_000,
            max_connection_frames: 100_000,
            frame_limits: DecoderLimits::default(),
            max_hpack_table: crate::http2::hpack::HARD_MAX_TABLE_SIZE,
            body: C::default(),
        }
    }
}

/// What HTTP/2 decoding produces.
pub trait H2Sink {
    /// What the streams' DATA went to.
    type Body: StreamBody;
    /// A stream was seen for the first time (its first frame, or an HTTP/1.1 upgrade
    /// request). Every opened stream is reported by [`stream`](H2Sink::stream) later, and
    /// streams open in the order their first frames are decoded, across all connections:
    /// an export writes them in that order as soon as none opened before is pending.
    fn opened(&mut self, _conn: &ConnectionInfo, _id: u32) {}
    /// A stream is complete (or the connection ended with it open).
    fn stream(&mut self, conn: &ConnectionInfo, stream: Stream<Self::Body>);
    /// The connection ended; all its streams were reported before.
    fn connection(&mut self, conn: ConnectionRecord);
}

/// Who a connection is between, as far as decoding knows.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

const MAX_CONN_ANOMALIES: usize = 64;

/// One side (a role) of the connection: what each job keeps for it.
struct Side {
    /// handshake.rs: the first bytes, held until the protocol is known.
    held: Held,
    /// frames.rs: the frame decoder, once HTTP/2 starts.
    decoder: Option<FrameDecoder>,
    /// header_block.rs: the HPACK context and the block being gathered.
    blocks: Blocks,
    /// settings.rs: the SETTINGS this side sent, in order.
    settings_sent: Vec<Vec<(SettingId, u32)>>,
    /// flow_control.rs: this side's windows.
    windows: Windows,
}

pub struct Connection<B: StreamBody> {
    config: Config<B::Config>,
    info: ConnectionInfo,
    /// roles.rs: which role sends in which TCP direction, and whether that is certain.
    roles: Roles,
    /// handshake.rs: reassembly saw the TCP handshake.
    handshake: bool,
    /// handshake.rs: the protocol, or how far detecting it got.
    state: State,
    /// handshake.rs: HTTP/2 joined mid-connection.
    mid: bool,
    h2c_upgrade: bool,
    /// The target of an HTTP/1.1 CONNECT whose tunnel carries the rest of the connection.
    tunnel: Option<String>,
    tls: Option<TlsInfo>,
    /// handshake.rs, while detecting: the pieces held in the heads, in capture order.
    arrivals: Vec<Arrival>,
    /// Indexed by [`Role::index`].
    sides: [Side; 2],
    /// streams.rs: open, lingering and finished streams.
    streams: Streams<B>,
    /// ping.rs: PINGs with their ACKs.
    pings: Vec<PingRecord>,
    /// goaway.rs: GOAWAYs, in order.
    goaways: Vec<GoawayRecord>,
    /// frames.rs: frames of stream 0 and of finished streams (with `--frames`).
    frames: Vec<FrameRecord>,
    frame_count: u64,
    anomalies: Vec<Anomaly>,
    /// flow_control.rs: windows are meaningful only when the connection was seen from its
    /// start.
    track_windows: bool,
    /// The packet being decoded, for the anomalies it causes.
    packet: u64,
    /// header_block.rs: where header blocks are decoded (reused), before their fields move
    /// to a list of their own size: a list grown field by field was reallocated two or
    /// three times.
    decoded: Vec<HeaderField>,
}

impl<B: StreamBody> Connection<B> {
    pub fn new(
        config: Config<B::Config>,
        id: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        handshake: bool,
    ) -> Self {
        let side = || Side {
            held: Held::default(),
            decoder: None,
            blocks: Blocks::new(&config, false),
            settings_sent: Vec::new(),
            windows: Windows::default(),
        };
        let sides = [side(), side()];
        Connection {
            config,
            info: ConnectionInfo { id, client, server },
            roles: Roles::new(handshake),
            handshake,
            state: State::Detecting,
            mid: false,
            h2c_upgrade: false,
            tunnel: None,
            tls: None,
            arrivals: Vec::new(),
            sides,
            streams: Streams::default(),
            pings: Vec::new(),
            goaways: Vec::new(),
            frames: Vec::new(),
            frame_count: 0,
            anomalies: Vec::new(),
            track_windows: false,
            packet: 0,
            decoded: Vec::new(),
        }
    }

    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    fn side(&self, r: Role) -> &Side {
        r.of(&self.sides)
    }

    fn side_mut(&mut self, r: Role) -> &mut Side {
        r.of_mut(&mut self.sides)
    }

    /// Files a connection anomaly, found while decoding the current packet.
    fn anomaly(&mut self, a: Anomaly) {
        if self.anomalies.len() < MAX_CONN_ANOMALIES {
            self.anomalies.push(Anomaly {
                packet: self.packet,
                ..a
            });
        }
    }

    /// Files an anomaly that side `r` caused on stream `id`.
    fn stream_anomaly(&mut self, kind: AnomalyKind, r: Role, id: u32, text: String) {
        self.anomaly(Anomaly::new(kind, text).by(r).on(id));
    }

    /// Bytes of one direction (as reassembly names it), captured at `ts` in packet `packet`.
    pub fn data<S: H2Sink<Body = B>>(
        &mut self,
        dir: Dir,
        ts: Timestamp,
        packet: u64,
        data: &[u8],
        sink: &mut S,
    ) {
        self.packet = packet;
        let r = self.roles.of(dir);
        match self.state {
            State::Detecting | State::AwaitUpgrade(_) | State::AwaitTunnel(_) => {
                self.hold(dir, r, ts, data, sink)
            }
            State::Http2 => self.feed(r, ts, data, sink),
            State::Http1 | State::Tls | State::Unknown => {}
        }
    }

    /// `len` bytes of one direction were never captured.
    pub fn gap<S: H2Sink<Body = B>>(
        &mut self,
        dir: Dir,
        ts: Timestamp,
        packet: u64,
        len: u64,
        sink: &mut S,
    ) {
        self.packet = packet;
        let r = self.roles.of(dir);
        match self.state {
            State::Detecting => {
                let held = &mut self.side_mut(r).held;
                if held.head.is_empty() {
                    held.started_with_gap = true;
                } else {
                    // Bytes before the gap cannot be joined to bytes after it: decide now.
                    self.detect(ts, true, sink);
                    if self.state == State::Http2 {
                        self.gap(dir, ts, packet, len, sink);
                    }
                }
            }
            State::Http2 => {
                self.anomaly(
                    Anomaly::new(
                        AnomalyKind::TcpGap,
                        format!("{len} bytes from the {} never captured", r.as_str()),
                    )
                    .by(r),
                );
                self.with_decoder(r, sink, |dec, mut f| dec.gap(len, &mut f), ts);
            }
            _ => {}
        }
    }

    /// Nothing is half-decoded (an HTTP/2 connection at a frame boundary both ways, no
    /// header block open): ending it now reports exactly what closing it later would.
    pub fn is_idle(&self) -> bool {
        self.state == State::Http2
            && self.sides.iter().all(|side| {
                side.blocks.pending.is_none()
                    && side.decoder.as_ref().is_none_or(FrameDecoder::is_idle)
            })
    }

    /// The TCP connection ended: flush the decoders, report open streams, then the connection.
    pub fn close<S: H2Sink<Body = B>>(self, tcp: &ConnStats, sink: &mut S) {
        self.end(tcp, sink).close(tcp, sink);
    }

    /// Reports every stream and keeps only the connection's record, to be completed with
    /// the final TCP counters by [`Ended::close`]. Reassembly holds an ended connection
    /// until trailing packets stop (on a busy capture, seconds of connections, and a
    /// `Connection` is over 1 KB before its streams); when it [`is_idle`] at the last byte,
    /// ending it there changes nothing but when its streams are reported.
    ///
    /// [`is_idle`]: Connection::is_idle
    pub fn end<S: H2Sink<Body = B>>(mut self, tcp: &ConnStats, sink: &mut S) -> Ended {
        if self.detecting() {
            self.detect(tcp.end, true, sink);
        }
        for r in Role::BOTH {
            self.with_decoder(r, sink, |dec, mut f| dec.finish(&mut f), tcp.end);
            self.unterminated_block(r);
        }
        self.finish_all(sink);
        self.into_ended(tcp)
    }
}

#[cfg(test)]
mod tests;
