//! Damages a capture the way a lossy tap or a busy capture host does: packets dropped,
//! duplicated, swapped with a neighbour, or cut short (a small snaplen), each at a given rate,
//! from a seed, so every run damages the same packets.
//!
//! The capture is read with h2scope's own reader (so pcap and pcapng alike, several
//! interfaces and link types included) and written back as pcapng with nanosecond
//! timestamps, one interface block per interface: the classic pcap format cannot hold a
//! multi-interface capture. Compare a damaged capture with [`Capture::write`] of the
//! undamaged one, so the format conversion is on both sides.
//!
//! Each packet keeps its original number (`Packet::index`) and its TCP 4-tuple (when it has
//! one), so tests can say which connections were touched and how.

use h2scope::capture::{CaptureReader, Notice, Record};
use h2scope::net::{Parsed, parse_packet};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

/// A TCP connection's endpoints, in a canonical order (either direction maps to the same key).
pub type ConnKey = (SocketAddr, SocketAddr);

pub fn conn_key(a: SocketAddr, b: SocketAddr) -> ConnKey {
    if a <= b { (a, b) } else { (b, a) }
}

#[derive(Clone, Debug)]
pub struct Packet {
    /// Position in the original capture, from 0.
    pub index: usize,
    pub interface: u32,
    pub ts: i64,
    pub data: Vec<u8>,
    pub orig_len: u32,
    /// The TCP connection it belongs to, if it carries a TCP segment.
    pub conn: Option<ConnKey>,
}

#[derive(Clone, Debug, Default)]
pub struct Capture {
    /// Link type and snaplen of each interface, by id.
    pub interfaces: Vec<(u32, u32)>,
    pub packets: Vec<Packet>,
}

/// Per-kind damage rates (0.0 to 1.0) and the seed that picks the packets.
#[derive(Clone, Copy, Debug)]
pub struct Damage {
    pub drop: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub truncate: f64,
    pub seed: u64,
}

impl Damage {
    /// Every kind of damage at the same rate.
    pub fn all(rate: f64, seed: u64) -> Self {
        Damage {
            drop: rate,
            duplicate: rate,
            reorder: rate,
            truncate: rate,
            seed,
        }
    }
}

/// A damaged capture, and which original packets (by index) suffered what.
#[derive(Debug)]
pub struct Damaged {
    pub capture: Capture,
    pub dropped: BTreeSet<usize>,
    pub duplicated: BTreeSet<usize>,
    pub truncated: BTreeSet<usize>,
    /// Packets that were moved past a neighbour (both of a swapped pair).
    pub moved: BTreeSet<usize>,
}

impl Damaged {
    /// Connections whose packets do not come through exactly as they were: one was dropped or
    /// truncated, or two of its own packets changed order. Duplicates alone do not count (a
    /// duplicate is a retransmission, which must be harmless), nor does a packet of another
    /// connection moving past one of its packets.
    pub fn touched(&self, original: &Capture) -> BTreeSet<ConnKey> {
        let conn_of: BTreeMap<usize, ConnKey> = original
            .packets
            .iter()
            .filter_map(|p| Some((p.index, p.conn?)))
            .collect();
        let mut out: BTreeSet<ConnKey> = self
            .dropped
            .iter()
            .chain(&self.truncated)
            .filter_map(|i| conn_of.get(i).copied())
            .collect();
        let mut last: BTreeMap<ConnKey, usize> = BTreeMap::new();
        for p in &self.capture.packets {
            if let Some(c) = p.conn {
                if last.get(&c).is_some_and(|&l| l > p.index) {
                    out.insert(c);
                }
                last.insert(c, p.index);
            }
        }
        out
    }

    /// Whether anything at all was damaged.
    pub fn any(&self) -> bool {
        !(self.dropped.is_empty()
            && self.duplicated.is_empty()
            && self.truncated.is_empty()
            && self.moved.is_empty())
    }
}

/// splitmix64: small, seedable, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

