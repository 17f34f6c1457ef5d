//! Synthetic frames for the filter tests: IPv4 (options, fragments), IPv6 (fragment and
//! hop-by-hop headers), TCP, UDP, SCTP, ICMP, ARP, RARP, VLAN, wrapped in every link layer
//! the filter reads. Addresses and ports come from the small pools the test expressions use.

use crate::net::LinkType;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(super) const TCP: u8 = 6;
pub(super) const UDP: u8 = 17;
pub(super) const ICMP: u8 = 1;
pub(super) const SCTP: u8 = 132;

/// The transport header (ports first, as TCP, UDP and SCTP have them).
fn transport(proto: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut t = Vec::new();
    match proto {
        TCP => {
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
            t.extend_from_slice(b"PRI * HTTP/2.0");
        }
        UDP => {
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&[0, 12, 0, 0, 1, 2, 3, 4]);
        }
        SCTP => {
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 0]);
        }
        // ICMP echo; other protocols get 8 arbitrary bytes.
        _ => t.extend_from_slice(&[8, 0, 0xf7, 0xff, 0, 1, 0, 1]),
    }
    t
}

/// An IPv4 packet. `frag` is the flags/fragment-offset field; `options` 4-byte words.
pub(super) fn ipv4(
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    frag: u16,
    options: u8,
    payload: &[u8],
) -> Vec<u8> {
    let hlen = 20 + 4 * usize::from(options);
    let total = (hlen + payload.len()) as u16;
    let mut p = vec![0x40 | (5 + options), 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34]);
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    for _ in 0..options {
        p.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
    }
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet; `next` is the fixed header's next header, `payload` starts with any
/// extension headers.
pub(super) fn ipv6(next: u8, src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 fragment header (offset in 8-byte units, M flag).
fn frag6(next: u8, offset: u16, more: bool) -> Vec<u8> {
    let mut h = vec![next, 0];
    h.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
    h.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    h
}

fn hop_by_hop(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// An ARP (or RARP) request for IPv4 over Ethernet.
pub(super) fn arp(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4, 0, 1];
    p.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&sender.octets());
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&target.octets());
    p
}

/// What a network-layer packet is, for the link layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Ipv4,
    Ipv6,
    Arp,
    Rarp,
    /// An EtherType no filter primitive names.
    Other,
}

fn ethertype(kind: Kind) -> u16 {
    match kind {
        Kind::Ipv4 => 0x0800,
        Kind::Ipv6 => 0x86dd,
        Kind::Arp => 0x0806,
        Kind::Rarp => 0x8035,
        Kind::Other => 0x88cc,
    }
}

