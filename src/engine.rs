//! The engine: drives one packet source through link/IP/TCP parsing and reassembly.
//!
//! It reads each packet once, in order, and pushes reassembly events into a sink; what it
//! learns about the capture itself (interfaces, damage, packets it could not use) it keeps
//! in a [`CaptureSummary`], as data. Memory depends on live connections and buffered holes,
//! never on the size of the capture. The same engine serves files and, later, live capture.

use crate::capture::{CaptureError, CaptureReader, LinkType, Notice, Packet, Record, Timestamp};
use crate::filter::Filter;
use crate::net::{self, NetError, NotTcp, Parsed};
use crate::reassembly::{self, Reassembler, ReassemblyStats, Stamp, StreamSink};
use std::collections::BTreeMap;

/// How many distinct anomaly details are kept; beyond this only the counts grow.
const MAX_ANOMALY_DETAILS: usize = 64;

/// A kind of trouble at the capture, link or IP level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaptureAnomalyKind {
    /// Packets of an interface whose link type we cannot decode (reported once per interface).
    UnsupportedLinkType,
    /// Packets cut by the snaplen (captured length < length on the wire).
    SnaplenTruncated,
    /// The file ends inside a record.
    TruncatedRecord,
    /// A packet whose headers are too short or malformed to decode.
    MalformedPacket,
    /// IP fragments, counted and skipped (not reassembled).
    IpFragment,
    /// A packet naming an interface no block described.
    UnknownInterface,
    /// A pcapng block type we do not interpret.
    UnknownBlock,
}

impl CaptureAnomalyKind {
    /// Every kind, in the order docs/json.md lists them.
    pub const ALL: &'static [CaptureAnomalyKind] = &[
        CaptureAnomalyKind::UnsupportedLinkType,
        CaptureAnomalyKind::SnaplenTruncated,
        CaptureAnomalyKind::TruncatedRecord,
        CaptureAnomalyKind::MalformedPacket,
        CaptureAnomalyKind::IpFragment,
        CaptureAnomalyKind::UnknownInterface,
        CaptureAnomalyKind::UnknownBlock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaptureAnomalyKind::UnsupportedLinkType => "unsupported_link_type",
            CaptureAnomalyKind::SnaplenTruncated => "snaplen_truncated",
            CaptureAnomalyKind::TruncatedRecord => "truncated_record",
            CaptureAnomalyKind::MalformedPacket => "malformed_packet",
            CaptureAnomalyKind::IpFragment => "ip_fragment",
            CaptureAnomalyKind::UnknownInterface => "unknown_interface",
            CaptureAnomalyKind::UnknownBlock => "unknown_block",
        }
    }
}

/// How many times an anomaly happened, and the first few distinct details.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnomalyTally {
    pub count: u64,
    pub details: Vec<String>,
}

/// An interface as the file described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub id: u32,
    pub link_type: LinkType,
    pub snaplen: u32,
    pub name: Option<String>,
}

/// What the engine learnt about the capture as a whole.
#[derive(Clone, Debug, Default)]
pub struct CaptureSummary {
    pub packets: u64,
    /// Sum of the packets' lengths on the wire.
    pub bytes: u64,
    pub tcp_packets: u64,
    /// IP packets of other transports, and non-IP frames.
    pub other_packets: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub interfaces: Vec<InterfaceInfo>,
    pub anomalies: BTreeMap<CaptureAnomalyKind, AnomalyTally>,
    pub comments: Vec<String>,
    /// Decryption Secrets Blocks found (kept for TLS decryption later).
    pub decryption_secrets: usize,
    pub reassembly: ReassemblyStats,
    /// Packets left out by the capture filter (files; live filters run in the kernel).
    pub filtered_out: u64,
}

impl CaptureSummary {
    fn anomaly(&mut self, kind: CaptureAnomalyKind, detail: impl FnOnce() -> String) {
        let t = self.anomalies.entry(kind).or_default();
        t.count += 1;
        if t.details.len() < MAX_ANOMALY_DETAILS {
            let d = detail();
            if !t.details.contains(&d) {
                t.details.push(d);
            }
        }
    }
}

