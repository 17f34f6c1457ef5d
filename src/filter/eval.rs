//! User-space evaluation: the verdict the kernel's BPF program would give, without BPF.
//!
//! The frame is read the way a BPF program reads it, at fixed offsets from the link header,
//! not through `net::parse_packet`: that parser validates headers, skips VLAN tags and walks
//! IPv6 extension headers, which libpcap's programs do not do, and the point here is to give
//! the kernel's verdict for the same bytes. A read past the captured end rejects the whole
//! packet (BPF returns 0), even under a `not`; so operands are read left to right with
//! short-circuit, exactly in the order `ir::lower` emits the tests.

use super::ast::{AddrPrim, AddrProto, Dir, Expr, IpNet, PortPrim, Proto};
use super::link::{Link, LinkCheck, NetProto, Size};

const IPPROTO_ICMP: u32 = 1;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
const IPPROTO_FRAGMENT: u32 = 44;
const IPPROTO_SCTP: u32 = 132;

/// A load went past the captured bytes: the packet is rejected.
#[derive(Debug)]
struct OutOfBounds;

type R<T> = Result<T, OutOfBounds>;

/// A packet as a BPF program sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Frame<'a> {
    pub data: &'a [u8],
    /// `skb->protocol`, for [`Link::Dgram`].
    pub protocol: u16,
}

impl Frame<'_> {
    fn load(&self, size: Size, off: u32) -> R<u32> {
        let start = usize::try_from(off).map_err(|_| OutOfBounds)?;
        let len = match size {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
        };
        let bytes = self
            .data
            .get(start..start.checked_add(len).ok_or(OutOfBounds)?)
            .ok_or(OutOfBounds)?;
        Ok(bytes.iter().fold(0, |acc, &b| acc << 8 | u32::from(b)))
    }

    /// `ldxb 4*([hdr]&0xf)` then a load at `X + off`.
    fn load_ind(&self, size: Size, hdr: u32, off: u32) -> R<u32> {
        let x = 4 * (self.load(Size::B, hdr)? & 0xf);
        self.load(size, x.checked_add(off).ok_or(OutOfBounds)?)
    }
}

pub(super) fn matches(expr: &Expr, link: Link, frame: Frame<'_>) -> bool {
    Eval { link, frame }.expr(expr).unwrap_or(false)
}

struct Eval<'a> {
    link: Link,
    frame: Frame<'a>,
}