/// Network-layer packets: the pools of addresses and ports crossed with the shapes that
/// matter to the filter.
pub(super) fn network_packets() -> Vec<(Kind, Vec<u8>)> {
    let v4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let a = v4("10.0.0.1");
    let b = v4("10.0.0.2");
    let lo = v4("127.0.0.1");
    let far = v4("192.168.7.9");
    let (x, y) = (v6("2001:db8::1"), v6("2001:db8::2"));
    let l6 = v6("::1");
    let mapped = v6("::ffff:10.0.0.1");
    let ll = v6("fe80::1");
    let odd = v6("2001:db8:8000::5");
    let mut out = Vec::new();

    for (src, dst) in [(a, b), (b, a), (lo, lo), (far, a), (a, far)] {
        for (proto, sport, dport) in [
            (TCP, 50051, 80),
            (TCP, 80, 443),
            (TCP, 18080, 50052),
            (UDP, 5353, 53),
            (UDP, 53, 0),
            (SCTP, 80, 9),
            (ICMP, 0, 0),
            (47, 80, 80), // GRE: ports where TCP would have them, but not TCP
        ] {
            out.push((
                Kind::Ipv4,
                ipv4(proto, src, dst, 0, 0, &transport(proto, sport, dport)),
            ));
        }
    }
    let t = transport(TCP, 443, 80);
    for frag in [
        0x4000, /* DF */
        0x2000, /* MF, first */
        0x2001, 0x0010,
    ] {
        out.push((Kind::Ipv4, ipv4(TCP, a, b, frag, 0, &t)));
    }
    for options in [1, 2, 10] {
        out.push((
            Kind::Ipv4,
            ipv4(TCP, a, b, 0, options, &transport(TCP, 80, 65535)),
        ));
        out.push((
            Kind::Ipv4,
            ipv4(UDP, b, a, 0, options, &transport(UDP, 0, 53)),
        ));
    }
    // IHL below 5: BPF still uses it.
    let mut bad_ihl = ipv4(TCP, a, b, 0, 0, &transport(TCP, 80, 90));
    bad_ihl[0] = 0x42;
    out.push((Kind::Ipv4, bad_ihl));

    for (src, dst) in [(x, y), (y, x), (l6, l6), (mapped, x), (ll, odd), (odd, ll)] {
        for (proto, sport, dport) in [
            (TCP, 50051, 80),
            (TCP, 18081, 40000),
            (UDP, 53, 5353),
            (SCTP, 9, 80),
            (58, 0, 0), // ICMPv6
        ] {
            out.push((
                Kind::Ipv6,
                ipv6(proto, src, dst, &transport(proto, sport, dport)),
            ));
        }
    }
    // Extension headers: libpcap's tcp/udp see a fragment header, ports see nothing.
    for (next, first) in [(TCP, true), (TCP, false), (UDP, true), (SCTP, true)] {
        let mut payload = frag6(next, if first { 0 } else { 185 }, first);
        payload.extend(transport(next, 80, 443));
        out.push((Kind::Ipv6, ipv6(44, x, y, &payload)));
    }
    let mut payload = hop_by_hop(TCP);
    payload.extend(transport(TCP, 80, 443));
    out.push((Kind::Ipv6, ipv6(0, x, y, &payload)));

    out.push((Kind::Arp, arp(a, b)));
    out.push((Kind::Arp, arp(lo, far)));
    out.push((Kind::Rarp, arp(b, a)));
    out.push((Kind::Other, vec![0xaa; 46]));
    out
}

/// `packet` (of `kind`) in each link layer that can carry it, with some VLAN and loopback
/// variants.
pub(super) fn frames() -> Vec<(LinkType, Vec<u8>)> {
    let mut out = Vec::new();
    for (kind, p) in network_packets() {
        let et = ethertype(kind).to_be_bytes();
        let mut eth = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1];
        eth.extend_from_slice(&et);
        eth.extend_from_slice(&p);
        out.push((LinkType::ETHERNET, eth));

        let mut vlan = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x0a];
        vlan.extend_from_slice(&et);
        vlan.extend_from_slice(&p);
        out.push((LinkType::ETHERNET, vlan));

        let mut sll = vec![0, 4, 0, 1, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0];
        sll.extend_from_slice(&et);
        sll.extend_from_slice(&p);
        out.push((LinkType::LINUX_SLL, sll));

        let mut sll2 = et.to_vec();
        sll2.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 0, 0, 0, 0, 0, 1, 0, 0]);
        sll2.extend_from_slice(&p);
        out.push((LinkType::LINUX_SLL2, sll2));

        if matches!(kind, Kind::Ipv4 | Kind::Ipv6) {
            for lt in [LinkType::RAW, LinkType::IPV4, LinkType::IPV6] {
                out.push((lt, p.clone()));
            }
            let family: u32 = if kind == Kind::Ipv4 { 2 } else { 30 };
            for (lt, header) in [
                (LinkType::NULL, family.to_le_bytes()),
                (LinkType::NULL, family.to_be_bytes()),
                (LinkType::LOOP, family.to_be_bytes()),
                (LinkType::LOOP, 24u32.to_be_bytes()),
                (LinkType::NULL, 10u32.to_le_bytes()),
            ] {
                let mut f = header.to_vec();
                f.extend_from_slice(&p);
                out.push((lt, f));
            }
        }
    }
    out
}
