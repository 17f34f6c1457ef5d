//! Flow-table behaviour and the reassembly properties: any permutation, duplication or
//! overlap of a stream's segments reassembles to the stream; a dropped segment is one gap.

use super::*;
use crate::net::TcpFlags;
use proptest::prelude::*;

const CLIENT: &str = "10.0.0.1:40000";
const SERVER: &str = "10.0.0.2:443";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn seg<'a>(src: &str, dst: &str, seq: u32, flags: u8, payload: &'a [u8]) -> TcpSegment<'a> {
    TcpSegment {
        src: addr(src),
        dst: addr(dst),
        seq,
        ack: 0,
        flags: TcpFlags(flags),
        window: 0,
        payload,
        payload_len: payload.len() as u32,
    }
}

/// What a test saw, per connection.
#[derive(Default, Debug)]
struct Seen {
    opens: Vec<(ConnId, SocketAddr, SocketAddr, bool)>,
    bytes: HashMap<(ConnId, Dir), Vec<u8>>,
    gaps: Vec<(ConnId, Dir, u64)>,
    anomalies: usize,
    closed: Vec<ConnStats>,
}

impl StreamSink for Seen {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                handshake,
                ..
            } => self.opens.push((conn, client, server, handshake)),
            StreamEvent::Data {
                conn, dir, data, ..
            } => self
                .bytes
                .entry((conn, dir))
                .or_default()
                .extend_from_slice(data),
            StreamEvent::Gap { conn, dir, len, .. } => self.gaps.push((conn, dir, len)),
            StreamEvent::Anomaly { .. } => self.anomalies += 1,
            StreamEvent::Closed { stats, .. } => self.closed.push(stats.clone()),
        }
    }
}

fn ts(secs: i64) -> Stamp {
    Stamp {
        ts: Timestamp(secs * 1_000_000_000),
        packet: secs as u64,
    }
}

const SYN: u8 = TcpFlags::SYN;
const SYNACK: u8 = TcpFlags::SYN | TcpFlags::ACK;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN | TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;

#[test]
fn handshake_sets_roles_and_fin_closes() {
    let mut r = Reassembler::new(Config::default());
    let mut seen = Seen::default();
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 100, SYN, b""), &mut seen);
    r.segment(ts(1), 60, &seg(SERVER, CLIENT, 500, SYNACK, b""), &mut seen);
    r.segment(ts(1), 64, &seg(CLIENT, SERVER, 101, ACK, b"GET"), &mut seen);
    r.segment(ts(1), 62, &seg(SERVER, CLIENT, 501, ACK, b"OK"), &mut seen);
    r.segment(ts(2), 60, &seg(CLIENT, SERVER, 104, FIN, b""), &mut seen);
    r.segment(ts(2), 60, &seg(SERVER, CLIENT, 503, FIN, b""), &mut seen);
    r.segment(ts(2), 60, &seg(CLIENT, SERVER, 105, ACK, b""), &mut seen);
    r.finish(&mut seen);
    assert_eq!(seen.opens, vec![(0, addr(CLIENT), addr(SERVER), true)]);
    assert_eq!(seen.bytes[&(0, Dir::ClientToServer)], b"GET");
    assert_eq!(seen.bytes[&(0, Dir::ServerToClient)], b"OK");
    let st = &seen.closed[0];
    assert_eq!(st.reason, CloseReason::Fin);
    assert_eq!(st.packets, [4, 3]);
    assert_eq!(st.wire_bytes, [60 + 64 + 60 + 60, 60 + 62 + 60]);
    assert_eq!(st.payload_bytes, [3, 2]);
}

#[test]
fn without_handshake_the_lower_port_is_the_server() {
    let mut r = Reassembler::new(Config::default());
    let mut seen = Seen::default();
    r.segment(ts(1), 60, &seg(SERVER, CLIENT, 9, ACK, b"resp"), &mut seen);
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 7, ACK, b"req"), &mut seen);
    r.finish(&mut seen);
    assert_eq!(seen.opens, vec![(0, addr(CLIENT), addr(SERVER), false)]);
    assert_eq!(seen.bytes[&(0, Dir::ServerToClient)], b"resp");
    assert_eq!(seen.closed[0].reason, CloseReason::EndOfCapture);
}

