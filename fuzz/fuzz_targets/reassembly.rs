//! `Reassembler` over a sequence of synthetic segments decoded from the input (`arbitrary`),
//! with small limits so that eviction, idle timeouts, lingering and buffer caps all happen.
//!
//! The bytes are an oracle: the byte at sequence number `s` sent by endpoint `e` is always
//! `truth(e, s)`, so every copy of it agrees (unless the input asks for a corrupt copy, which
//! turns the check off for that direction). Whatever the order, loss, duplication, wrap-around
//! or timing of the segments, each direction's output must then be exactly the true bytes,
//! with gaps only where bytes were skipped. Also checked: events come in the documented order
//! (`Open`, then data/gaps/anomalies, then one `Closed`), no empty data or gaps, and the
//! `Closed` counters equal what was delivered.

#![no_main]

use arbitrary::Arbitrary;
use h2scope::capture::Timestamp;
use h2scope::net::{TcpFlags, TcpSegment};
use h2scope::reassembly::{Config, ConnId, Dir, Reassembler, Stamp, StreamEvent};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Initial sequence numbers of the endpoints.
    isn: [u32; 6],
    /// Small table limits chosen by the input.
    max_connections: u8,
    max_buffered: u16,
    segments: Vec<Seg>,
}

#[derive(Arbitrary, Debug)]
struct Seg {
    /// Which of three connections (4-tuples).
    conn: u8,
    /// Sent by the second endpoint of the tuple.
    from_b: bool,
    flags: u8,
    /// Offset of the first byte from the sender's ISN + 1: small, or (with `far`) anywhere.
    offset: u32,
    far: bool,
    len: u16,
    /// Bytes of the payload cut by a (simulated) snaplen.
    cut: u16,
    /// What the segment acknowledges, relative to the peer's ISN + 1.
    ack: u32,
    ack_far: bool,
    /// Capture time step in microseconds; `back` makes it go backwards.
    dt_us: u16,
    back: bool,
    /// Send bytes that disagree with every other copy.
    corrupt: bool,
}

/// Endpoints: connection `c` is between `2c` and `2c + 1`. Connection 2 has equal ports.
fn endpoint(e: usize) -> SocketAddr {
    let port = match e {
        0 => 40000,
        1 => 80,
        2 => 1024,
        3 => 50051,
        _ => 7000,
    };
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(10, 0, 0, e as u8 + 1),
        port,
    ))
}

fn truth(e: usize, seq: u32) -> u8 {
    let x = seq.wrapping_mul(0x9e37_79b1) ^ (e as u32).wrapping_mul(0x85eb_ca6b);
    (x >> 24) as u8
}

/// What the harness knows of one direction of one reassembled connection.
#[derive(Default)]
struct DirState {
    /// Sequence number of the next byte the reassembler will deliver.
    next: Option<u32>,
    /// Until `next` is known: the lowest ACK the peer sent for this direction.
    acked_before_start: Option<u32>,
    checked: bool,
    data: u64,
    gap_bytes: u64,
    gaps: u64,
}

#[derive(Default)]
struct Conn {
    endpoints: Option<(usize, usize)>,
    client: Option<SocketAddr>,
    dirs: [DirState; 2],
    closed: bool,
}

/// The segment being processed: where its direction's stream starts if it is the first.
struct Current {
    tuple: usize,
    src: usize,
    data_seq: u32,
    syn: bool,
    corrupt: bool,
}

#[derive(Default)]
struct Harness {
    conns: HashMap<ConnId, Conn>,
    /// The live reassembly connection of each synthetic tuple.
    live: HashMap<usize, ConnId>,
    current: Option<Current>,
}

fn endpoint_index(a: SocketAddr) -> usize {
    (0..6).find(|&e| endpoint(e) == a).expect("known endpoint")
}

fn sender(c: &Conn, dir: Dir) -> usize {
    let (client, server) = c.endpoints.expect("opened");
    if dir == Dir::ClientToServer {
        client
    } else {
        server
    }
}

