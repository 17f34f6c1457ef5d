//! The LINKTYPE_* registry: which link layer a captured frame starts with.
//!
//! It lives in `net`, which depends on no other module, because three layers name link
//! types: the capture readers, [`parse_packet`](super::parse_packet) and the capture
//! filter. The filter cannot take it from `capture`: `capture`'s live backend compiles
//! filters, and the dependency would go both ways. `capture` re-exports it.

use std::fmt;

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
