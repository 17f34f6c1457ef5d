//! Link, network and transport headers: from a captured frame to a TCP segment view.
//!
//! Zero-copy and panic-free: every view borrows the packet, every length is checked once
//! before it is read. Snaplen-truncated packets still yield their headers and the payload
//! bytes that were captured, with the payload's real length kept so reassembly can mark the
//! missing part as a gap.
//!
//! One module per wire format: `ethernet` (with VLAN tags), `sll`, `loopback` (NULL/LOOP),
//! `ipv4`, `ipv6`, `tcp`; `ip` holds the types passed between layers, `parse` the entry point.
//! A header that does not fit the length its IP header declares is `Malformed`; one that fits
//! but was not captured is `Truncated`. `parse_packet` does not see the record's original
//! length, so when an IP length field is 0 (TSO captures, jumbograms) the captured end is
//! taken as the packet's end.

// Panic-freedom is checked, not hoped for: no indexing or slicing that can fail, no unwraps.
// Tests may index their own fixtures.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use std::net::SocketAddr;

mod ethernet;
mod ip;
mod ipv4;
mod ipv6;
mod link_type;
mod loopback;
mod parse;
mod sll;
mod tcp;
#[cfg(test)]
mod testdata;

pub use link_type::LinkType;
pub use parse::parse_packet;

/// TCP header flags (the low 8 bits of the flags field: CWR ECE URG ACK PSH RST SYN FIN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A TCP segment, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The payload bytes that were captured.
    pub payload: &'a [u8],
    /// The payload's length on the wire, from the IP length fields; `>= payload.len()`.
    /// Larger when the packet was cut by the snaplen.
    pub payload_len: u32,
}

/// Why a packet did not yield a TCP segment, when that is not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotTcp {
    /// Not IPv4/IPv6 (ARP, LLDP...), carrying this EtherType or address family.
    NotIp(u32),
    /// IP carrying another protocol (UDP, ICMP...): the IP protocol / next-header number.
    /// Fragments of other protocols are reported here too, under their protocol.
    OtherTransport(u8),
    /// A fragment of a TCP packet, first or not (an IPv6 fragment whose fragmentable part
    /// starts with another extension header counts too, as it may hide TCP); fragments are
    /// counted and reported, not reassembled.
    Fragment,
}

/// The result of parsing one captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    Tcp(TcpSegment<'a>),
    Other(NotTcp),
}

/// A packet that could not be parsed; reported and skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(LinkType),
    /// Fewer bytes than the header at `layer` needs.
    #[error("truncated {layer} header")]
    Truncated { layer: &'static str },
    /// A header field that cannot be right (bad IP version, TCP data offset < 5, ...).
    #[error("malformed {layer} header: {what}")]
    Malformed {
        layer: &'static str,
        what: &'static str,
    },
}