#[test]
fn new_syn_on_a_closed_tuple_is_a_new_connection() {
    let mut r = Reassembler::new(Config::default());
    let mut seen = Seen::default();
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 100, SYN, b""), &mut seen);
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 100, SYN, b""), &mut seen);
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 101, ACK, b"one"), &mut seen);
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 104, RST, b""), &mut seen);
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 9000, SYN, b""), &mut seen);
    r.segment(
        ts(1),
        60,
        &seg(CLIENT, SERVER, 9001, ACK, b"two"),
        &mut seen,
    );
    r.finish(&mut seen);
    assert_eq!(
        seen.opens.len(),
        2,
        "a retransmitted SYN is not a new connection"
    );
    assert_eq!(seen.closed[0].reason, CloseReason::Rst);
    assert_eq!(seen.closed[0].packets, [4, 0]);
    assert_eq!(seen.bytes[&(1, Dir::ClientToServer)], b"two");
}

#[test]
fn the_oldest_connections_are_evicted_at_the_limit() {
    let config = Config {
        max_connections: 16,
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let mut seen = Seen::default();
    for i in 0..100u16 {
        let c = format!("10.0.0.1:{}", 10000 + i);
        r.segment(ts(1), 60, &seg(&c, SERVER, 1, ACK, b"x"), &mut seen);
        assert!(r.stats().live <= 16);
    }
    r.finish(&mut seen);
    assert_eq!(seen.closed.len(), 100);
    assert!(r.stats().evicted >= 84);
    assert!(
        seen.closed
            .iter()
            .filter(|c| c.reason == CloseReason::Evicted)
            .count()
            >= 84
    );
}

#[test]
fn idle_connections_time_out() {
    let config = Config {
        idle_timeout_ns: 30 * 1_000_000_000,
        idle_packets: 3,
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let mut seen = Seen::default();
    let other = "10.0.0.3:5000";
    r.segment(ts(0), 60, &seg(CLIENT, SERVER, 1, ACK, b"a"), &mut seen);
    r.segment(ts(10), 60, &seg(other, SERVER, 1, ACK, b"b"), &mut seen);
    r.segment(ts(31), 60, &seg(other, SERVER, 2, ACK, b"c"), &mut seen);
    assert!(
        seen.closed.is_empty(),
        "time alone does not end a connection"
    );
    r.segment(ts(32), 60, &seg(other, SERVER, 3, ACK, b"d"), &mut seen);
    r.segment(ts(33), 60, &seg(other, SERVER, 4, ACK, b"e"), &mut seen);
    assert_eq!(seen.closed.len(), 1);
    assert_eq!(seen.closed[0].reason, CloseReason::IdleTimeout);
    assert_eq!(r.stats().timed_out, 1);
}

/// A closed connection stops lingering after 1024 x `closed_linger_packets` quiet packets
/// even when no capture time passes: at 230 MB/s, 10 s was a whole 4 GB file of connections.
#[test]
fn a_closed_connection_stops_lingering_after_enough_packets_whatever_the_time() {
    let config = Config {
        closed_linger_packets: 64,
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let mut seen = Seen::default();
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 1, ACK, b"a"), &mut seen);
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 2, RST, b""), &mut seen);
    let other = "10.0.0.3:5000";
    for i in 0..140_000u32 {
        if i == 1_000 {
            assert!(seen.closed.is_empty(), "still lingering");
        }
        r.segment(ts(1), 60, &seg(other, SERVER, 1 + i, ACK, b"b"), &mut seen);
    }
    assert_eq!(seen.closed.len(), 1, "reported without any time passing");
    assert_eq!(seen.closed[0].reason, CloseReason::Rst);
}

/// Regression: a fuzzed capture (suricata-verify transform-base64-7296) whose timestamps
/// jump by years split live connections in two when idleness was judged by time alone.
#[test]
fn bogus_timestamp_jumps_do_not_split_connections() {
    let mut r = Reassembler::new(Config::default());
    let mut seen = Seen::default();
    let two_years = 2 * 365 * 24 * 3600;
    let other = "10.0.0.3:5000";
    r.segment(ts(100), 60, &seg(CLIENT, SERVER, 1, ACK, b"a"), &mut seen);
    r.segment(
        ts(100 + two_years),
        60,
        &seg(other, SERVER, 1, ACK, b"b"),
        &mut seen,
    );
    r.segment(ts(101), 60, &seg(CLIENT, SERVER, 2, ACK, b"c"), &mut seen);
    r.finish(&mut seen);
    assert_eq!(seen.opens.len(), 2);
    assert_eq!(seen.bytes[&(0, Dir::ClientToServer)], b"ac");
}

#[test]
fn total_buffered_bytes_are_bounded() {
    let config = Config {
        max_buffered_total: 10_000,
        ..Config::default()
    };
    let mut r = Reassembler::new(config);
    let mut seen = Seen::default();
    let chunk = [7u8; 1000];
    for i in 0..50u16 {
        let c = format!("10.0.0.1:{}", 10000 + i);
        r.segment(ts(1), 60, &seg(&c, SERVER, 0, ACK, b"a"), &mut seen);
        // A hole at offset 1, then bytes behind it.
        r.segment(ts(1), 60, &seg(&c, SERVER, 100, ACK, &chunk), &mut seen);
        assert!(r.buffered_total <= 10_000 + 2 * (chunk.len() + 64));
    }
}

