use super::*;

/// Collects a direction's output as one byte string with gaps marked.
#[derive(Default, Debug, PartialEq, Eq)]
struct Log {
    bytes: Vec<u8>,
    gaps: Vec<u64>,
    conflicts: usize,
}

fn feed(h: &mut HalfStream, log: &mut Log, seq: u32, data: &[u8], limit: usize) -> Taken {
    h.segment(
        seq,
        false,
        false,
        data,
        data.len() as u32,
        NOW,
        limit,
        &mut |o| record(log, o),
    )
}

fn record(log: &mut Log, o: Out<'_>) {
    match o {
        Out::Data(d, _) => log.bytes.extend_from_slice(d),
        Out::Gap(n) => log.gaps.push(n),
        Out::Conflict => log.conflicts += 1,
    }
}

const BIG: usize = 1 << 20;
const NOW: Stamp = Stamp {
    ts: crate::capture::Timestamp(0),
    packet: 1,
};

#[test]
fn in_order_after_syn() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    h.segment(99, true, false, &[], 0, NOW, BIG, &mut |o| {
        record(&mut log, o)
    });
    feed(&mut h, &mut log, 100, b"hello ", BIG);
    feed(&mut h, &mut log, 106, b"world", BIG);
    assert_eq!(log.bytes, b"hello world");
    assert!(log.gaps.is_empty());
}

#[test]
fn out_of_order_waits_for_the_hole() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 1000, b"ab", BIG);
    let t = feed(&mut h, &mut log, 1004, b"ef", BIG);
    assert!(t.out_of_order);
    assert_eq!(log.bytes, b"ab");
    feed(&mut h, &mut log, 1002, b"cd", BIG);
    assert_eq!(log.bytes, b"abcdef");
    assert_eq!(h.cost(), 0);
}

#[test]
fn retransmission_is_delivered_once() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 1, b"abcd", BIG);
    let t = feed(&mut h, &mut log, 1, b"abcd", BIG);
    assert!(t.retransmission);
    feed(&mut h, &mut log, 3, b"cdef", BIG);
    assert_eq!(log.bytes, b"abcdef");
    assert_eq!(log.conflicts, 0);
}

#[test]
fn first_copy_wins_and_conflict_is_reported() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 0, b"a", BIG);
    feed(&mut h, &mut log, 3, b"XY", BIG);
    feed(&mut h, &mut log, 1, b"bcde", BIG);
    assert_eq!(log.bytes, b"abcXY");
    assert_eq!(log.conflicts, 1);
}

#[test]
fn hole_becomes_gap_past_the_limit() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 0, b"aa", 100);
    feed(&mut h, &mut log, 10, &[b'x'; 30], 100);
    assert!(log.gaps.is_empty());
    feed(&mut h, &mut log, 40, &[b'y'; 30], 100);
    assert_eq!(log.gaps, vec![8]);
    assert_eq!(log.bytes.len(), 62);
    assert_eq!(h.cost(), 0);
}

#[test]
fn flush_reports_every_hole() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 0, b"a", BIG);
    feed(&mut h, &mut log, 5, b"b", BIG);
    feed(&mut h, &mut log, 10, b"c", BIG);
    h.flush(&mut |o| record(&mut log, o));
    assert_eq!(log.bytes, b"abc");
    assert_eq!(log.gaps, vec![4, 4]);
}

#[test]
fn snaplen_cut_segment_ends_in_a_gap() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    h.segment(0, false, false, b"abc", 10, NOW, BIG, &mut |o| {
        record(&mut log, o)
    });
    feed(&mut h, &mut log, 10, b"next", BIG);
    assert_eq!(log.bytes, b"abcnext");
    assert_eq!(log.gaps, vec![7]);
}

#[test]
fn huge_sequence_jump_costs_nothing() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 0, b"a", BIG);
    feed(&mut h, &mut log, 0x7000_0000, b"b", BIG);
    assert!(h.cost() < 1024);
    h.flush(&mut |o| record(&mut log, o));
    assert_eq!(log.gaps, vec![0x7000_0000 - 1]);
    assert_eq!(log.bytes, b"ab");
}

