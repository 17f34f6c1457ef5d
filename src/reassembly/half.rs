//! One direction of a TCP connection: orders segments into a byte stream, bounded.
//!
//! Contract (after smoltcp's `storage/assembler.rs` and Wireshark's reassembly):
//! - bytes are delivered once, in order; the first copy of a byte wins, and a later copy
//!   that disagrees is reported as a conflict (a sign of a broken or hostile sender);
//! - out-of-order bytes wait in `pending` (non-overlapping pieces keyed by stream offset)
//!   until the hole before them fills;
//! - a hole that does not fill becomes an explicit gap once the bytes waiting behind it
//!   exceed the limit, or when the direction is flushed (close, eviction, end of capture).
//!   A gap is only a number: a 2 GB sequence jump costs nothing.
//!
//! The common case, an in-order segment with nothing pending, is delivered straight from
//! the packet without a copy.

use super::Stamp;
use super::seq::SeqAnchor;
use std::collections::BTreeMap;

/// Bookkeeping charged per pending piece on top of its bytes, so that a flood of tiny
/// segments is bounded like a few large ones.
const PIECE_OVERHEAD: usize = 64;

/// How far beyond the next byte an ACK may reach and still be believed (a TCP window is at
/// most 1 GiB, RFC 7323 §2.3).
const MAX_ACK_AHEAD: i64 = 1 << 30;

/// What a direction hands to the layer above.
#[derive(Debug, PartialEq, Eq)]
pub enum Out<'a> {
    /// Bytes, with the time and packet of the segment that carried them (which, for bytes
    /// that waited behind a hole, is earlier than the segment being processed).
    Data(&'a [u8], Stamp),
    Gap(u64),
    /// A retransmitted byte range disagrees with the copy we kept.
    Conflict,
}

/// How one segment was taken in, for the connection's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Taken {
    /// The segment carried only bytes that were already delivered.
    pub retransmission: bool,
    /// The segment landed beyond a hole.
    pub out_of_order: bool,
}

#[derive(Debug, Default)]
pub struct HalfStream {
    /// The next byte to deliver (`anchor.offset` bytes were delivered or skipped as gaps).
    /// `None` until the direction shows its first SYN, payload or FIN.
    anchor: Option<SeqAnchor>,
    pending: BTreeMap<u64, (Stamp, Vec<u8>)>,
    /// Until the anchor is set: the lowest ACK the peer sent for this direction. The stream
    /// reached at least that far, so data first seen beyond it proves the bytes in between
    /// were sent and not captured.
    acked_before_start: Option<u32>,
    /// Bytes waiting in `pending`, plus `PIECE_OVERHEAD` per piece.
    cost: usize,
    fin_offset: Option<u64>,
    fin_delivered: bool,
    /// Payload bytes delivered, and gap bytes skipped.
    pub delivered_bytes: u64,
    pub gap_bytes: u64,
    pub gaps: u64,
    pub conflicts: u64,
}

impl HalfStream {
    /// Bytes (plus overhead) waiting behind a hole.
    pub fn cost(&self) -> usize {
        self.cost
    }

    /// The FIN of this direction has been reached in order: no more data.
    pub fn finished(&self) -> bool {
        self.fin_delivered
    }