/// A stream cut into segments: (offset, length) pairs covering `0..len` in order.
fn cuts(len: usize, points: &[usize]) -> Vec<(usize, usize)> {
    let mut p: Vec<usize> = points.iter().map(|x| x % (len + 1)).collect();
    p.push(0);
    p.push(len);
    p.sort_unstable();
    p.dedup();
    p.windows(2).map(|w| (w[0], w[1] - w[0])).collect()
}

/// Feeds a SYN, then `segments` of `data` in the given order, then a FIN, and finishes.
fn run(isn: u32, data: &[u8], segments: &[(usize, usize)]) -> Seen {
    let mut r = Reassembler::new(Config::default());
    let mut seen = Seen::default();
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, isn, SYN, b""), &mut seen);
    let base = isn.wrapping_add(1);
    for &(off, len) in segments {
        let s = seg(
            CLIENT,
            SERVER,
            base.wrapping_add(off as u32),
            ACK,
            &data[off..off + len],
        );
        r.segment(ts(1), 60, &s, &mut seen);
    }
    let fin = seg(
        CLIENT,
        SERVER,
        base.wrapping_add(data.len() as u32),
        FIN,
        b"",
    );
    r.segment(ts(1), 60, &fin, &mut seen);
    r.finish(&mut seen);
    seen
}

proptest! {
    #[test]
    fn any_order_duplication_or_overlap_reassembles(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        points in proptest::collection::vec(any::<usize>(), 0..40),
        extra in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..20),
        order in any::<u64>(),
        isn in any::<u32>(),
    ) {
        let mut segs = cuts(data.len(), &points);
        // Overlapping and duplicate copies of arbitrary ranges.
        for (a, b) in extra {
            let a = a % data.len();
            let b = a + b % (data.len() - a + 1);
            segs.push((a, b - a));
        }
        shuffle(&mut segs, order);
        let seen = run(isn, &data, &segs);
        let got = seen.bytes.get(&(0, Dir::ClientToServer)).cloned().unwrap_or_default();
        prop_assert_eq!(&got, &data);
        prop_assert!(seen.gaps.is_empty());
        prop_assert_eq!(seen.anomalies, 0);
        prop_assert_eq!(seen.closed[0].payload_bytes[0], data.len() as u64);
    }

    #[test]
    fn a_dropped_segment_is_exactly_one_gap(
        data in proptest::collection::vec(any::<u8>(), 2..3000),
        points in proptest::collection::vec(any::<usize>(), 1..40),
        drop in any::<usize>(),
        order in any::<u64>(),
        isn in any::<u32>(),
    ) {
        let mut segs = cuts(data.len(), &points);
        prop_assume!(segs.len() >= 2);
        let (off, len) = segs.remove(drop % segs.len());
        let dups: Vec<_> = segs.iter().step_by(3).copied().collect();
        segs.extend(dups);
        shuffle(&mut segs, order);
        let seen = run(isn, &data, &segs);
        let mut expected = data[..off].to_vec();
        expected.extend_from_slice(&data[off + len..]);
        let got = seen.bytes.get(&(0, Dir::ClientToServer)).cloned().unwrap_or_default();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(seen.gaps, vec![(0, Dir::ClientToServer, len as u64)]);
        prop_assert_eq!(seen.closed[0].gap_bytes[0], len as u64);
    }
}

/// A deterministic shuffle driven by one seed (xorshift), so proptest can shrink it.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Regression (suricata-verify transform-base64-7296): a fuzzed packet with every TCP flag
/// set closed the connection, losing the HTTP/2 frames after it.
#[test]
fn syn_with_rst_does_not_reset() {
    let mut r = Reassembler::new(Config::default());
    let mut seen = Seen::default();
    let all_flags = 0xff;
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 1, ACK, b"ab"), &mut seen);
    r.segment(
        ts(1),
        60,
        &seg(SERVER, CLIENT, 9, all_flags, b""),
        &mut seen,
    );
    r.segment(ts(1), 60, &seg(CLIENT, SERVER, 3, ACK, b"cd"), &mut seen);
    r.finish(&mut seen);
    assert_eq!(seen.bytes[&(0, Dir::ClientToServer)], b"abcd");
    assert_eq!(seen.closed[0].reason, CloseReason::EndOfCapture);
}
