//! Per-connection HTTP/2 state: protocol detection, frame decoders and HPACK contexts per
//! direction, header blocks across CONTINUATION, streams, SETTINGS, PINGs, GOAWAY and
//! flow-control windows.
//!
//! Input is one TCP connection's reassembled byte streams (data and gaps, per direction);
//! output is completed [`Stream`]s and, at the end, a [`ConnectionRecord`], pushed into an
//! [`H2Sink`]. Nothing here aborts a connection: protocol violations, HPACK errors and gaps
//! become anomalies on the stream or connection, and decoding goes on.
//!
//! Roles: the TCP layer guesses client and server; the HTTP/2 preface, an HTTP/1.1 request,
//! or (mid-connection) the first request or response header block settle it, and the
//! connection swaps its per-direction state when the guess was wrong.
//!
//! ```text
//!  Detecting --preface--------------------------> Http2 (decoders at a frame boundary)
//!      |------HTTP/1.1 Upgrade: h2c + 101-------> Http2 (stream 1 = the upgraded request)
//!      |------HTTP/1.1 CONNECT + 2xx------------> Detecting again, on the tunnel's bytes
//!      |------HTTP/1.x------------------------> Http1 (skipped)
//!      |------TLS hello-----------------------> Tls (SNI, ALPN; skipped)
//!      |------no handshake, other bytes-------> Http2 joined mid-connection (decoders resync)
//!      `------handshake, other bytes----------> Unknown (skipped)
//! ```

pub mod detect;
pub mod grpc;
mod roles;
pub mod stream;

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::{
    DecoderLimits, ErrorCode, Event, Frame, FrameDecoder, FrameHeader, FrameType, PREFACE,
    SettingId,
};
use crate::http2::hpack::{self, HeaderField, Text};
use crate::reassembly::{ConnId, ConnStats, Dir};
use crate::role::Role;
use detect::{Http1Request, Start, TlsHello};
use roles::Roles;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::SocketAddr;
pub use stream::{FrameRecord, Stream};

/// Limits and options for HTTP/2 decoding.
#[derive(Clone, Debug)]
pub struct Config {
    /// Keep every frame (for `--frames`); off, only counts are kept.
    pub record_frames: bool,
    /// A header block (HEADERS/PUSH_PROMISE + CONTINUATION) larger than this is dropped.
    pub max_header_block: usize,
    /// Open streams per connection; beyond it the oldest is reported incomplete.
    pub max_open_streams: usize,
    /// Frames kept per connection for stream 0 (and late frames of finished streams).
    pub max_connection_frames: usize,
    /// Keep gRPC message bodies (off for `--no-messages`: sizes and times stay).
    pub keep_message_bodies: bool,
    /// What each direction's frame decoder may hold (frames over the buffered size are
    /// skipped and reported).
    pub frame_limits: DecoderLimits,
    /// gRPC messages declaring more bytes than this are reported and their bodies skipped.
    pub max_message: usize,
    /// A compressed gRPC message inflating past this is reported, shown compressed.
    pub max_decompressed: usize,
    /// The most an HPACK dynamic table may hold (SETTINGS values above it are capped, size
    /// updates above it are errors).
    pub max_hpack_table: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            record_frames: false,
            max_header_block: 1 << 20,
            max_open_streams: 10_000,
            max_connection_frames: 100_000,
            keep_message_bodies: true,
            frame_limits: DecoderLimits::default(),
            max_message: crate::grpc::DEFAULT_MAX_MESSAGE,
            max_decompressed: crate::grpc::DEFAULT_DECOMPRESS_CAP,
            max_hpack_table: crate::http2::hpack::HARD_MAX_TABLE_SIZE,
        }
    }
}

/// What HTTP/2 decoding produces.
pub trait H2Sink {
    /// A stream was seen for the first time (its first frame, or an HTTP/1.1 upgrade
    /// request). Every opened stream is reported by [`stream`](H2Sink::stream) later, and
    /// streams open in the order their first frames are decoded, across all connections:
    /// an export writes them in that order as soon as none opened before is pending.
    fn opened(&mut self, _conn: &ConnectionInfo, _id: u32) {}
    /// A stream is complete (or the connection ended with it open).
    fn stream(&mut self, conn: &ConnectionInfo, stream: Stream);
    /// The connection ended; all its streams were reported before.
    fn connection(&mut self, conn: ConnectionRecord);
}

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

/// Who a connection is between, as far as decoding knows.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
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

const MAX_CONN_ANOMALIES: usize = 64;
const MAX_PINGS: usize = 1024;
/// Finished stream ids remembered so that late frames (a WINDOW_UPDATE or RST_STREAM after
/// END_STREAM) do not resurrect them as new streams.
const MAX_FINISHED_IDS: usize = 4096;
const DEFAULT_WINDOW: i64 = 65_535;
/// Frames a complete stream waits for late arrivals before it is reported.
const LINGER_FRAMES: u64 = 32;
/// Upper bound assumed for a dynamic table whose SETTINGS_HEADER_TABLE_SIZE was not seen.
const MID_CONNECTION_TABLE_BOUND: u32 = 65_536;

