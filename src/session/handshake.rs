//! The handshake: each side's first bytes are held until [`detect`](super::detect) can
//! name the protocol, then HTTP/2 starts (after the preface, an `Upgrade: h2c` exchange or
//! a CONNECT tunnel, or joined mid-connection) and the held bytes are replayed through the
//! frame decoders in capture order.
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
//!
//! The client's first bytes decide; a preface, request or ClientHello from the side
//! reassembly guessed as the server swaps the roles first.

use super::detect::{self, Http1Request, Start, TlsHello};
use super::header_block;
use super::record::TlsInfo;
use super::{Connection, H2Sink, StreamBody};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::http2::frame::{FrameDecoder, PREFACE};
use crate::http2::hpack::{HeaderField, Text};
use crate::reassembly::Dir;
use crate::role::Role;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum State {
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

/// A piece of a direction held during detection: where and when it was captured.
pub(super) struct Arrival {
    /// As reassembly named it (the roles may be swapped before the replay).
    dir: Dir,
    ts: Timestamp,
    packet: u64,
    len: usize,
}

/// What one side's handshake keeps: its bytes before detection, and after an upgrade
/// what comes before its frames.
#[derive(Default)]
pub(super) struct Held {
    pub(super) head: Vec<u8>,
    /// The stream started with a gap: the start was never seen.
    pub(super) started_with_gap: bool,
    /// Bytes to drop before the next check (an upgraded request's body), then the
    /// preface to expect (the client after `101 Switching Protocols`).
    skip: u64,
    expect_preface: bool,
}

impl<B: StreamBody> Connection<B> {
    /// Bytes of side `r` (sent in TCP direction `dir`) while the protocol is not known.
    pub(super) fn hold<S: H2Sink<Body = B>>(
        &mut self,
        dir: Dir,
        r: Role,
        ts: Timestamp,
        data: &[u8],
        sink: &mut S,
    ) {
        // Held whole (the head may pass MAX_HEAD by one segment, then detection is
        // forced), with where each piece came from, to replay it in capture order.
        self.side_mut(r).held.head.extend_from_slice(data);
        self.arrivals.push(Arrival {
            dir,
            ts,
            packet: self.packet,
            len: data.len(),
        });
        self.detect(ts, false, sink);
        if self.detecting() && self.side(r).held.head.len() >= detect::MAX_HEAD {
            self.detect(ts, true, sink);
        }
    }

    /// Decides the protocol from the heads of both directions, when they say enough
    /// (or, with `force`, with whatever they hold).
    pub(super) fn detect<S: H2Sink<Body = B>>(&mut self, ts: Timestamp, force: bool, sink: &mut S) {
        match self.state {
            State::AwaitUpgrade(_) => return self.await_upgrade(ts, force, sink),
            State::AwaitTunnel(_) => return self.await_tunnel(ts, force, sink),
            _ => {}
        }
        let [client, server] = &self.sides;
        let c = detect::classify(&client.held.head);
        let s = detect::classify(&server.held.head);
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
                    if self.side(Role::Server).held.head.starts_with(b"HTTP/1.") && !force => {}
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
    fn other_start<S: H2Sink<Body = B>>(&mut self, sink: &mut S) {
        let start_missed = !self.handshake || self.sides.iter().any(|s| s.held.started_with_gap);
        if !start_missed {
            self.state = State::Unknown;
            self.release_heads();
            return;
        }
        self.mid = true;
        self.roles.certain = false;
        self.state = State::Http2;
        for side in &mut self.sides {
            side.blocks.hpack = header_block::hpack_decoder(&self.config, true);
            side.decoder = Some(FrameDecoder::new_unsynchronized(self.config.frame_limits));
        }
        self.replay_heads([0, 0], sink);
    }

    fn start_http2<S: H2Sink<Body = B>>(
        &mut self,
        client_skip: usize,
        server_skip: usize,
        sink: &mut S,
    ) {
        self.state = State::Http2;
        self.roles.certain = true;
        self.track_windows = !self.sides.iter().any(|s| s.held.started_with_gap);
        for side in &mut self.sides {
            side.decoder = Some(FrameDecoder::new(self.config.frame_limits));
        }
        self.replay_heads([client_skip, server_skip], sink);
    }

    pub(super) fn detecting(&self) -> bool {
        matches!(
            self.state,
            State::Detecting | State::AwaitUpgrade(_) | State::AwaitTunnel(_)
        )
    }

    /// Feeds what detection buffered to the decoders, piece by piece in capture order,
    /// each with its own time and packet, skipping the first `skip[role]` bytes of a side.
    fn replay_heads<S: H2Sink<Body = B>>(&mut self, skip: [usize; 2], sink: &mut S) {
        let heads = self
            .sides
            .each_mut()
            .map(|side| std::mem::take(&mut side.held.head));
        let arrivals = std::mem::take(&mut self.arrivals);
        let now = self.packet;
        let mut pos = [0usize; 2];
        // The heads are indexed by the roles in force now; a piece may settle the roles
        // and swap them, so later pieces are fed under the new role.
        let roles = self.roles;
        for a in arrivals {
            let r = roles.of(a.dir);
            let (pos, head) = (r.of_mut(&mut pos), r.of(&heads));
            let start = (*pos).max(*r.of(&skip));
            *pos += a.len;
            let end = (*pos).min(head.len());
            if start < end
                && let Some(piece) = head.get(start..end)
            {
                self.packet = a.packet;
                // The skip (a preface, an HTTP/1.1 head) was counted in the same roles.
                self.feed(self.roles.of(a.dir), a.ts, piece, sink);
            }
        }
        self.packet = now;
    }

    /// Drops the first `n` bytes a side sent during detection (an HTTP/1.1 head).
    fn drop_head(&mut self, role: Role, mut n: usize) {
        let head = &mut self.side_mut(role).held.head;
        n = n.min(head.len());
        head.drain(..n);
        for a in &mut self.arrivals {
            if n == 0 {
                break;
            }
            if self.roles.of(a.dir) == role {
                let take = n.min(a.len);
                a.len -= take;
                n -= take;
            }
        }
        self.arrivals.retain(|a| a.len > 0);
    }

    fn release_heads(&mut self) {
        for side in &mut self.sides {
            side.held.head = Vec::new();
        }
        self.arrivals = Vec::new();
    }

    /// After an HTTP/1.1 `Upgrade: h2c` request: a `101` switches both sides to HTTP/2
    /// (RFC 7540 §3.2), anything else leaves the connection HTTP/1.
    fn await_upgrade<S: H2Sink<Body = B>>(&mut self, ts: Timestamp, force: bool, sink: &mut S) {
        let State::AwaitUpgrade(req) = &self.state else {
            return;
        };
        let [client, server] = &self.sides;
        let body = req.content_length.unwrap_or(0);
        let after_request = usize::try_from(body)
            .ok()
            .and_then(|b| b.checked_add(req.head_len))
            .and_then(|n| client.held.head.get(n..));
        // The client's preface after its request proves the switch even when the server's
        // `101` was not captured.
        let client_switched = after_request.is_some_and(|rest| rest.starts_with(PREFACE));
        let server_skip = match detect::classify(&server.held.head) {
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
        let [client, server] = &mut self.sides;
        client.decoder = Some(FrameDecoder::new(self.config.frame_limits));
        client.held.expect_preface = true;
        client.held.skip = body;
        if let Some(s) = self.streams.get_mut(1) {
            *Role::Client.of_mut(&mut s.bytes) = body;
            *Role::Client.of_mut(&mut s.ended) = true;
        }
        server.decoder = Some(FrameDecoder::new(self.config.frame_limits));
        self.replay_heads([req.head_len, server_skip], sink);
    }

    /// After an HTTP/1.1 `CONNECT` (RFC 9110 §9.3.6): a 2xx answer turns the rest of both
    /// directions into a tunnel, whose protocol is detected like a new connection's.
    fn await_tunnel<S: H2Sink<Body = B>>(&mut self, ts: Timestamp, force: bool, sink: &mut S) {
        let State::AwaitTunnel(req) = &self.state else {
            return;
        };
        match detect::classify(&self.side(Role::Server).held.head) {
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
    fn upgraded_stream<S: H2Sink<Body = B>>(
        &mut self,
        req: &Http1Request,
        ts: Timestamp,
        sink: &mut S,
    ) {
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
        self.open_stream(1, ts, sink).request_headers = Some(fields);
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

    /// What of side `r`'s bytes goes to its frame decoder: after `101 Switching Protocols`
    /// the rest of the upgraded request's body is dropped, and the client's preface is
    /// checked (RFC 7540 §3.5) and dropped. Empty while the preface is incomplete.
    pub(super) fn past_upgrade<'a>(&mut self, r: Role, mut data: &'a [u8]) -> &'a [u8] {
        let held = &mut self.side_mut(r).held;
        if held.skip > 0 {
            let n = usize::try_from(held.skip).map_or(data.len(), |s| s.min(data.len()));
            held.skip -= n as u64;
            data = data.get(n..).unwrap_or_default();
        }
        if !held.expect_preface {
            return data;
        }
        let need = PREFACE.len() - held.head.len();
        let (piece, rest) = data.split_at(need.min(data.len()));
        held.head.extend_from_slice(piece);
        data = rest;
        if held.head.len() < PREFACE.len() {
            return &[];
        }
        held.expect_preface = false;
        if held.head != PREFACE {
            self.anomaly(
                Anomaly::new(
                    AnomalyKind::MissingPreface,
                    "the client did not send the HTTP/2 preface after 101 Switching Protocols",
                )
                .by(Role::Client),
            );
            self.side_mut(r).decoder =
                Some(FrameDecoder::new_unsynchronized(self.config.frame_limits));
        }
        self.side_mut(r).held.head = Vec::new();
        data
    }
}