pub struct Engine {
    reassembler: Reassembler,
    /// A capture filter (`-f`) applied to every packet before it is decoded.
    filter: Option<Filter>,
    summary: CaptureSummary,
    /// Interfaces whose unsupported link type was already reported.
    unsupported: Vec<u32>,
}

impl Engine {
    pub fn new(config: reassembly::Config) -> Self {
        Engine {
            reassembler: Reassembler::new(config),
            filter: None,
            summary: CaptureSummary::default(),
            unsupported: Vec::new(),
        }
    }

    /// Decodes only the packets `filter` matches (the others are counted).
    pub fn with_filter(mut self, filter: Option<Filter>) -> Self {
        self.filter = filter;
        self
    }

    pub fn summary(&self) -> &CaptureSummary {
        &self.summary
    }

    /// Takes one record from a capture source.
    pub fn record<S: StreamSink>(&mut self, record: Record<'_>, sink: &mut S) {
        match record {
            Record::Packet(p) => self.packet(&p, sink),
            Record::Notice(n) => self.notice(n),
        }
    }

    pub fn packet<S: StreamSink>(&mut self, p: &Packet<'_>, sink: &mut S) {
        let s = &mut self.summary;
        if let Some(f) = &self.filter
            && !f.matches(p.link_type, p.data)
        {
            s.filtered_out += 1;
            return;
        }
        s.packets += 1;
        s.bytes += u64::from(p.orig_len);
        s.first_ts = Some(s.first_ts.map_or(p.ts, |t| t.min(p.ts)));
        s.last_ts = Some(s.last_ts.map_or(p.ts, |t| t.max(p.ts)));
        let n = s.packets;
        if p.is_truncated() {
            s.anomaly(CaptureAnomalyKind::SnaplenTruncated, || {
                format!(
                    "packet {n}: {} of {} bytes captured",
                    p.data.len(),
                    p.orig_len
                )
            });
        }
        match net::parse_packet(p.link_type, p.data) {
            Ok(Parsed::Tcp(seg)) => {
                s.tcp_packets += 1;
                let at = Stamp {
                    ts: p.ts,
                    packet: n,
                };
                self.reassembler.segment(at, p.orig_len, &seg, sink);
            }
            Ok(Parsed::Other(NotTcp::Fragment)) => {
                s.anomaly(CaptureAnomalyKind::IpFragment, || format!("packet {n}"));
            }
            Ok(Parsed::Other(_)) => s.other_packets += 1,
            Err(NetError::UnsupportedLinkType(lt)) => {
                let first = !self.unsupported.contains(&p.interface);
                if first {
                    self.unsupported.push(p.interface);
                }
                // Counted per packet, described once per interface.
                let t = s
                    .anomalies
                    .entry(CaptureAnomalyKind::UnsupportedLinkType)
                    .or_default();
                t.count += 1;
                if first && t.details.len() < MAX_ANOMALY_DETAILS {
                    t.details
                        .push(format!("interface {}: link type {lt}", p.interface));
                }
            }
            Err(e) => s.anomaly(CaptureAnomalyKind::MalformedPacket, || {
                format!("packet {n}: {e}")
            }),
        }
    }

    pub fn notice(&mut self, notice: Notice) {
        let s = &mut self.summary;
        match notice {
            Notice::Interface {
                id,
                link_type,
                snaplen,
                name,
            } => s.interfaces.push(InterfaceInfo {
                id,
                link_type,
                snaplen,
                name,
            }),
            Notice::TruncatedRecord {
                offset,
                needed,
                available,
            } => s.anomaly(CaptureAnomalyKind::TruncatedRecord, || {
                format!("at byte {offset}: record needs {needed} bytes, file has {available}")
            }),
            Notice::UnknownBlock { offset, block_type } => s
                .anomaly(CaptureAnomalyKind::UnknownBlock, || {
                    format!("block type 0x{block_type:08x} at byte {offset}")
                }),
            Notice::UnknownInterface { offset, interface } => s
                .anomaly(CaptureAnomalyKind::UnknownInterface, || {
                    format!("interface {interface} at byte {offset}")
                }),
            Notice::DecryptionSecrets { .. } => s.decryption_secrets += 1,
            Notice::Comment { text, .. } => {
                if s.comments.len() < MAX_ANOMALY_DETAILS {
                    s.comments.push(text);
                }
            }
        }
    }