#[derive(Debug, PartialEq, Eq)]
enum State {
    Detecting,
    /// An HTTP/1.x request seen; waiting for a `101` or the client's preface (HTTP/2 via
    /// `Upgrade: h2c`), or any other answer (HTTP/1).
    AwaitUpgrade(Box<Http1Request>),
    /// HTTP/1.1 `CONNECT` seen; a 2xx answer opens a tunnel whose bytes are detected anew.
    AwaitTunnel(Box<Http1Request>),
    Http2,
    Http1,
    Tls,
    Unknown,
}

/// A header block being gathered across CONTINUATION frames.
struct PendingBlock {
    stream_id: u32,
    /// HEADERS (with its END_STREAM) or PUSH_PROMISE (with the promised id).
    end_stream: bool,
    promised: Option<u32>,
    fragments: Vec<u8>,
    oversized: bool,
}

/// A piece of a direction held during detection: where and when it was captured.
struct Arrival {
    /// As reassembly named it (the roles may be swapped before the replay).
    dir: Dir,
    ts: Timestamp,
    packet: u64,
    len: usize,
}

/// One direction: bytes before detection, then the frame decoder and HPACK context.
struct Side {
    head: Vec<u8>,
    /// The stream started with a gap: the start was never seen.
    started_with_gap: bool,
    /// Bytes to drop before the next check (an upgraded request's body), then the
    /// preface to expect (the client after `101 Switching Protocols`).
    skip: u64,
    expect_preface: bool,
    decoder: Option<FrameDecoder>,
    hpack: hpack::Decoder,
    pending: Option<PendingBlock>,
    /// SETTINGS this side sent (values in force, and the full history).
    settings_sent: Vec<Vec<(SettingId, u32)>>,
    /// Connection-level send window of this side.
    window: i64,
    /// Initial stream window this side grants (its SETTINGS_INITIAL_WINDOW_SIZE).
    initial_window: i64,
}

impl Side {
    fn new() -> Self {
        Side {
            head: Vec::new(),
            started_with_gap: false,
            skip: 0,
            expect_preface: false,
            decoder: None,
            hpack: hpack::Decoder::new(),
            pending: None,
            settings_sent: Vec::new(),
            window: DEFAULT_WINDOW,
            initial_window: DEFAULT_WINDOW,
        }
    }
}

pub struct Connection {
    config: Config,
    info: ConnectionInfo,
    handshake: bool,
    state: State,
    mid: bool,
    h2c_upgrade: bool,
    /// The target of an HTTP/1.1 CONNECT whose tunnel carries the rest of the connection.
    tunnel: Option<String>,
    tls: Option<TlsInfo>,
    /// Indexed by [`Role::index`].
    sides: [Side; 2],
    /// Which role sends in which TCP direction, and whether that is certain.
    roles: Roles,
    /// While detecting: the pieces held in the heads, in capture order.
    arrivals: Vec<Arrival>,
    /// Boxed: a stream is hundreds of bytes, and a B-tree node shifts its values on every
    /// insert and remove.
    streams: BTreeMap<u32, Box<Stream>>,
    /// Complete streams waiting out their linger, with the frame count when they completed.
    lingering: VecDeque<(u32, u64)>,
    finished_ids: HashSet<u32, foldhash::fast::RandomState>,
    finished_order: VecDeque<u32>,
    stream_count: u64,
    pings: Vec<PingRecord>,
    goaways: Vec<GoawayRecord>,
    frames: Vec<FrameRecord>,
    frame_count: u64,
    anomalies: Vec<Anomaly>,
    /// Flow-control accounting is meaningful only when the connection was seen from its start.
    track_windows: bool,
    packet: u64,
    /// Where header blocks are decoded (reused), before their fields move to a list of
    /// their own size: a list grown field by field was reallocated two or three times.
    decoded: Vec<HeaderField>,
}

impl Connection {
    pub fn new(
        config: Config,
        id: ConnId,
        client: SocketAddr,
        server: SocketAddr,
        handshake: bool,
    ) -> Self {
        // The decoded header list is bounded like the block that carries it: raising one
        // without the other would only move where a large block is refused.
        let side = || {
            let mut side = Side::new();
            side.hpack.set_max_header_list_size(config.max_header_block);
            side.hpack.set_table_size_cap(config.max_hpack_table);
            side
        };
        let sides = [side(), side()];
        Connection {
            config,
            info: ConnectionInfo { id, client, server },
            handshake,
            state: State::Detecting,
            mid: false,
            h2c_upgrade: false,
            tunnel: None,
            tls: None,
            sides,
            roles: Roles::new(handshake),
            arrivals: Vec::new(),
            streams: BTreeMap::new(),
            lingering: VecDeque::new(),
            finished_ids: HashSet::default(),
            finished_order: VecDeque::new(),
            stream_count: 0,
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
    pub fn data<S: H2Sink>(
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
                // Held whole (the head may pass MAX_HEAD by one segment, then detection is
                // forced), with where each piece came from, to replay it in capture order.
                self.sides[r.index()].head.extend_from_slice(data);
                self.arrivals.push(Arrival {
                    dir,
                    ts,
                    packet,
                    len: data.len(),
                });
                self.detect(ts, false, sink);
                if self.detecting() && self.sides[r.index()].head.len() >= detect::MAX_HEAD {
                    self.detect(ts, true, sink);
                }
            }
            State::Http2 => self.feed(r, ts, data, sink),
            State::Http1 | State::Tls | State::Unknown => {}
        }
    }

