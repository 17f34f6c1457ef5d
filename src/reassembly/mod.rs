//! TCP reassembly: a bounded flow table that turns segments into ordered per-direction byte streams.
//!
//! Connections are keyed by their 4-tuple. A SYN whose sequence number differs from the
//! connection's known one starts a new connection on a reused 4-tuple, as in Wireshark's
//! `tcp.stream`. Roles come from the handshake when it was captured; otherwise the endpoint
//! with the lower port is taken as the server (services listen on low or well-known ports,
//! clients on ephemeral ones), and `handshake: false` tells the layer above that it may know
//! better (an HTTP/2 preface names the client for certain).
//!
//! Events are pushed into a [`StreamSink`] in capture order:
//! `Open`, then `Data` / `Gap` / `Anomaly` for either direction, then exactly one `Closed`
//! carrying the connection's counters. Nothing waits forever and nothing grows without a
//! bound: buffered bytes per direction and in total, the number of live connections (the
//! oldest idle ones are evicted, and counted), and idle time are all limited by [`Config`].

// Panic-freedom is checked, not hoped for: no indexing or slicing that can fail, no unwraps.
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

mod half;
mod seq;

use crate::capture::Timestamp;
use crate::net::TcpSegment;
use half::{HalfStream, Out};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

/// Identifies a connection for the life of a capture: numbered from 0 in order of first packet.
pub type ConnId = u64;

/// When, and in which capture packet (numbered from 1, as Wireshark numbers them), bytes
/// were captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    pub ts: Timestamp,
    pub packet: u64,
}

/// Which way a byte travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    ClientToServer = 0,
    ServerToClient = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }

    /// This direction's item of a per-direction pair (no index to check).
    pub fn of<T>(self, pair: &mut [T; 2]) -> &mut T {
        let [c, s] = pair;
        match self {
            Dir::ClientToServer => c,
            Dir::ServerToClient => s,
        }
    }
}

/// Limits on what a capture can make us hold.
#[derive(Clone, Debug)]
pub struct Config {
    /// Bytes waiting behind a hole in one direction before the hole becomes a gap.
    pub max_buffered_per_direction: usize,
    /// Bytes waiting behind holes across all connections.
    pub max_buffered_total: usize,
    /// Live connections; beyond this the least recently active eighth is evicted.
    pub max_connections: usize,
    /// A connection with no packet for this long (capture time) and for
    /// `idle_packets` packets of other connections is closed.
    pub idle_timeout_ns: i64,
    /// Capture timestamps are data, not a clock we can trust (a damaged or crafted file
    /// can jump by years), so time alone never ends a connection: this many packets must
    /// also have passed.
    pub idle_packets: u64,
    /// A connection closed by FIN or RST keeps counting trailing packets (final ACKs,
    /// retransmitted FINs) for this long, and `closed_linger_packets` packets, before it
    /// is reported; or, whatever the time, for `CLOSED_LINGER_PACKETS_ALONE` times as many
    /// packets (see there).
    pub closed_linger_ns: i64,
    pub closed_linger_packets: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_buffered_per_direction: 4 << 20,
            max_buffered_total: 256 << 20,
            max_connections: 100_000,
            // Long: a gRPC connection can sit idle for many minutes between calls, and
            // forgetting it would lose its HPACK state.
            idle_timeout_ns: 3_600 * 1_000_000_000,
            idle_packets: 10_000,
            closed_linger_ns: 10 * 1_000_000_000,
            closed_linger_packets: 256,
        }
    }
}

/// Why a connection's byte streams ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Both directions reached their FIN.
    Fin,
    Rst,
    IdleTimeout,
    /// Evicted to keep the flow table within `max_connections`.
    Evicted,
    /// A new SYN started another connection on the same 4-tuple.
    Reused,
    EndOfCapture,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Fin => "fin",
            CloseReason::Rst => "rst",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::Evicted => "evicted",
            CloseReason::Reused => "reused",
            CloseReason::EndOfCapture => "end_of_capture",
        }
    }
}

/// Something odd at the TCP level, reported as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpAnomaly {
    /// A retransmission whose bytes differ from the copy already taken.
    ConflictingRetransmission,
}

