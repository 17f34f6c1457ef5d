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
mod tests;