    /// Takes one segment. `payload` is what was captured; `payload_len` its length on the
    /// wire (larger when the snaplen cut it). `limit` bounds `cost()` after the call.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<F: FnMut(Out<'_>)>(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        payload_len: u32,
        stamp: Stamp,
        limit: usize,
        out: &mut F,
    ) -> Taken {
        let mut taken = Taken::default();
        // A SYN occupies one sequence number before the data (RFC 9293 §3.4).
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        let anchor = match self.anchor {
            Some(a) => a,
            None if syn || !payload.is_empty() || payload_len > 0 || fin => {
                // Without a SYN the stream starts at the first byte we see (a capture
                // joined mid-connection); offsets count from there. Unless the peer already
                // acknowledged less than that: then it starts at that ACK, and the bytes
                // before this segment are a hole (a lost SYN-ACK and first segment must not
                // make the second one look like the start of the stream).
                let start = match self.acked_before_start {
                    Some(ack) if !syn => {
                        let ahead = i64::from(data_seq.wrapping_sub(ack) as i32);
                        if ahead > 0 && ahead <= MAX_ACK_AHEAD {
                            ack
                        } else {
                            data_seq
                        }
                    }
                    _ => data_seq,
                };
                let a = SeqAnchor {
                    seq: start,
                    offset: 0,
                };
                self.anchor = Some(a);
                a
            }
            None => return taken,
        };
        let delivered = anchor.offset;
        let delta = anchor.delta(data_seq);
        let wire_len = u64::from(payload_len.max(payload.len() as u32));

        if fin && self.fin_offset.is_none() {
            let fin_at = (delta + wire_len as i64).max(0) as u64;
            self.fin_offset = Some(delivered.saturating_add(fin_at));
        }

        // Trim what lies before the next byte to deliver: already delivered (or skipped).
        let skip = if delta < 0 { delta.unsigned_abs() } else { 0 };
        if skip >= wire_len {
            taken.retransmission = wire_len > 0;
            self.check_fin();
            return taken;
        }
        let start = delivered.saturating_add(delta.max(0) as u64);
        let captured = payload.get(skip as usize..).unwrap_or(&[]);
        let missing_tail = wire_len - skip - captured.len() as u64;

        if start == delivered && self.pending.is_empty() {
            // Fast path: in order, nothing waiting. No copy.
            self.deliver(captured, stamp, out);
            if missing_tail > 0 {
                // The snaplen cut this segment: the rest of it is known to be lost.
                self.skip_gap(missing_tail, out);
            }
        } else {
            taken.out_of_order = start > delivered;
            self.insert(start, captured, stamp, out);
            self.drain(out);
            while self.cost > limit {
                self.gap_to_next(out);
            }
        }
        self.check_fin();
        taken
    }

    /// The peer acknowledged every byte before `ack` (its next expected sequence number):
    /// bytes below it that were never captured will not be retransmitted, so each hole
    /// below it is a gap now, and what waited behind it is delivered.
    pub fn acked<F: FnMut(Out<'_>)>(&mut self, ack: u32, out: &mut F) {
        let Some(a) = self.anchor else {
            let lowest = match self.acked_before_start {
                Some(l) if ack.wrapping_sub(l) as i32 >= 0 => l,
                _ => ack,
            };
            self.acked_before_start = Some(lowest);
            return;
        };
        let delta = a.delta(ack);
        // Only forward, and only within a plausible window: a forged ACK cannot invent
        // a gigabyte of gap.
        if delta <= 0 || delta > MAX_ACK_AHEAD {
            return;
        }
        let mut acked_to = a.offset + delta as u64;
        if let Some(fin) = self.fin_offset {
            // The FIN takes a sequence number but is no data: an ACK of it covers nothing
            // beyond the FIN (RFC 9293 §3.4).
            acked_to = acked_to.min(fin);
        }
        while let Some(a) = self.anchor {
            if a.offset >= acked_to {
                break;
            }
            let next = self.pending.first_key_value().map(|(&k, _)| k);
            match next {
                Some(k) if k <= a.offset => self.drain(out),
                Some(k) => self.skip_gap(k.min(acked_to) - a.offset, out),
                None => self.skip_gap(acked_to - a.offset, out),
            }
        }
        self.drain(out);
        self.check_fin();
    }

    /// Delivers everything pending, with a gap for each hole, then any hole before a FIN.
    pub fn flush<F: FnMut(Out<'_>)>(&mut self, out: &mut F) {
        while !self.pending.is_empty() {
            self.gap_to_next(out);
        }
        if let (Some(a), Some(fin)) = (self.anchor, self.fin_offset)
            && fin > a.offset
        {
            self.skip_gap(fin - a.offset, out);
        }
        self.check_fin();
    }

    fn check_fin(&mut self) {
        if let (Some(a), Some(fin)) = (self.anchor, self.fin_offset)
            && a.offset >= fin
        {
            self.fin_delivered = true;
        }
    }

    fn deliver<F: FnMut(Out<'_>)>(&mut self, data: &[u8], stamp: Stamp, out: &mut F) {
        if data.is_empty() {
            return;
        }
        if let Some(a) = self.anchor.as_mut() {
            a.advance(data.len() as u64);
        }
        self.delivered_bytes += data.len() as u64;
        out(Out::Data(data, stamp));
    }

    fn skip_gap<F: FnMut(Out<'_>)>(&mut self, len: u64, out: &mut F) {
        if len == 0 {
            return;
        }
        if let Some(a) = self.anchor.as_mut() {
            a.advance(len);
        }
        self.gaps += 1;
        self.gap_bytes = self.gap_bytes.saturating_add(len);
        out(Out::Gap(len));
    }

    /// Gives up on the hole before the first pending piece, then delivers what follows it.
    fn gap_to_next<F: FnMut(Out<'_>)>(&mut self, out: &mut F) {
        let (Some(a), Some((&first, _))) = (self.anchor, self.pending.first_key_value()) else {
            return;
        };
        self.skip_gap(first.saturating_sub(a.offset), out);
        self.drain(out);
    }

    /// Delivers the pending pieces that now start at the next byte.
    fn drain<F: FnMut(Out<'_>)>(&mut self, out: &mut F) {
        while let Some(a) = self.anchor {
            let Some(entry) = self.pending.first_entry() else {
                break;
            };
            if *entry.key() != a.offset {
                break;
            }
            let (stamp, piece) = entry.remove();
            self.cost -= piece.len() + PIECE_OVERHEAD;
            self.deliver(&piece, stamp, out);
        }
    }

    /// Stores `data` at stream offset `off` where no earlier copy holds those bytes.
    /// Every piece in `pending` starts at or after the next byte to deliver, and pieces
    /// never overlap.
    fn insert<F: FnMut(Out<'_>)>(
        &mut self,
        mut off: u64,
        mut data: &[u8],
        stamp: Stamp,
        out: &mut F,
    ) {
        let mut conflict = false;
        // A piece starting before `off` may cover its beginning.
        if let Some((&k, (_, v))) = self.pending.range(..off).next_back() {
            let end = k + v.len() as u64;
            if end > off {
                let n = ((end - off) as usize).min(data.len());
                let from = (off - k) as usize;
                conflict |= v.get(from..from + n) != data.get(..n);
                data = data.get(n..).unwrap_or(&[]);
                off += n as u64;
            }
        }
        while !data.is_empty() {
            let next = self
                .pending
                .range(off..)
                .next()
                .map(|(&k, (_, v))| (k, v.len() as u64));
            match next {
                Some((k, vlen)) if k < off + data.len() as u64 => {
                    let (before, rest) = data.split_at((k - off) as usize);
                    self.store(off, before, stamp);
                    let n = (vlen as usize).min(rest.len());
                    if let Some((_, v)) = self.pending.get(&k) {
                        conflict |= v.get(..n) != rest.get(..n);
                    }
                    data = rest.get(n..).unwrap_or(&[]);
                    off = k + n as u64;
                }
                _ => {
                    self.store(off, data, stamp);
                    break;
                }
            }
        }
        if conflict {
            self.conflicts += 1;
            out(Out::Conflict);
        }
    }

    fn store(&mut self, off: u64, data: &[u8], stamp: Stamp) {
        if data.is_empty() {
            return;
        }
        self.cost += data.len() + PIECE_OVERHEAD;
        self.pending.insert(off, (stamp, data.to_vec()));
    }
}

#[cfg(test)]
mod tests {
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
}