/// Per-connection counters, indexed by [`Dir::index`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnStats {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The SYN or SYN-ACK was captured, so the roles are certain.
    pub handshake: bool,
    pub start: Timestamp,
    pub end: Timestamp,
    pub packets: [u64; 2],
    /// Frame lengths on the wire, as `tshark -z conv,tcp` counts them.
    pub wire_bytes: [u64; 2],
    /// Unique payload bytes delivered in order.
    pub payload_bytes: [u64; 2],
    pub gaps: [u64; 2],
    pub gap_bytes: [u64; 2],
    pub retransmissions: [u64; 2],
    pub out_of_order: [u64; 2],
    pub conflicts: u64,
    pub reason: CloseReason,
}

impl ConnStats {
    /// A connection first seen at `ts`, nothing counted yet; until it closes, the capture's
    /// end is what ends it.
    pub fn new(client: SocketAddr, server: SocketAddr, handshake: bool, ts: Timestamp) -> Self {
        ConnStats {
            client,
            server,
            handshake,
            start: ts,
            end: ts,
            packets: [0; 2],
            wire_bytes: [0; 2],
            payload_bytes: [0; 2],
            gaps: [0; 2],
            gap_bytes: [0; 2],
            retransmissions: [0; 2],
            out_of_order: [0; 2],
            conflicts: 0,
            reason: CloseReason::EndOfCapture,
        }
    }
}

/// What reassembly tells the layer above.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    Open {
        conn: ConnId,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        handshake: bool,
    },
    /// Bytes, with the time and packet of the segment that carried them: for bytes that
    /// waited behind a hole, earlier than the packet being processed.
    Data {
        conn: ConnId,
        dir: Dir,
        ts: Timestamp,
        packet: u64,
        data: &'a [u8],
    },
    /// `len` bytes of this direction were never captured (noticed at `packet`).
    Gap {
        conn: ConnId,
        dir: Dir,
        ts: Timestamp,
        packet: u64,
        len: u64,
    },
    Anomaly {
        conn: ConnId,
        dir: Dir,
        ts: Timestamp,
        anomaly: TcpAnomaly,
    },
    /// The last event of a connection.
    Closed {
        conn: ConnId,
        ts: Timestamp,
        stats: &'a ConnStats,
    },
}

/// Receives reassembly events.
pub trait StreamSink {
    fn event(&mut self, ev: StreamEvent<'_>);

    /// Live capture: the clock reads `now` (kernel time), with or without packets, so
    /// whatever the sink holds back until more traffic comes may be let go.
    fn tick(&mut self, now: Timestamp) {
        let _ = now;
    }

    /// Both directions of `conn` have ended (FIN both ways, or RST): no more bytes will
    /// come, though `Closed` waits until trailing packets stop (`closed_linger_*`). A sink
    /// may let go of its decoding state here rather than hold it through the linger.
    /// `stats` are the counters so far.
    fn ended(&mut self, _conn: ConnId, _stats: &ConnStats) {}
}

impl<F: FnMut(StreamEvent<'_>)> StreamSink for F {
    fn event(&mut self, ev: StreamEvent<'_>) {
        self(ev)
    }
}

const DIRS: [Dir; 2] = [Dir::ClientToServer, Dir::ServerToClient];

/// Turns what a direction produced at `now` into an event.
fn forward<S: StreamSink>(sink: &mut S, conn: ConnId, dir: Dir, now: Stamp, o: Out<'_>) {
    let ts = now.ts;
    sink.event(match o {
        Out::Data(data, at) => StreamEvent::Data {
            conn,
            dir,
            ts: at.ts,
            packet: at.packet,
            data,
        },
        Out::Gap(len) => StreamEvent::Gap {
            conn,
            dir,
            ts,
            packet: now.packet,
            len,
        },
        Out::Conflict => StreamEvent::Anomaly {
            conn,
            dir,
            ts,
            anomaly: TcpAnomaly::ConflictingRetransmission,
        },
    });
}

/// Table-wide counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    pub connections: u64,
    pub evicted: u64,
    pub timed_out: u64,
    pub live: usize,
}

/// The 4-tuple, endpoints in a canonical order so both directions find the same entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct FlowKey(SocketAddr, SocketAddr);

fn flow_key(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if a <= b { FlowKey(a, b) } else { FlowKey(b, a) }
}