    /// Live capture: time is `now` (the kernel's clock), packets or not. Connections closed
    /// [`LIVE_CLOSED_LINGER_NS`] ago are reported and the sink lets go of what it held
    /// back for more traffic, so the last calls of a burst show without waiting for the next.
    pub fn tick<S: StreamSink>(&mut self, now: Timestamp, sink: &mut S) {
        self.reassembler.expire(now, LIVE_CLOSED_LINGER_NS, sink);
        sink.tick(now);
    }

    /// Ends the source: closes every connection and returns what was learnt.
    pub fn finish<S: StreamSink>(mut self, sink: &mut S) -> CaptureSummary {
        self.reassembler.finish(sink);
        self.summary.reassembly = self.reassembler.stats();
        self.summary
    }
}

/// Reads a whole capture through the engine. On a read error the engine keeps everything
/// decoded before it; the error is returned beside the summary so callers can report both.
pub fn run_reader<S: StreamSink>(
    reader: &mut CaptureReader,
    config: reassembly::Config,
    filter: Option<Filter>,
    sink: &mut S,
) -> (CaptureSummary, Option<CaptureError>) {
    let mut engine = Engine::new(config).with_filter(filter);
    let error = loop {
        match reader.next_record() {
            Ok(Some(record)) => engine.record(record, sink),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    (engine.finish(sink), error)
}

/// When a live capture stops on its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct Until {
    pub duration: Option<std::time::Duration>,
    pub packets: Option<u64>,
}

/// Live capture: how long a closed connection waits for trailing packets (final ACKs,
/// retransmitted FINs) before it is reported; a file waits for packets as well as time.
pub const LIVE_CLOSED_LINGER_NS: i64 = 1_000_000_000;

/// How often [`run_live`] lets time end connections and lingering streams.
const LIVE_EXPIRE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// How often [`run_live`] calls its `tick` (and reads the kernel's drop counter).
pub const LIVE_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs a live capture through the engine until `stop` is set (SIGINT/SIGTERM, or the UI
/// quitting) or a limit in `until` is reached, saving every packet to `save` when given.
/// About every [`LIVE_TICK`], with packets or without, `tick` sees what was learnt so far
/// and the kernel's drop count (the terminal UI sends its batches then); it returns `false`
/// to stop. Returns what was learnt and the kernel's drop count; a capture or write error
/// ends the run but keeps everything decoded before it.
pub fn run_live<C: crate::capture::live::LiveSource + ?Sized, S: StreamSink, W: std::io::Write>(
    capture: &mut C,
    config: reassembly::Config,
    sink: &mut S,
    stop: &std::sync::atomic::AtomicBool,
    until: Until,
    mut save: Option<&mut crate::capture::writer::PcapngWriter<W>>,
    mut tick: impl FnMut(&CaptureSummary, u64) -> bool,
) -> (CaptureSummary, u64, Option<String>) {
    use std::sync::atomic::Ordering;
    let started = std::time::Instant::now();
    let mut last_tick = started;
    let mut last_expire = started;
    let mut engine = Engine::new(config);
    let mut error = None;
    while !stop.load(Ordering::SeqCst) {
        if until.duration.is_some_and(|d| started.elapsed() >= d)
            || until.packets.is_some_and(|n| engine.summary.packets >= n)
        {
            break;
        }
        if last_tick.elapsed() >= LIVE_TICK {
            last_tick = std::time::Instant::now();
            // Each expiry walks every live connection: a few times a second is enough.
            if last_expire.elapsed() >= LIVE_EXPIRE_EVERY {
                last_expire = last_tick;
                engine.tick(Timestamp::now(), sink);
            }
            if !tick(&engine.summary, capture.stats().dropped) {
                break;
            }
        }
        match capture.next_packet(LIVE_TICK) {
            Ok(Some(p)) => {
                if let Some(w) = save.as_deref_mut()
                    && let Err(e) = w.write_packet(&p)
                {
                    error = Some(format!("cannot save packets: {e}"));
                    break;
                }
                engine.packet(&p, sink);
            }
            Ok(None) => {}
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let drops = capture.stats().dropped;
    (engine.finish(sink), drops, error)
}