    /// `len` bytes of one direction were never captured.
    pub fn gap<S: H2Sink>(&mut self, dir: Dir, ts: Timestamp, packet: u64, len: u64, sink: &mut S) {
        self.packet = packet;
        let r = self.roles.of(dir);
        match self.state {
            State::Detecting => {
                let side = &mut self.sides[r.index()];
                if side.head.is_empty() {
                    side.started_with_gap = true;
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

    /// Decides the protocol from the heads of both directions, when they say enough
    /// (or, with `force`, with whatever they hold).
    fn detect<S: H2Sink>(&mut self, ts: Timestamp, force: bool, sink: &mut S) {
        match self.state {
            State::AwaitUpgrade(_) => return self.await_upgrade(ts, force, sink),
            State::AwaitTunnel(_) => return self.await_tunnel(ts, force, sink),
            _ => {}
        }
        let c = detect::classify(&self.sides[0].head);
        let s = detect::classify(&self.sides[1].head);
        // The client's first bytes decide. The server's can only say that the roles were
        // guessed the wrong way round (a preface, request or ClientHello coming from it);
        // otherwise they wait: many servers speak first (SETTINGS before the preface).
        let client_start = |x: &Start| match x {
            Start::Preface | Start::Http1Request(_) => true,
            Start::Tls(h) => h.client,
            _ => false,
        };
        if client_start(&s) && !client_start(&c) {
            self.swap_roles();
            return self.detect(ts, force, sink);
        }
        match c {
            Start::Preface => match s {
                // The answer to an `Upgrade: h2c` request that was not captured: HTTP/2
                // starts after it on the server's side.
                Start::Http1Response {
                    status: 101,
                    head_len,
                } => {
                    self.h2c_upgrade = true;
                    self.start_http2(PREFACE.len(), head_len, sink)
                }
                Start::Http1Response { .. } | Start::NeedMore
                    if self.sides[1].head.starts_with(b"HTTP/1.") && !force => {}
                _ => self.start_http2(PREFACE.len(), 0, sink),
            },
            Start::Http1Request(req) => {
                self.roles.certain = true;
                if req.method == "CONNECT" && self.tunnel.is_none() {
                    self.state = State::AwaitTunnel(Box::new(req));
                    self.await_tunnel(ts, force, sink);
                } else {
                    // Whether the connection switches to HTTP/2 is shown by what follows (a
                    // `101`, or the client's preface), not by what the request asked for.
                    self.state = State::AwaitUpgrade(Box::new(req));
                    self.await_upgrade(ts, force, sink);
                }
            }
            Start::Tls(h) => {
                self.state = State::Tls;
                self.tls_hello(&h);
                if let Start::Tls(other) = s {
                    self.tls_hello(&other);
                }
            }
            Start::Http1Response { .. } => {
                self.state = State::Http1;
                self.release_heads();
            }
            Start::Other => self.other_start(sink),
            Start::NeedMore if force => match s {
                Start::Tls(h) => {
                    self.state = State::Tls;
                    self.tls_hello(&h);
                }
                Start::Http1Response { .. } => {
                    self.state = State::Http1;
                    self.release_heads();
                }
                _ => self.other_start(sink),
            },
            Start::NeedMore => {}
        }
    }

    /// Neither a preface nor HTTP/1 nor TLS: HTTP/2 joined mid-connection if the start of
    /// the connection was not captured, otherwise not HTTP/2.
    fn other_start<S: H2Sink>(&mut self, sink: &mut S) {
        let start_missed =
            !self.handshake || self.sides[0].started_with_gap || self.sides[1].started_with_gap;
        if !start_missed {
            self.state = State::Unknown;
            self.release_heads();
            return;
        }
        self.mid = true;
        self.roles.certain = false;
        self.state = State::Http2;
        for r in Role::BOTH {
            let side = &mut self.sides[r.index()];
            side.hpack = hpack::Decoder::new_mid_connection();
            side.hpack
                .set_max_header_list_size(self.config.max_header_block);
            side.hpack.set_table_size_cap(self.config.max_hpack_table);
            // The SETTINGS that sized the table were not seen: assume a generous bound so
            // the decoder never concludes too early that the unknown entries are gone.
            side.hpack
                .set_max_table_size_setting(MID_CONNECTION_TABLE_BOUND);
            side.decoder = Some(FrameDecoder::new_unsynchronized(self.config.frame_limits));
        }
        self.replay_heads([0, 0], sink);
    }

    fn start_http2<S: H2Sink>(&mut self, client_skip: usize, server_skip: usize, sink: &mut S) {
        self.state = State::Http2;
        self.roles.certain = true;
        self.track_windows = !self.sides[0].started_with_gap && !self.sides[1].started_with_gap;
        for side in &mut self.sides {
            side.decoder = Some(FrameDecoder::new(self.config.frame_limits));
        }
        self.replay_heads([client_skip, server_skip], sink);
    }

    fn detecting(&self) -> bool {
        matches!(
            self.state,
            State::Detecting | State::AwaitUpgrade(_) | State::AwaitTunnel(_)
        )
    }

    /// Feeds what detection buffered to the decoders, piece by piece in capture order,
    /// each with its own time and packet, skipping the first `skip[role]` bytes of a side.
    fn replay_heads<S: H2Sink>(&mut self, skip: [usize; 2], sink: &mut S) {
        let heads = [
            std::mem::take(&mut self.sides[0].head),
            std::mem::take(&mut self.sides[1].head),
        ];
        let arrivals = std::mem::take(&mut self.arrivals);
        let now = self.packet;
        let mut pos = [0usize; 2];
        // The heads are indexed by the roles in force now; a piece may settle the roles
        // and swap them, so later pieces are fed under the new role.
        let roles = self.roles;
        for a in arrivals {
            let r = roles.of(a.dir).index();
            let start = pos[r].max(skip[r]);
            pos[r] += a.len;
            let end = pos[r].min(heads[r].len());
            if start < end {
                self.packet = a.packet;
                // The skip (a preface, an HTTP/1.1 head) was counted in the same roles.
                self.feed(self.roles.of(a.dir), a.ts, &heads[r][start..end], sink);
            }
        }
        self.packet = now;
    }

    /// Drops the first `n` bytes a side sent during detection (an HTTP/1.1 head).
    fn drop_head(&mut self, role: Role, mut n: usize) {
        let head = &mut self.sides[role.index()].head;
        n = n.min(head.len());
        head.drain(..n);
        for i in 0..self.arrivals.len() {
            if n == 0 {
                break;
            }
            if self.roles.of(self.arrivals[i].dir) == role {
                let take = n.min(self.arrivals[i].len);
                self.arrivals[i].len -= take;
                n -= take;
            }
        }
        self.arrivals.retain(|a| a.len > 0);
    }

    fn release_heads(&mut self) {
        for side in &mut self.sides {
            side.head = Vec::new();
        }
        self.arrivals = Vec::new();
    }

    /// After an HTTP/1.1 `Upgrade: h2c` request: a `101` switches both sides to HTTP/2
    /// (RFC 7540 §3.2), anything else leaves the connection HTTP/1.
    fn await_upgrade<S: H2Sink>(&mut self, ts: Timestamp, force: bool, sink: &mut S) {
        let State::AwaitUpgrade(req) = &self.state else {
            return;
        };
        let body = req.content_length.unwrap_or(0);
        let after_request = usize::try_from(body)
            .ok()
            .and_then(|b| b.checked_add(req.head_len))
            .and_then(|n| self.sides[0].head.get(n..));
        // The client's preface after its request proves the switch even when the server's
        // `101` was not captured.
        let client_switched = after_request.is_some_and(|rest| rest.starts_with(PREFACE));
        let server_skip = match detect::classify(&self.sides[1].head) {
            Start::Http1Response {
                status: 101,
                head_len,
            } => Some(head_len),
            _ if client_switched => Some(0),
            Start::NeedMore if !force => return,
            _ => None,
        };
        let Some(server_skip) = server_skip else {
            self.state = State::Http1;
            self.release_heads();
            return;
        };
        let req = (**req).clone();
        self.h2c_upgrade = true;
        self.state = State::Http2;
        self.roles.certain = true;
        self.track_windows = true;
        // RFC 7540 §3.2: the upgraded request is stream 1 (when it asked to be).
        if req.wants_h2c() || server_skip > 0 {
            self.upgraded_stream(&req, ts, sink);
        }
        let client = &mut self.sides[0];
        client.decoder = Some(FrameDecoder::new(self.config.frame_limits));
        client.expect_preface = true;
        client.skip = body;
        if let Some(s) = self.streams.get_mut(&1) {
            s.bytes[0] = body;
            s.ended[0] = true;
        }
        self.sides[1].decoder = Some(FrameDecoder::new(self.config.frame_limits));
        self.replay_heads([req.head_len, server_skip], sink);
    }

    /// After an HTTP/1.1 `CONNECT` (RFC 9110 §9.3.6): a 2xx answer turns the rest of both
    /// directions into a tunnel, whose protocol is detected like a new connection's.
    fn await_tunnel<S: H2Sink>(&mut self, ts: Timestamp, force: bool, sink: &mut S) {
        let State::AwaitTunnel(req) = &self.state else {
            return;
        };
        match detect::classify(&self.sides[1].head) {
            Start::Http1Response { status, head_len } if (200..300).contains(&status) => {
                let skip_client = req.head_len;
                self.tunnel = Some(req.target.clone());
                self.state = State::Detecting;
                self.drop_head(Role::Client, skip_client);
                self.drop_head(Role::Server, head_len);
                self.detect(ts, force, sink);
            }
            Start::NeedMore if !force => {}
            _ => {
                self.state = State::Http1;
                self.release_heads();
            }
        }
    }

    /// Stream 1 of an upgraded connection: the HTTP/1.1 request, in HTTP/2 terms.
    fn upgraded_stream<S: H2Sink>(&mut self, req: &Http1Request, ts: Timestamp, sink: &mut S) {
        let text = |b: &[u8]| Text::Known(b.to_vec());
        let field = |n: &[u8], v: &[u8]| HeaderField {
            name: text(n),
            value: text(v),
            never_indexed: false,
            unknown_index: None,
            unknown_entry: None,
        };
        let mut fields = vec![
            field(b":method", req.method.as_bytes()),
            field(b":scheme", b"http"),
        ];
        if let Some(host) = req.header("host") {
            fields.push(field(b":authority", host));
        }
        fields.push(field(b":path", req.target.as_bytes()));
        const HOP_BY_HOP: &[&str] = &[
            "host",
            "connection",
            "upgrade",
            "http2-settings",
            "keep-alive",
        ];
        for (n, v) in &req.headers {
            if !HOP_BY_HOP.contains(&n.as_str()) {
                fields.push(field(n.as_bytes(), v));
            }
        }
        let mut s = Stream::new(1, ts, self.initial_stream_window());
        s.request_headers = Some(fields);
        sink.opened(&self.info, 1);
        self.streams.insert(1, Box::new(s));
        self.stream_count += 1;
    }

    fn tls_hello(&mut self, h: &TlsHello) {
        let tls = self.tls.get_or_insert_with(TlsInfo::default);
        if h.client {
            tls.sni = tls.sni.take().or_else(|| h.sni.clone());
            tls.client_alpn = h.alpn.clone();
        } else {
            tls.server_alpn = h.alpn.clone();
        }
    }

    /// Runs bytes of side `r` through its frame decoder.
    fn feed<S: H2Sink>(&mut self, r: Role, ts: Timestamp, mut data: &[u8], sink: &mut S) {
        let side = &mut self.sides[r.index()];
        if side.skip > 0 {
            let n = (side.skip as usize).min(data.len());
            side.skip -= n as u64;
            data = &data[n..];
        }
        if side.expect_preface {
            // After `101 Switching Protocols` the client still sends the preface first.
            let need = PREFACE.len() - side.head.len();
            let n = need.min(data.len());
            side.head.extend_from_slice(&data[..n]);
            data = &data[n..];
            if side.head.len() < PREFACE.len() {
                return;
            }
            side.expect_preface = false;
            if side.head != PREFACE {
                self.anomaly(
                    Anomaly::new(
                        AnomalyKind::MissingPreface,
                        "the client did not send the HTTP/2 preface after 101 Switching Protocols",
                    )
                    .by(Role::Client),
                );
                self.sides[r.index()].decoder =
                    Some(FrameDecoder::new_unsynchronized(self.config.frame_limits));
            }
            self.sides[r.index()].head = Vec::new();
        }
        if data.is_empty() {
            return;
        }
        self.with_decoder(r, sink, |dec, mut f| dec.push(data, &mut f), ts);
    }

    /// Runs `op` on side `r`'s frame decoder and applies the events it emits. The decoder
    /// is set aside meanwhile (events borrow its buffer). An event may settle the roles
    /// and swap the sides: later events then carry the new role, and the decoder goes
    /// back to the slot its side moved to.
    fn with_decoder<S: H2Sink>(
        &mut self,
        r: Role,
        sink: &mut S,
        op: impl FnOnce(&mut FrameDecoder, &mut dyn FnMut(Event<'_>)),
        ts: Timestamp,
    ) {
        let Some(mut dec) = self.sides[r.index()].decoder.take() else {
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
        self.sides[slot.index()].decoder = Some(dec);
    }

    /// Applies one decoder event from side `r`.
    fn event<S: H2Sink>(&mut self, r: Role, ts: Timestamp, e: Event<'_>, sink: &mut S) {
        match e {
            Event::DataStart { header, .. } => {
                self.interrupts_block(r, &header);
                let window = self.track_windows;
                if window {
                    let side = &mut self.sides[r.index()];
                    side.window -= i64::from(header.length);
                    if side.window < 0 {
                        let w = side.window;
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
                let packet = self.packet;
                if let Some(s) = self.stream_mut(header.stream_id, ts, sink) {
                    s.data_frames[r.index()] += 1;
                    if let Some(w) = s.window.as_mut() {
                        w[r.index()] -= i64::from(header.length);
                        if w[r.index()] < 0 {
                            let w = w[r.index()];
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
                }
            }
            Event::DataChunk { header, data } => {
                let keep = self.config.keep_message_bodies;
                let sizes = (self.config.max_message, self.config.max_decompressed);
                if let Some(s) = self.streams.get_mut(&header.stream_id) {
                    s.bytes[r.index()] += data.len() as u64;
                    s.touch(ts);
                    if s.grpc.is_none() && !s.not_grpc && !data.is_empty() {
                        match grpc::judge(s.content_type(), data) {
                            grpc::Verdict::Grpc(kind) => {
                                s.grpc = Some(grpc::StreamGrpc::new(kind, keep, sizes));
                            }
                            grpc::Verdict::NotGrpc => s.not_grpc = true,
                        }
                    }
                    if let Some(g) = s.grpc.as_mut() {
                        g.data(roles::grpc_dir(r), data, ts);
                    }
                }
            }
            Event::DataGap { header, len } => {
                if let Some(s) = self.streams.get_mut(&header.stream_id) {
                    s.lost_bytes[r.index()] += len;
                    s.anomaly(
                        Anomaly::new(
                            AnomalyKind::DataLost,
                            format!("{len} bytes of DATA never captured"),
                        ),
                        r,
                        self.packet,
                    );
                    if let Some(g) = s.grpc.as_mut() {
                        g.lost(roles::grpc_dir(r), len, ts);
                    }
                }
            }
            Event::DataEnd { header } => {
                self.record(r, ts, &header);
                if header.end_stream()
                    && let Some(s) = self.streams.get_mut(&header.stream_id)
                {
                    s.ended[r.index()] = true;
                }
                self.maybe_finish(header.stream_id, sink);
            }
            Event::Frame { header, frame } => {
                self.interrupts_block(r, &header);
                // Every stream id seen in a frame is a stream (one seen only through a
                // WINDOW_UPDATE or PRIORITY too), created before its first frame is filed.
                self.stream_mut(header.stream_id, ts, sink);
                self.record(r, ts, &header);
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
                    self.sides[r.index()].hpack.lose_sync();
                    self.sides[r.index()].pending = None;
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
    fn unreadable_frame<S: H2Sink>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        kind: AnomalyKind,
        what: String,
        sink: &mut S,
    ) {
        self.stream_mut(header.stream_id, ts, sink);
        self.record(r, ts, header);
        self.anomaly(Anomaly::new(kind, what).by(r).on(header.stream_id));
        if matches!(
            header.kind,
            FrameType::Headers | FrameType::PushPromise | FrameType::Continuation
        ) {
            self.sides[r.index()].hpack.lose_sync();
            self.sides[r.index()].pending = None;
        }
    }

    /// RFC 9113 §6.10: between a header block's first frame and its END_HEADERS, only
    /// CONTINUATION frames of the same stream may come.
    fn interrupts_block(&mut self, r: Role, header: &FrameHeader) {
        let side = &mut self.sides[r.index()];
        if let Some(p) = &side.pending
            && (header.kind != FrameType::Continuation || header.stream_id != p.stream_id)
        {
            let id = p.stream_id;
            side.pending = None;
            side.hpack.lose_sync();
            self.stream_anomaly(AnomalyKind::HeaderBlockInterrupted, r, id, format!(
                        "{} frame on stream {} interrupted the header block of stream {id} (RFC 9113 §6.10)",
                        header.kind.name(),
                        header.stream_id
                    ));
        }
    }

    fn record(&mut self, r: Role, ts: Timestamp, header: &FrameHeader) {
        let index = self.frame_count;
        self.frame_count += 1;
        if !self.config.record_frames {
            if let Some(s) = self.streams.get_mut(&header.stream_id) {
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
        match self.streams.get_mut(&header.stream_id) {
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

    /// The stream `id`, created on first sight unless it already finished.
    fn stream_mut<S: H2Sink>(
        &mut self,
        id: u32,
        ts: Timestamp,
        sink: &mut S,
    ) -> Option<&mut Stream> {
        if id == 0 || self.finished_ids.contains(&id) {
            return None;
        }
        if !self.streams.contains_key(&id) {
            if self.streams.len() >= self.config.max_open_streams {
                // The oldest open stream goes out incomplete, to keep memory bounded.
                if let Some((&old, _)) = self.streams.iter().next() {
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
            let window = self.initial_stream_window();
            sink.opened(&self.info, id);
            self.streams
                .insert(id, Box::new(Stream::new(id, ts, window)));
            self.stream_count += 1;
        }
        self.streams.get_mut(&id).map(|s| &mut **s)
    }

    /// Both sides' send windows for a new stream, each the initial window its peer granted.
    fn initial_stream_window(&self) -> Option<[i64; 2]> {
        self.track_windows
            .then(|| [self.sides[1].initial_window, self.sides[0].initial_window])
    }

    fn frame<S: H2Sink>(
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
            Frame::Continuation { fragment } => {
                let max = self.config.max_header_block;
                let side = &mut self.sides[r.index()];
                match side.pending.as_mut() {
                    Some(p) => {
                        if p.fragments.len() + fragment.len() > max {
                            p.oversized = true;
                            p.fragments = Vec::new();
                        } else if !p.oversized {
                            p.fragments.extend_from_slice(fragment);
                        }
                        if header.end_headers() {
                            self.end_block(r, ts, sink);
                        }
                    }
                    None => self.stream_anomaly(
                        AnomalyKind::OrphanContinuation,
                        r,
                        header.stream_id,
                        format!(
                            "CONTINUATION on stream {} without a header block (RFC 9113 §6.10)",
                            header.stream_id
                        ),
                    ),
                }
            }
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
            } => {
                if self.goaways.len() < MAX_PINGS {
                    self.goaways.push(GoawayRecord {
                        ts,
                        from: r,
                        last_stream_id,
                        error_code,
                        debug_data: debug_data[..debug_data.len().min(1024)].to_vec(),
                    });
                }
            }
            Frame::WindowUpdate { increment } => {
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
                // A WINDOW_UPDATE from `r` widens the other side's send window.
                let other = r.peer().index();
                if header.stream_id == 0 {
                    if self.track_windows {
                        self.sides[other].window += i64::from(increment);
                    }
                } else if let Some(s) = self.stream_mut(header.stream_id, ts, sink)
                    && let Some(w) = s.window.as_mut()
                {
                    w[other] += i64::from(increment);
                }
            }
            Frame::RstStream { error_code } => {
                if let Some(s) = self.stream_mut(header.stream_id, ts, sink)
                    && s.reset.is_none()
                {
                    s.reset = Some((r, error_code));
                }
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

    fn begin_block<S: H2Sink>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        fragment: &[u8],
        promised: Option<u32>,
        sink: &mut S,
    ) {
        let max = self.config.max_header_block;
        let oversized = fragment.len() > max;
        let mut block = PendingBlock {
            stream_id: header.stream_id,
            end_stream: promised.is_none() && header.end_stream(),
            promised,
            fragments: Vec::new(),
            oversized,
        };
        if header.end_headers() {
            // The whole block in one frame (the usual case): decoded where it lies.
            self.decode_block(r, ts, block, fragment, sink);
        } else {
            if !oversized {
                block.fragments = fragment.to_vec();
            }
            self.sides[r.index()].pending = Some(block);
        }
    }

    /// The last CONTINUATION arrived: decode the block it completes.
    fn end_block<S: H2Sink>(&mut self, r: Role, ts: Timestamp, sink: &mut S) {
        let Some(mut block) = self.sides[r.index()].pending.take() else {
            return;
        };
        let fragments = std::mem::take(&mut block.fragments);
        self.decode_block(r, ts, block, &fragments, sink);
    }

    /// A complete header block (`bytes`, unless oversized): decode it and file it on its
    /// stream.
    fn decode_block<S: H2Sink>(
        &mut self,
        r: Role,
        ts: Timestamp,
        block: PendingBlock,
        bytes: &[u8],
        sink: &mut S,
    ) {
        let mut decoded = std::mem::take(&mut self.decoded);
        if block.oversized {
            self.sides[r.index()].hpack.lose_sync();
            self.stream_anomaly(
                AnomalyKind::HeaderBlockOversized,
                r,
                block.stream_id,
                format!(
                    "header block on stream {} larger than {} bytes: dropped",
                    block.stream_id, self.config.max_header_block
                ),
            );
        } else if let Err(e) = self.sides[r.index()].hpack.decode(bytes, &mut decoded) {
            self.stream_anomaly(
                AnomalyKind::HpackError,
                r,
                block.stream_id,
                format!(
                    "HPACK error in the {}'s header block on stream {}: {e}",
                    r.as_str(),
                    block.stream_id
                ),
            );
        }
        // Moved into a list of exactly their number (mem::take would hand over the
        // scratch's capacity and leave nothing to reuse).
        #[allow(clippy::drain_collect)]
        let fields: Vec<HeaderField> = decoded.drain(..).collect();
        // A rare long list is not kept per connection.
        if decoded.capacity() <= 64 {
            self.decoded = decoded;
        }
        if !self.roles.certain {
            // Mid-connection: the first block that names a request or a response settles
            // which side is the client.
            if let Some(from) = roles::block_role(&fields) {
                self.roles.certain = true;
                if from != r {
                    self.swap_roles();
                    return self.file_block(r.peer(), ts, block, fields, sink);
                }
            }
        }
        self.file_block(r, ts, block, fields, sink);
    }

    fn file_block<S: H2Sink>(
        &mut self,
        r: Role,
        ts: Timestamp,
        block: PendingBlock,
        fields: Vec<HeaderField>,
        sink: &mut S,
    ) {
        match block.promised {
            Some(promised) => {
                // RFC 9113 §8.4: the promise carries the pushed request's headers.
                if let Some(s) = self.stream_mut(promised, ts, sink) {
                    s.promised_by = Some(block.stream_id);
                    s.request_headers = Some(fields);
                    s.ended[0] = true;
                }
            }
            None => {
                let packet = self.packet;
                if let Some(s) = self.stream_mut(block.stream_id, ts, sink) {
                    s.headers(r, fields, block.end_stream, packet);
                }
                self.maybe_finish(block.stream_id, sink);
            }
        }
    }

    fn settings(&mut self, r: Role, settings: Vec<(SettingId, u32)>) {
        let other = r.peer().index();
        for &(id, value) in &settings {
            match id.0 {
                // HEADER_TABLE_SIZE: bounds the table of the encoder on the other side.
                0x1 => self.sides[other].hpack.set_max_table_size_setting(value),
                0x4 => {
                    if value > 0x7fff_ffff {
                        self.anomaly(
                            Anomaly::new(
                                AnomalyKind::InvalidSetting,
                                format!(
                                    "SETTINGS_INITIAL_WINDOW_SIZE {value} above 2^31-1 (RFC 9113 §6.5.2)"
                                ),
                            )
                            .by(r),
                        );
                        continue;
                    }
                    // RFC 9113 §6.9.2: the change applies to every open stream's window.
                    let new = i64::from(value);
                    let delta = new - self.sides[r.index()].initial_window;
                    self.sides[r.index()].initial_window = new;
                    for s in self.streams.values_mut() {
                        if let Some(w) = s.window.as_mut() {
                            w[other] += delta;
                        }
                    }
                }
                0x5 => {
                    if !(16_384..=16_777_215).contains(&value) {
                        self.anomaly(
                            Anomaly::new(
                                AnomalyKind::InvalidSetting,
                                format!(
                                    "SETTINGS_MAX_FRAME_SIZE {value} out of range (RFC 9113 §6.5.2)"
                                ),
                            )
                            .by(r),
                        );
                    } else if let Some(d) = self.sides[other].decoder.as_mut() {
                        d.set_max_frame_size(value);
                    }
                }
                _ => {}
            }
        }
        let sent = &mut self.sides[r.index()].settings_sent;
        if sent.len() < MAX_PINGS {
            sent.push(settings);
        }
    }

    fn ping(&mut self, r: Role, ts: Timestamp, ack: bool, payload: [u8; 8]) {
        if !ack {
            if self.pings.len() < MAX_PINGS {
                self.pings.push(PingRecord {
                    from: r,
                    payload,
                    sent: ts,
                    acked: None,
                });
            }
            return;
        }
        // The ACK answers the oldest unanswered PING from the other side with this payload.
        match self
            .pings
            .iter_mut()
            .find(|p| p.from != r && p.payload == payload && p.acked.is_none())
        {
            Some(p) => p.acked = Some(ts),
            None => {
                if self.pings.len() < MAX_PINGS && !self.mid {
                    self.anomaly(
                        Anomaly::new(
                            AnomalyKind::UnmatchedPingAck,
                            "PING ACK without a matching PING",
                        )
                        .by(r),
                    );
                }
            }
        }
    }

    /// Reports a stream that is complete.
    /// A complete stream lingers for `LINGER_FRAMES` more frames of the connection before
    /// it is reported: frames in flight when one side reset it (RFC 9113 §5.1) still
    /// belong to it, such as the response to a request the client already cancelled.
    fn maybe_finish<S: H2Sink>(&mut self, id: u32, sink: &mut S) {
        if let Some(s) = self.streams.get_mut(&id)
            && s.is_complete()
            && !s.lingering
        {
            s.lingering = true;
            self.lingering.push_back((id, self.frame_count));
        }
        while let Some(&(old, at)) = self.lingering.front() {
            if self.frame_count < at + LINGER_FRAMES {
                break;
            }
            self.lingering.pop_front();
            self.finish_stream(old, sink);
        }
    }

    /// Live capture: reports the lingering streams that ended at or before `before`. On a
    /// quiet connection no more frames come to end their linger, and a live view should
    /// not wait for the next call to show the last one.
    pub fn flush_lingering<S: H2Sink>(&mut self, before: Timestamp, sink: &mut S) {
        while let Some(&(id, _)) = self.lingering.front() {
            if self.streams.get(&id).is_some_and(|s| s.end > before) {
                break;
            }
            self.lingering.pop_front();
            self.finish_stream(id, sink);
        }
    }

    fn finish_stream<S: H2Sink>(&mut self, id: u32, sink: &mut S) {
        let Some(mut s) = self.streams.remove(&id) else {
            return;
        };
        let end = s.end;
        if let Some(g) = s.grpc.as_mut() {
            g.finish(end);
        }
        if self.finished_order.len() >= MAX_FINISHED_IDS
            && let Some(old) = self.finished_order.pop_front()
        {
            self.finished_ids.remove(&old);
        }
        self.finished_ids.insert(id);
        self.finished_order.push_back(id);
        sink.stream(&self.info, *s);
    }

    /// Nothing is half-decoded (an HTTP/2 connection at a frame boundary both ways, no
    /// header block open): ending it now reports exactly what closing it later would.
    pub fn is_idle(&self) -> bool {
        self.state == State::Http2
            && self.sides.iter().all(|side| {
                side.pending.is_none() && side.decoder.as_ref().is_none_or(FrameDecoder::is_idle)
            })
    }

    /// The TCP connection ended: flush the decoders, report open streams, then the connection.
    pub fn close<S: H2Sink>(self, tcp: &ConnStats, sink: &mut S) {
        self.end(tcp, sink).close(tcp, sink);
    }

    /// Reports every stream and keeps only the connection's record, to be completed with
    /// the final TCP counters by [`Ended::close`]. Reassembly holds an ended connection
    /// until trailing packets stop (on a busy capture, seconds of connections, and a
    /// `Connection` is over 1 KB before its streams); when it [`is_idle`] at the last byte,
    /// ending it there changes nothing but when its streams are reported.
    ///
    /// [`is_idle`]: Connection::is_idle
    pub fn end<S: H2Sink>(mut self, tcp: &ConnStats, sink: &mut S) -> Ended {
        if matches!(
            self.state,
            State::Detecting | State::AwaitUpgrade(_) | State::AwaitTunnel(_)
        ) {
            let ts = tcp.end;
            self.detect(ts, true, sink);
        }
        for r in Role::BOTH {
            self.with_decoder(r, sink, |dec, mut f| dec.finish(&mut f), tcp.end);
            if let Some(p) = self.sides[r.index()].pending.take() {
                self.stream_anomaly(
                    AnomalyKind::UnterminatedHeaderBlock,
                    r,
                    p.stream_id,
                    format!(
                        "the header block of stream {} never ended (no END_HEADERS)",
                        p.stream_id
                    ),
                );
            }
        }
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.finish_stream(id, sink);
        }
        self.into_ended(tcp)
    }

    /// The connection's record, every stream having been reported.
    fn into_ended(self, tcp: &ConnStats) -> Ended {
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
            window: self.track_windows.then_some([client.window, server.window]),
            streams: self.stream_count,
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

#[cfg(test)]
mod tests;