/// The derived hash fed each part (address family, each address byte, port) to the hasher
/// separately, a few percent of a gRPC export; an IPv4 pair is one 128-bit word. Equal keys
/// hash alike, which is all a hash map needs.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let word = |a: &SocketAddr| match a {
            SocketAddr::V4(v4) => Some(u64::from(v4.ip().to_bits()) << 16 | u64::from(v4.port())),
            SocketAddr::V6(_) => None,
        };
        match (word(&self.0), word(&self.1)) {
            (Some(a), Some(b)) => h.write_u128(u128::from(a) << 64 | u128::from(b)),
            _ => {
                for a in [&self.0, &self.1] {
                    match a {
                        SocketAddr::V4(v4) => h.write_u64(u64::from(v4.ip().to_bits())),
                        SocketAddr::V6(v6) => {
                            h.write_u128(v6.ip().to_bits());
                            h.write_u32(v6.scope_id());
                        }
                    }
                    h.write_u16(a.port());
                }
            }
        }
    }
}

struct Flow {
    id: ConnId,
    halves: [HalfStream; 2],
    stats: ConnStats,
    /// The client's initial sequence number, when its SYN was seen.
    client_isn: Option<u32>,
    /// Set by FIN (both ways) or RST; the flow lingers to count trailing packets.
    closed: Option<(CloseReason, Timestamp)>,
    /// The table's packet count at this flow's last packet.
    last_packet: u64,
    /// The capture time and packet of this flow's last packet.
    last: Stamp,
}

pub struct Reassembler {
    config: Config,
    /// foldhash, not SipHash: one to three lookups per packet made hashing the 4-tuple a
    /// few percent of a whole export. Its per-process random seed keeps collisions out of
    /// a crafted capture's reach; nothing iterates the table in hash order.
    flows: HashMap<FlowKey, Flow, foldhash::fast::RandomState>,
    next_id: ConnId,
    buffered_total: usize,
    next_sweep: Option<Timestamp>,
    /// Packets seen by the table: the clock that, unlike timestamps, cannot be forged.
    packets: u64,
    stats: ReassemblyStats,
}

/// A closed connection quiet for `closed_linger_packets` times this many packets of the
/// whole capture is reported even before `closed_linger_ns` has passed (256 x 1024 = 262,144
/// packets by default). On a busy capture 10 s is hundreds of thousands of connections held
/// (230 MB/s of h2c traffic made that the whole of a 4 GB file); a retransmission that late
/// after a connection's last packet is implausible, and at worst it shows as a new
/// connection joined mid-way. A packet count cannot be forged the way timestamps can.
const CLOSED_LINGER_PACKETS_ALONE: u64 = 1024;

/// Capture time between sweeps for idle and closed connections.
const SWEEP_INTERVAL_NS: i64 = 1_000_000_000;
const SWEEP_PACKETS: u64 = 1 << 16;

impl Reassembler {
    pub fn new(config: Config) -> Self {
        Reassembler {
            config,
            flows: HashMap::default(),
            next_id: 0,
            buffered_total: 0,
            next_sweep: None,
            packets: 0,
            stats: ReassemblyStats::default(),
        }
    }

    pub fn stats(&self) -> ReassemblyStats {
        ReassemblyStats {
            live: self.flows.len(),
            ..self.stats.clone()
        }
    }

