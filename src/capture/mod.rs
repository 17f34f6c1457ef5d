//! Capture sources: turn a capture file (or, later, a live interface) into timestamped link-layer packets.
//!
//! The contract with the layers above is [`Record`]: a packet borrowed from the reader's buffer,
//! or a [`Notice`] about the file itself (an interface, a truncated record, a comment...).
//! Notices are data, not errors: a damaged file still yields every packet before the damage.

mod bytes;
pub mod file;
pub mod filter;
mod gzip;
mod input;
#[cfg(target_os = "linux")]
pub mod live;
mod pcap;
mod pcapng;
#[cfg(test)]
mod testutil;
pub mod writer;

pub use file::{CaptureError, CaptureReader, FileFormat};

use std::fmt;

/// Nanoseconds since the Unix epoch (covers 1677..2262; hostile offsets saturate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_nanos(n: i64) -> Self {
        Timestamp(n)
    }

    /// The system clock (what the kernel stamps live packets with).
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Float seconds since the epoch, the unit of the JSON export.
    pub fn as_secs_f64(self) -> f64 {
        // Split to keep the nanosecond part exact before the final (lossy) addition.
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        secs as f64 + nanos as f64 / 1e9
    }

    pub fn saturating_sub(self, other: Timestamp) -> i64 {
        self.0.saturating_sub(other.0)
    }
}

/// A link-layer header type (the LINKTYPE_* registry shared by pcap and pcapng).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP; version taken from the first nibble. 101 is LINKTYPE_RAW, 12/14 are old DLT_RAW values.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like NULL but the family is always big-endian.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            12 | 14 | 101 => "RAW",
            108 => "LOOP",
            113 => "LINUX_SLL",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "UNKNOWN",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// One captured packet, borrowed from the reader until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    /// pcapng interface id (0 for pcap).
    pub interface: u32,
    pub link_type: LinkType,
    /// The captured bytes (may be shorter than `orig_len`: snaplen truncation).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

impl Packet<'_> {
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// Something the file says about itself, or about damage in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A pcapng Interface Description Block (or the pcap header's single interface).
    Interface {
        id: u32,
        link_type: LinkType,
        snaplen: u32,
        name: Option<String>,
    },
    /// The file ends inside a record: a capture cut short while writing.
    TruncatedRecord {
        offset: u64,
        needed: u64,
        available: u64,
    },
    /// A pcapng block type we do not interpret; skipped.
    UnknownBlock { offset: u64, block_type: u32 },
    /// A packet names an interface that no IDB described; the packet is skipped.
    UnknownInterface { offset: u64, interface: u32 },
    /// A pcapng Decryption Secrets Block, kept for TLS decryption later.
    DecryptionSecrets { secrets_type: u32, data: Vec<u8> },
    /// A comment (opt_comment) from a section header or packet block.
    Comment { offset: u64, text: String },
}

/// What a capture reader yields.
#[derive(Debug)]
pub enum Record<'a> {
    Packet(Packet<'a>),
    Notice(Notice),
}