impl Capture {
    /// Reads every packet of a capture file (pcap or pcapng, plain or gzip).
    pub fn read(path: &Path) -> Capture {
        let mut reader =
            CaptureReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut cap = Capture::default();
        let mut link_of: BTreeMap<u32, u32> = BTreeMap::new();
        while let Some(record) = reader
            .next_record()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            match record {
                Record::Notice(Notice::Interface {
                    id,
                    link_type,
                    snaplen,
                    ..
                }) => {
                    // Interface ids restart in every pcapng section; ours are global.
                    let global = cap.interfaces.len() as u32;
                    link_of.insert(id, global);
                    cap.interfaces.push((link_type.0, snaplen));
                }
                Record::Notice(_) => {}
                Record::Packet(p) => {
                    let conn = match parse_packet(p.link_type, p.data) {
                        Ok(Parsed::Tcp(seg)) => Some(conn_key(seg.src, seg.dst)),
                        _ => None,
                    };
                    cap.packets.push(Packet {
                        index: cap.packets.len(),
                        interface: link_of.get(&p.interface).copied().unwrap_or(0),
                        ts: p.ts.0,
                        data: p.data.to_vec(),
                        orig_len: p.orig_len,
                        conn,
                    });
                }
            }
        }
        cap
    }

    /// The capture as pcapng (little-endian, one section, nanosecond timestamps).
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Section Header Block: byte-order magic, version 1.0, section length unknown.
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut out, 0x0a0d_0d0a, &shb);
        for &(link_type, snaplen) in &self.interfaces {
            let mut idb = Vec::new();
            idb.extend_from_slice(&(link_type as u16).to_le_bytes());
            idb.extend_from_slice(&0u16.to_le_bytes());
            idb.extend_from_slice(&snaplen.to_le_bytes());
            // if_tsresol = 9 (nanoseconds), then opt_endofopt.
            idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
            block(&mut out, 1, &idb);
        }
        for p in &self.packets {
            let ticks = p.ts as u64;
            let mut epb = Vec::new();
            epb.extend_from_slice(&p.interface.to_le_bytes());
            epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(ticks as u32).to_le_bytes());
            epb.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
            epb.extend_from_slice(&p.orig_len.to_le_bytes());
            epb.extend_from_slice(&p.data);
            epb.resize(epb.len().next_multiple_of(4), 0);
            block(&mut out, 6, &epb);
        }
        out
    }

    /// A damaged copy. Each packet is, independently, dropped, or else cut short (to a length
    /// that keeps its headers but not all of its payload), duplicated, and swapped with the
    /// next one, each with its rate.
    pub fn damage(&self, d: Damage) -> Damaged {
        let mut rng = Rng::new(d.seed);
        let mut out = Damaged {
            capture: Capture {
                interfaces: self.interfaces.clone(),
                packets: Vec::with_capacity(self.packets.len()),
            },
            dropped: BTreeSet::new(),
            duplicated: BTreeSet::new(),
            truncated: BTreeSet::new(),
            moved: BTreeSet::new(),
        };
        for p in &self.packets {
            if rng.chance(d.drop) {
                out.dropped.insert(p.index);
                continue;
            }
            let mut p = p.clone();
            if rng.chance(d.truncate) && p.data.len() > 1 {
                // Somewhere in the second half: link and IP headers usually survive, and a
                // TCP payload, if any, loses its end.
                let half = p.data.len() / 2;
                let keep = half + rng.below((p.data.len() - half) as u64) as usize;
                p.data.truncate(keep);
                out.truncated.insert(p.index);
            }
            if rng.chance(d.duplicate) {
                out.duplicated.insert(p.index);
                out.capture.packets.push(p.clone());
            }
            out.capture.packets.push(p);
        }
        let n = out.capture.packets.len();
        let mut i = 0;
        while i + 1 < n {
            if rng.chance(d.reorder) {
                let (a, b) = (
                    out.capture.packets[i].index,
                    out.capture.packets[i + 1].index,
                );
                if a != b {
                    out.capture.packets.swap(i, i + 1);
                    out.moved.insert(a);
                    out.moved.insert(b);
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        out
    }
}

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}
