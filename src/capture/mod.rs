//! Capture sources: turn a capture file, or a live interface (`live`), into timestamped
//! link-layer packets.
//!
//! The contract with the layers above is [`Record`]: a packet borrowed from the reader's buffer,
//! or a [`Notice`] about the file itself (an interface, a truncated record, a comment...).
//! Notices are data, not errors: a damaged file still yields every packet before the damage.

// Panic-freedom is checked, not hoped for: no indexing or slicing that can fail, no unwraps
// (the file readers see every byte of the capture). Tests may index their own fixtures.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod bytes;
pub mod file;
mod gzip;
mod input;
// Always built: it picks the live backend the platform has, if any.
pub mod live;
mod pcap;
mod pcapng;
#[cfg(test)]
mod testutil;
pub mod writer;

pub use file::{CaptureError, CaptureReader, FileFormat};
// Every record names its link type: `capture::LinkType` reads better at call sites than
// the registry's home in `net`.
pub use crate::net::LinkType;

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