impl Eval<'_> {
    fn expr(&self, e: &Expr) -> R<bool> {
        match e {
            Expr::Any => Ok(true),
            Expr::Proto(p) => self.proto(*p),
            Expr::Addr(a) => self.addr(a),
            Expr::Port(p) => self.port(p),
            Expr::Not(inner) => Ok(!self.expr(inner)?),
            Expr::And(items) => {
                for item in items {
                    if !self.expr(item)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Expr::Or(items) => {
                for item in items {
                    if self.expr(item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    fn b(&self, off: u32) -> R<u32> {
        self.frame.load(Size::B, off)
    }

    fn link_is(&self, p: NetProto) -> R<bool> {
        match self.link.check(p) {
            LinkCheck::Const(c) => Ok(c),
            LinkCheck::Field {
                size,
                off,
                mask,
                values,
            } => {
                let v = self.frame.load(size, off)? & mask.unwrap_or(u32::MAX);
                Ok(values.contains(&v))
            }
            LinkCheck::Protocol(ethertype) => Ok(self.frame.protocol == ethertype),
        }
    }

    fn proto(&self, p: Proto) -> R<bool> {
        let nl = self.link.nl();
        Ok(match p {
            Proto::Ip => self.link_is(NetProto::Ipv4)?,
            Proto::Ip6 => self.link_is(NetProto::Ipv6)?,
            Proto::Icmp => self.link_is(NetProto::Ipv4)? && self.b(nl + 9)? == IPPROTO_ICMP,
            Proto::Tcp | Proto::Udp => {
                let n = if p == Proto::Tcp {
                    IPPROTO_TCP
                } else {
                    IPPROTO_UDP
                };
                // IPv4: the protocol field. IPv6: the fixed header's next header, or a
                // fragment header right after it whose next header is n (libpcap's check).
                (self.link_is(NetProto::Ipv4)? && self.b(nl + 9)? == n)
                    || (self.link_is(NetProto::Ipv6)? && {
                        let next = self.b(nl + 6)?;
                        next == n || (next == IPPROTO_FRAGMENT && self.b(nl + 40)? == n)
                    })
            }
        })
    }

    /// `src`/`dst`/both/either of two fields, each tested by `test`.
    fn dir(&self, dir: Dir, src: u32, dst: u32, test: impl Fn(u32) -> R<bool>) -> R<bool> {
        Ok(match dir {
            Dir::Src => test(src)?,
            Dir::Dst => test(dst)?,
            Dir::SrcOrDst => test(src)? || test(dst)?,
            Dir::SrcAndDst => test(src)? && test(dst)?,
        })
    }

    fn addr(&self, a: &AddrPrim) -> R<bool> {
        let nl = self.link.nl();
        match a.net {
            IpNet::V4 { addr, mask } => {
                let test = |off| -> R<bool> {
                    Ok(mask == 0 || self.frame.load(Size::W, off)? & mask == addr)
                };
                if self.link_is(NetProto::Ipv4)? && self.dir(a.dir, nl + 12, nl + 16, test)? {
                    return Ok(true);
                }
                // ARP and RARP sender/target protocol addresses (libpcap's default).
                Ok(a.proto == AddrProto::Any
                    && (self.link_is(NetProto::Arp)? || self.link_is(NetProto::Rarp)?)
                    && self.dir(a.dir, nl + 14, nl + 24, test)?)
            }
            IpNet::V6 { addr, prefix } => {
                let words = v6_words(addr, prefix);
                let test = |off: u32| -> R<bool> {
                    for (i, (a, m)) in (0u32..).zip(words) {
                        if m != 0 && self.frame.load(Size::W, off + 4 * i)? & m != a {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                };
                Ok(self.link_is(NetProto::Ipv6)? && self.dir(a.dir, nl + 8, nl + 24, test)?)
            }
        }
    }

    fn port(&self, p: &PortPrim) -> R<bool> {
        let nl = self.link.nl();
        let protos = port_protos(p.proto);
        let in_range = |v: u32| v >= u32::from(p.lo) && v <= u32::from(p.hi);
        // IPv4: right protocol, not a fragment other than the first, ports after the
        // variable-length header.
        if self.link_is(NetProto::Ipv4)?
            && protos.contains(&self.b(nl + 9)?)
            && self.frame.load(Size::H, nl + 6)? & 0x1fff == 0
            && self.dir(p.dir, 0, 2, |off| {
                Ok(in_range(self.frame.load_ind(Size::H, nl, nl + off)?))
            })?
        {
            return Ok(true);
        }
        // IPv6: the fixed header's next header only, ports right after it.
        Ok(self.link_is(NetProto::Ipv6)?
            && protos.contains(&self.b(nl + 6)?)
            && self.dir(p.dir, nl + 40, nl + 42, |off| {
                Ok(in_range(self.frame.load(Size::H, off)?))
            })?)
    }
}

/// The transport protocols a port primitive looks at.
pub(super) fn port_protos(proto: Option<Proto>) -> &'static [u32] {
    match proto {
        Some(Proto::Tcp) => &[IPPROTO_TCP],
        Some(Proto::Udp) => &[IPPROTO_UDP],
        _ => &[IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP],
    }
}

/// An IPv6 network as four (address, mask) words, in packet order.
pub(super) fn v6_words(addr: u128, prefix: u8) -> [(u32, u32); 4] {
    let mask = IpNet::v6_mask(prefix);
    let word = |i: u32| {
        let shift = 96 - 32 * i;
        ((addr >> shift) as u32, (mask >> shift) as u32)
    };
    [word(0), word(1), word(2), word(3)]
}

#[cfg(test)]
mod tests {
    use super::super::Filter;
    use super::super::testdata::{SCTP, TCP, UDP, arp, ipv4, ipv6};
    use crate::net::LinkType;

    const A: &str = "10.0.0.1";
    const B: &str = "10.0.0.2";

    fn eth(ethertype: u16, packet: &[u8]) -> Vec<u8> {
        let mut f = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(packet);
        f
    }

    /// TCP/UDP/SCTP header start: source port, destination port.
    fn ports(sport: u16, dport: u16) -> Vec<u8> {
        let mut t = sport.to_be_bytes().to_vec();
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&[0; 16]);
        t
    }

    fn v4(proto: u8, frag: u16, options: u8, sport: u16, dport: u16) -> Vec<u8> {
        eth(
            0x0800,
            &ipv4(
                proto,
                A.parse().unwrap(),
                B.parse().unwrap(),
                frag,
                options,
                &ports(sport, dport),
            ),
        )
    }

    fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
        eth(
            0x86dd,
            &ipv6(
                next,
                "2001:db8::1".parse().unwrap(),
                "::1".parse().unwrap(),
                payload,
            ),
        )
    }

    #[track_caller]
    fn check(filter: &str, frame: &[u8], want: bool) {
        let f = Filter::parse(filter).unwrap();
        assert_eq!(f.matches(LinkType::ETHERNET, frame), want, "{filter:?}");
    }

    #[test]
    fn ipv4_fragments_match_ports_only_when_first() {
        let first = v4(TCP, 0x2000, 0, 80, 1234);
        let later = v4(TCP, 0x2010, 0, 80, 1234);
        check("port 80", &first, true);
        check("port 80", &later, false);
        check("not port 80", &later, true);
        check("tcp", &later, true);
        check("portrange 1-100", &later, false);
    }

    #[test]
    fn ipv4_header_length_comes_from_ihl() {
        let with_options = v4(UDP, 0, 3, 5353, 53);
        check("udp dst port 53", &with_options, true);
        check("udp src port 5353", &with_options, true);
        check("tcp port 53", &with_options, false);
    }

    #[test]
    fn ports_cover_tcp_udp_and_sctp_unless_qualified() {
        let sctp = v4(SCTP, 0, 0, 80, 9);
        check("port 80", &sctp, true);
        check("tcp port 80", &sctp, false);
        check("udp port 80", &sctp, false);
        check("src and dst port 80", &v4(TCP, 0, 0, 80, 80), true);
        check("src and dst port 80", &sctp, false);
        check("portrange 9-9", &sctp, true);
    }

    #[test]
    fn ipv6_fragment_header_counts_for_tcp_but_not_for_ports() {
        let mut payload = vec![TCP, 0, 0, 1, 0, 0, 0, 1]; // fragment header, first, M set
        payload.extend(ports(80, 443));
        let frame = v6(44, &payload);
        check("tcp", &frame, true);
        check("udp", &frame, false);
        check("ip6", &frame, true);
        check("port 80", &frame, false);
        check("tcp port 80", &frame, false);
    }

    #[test]
    fn ipv6_extension_headers_are_not_walked() {
        let mut payload = vec![TCP, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop
        payload.extend(ports(80, 443));
        let frame = v6(0, &payload);
        check("tcp", &frame, false);
        check("port 80", &frame, false);
        check("ip6 and not tcp", &frame, true);
        check("host ::1", &frame, true);
        check("dst net ::/127", &frame, true);
        check("src net 2001:db8::/32", &frame, true);
        check("src net 2001:db9::/32", &frame, false);
    }

    #[test]
    fn ipv4_addresses_match_arp_and_rarp_unless_ip_is_said() {
        let request = eth(0x0806, &arp(A.parse().unwrap(), B.parse().unwrap()));
        check("host 10.0.0.1", &request, true);
        check("src host 10.0.0.1", &request, true);
        check("dst host 10.0.0.1", &request, false);
        check("dst 10.0.0.2", &request, true);
        check("net 10.0.0.0/24", &request, true);
        check("ip host 10.0.0.1", &request, false);
        check("ip", &request, false);
        let rarp = eth(0x8035, &arp(A.parse().unwrap(), B.parse().unwrap()));
        check("host 10.0.0.2", &rarp, true);
    }

    #[test]
    fn vlan_tagged_frames_are_not_ip() {
        let mut tagged = v4(TCP, 0, 0, 80, 1234);
        tagged.splice(12..12, [0x81, 0x00, 0x00, 0x0a]);
        check("tcp", &tagged, false);
        check("ip", &tagged, false);
        check("not ip", &tagged, true);
        check("host 10.0.0.1", &tagged, false);
    }

    #[test]
    fn a_read_past_the_end_rejects_even_under_not() {
        let full = v4(TCP, 0, 0, 80, 1234);
        check("not tcp", &full[..13], false);
        check("not tcp", &full[..24], false);
        check("not udp", &full[..24], true);
        check("tcp", &full[..24], true);
        // The source port is there, the destination port is not.
        check("src port 80", &full[..36], true);
        check("port 80", &full[..36], true);
        check("port 1234", &full[..36], false);
        check("not port 1234", &full[..36], false);
        check("port 1234", &full[..38], true);
    }

    #[test]
    fn icmp_is_ipv4_only() {
        check("icmp", &v4(1, 0, 0, 0, 0), true);
        check("icmp", &v6(58, &[128, 0, 0, 0]), false);
    }

    #[test]
    fn loopback_families() {
        let packet = ipv6(
            TCP,
            "::1".parse().unwrap(),
            "::1".parse().unwrap(),
            &ports(1, 2),
        );
        let f = Filter::parse("ip6 and tcp port 2").unwrap();
        for family in [10u32, 24, 28, 30] {
            for header in [family.to_le_bytes(), family.to_be_bytes()] {
                let mut frame = header.to_vec();
                frame.extend_from_slice(&packet);
                assert!(f.matches(LinkType::NULL, &frame), "NULL {header:?}");
                assert_eq!(
                    f.matches(LinkType::LOOP, &frame),
                    header == family.to_be_bytes(),
                    "LOOP {header:?}"
                );
            }
        }
        let mut frame = 7u32.to_le_bytes().to_vec();
        frame.extend_from_slice(&packet);
        assert!(!f.matches(LinkType::NULL, &frame));
    }

    #[test]
    fn raw_ip_link_types() {
        let p4 = ipv4(
            UDP,
            A.parse().unwrap(),
            B.parse().unwrap(),
            0,
            0,
            &ports(53, 9),
        );
        let p6 = ipv6(
            UDP,
            "::1".parse().unwrap(),
            "::2".parse().unwrap(),
            &ports(53, 9),
        );
        let f4 = Filter::parse("ip and udp port 53").unwrap();
        let f6 = Filter::parse("ip6 and udp port 53").unwrap();
        for lt in [LinkType::RAW, LinkType(12), LinkType(14)] {
            assert!(f4.matches(lt, &p4) && !f4.matches(lt, &p6));
            assert!(f6.matches(lt, &p6) && !f6.matches(lt, &p4));
        }
        // IPV4/IPV6 link types take the version from the link type, not the packet.
        assert!(f4.matches(LinkType::IPV4, &p4) && !f4.matches(LinkType::IPV6, &p4));
        assert!(f6.matches(LinkType::IPV6, &p6) && !f6.matches(LinkType::IPV4, &p6));
    }
}
