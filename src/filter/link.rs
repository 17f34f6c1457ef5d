//! Where each link type keeps the network protocol and the network header, as libpcap's
//! `gen_linktype` and `off_linkpl` see them. Shared by the evaluator and the BPF compiler so
//! that both read the same bytes.

use crate::net::LinkType;

/// A link layer the filter can interpret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Link {
    /// A 16-bit EtherType at `proto`, the network header at `nl`: Ethernet (12, 14),
    /// LINUX_SLL (14, 16), LINUX_SLL2 (0, 20). As in libpcap, a VLAN-tagged frame has the
    /// tag's EtherType there, so it is neither `ip` nor `ip6`.
    EtherType { proto: u32, nl: u32 },
    /// LINKTYPE_RAW (and the old DLT_RAW 12/14): the IP version nibble decides.
    Raw,
    /// LINKTYPE_IPV4: every packet is IPv4.
    Ipv4,
    /// LINKTYPE_IPV6: every packet is IPv6.
    Ipv6,
    /// BSD loopback: a 4-byte address family in the writer's byte order.
    Null,
    /// OpenBSD loopback: the family is big-endian.
    Loop,
    /// An AF_PACKET `SOCK_DGRAM` socket in the kernel: the packet starts at the network
    /// header and the EtherType is `skb->protocol` (the `SKF_AD_PROTOCOL` ancillary load).
    Dgram,
}

/// A network protocol a link layer can announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NetProto {
    Ipv4,
    Ipv6,
    Arp,
    Rarp,
}

impl NetProto {
    pub(super) fn ethertype(self) -> u16 {
        match self {
            NetProto::Ipv4 => 0x0800,
            NetProto::Ipv6 => 0x86dd,
            NetProto::Arp => 0x0806,
            NetProto::Rarp => 0x8035,
        }
    }
}

/// Load widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Size {
    B,
    H,
    W,
}

/// How a link layer says "this is protocol P".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LinkCheck {
    /// Known without reading the packet.
    Const(bool),
    /// `(load(size, off) & mask) == v` for one of `values` (no mask: all ones).
    Field {
        size: Size,
        off: u32,
        mask: Option<u32>,
        values: &'static [u32],
    },
    /// The ancillary protocol (`Dgram`) equals this EtherType.
    Protocol(u16),
}

/// Address families of IPv4 and IPv6 in BSD loopback headers. IPv6 has a different number
/// on Linux (10), NetBSD/OpenBSD (24), FreeBSD (28) and macOS (30); all are accepted, in
/// both byte orders for NULL (libpcap only compares the compiling host's AF_INET6, in the
/// file's byte order).
const NULL_IPV4: &[u32] = &[2, 0x0200_0000];
const NULL_IPV6: &[u32] = &[
    10,
    24,
    28,
    30,
    0x0a00_0000,
    0x1800_0000,
    0x1c00_0000,
    0x1e00_0000,
];
const LOOP_IPV4: &[u32] = &[2];
const LOOP_IPV6: &[u32] = &[10, 24, 28, 30];

impl Link {
    /// The link layer of a capture's link type, if the filter can read it.
    pub(super) fn of(link_type: LinkType) -> Option<Link> {
        Some(match link_type {
            LinkType::ETHERNET => Link::EtherType { proto: 12, nl: 14 },
            LinkType::LINUX_SLL => Link::EtherType { proto: 14, nl: 16 },
            LinkType::LINUX_SLL2 => Link::EtherType { proto: 0, nl: 20 },
            LinkType::RAW | LinkType(12) | LinkType(14) => Link::Raw,
            LinkType::IPV4 => Link::Ipv4,
            LinkType::IPV6 => Link::Ipv6,
            LinkType::NULL => Link::Null,
            LinkType::LOOP => Link::Loop,
            _ => return None,
        })
    }

    /// Offset of the network header.
    pub(super) fn nl(self) -> u32 {
        match self {
            Link::EtherType { nl, .. } => nl,
            Link::Null | Link::Loop => 4,
            Link::Raw | Link::Ipv4 | Link::Ipv6 | Link::Dgram => 0,
        }
    }

    pub(super) fn check(self, p: NetProto) -> LinkCheck {
        let field = |size, off, mask, values| LinkCheck::Field {
            size,
            off,
            mask,
            values,
        };
        match (self, p) {
            (Link::EtherType { proto, .. }, p) => field(
                Size::H,
                proto,
                None,
                match p {
                    NetProto::Ipv4 => &[0x0800],
                    NetProto::Ipv6 => &[0x86dd],
                    NetProto::Arp => &[0x0806],
                    NetProto::Rarp => &[0x8035],
                },
            ),
            (Link::Dgram, p) => LinkCheck::Protocol(p.ethertype()),
            (Link::Raw, NetProto::Ipv4) => field(Size::B, 0, Some(0xf0), &[0x40]),
            (Link::Raw, NetProto::Ipv6) => field(Size::B, 0, Some(0xf0), &[0x60]),
            (Link::Ipv4, p) => LinkCheck::Const(p == NetProto::Ipv4),
            (Link::Ipv6, p) => LinkCheck::Const(p == NetProto::Ipv6),
            (Link::Null, NetProto::Ipv4) => field(Size::W, 0, None, NULL_IPV4),
            (Link::Null, NetProto::Ipv6) => field(Size::W, 0, None, NULL_IPV6),
            (Link::Loop, NetProto::Ipv4) => field(Size::W, 0, None, LOOP_IPV4),
            (Link::Loop, NetProto::Ipv6) => field(Size::W, 0, None, LOOP_IPV6),
            (Link::Raw | Link::Null | Link::Loop, NetProto::Arp | NetProto::Rarp) => {
                LinkCheck::Const(false)
            }
        }
    }
}