/// Where a direction's stream starts when its first segment is at `data_seq`: there, or at
/// the lowest ACK the peer sent before, if that is (plausibly) behind it.
fn start(d: &DirState, data_seq: u32, syn: bool) -> u32 {
    match d.acked_before_start {
        Some(ack) if !syn => {
            let ahead = i64::from(data_seq.wrapping_sub(ack) as i32);
            if ahead > 0 && ahead <= 1 << 30 {
                ack
            } else {
                data_seq
            }
        }
        _ => data_seq,
    }
}

/// Output from a direction not anchored yet can only come from the segment being
/// processed: it anchors it. Corrupt bytes from it turn the check off.
fn mark(d: &mut DirState, sender: usize, current: Option<&Current>) {
    let Some(cur) = current.filter(|c| c.src == sender) else {
        return;
    };
    if d.next.is_none() {
        d.next = Some(start(d, cur.data_seq, cur.syn));
        d.checked = true;
    }
    if cur.corrupt {
        d.checked = false;
    }
}

impl Harness {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                ..
            } => {
                assert!(!self.conns.contains_key(&conn), "conn {conn} opened twice");
                let (c, s) = (endpoint_index(client), endpoint_index(server));
                assert_eq!(c / 2, s / 2, "endpoints of one tuple");
                self.conns.insert(
                    conn,
                    Conn {
                        endpoints: Some((c, s)),
                        client: Some(client),
                        ..Conn::default()
                    },
                );
                self.live.insert(c / 2, conn);
            }
            StreamEvent::Data {
                conn, dir, data, ..
            } => {
                assert!(!data.is_empty(), "empty Data event");
                let c = self.conns.get_mut(&conn).expect("data before open");
                assert!(!c.closed, "data after close");
                let sender = sender(c, dir);
                let d = &mut c.dirs[dir.index()];
                mark(d, sender, self.current.as_ref());
                d.data += data.len() as u64;
                let next = d.next.expect("data before the direction was anchored");
                if d.checked {
                    for (i, &b) in data.iter().enumerate() {
                        let seq = next.wrapping_add(i as u32);
                        assert_eq!(b, truth(sender, seq), "wrong byte at seq {seq}");
                    }
                }
                d.next = Some(next.wrapping_add(data.len() as u32));
            }
            StreamEvent::Gap { conn, dir, len, .. } => {
                assert!(len > 0, "empty gap");
                let c = self.conns.get_mut(&conn).expect("gap before open");
                assert!(!c.closed, "gap after close");
                let sender = sender(c, dir);
                let d = &mut c.dirs[dir.index()];
                mark(d, sender, self.current.as_ref());
                d.gap_bytes += len;
                d.gaps += 1;
                let next = d.next.expect("gap before the direction was anchored");
                d.next = Some(next.wrapping_add(len as u32));
            }
            StreamEvent::Anomaly { conn, .. } => {
                let c = self.conns.get(&conn).expect("anomaly before open");
                assert!(!c.closed, "anomaly after close");
            }
            StreamEvent::Closed { conn, stats, .. } => {
                let c = self.conns.get_mut(&conn).expect("close before open");
                assert!(!c.closed, "closed twice");
                c.closed = true;
                for i in 0..2 {
                    let d = &c.dirs[i];
                    assert_eq!(stats.payload_bytes[i], d.data, "payload_bytes");
                    assert_eq!(stats.gap_bytes[i], d.gap_bytes, "gap_bytes");
                    assert_eq!(stats.gaps[i], d.gaps, "gaps");
                }
                let (cl, _) = c.endpoints.unwrap();
                if self.live.get(&(cl / 2)) == Some(&conn) {
                    self.live.remove(&(cl / 2));
                }
            }
        }
    }
}

fn seg_ack(input: &Input, s: &Seg, dst: usize) -> u32 {
    let ack_off = if s.ack_far { s.ack } else { s.ack % 20_000 };
    input.isn[dst].wrapping_add(1).wrapping_add(ack_off)
}