    /// Takes one TCP segment captured at `at` in a frame of `wire_len` bytes.
    pub fn segment<S: StreamSink>(
        &mut self,
        at: Stamp,
        wire_len: u32,
        seg: &TcpSegment<'_>,
        sink: &mut S,
    ) {
        let ts = at.ts;
        self.packets += 1;
        self.maybe_sweep(ts, sink);
        let key = flow_key(seg.src, seg.dst);
        let syn_only = seg.flags.syn() && !seg.flags.ack();

        // One lookup for a packet of a known flow, then the one below that keeps it.
        let known = match self.flows.get(&key) {
            // A SYN with a new ISN on a known 4-tuple is a new connection (port reuse);
            // the same ISN again is a retransmitted SYN.
            Some(flow) if syn_only && flow.client_isn != Some(seg.seq) => {
                self.remove(key, CloseReason::Reused, sink);
                false
            }
            Some(_) => true,
            None => false,
        };
        if !known {
            if self.flows.len() >= self.config.max_connections {
                self.evict_oldest(sink);
            }
            self.open(key, at, seg, sink);
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };

        let dir = if seg.src == flow.stats.client {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        flow.last_packet = self.packets;
        flow.last = at;
        let st = &mut flow.stats;
        *dir.of(&mut st.packets) += 1;
        *dir.of(&mut st.wire_bytes) += u64::from(wire_len);
        st.end = st.end.max(ts);
        if syn_only && flow.client_isn.is_none() && dir == Dir::ClientToServer {
            flow.client_isn = Some(seg.seq);
        }
        if flow.closed.is_some() {
            // Trailing packets after FIN/RST: counted above, no more data.
            if !seg.payload.is_empty() {
                *dir.of(&mut st.retransmissions) += 1;
            }
            return;
        }

        let id = flow.id;
        // SYN with RST is no valid segment (RFC 9293 §3.10.7 never pairs them): a crafted
        // packet with every flag set must not end a connection that goes on.
        if seg.flags.rst() && !seg.flags.syn() {
            for (half, hdir) in flow.halves.iter_mut().zip(DIRS) {
                self.buffered_total -= half.cost();
                half.flush(&mut |o| forward(sink, id, hdir, at, o));
            }
            flow.closed = Some((CloseReason::Rst, ts));
            sink.ended(id, &flow.stats);
            return;
        }

        if seg.flags.ack() {
            // What this side acknowledges of the other direction settles its holes.
            let other = dir.reverse().of(&mut flow.halves);
            let before = other.cost();
            other.acked(seg.ack, &mut |o| forward(sink, id, dir.reverse(), at, o));
            self.buffered_total = self.buffered_total - before + other.cost();
        }

        let mut emit = |o: Out<'_>| forward(sink, id, dir, at, o);
        let half = dir.of(&mut flow.halves);
        let before = half.cost();
        let taken = half.segment(
            seg.seq,
            seg.flags.syn(),
            seg.flags.fin(),
            seg.payload,
            seg.payload_len,
            at,
            self.config.max_buffered_per_direction,
            &mut emit,
        );
        if self.buffered_total - before + half.cost() > self.config.max_buffered_total {
            // Over the global bound: give up waiting on this direction's holes.
            half.flush(&mut emit);
        }
        self.buffered_total = self.buffered_total - before + half.cost();
        if taken.retransmission {
            *dir.of(&mut flow.stats.retransmissions) += 1;
        }
        if taken.out_of_order {
            *dir.of(&mut flow.stats.out_of_order) += 1;
        }
        if flow.halves.iter().all(HalfStream::finished) {
            flow.closed = Some((CloseReason::Fin, ts));
            sink.ended(id, &flow.stats);
        }
    }

    /// Ends the capture: every live connection is flushed and closed, in order of id.
    pub fn finish<S: StreamSink>(&mut self, sink: &mut S) {
        let mut keys: Vec<(ConnId, FlowKey)> = self.flows.iter().map(|(k, f)| (f.id, *k)).collect();
        keys.sort_unstable();
        for (_, key) in keys {
            self.remove(key, CloseReason::EndOfCapture, sink);
        }
    }

    fn open<S: StreamSink>(&mut self, key: FlowKey, at: Stamp, seg: &TcpSegment<'_>, sink: &mut S) {
        let ts = at.ts;
        let (client, server, handshake) = if seg.flags.syn() && !seg.flags.ack() {
            (seg.src, seg.dst, true)
        } else if seg.flags.syn() {
            (seg.dst, seg.src, true)
        } else if seg.src.port() > seg.dst.port() {
            (seg.src, seg.dst, false)
        } else if seg.src.port() < seg.dst.port() {
            (seg.dst, seg.src, false)
        } else {
            (seg.src, seg.dst, false)
        };
        let id = self.next_id;
        self.next_id += 1;
        self.stats.connections += 1;
        self.flows.insert(
            key,
            Flow {
                id,
                halves: [HalfStream::default(), HalfStream::default()],
                stats: ConnStats::new(client, server, handshake, ts),
                client_isn: None,
                closed: None,
                last_packet: self.packets,
                last: at,
            },
        );
        sink.event(StreamEvent::Open {
            conn: id,
            ts,
            client,
            server,
            handshake,
        });
    }

    /// Flushes a connection's buffers, reports it closed, and forgets it.
    fn remove<S: StreamSink>(&mut self, key: FlowKey, reason: CloseReason, sink: &mut S) {
        let Some(mut flow) = self.flows.remove(&key) else {
            return;
        };
        let id = flow.id;
        let ts = flow.stats.end;
        let last = flow.last;
        for (half, dir) in flow.halves.iter_mut().zip(DIRS) {
            self.buffered_total -= half.cost();
            half.flush(&mut |o| forward(sink, id, dir, last, o));
        }
        let st = &mut flow.stats;
        for (half, dir) in flow.halves.iter().zip(DIRS) {
            *dir.of(&mut st.payload_bytes) = half.delivered_bytes;
            *dir.of(&mut st.gaps) = half.gaps;
            *dir.of(&mut st.gap_bytes) = half.gap_bytes;
            st.conflicts += half.conflicts;
        }
        // A connection that ended by FIN or RST says so even when it is reported later.
        st.reason = flow.closed.map_or(reason, |(r, _)| r);
        match reason {
            CloseReason::Evicted => self.stats.evicted += 1,
            CloseReason::IdleTimeout => self.stats.timed_out += 1,
            _ => {}
        }
        sink.event(StreamEvent::Closed {
            conn: id,
            ts,
            stats: &flow.stats,
        });
    }

    /// Closes idle connections and reports lingering closed ones, once per second of
    /// capture time, or every `SWEEP_PACKETS` packets when timestamps stall or jump back
    /// (each sweep is linear in live connections).
    fn maybe_sweep<S: StreamSink>(&mut self, now: Timestamp, sink: &mut S) {
        let next = *self
            .next_sweep
            .get_or_insert(Timestamp(now.0.saturating_add(SWEEP_INTERVAL_NS)));
        if now < next && !self.packets.is_multiple_of(SWEEP_PACKETS) {
            return;
        }
        self.next_sweep = Some(Timestamp(now.0.saturating_add(SWEEP_INTERVAL_NS)));
        let c = &self.config;
        let (linger, linger_packets, idle_packets) =
            (c.closed_linger_ns, c.closed_linger_packets, c.idle_packets);
        self.sweep(now, linger, linger_packets, idle_packets, sink);
    }

    /// Live capture, where time passes without packets and the clock is the kernel's, not
    /// data: reports connections closed `linger_ns` before `now` and closes idle ones by
    /// time alone (a file's sweeps also wait for packets, as its timestamps can lie).
    pub fn expire<S: StreamSink>(&mut self, now: Timestamp, linger_ns: i64, sink: &mut S) {
        self.sweep(now, linger_ns, 0, 0, sink);
    }

    fn sweep<S: StreamSink>(
        &mut self,
        now: Timestamp,
        closed_linger_ns: i64,
        closed_linger_packets: u64,
        idle_packets: u64,
        sink: &mut S,
    ) {
        let idle_timeout_ns = self.config.idle_timeout_ns;
        let packets = self.packets;
        let mut due: Vec<(ConnId, FlowKey, CloseReason)> = self
            .flows
            .iter()
            .filter_map(|(k, f)| {
                let quiet = packets - f.last_packet;
                if let Some((r, at)) = f.closed {
                    // Packets alone end the linger only for files (live expiry passes 0
                    // packets and goes by the kernel clock).
                    let lingered = quiet >= closed_linger_packets
                        && (now.saturating_sub(at) >= closed_linger_ns
                            || (closed_linger_packets > 0
                                && quiet
                                    >= closed_linger_packets
                                        .saturating_mul(CLOSED_LINGER_PACKETS_ALONE)));
                    lingered.then_some((f.id, *k, r))
                } else {
                    let idle =
                        now.saturating_sub(f.stats.end) >= idle_timeout_ns && quiet >= idle_packets;
                    idle.then_some((f.id, *k, CloseReason::IdleTimeout))
                }
            })
            .collect();
        due.sort_unstable_by_key(|d| d.0);
        for (_, key, reason) in due {
            self.remove(key, reason, sink);
        }
    }

    /// Evicts the least recently active eighth of the table, so that a flood of new
    /// connections costs amortised constant time each.
    fn evict_oldest<S: StreamSink>(&mut self, sink: &mut S) {
        let mut all: Vec<(Timestamp, ConnId, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.stats.end, f.id, *k))
            .collect();
        let n = (all.len() / 8).max(1).min(all.len());
        if n == 0 {
            return;
        }
        all.select_nth_unstable(n - 1);
        all.truncate(n);
        let mut victims = all;
        victims.sort_unstable_by_key(|v| v.1);
        for (_, _, key) in victims {
            self.remove(key, CloseReason::Evicted, sink);
        }
    }
}

#[cfg(test)]
mod tests;
