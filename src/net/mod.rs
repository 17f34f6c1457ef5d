//! Link, network and transport headers: from a captured frame to a TCP segment view.
//!
//! Zero-copy and panic-free: every view borrows the packet, every length is checked once
//! before it is read. Snaplen-truncated packets still yield their headers and the payload
//! bytes that were captured, with the payload's real length kept so reassembly can mark the
//! missing part as a gap.

use crate::capture::LinkType;
use std::net::SocketAddr;

mod parse;

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
    OtherTransport(u8),
    /// An IP fragment (not the first, or a first fragment whose TCP header is incomplete);
    /// fragments are counted and reported, not reassembled.
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