fuzz_target!(|input: Input| {
    let config = Config {
        max_buffered_per_direction: usize::from(input.max_buffered % 8192) + 1,
        max_buffered_total: 12_000,
        max_connections: usize::from(input.max_connections % 4) + 1,
        idle_timeout_ns: 50_000_000,
        idle_packets: 8,
        closed_linger_ns: 1_000_000,
        closed_linger_packets: 3,
    };
    let mut r = Reassembler::new(config);
    let mut h = Harness::default();
    let mut ts: i64 = 1_700_000_000_000_000_000;
    let mut payload = Vec::new();
    for (n, s) in input.segments.iter().take(512).enumerate() {
        let tuple = usize::from(s.conn % 3);
        let (src, dst) = if s.from_b {
            (2 * tuple + 1, 2 * tuple)
        } else {
            (2 * tuple, 2 * tuple + 1)
        };
        let offset = if s.far { s.offset } else { s.offset % 20_000 };
        let syn = s.flags & TcpFlags::SYN != 0;
        // A SYN's own sequence number is the ISN; its data (if any) follows.
        let seq = if syn {
            input.isn[src]
        } else {
            input.isn[src].wrapping_add(1).wrapping_add(offset)
        };
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        let len = usize::from(s.len % 3000);
        let cut = usize::from(s.cut).min(len);
        payload.clear();
        payload.extend((0..len - cut).map(|i| {
            let b = truth(src, data_seq.wrapping_add(i as u32));
            if s.corrupt { !b } else { b }
        }));
        let seg = TcpSegment {
            src: endpoint(src),
            dst: endpoint(dst),
            seq,
            ack: seg_ack(&input, s, dst),
            flags: TcpFlags(s.flags),
            window: 65535,
            payload: &payload,
            payload_len: len as u32,
        };
        let dt = i64::from(s.dt_us) * 1000 * if s.back { -1 } else { 1 };
        ts = ts.saturating_add(dt);
        let at = Stamp {
            ts: Timestamp(ts),
            packet: n as u64 + 1,
        };
        h.current = Some(Current {
            tuple,
            src,
            data_seq,
            syn,
            corrupt: s.corrupt && len > cut,
        });
        r.segment(at, 54 + len as u32, &seg, &mut |ev: StreamEvent<'_>| {
            h.event(ev)
        });

        // Mirror the reassembler's anchoring: the first segment of a direction that
        // carries a SYN, payload or FIN fixes where its byte stream starts, unless it is an
        // RST (which ends the connection without taking data).
        let cur = h.current.take().expect("current");
        let Some(&conn) = h.live.get(&cur.tuple) else {
            continue;
        };
        let c = h.conns.get_mut(&conn).expect("live conn");
        let rst = s.flags & TcpFlags::RST != 0 && !syn;
        let fin = s.flags & TcpFlags::FIN != 0;
        let dir = if Some(endpoint(src)) == c.client {
            0
        } else {
            1
        };
        let d = &mut c.dirs[dir];
        if d.next.is_none() && !rst && (syn || len > 0 || fin) {
            d.next = Some(start(d, data_seq, syn));
            d.checked = true;
        }
        if cur.corrupt {
            d.checked = false;
        }
        // The ACK was taken (for the other direction) before this segment: a later first
        // segment of that direction may start behind it.
        let other = &mut c.dirs[1 - dir];
        if s.flags & TcpFlags::ACK != 0 && !rst && other.next.is_none() {
            let ack = seg_ack(&input, s, dst);
            other.acked_before_start = Some(match other.acked_before_start {
                Some(l) if ack.wrapping_sub(l) as i32 >= 0 => l,
                _ => ack,
            });
        }
    }
    h.current = None;
    r.finish(&mut |ev: StreamEvent<'_>| h.event(ev));
    assert!(
        h.conns.values().all(|c| c.closed),
        "a connection was never closed"
    );
    assert_eq!(r.stats().live, 0);
});