#[test]
fn fin_is_reached_in_order() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    h.segment(u32::MAX, true, false, b"", 0, NOW, BIG, &mut |o| {
        record(&mut log, o)
    });
    h.segment(5, false, true, b"z", 1, NOW, BIG, &mut |o| {
        record(&mut log, o)
    });
    assert!(!h.finished());
    feed(&mut h, &mut log, 0, b"abcde", BIG);
    assert!(h.finished());
    assert_eq!(log.bytes, b"abcdez");
}

#[test]
fn fin_after_a_hole_is_reached_by_flush() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 0, b"ab", BIG);
    h.segment(4, false, true, b"", 0, NOW, BIG, &mut |o| {
        record(&mut log, o)
    });
    assert!(!h.finished());
    h.flush(&mut |o| record(&mut log, o));
    assert!(h.finished());
    assert_eq!(log.gaps, vec![2]);
}

#[test]
fn an_ack_past_a_hole_makes_it_a_gap_at_once() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 0, b"ab", BIG);
    feed(&mut h, &mut log, 5, b"fg", BIG);
    assert_eq!(log.bytes, b"ab");
    // The peer has everything up to 7: bytes 2..5 were received, never captured.
    h.acked(7, &mut |o| record(&mut log, o));
    assert_eq!(log.bytes, b"abfg");
    assert_eq!(log.gaps, vec![3]);
    // An ACK for data never seen at all is a gap too; a stale or absurd one is not.
    h.acked(10, &mut |o| record(&mut log, o));
    assert_eq!(log.gaps, vec![3, 3]);
    h.acked(4, &mut |o| record(&mut log, o));
    h.acked(0x7000_0000, &mut |o| record(&mut log, o));
    assert_eq!(log.gaps, vec![3, 3]);
    feed(&mut h, &mut log, 10, b"h", BIG);
    assert_eq!(log.bytes, b"abfgh");
}

#[test]
fn the_ack_of_a_fin_is_no_gap() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    h.segment(0, false, true, b"abc", 3, NOW, BIG, &mut |o| {
        record(&mut log, o)
    });
    h.acked(4, &mut |o| record(&mut log, o));
    assert!(log.gaps.is_empty());
    assert!(h.finished());
}

/// Found by the damaged-capture test: the SYN-ACK and the server's first segment lost,
/// the client's handshake ACK (ack = ISN + 1) captured. The second segment is not the
/// start of the stream: the 15 bytes before it are a gap.
#[test]
fn lost_first_segment_after_a_lost_syn_ack_is_a_gap() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    h.acked(1, &mut |o| record(&mut log, o));
    h.acked(3, &mut |o| record(&mut log, o));
    let t = feed(&mut h, &mut log, 16, b"second", BIG);
    assert!(t.out_of_order);
    assert!(log.bytes.is_empty());
    h.acked(22, &mut |o| record(&mut log, o));
    assert_eq!(log.gaps, vec![15]);
    assert_eq!(log.bytes, b"second");
}

/// An ACK captured before the data it acknowledges (reordering), or an absurd one, does
/// not move the start of the stream.
#[test]
fn ack_ahead_of_the_first_data_is_no_gap() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    h.acked(50, &mut |o| record(&mut log, o));
    feed(&mut h, &mut log, 10, b"abc", BIG);
    assert_eq!(log.bytes, b"abc");
    let mut h = HalfStream::default();
    h.acked(10, &mut |o| record(&mut log, o));
    feed(&mut h, &mut log, 10 + (1 << 31), b"d", BIG);
    assert_eq!(log.bytes, b"abcd");
    assert!(log.gaps.is_empty());
}

#[test]
fn pure_ack_before_any_data_sets_nothing() {
    let mut h = HalfStream::default();
    let mut log = Log::default();
    feed(&mut h, &mut log, 500, b"", BIG);
    feed(&mut h, &mut log, 100, b"xy", BIG);
    assert_eq!(log.bytes, b"xy");
}
