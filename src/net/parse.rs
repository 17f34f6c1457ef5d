//! `parse_packet`: one captured frame, link layer to TCP, in a single pass over borrowed bytes.
//!
//! Each layer lives in its own module and checks its own lengths; this module only chooses
//! the link layer and decides what a non-TCP or fragmented IP packet is reported as.

use super::ip::{self, IpDatagram, Network};
use super::{LinkType, NetError, NotTcp, Parsed, ethernet, ipv4, ipv6, loopback, sll, tcp};

const IPPROTO_TCP: u8 = 6;

/// Parses one captured frame down to its TCP segment, if it carries one.
///
/// `Ok(Parsed::Other(_))` is for packets that are fine but not ours (ARP, UDP, fragments);
/// `Err` is for packets that are cut inside a header or cannot be right. A TCP segment whose
/// payload was cut by the snaplen is `Ok`, with `payload_len > payload.len()`. Never panics,
/// never allocates.
pub fn parse_packet(link_type: LinkType, data: &[u8]) -> Result<Parsed<'_>, NetError> {
    let network = match link_type {
        LinkType::ETHERNET => ethernet::parse(data)?,
        LinkType::LINUX_SLL => sll::parse_sll(data)?,
        LinkType::LINUX_SLL2 => sll::parse_sll2(data)?,
        LinkType::NULL => loopback::parse_null(data)?,
        LinkType::LOOP => loopback::parse_loop(data)?,
        // 12 and 14 are DLT_RAW on some BSDs, written as-is by old libpcaps.
        LinkType::RAW | LinkType(12) | LinkType(14) => ip::by_version(data)?,
        LinkType::IPV4 => Network::Ipv4(data),
        LinkType::IPV6 => Network::Ipv6(data),
        other => return Err(NetError::UnsupportedLinkType(other)),
    };
    let datagram = match network {
        Network::Ipv4(packet) => ipv4::parse(packet)?,
        Network::Ipv6(packet) => ipv6::parse(packet)?,
        Network::Other(ethertype) => return Ok(Parsed::Other(NotTcp::NotIp(ethertype))),
    };
    transport(datagram)
}

#[inline]
fn transport(datagram: IpDatagram<'_>) -> Result<Parsed<'_>, NetError> {
    if datagram.fragment {
        // Fragments of other protocols are reported as that protocol: the number is known
        // (IPv4 protocol, or the IPv6 fragment header's next header) and "fragment" is meant
        // to flag TCP data we could not see. An IPv6 fragment that starts with another
        // extension header might hide TCP, so it counts as a fragment.
        return Ok(Parsed::Other(
            if datagram.protocol == IPPROTO_TCP || ipv6::is_extension_header(datagram.protocol) {
                NotTcp::Fragment
            } else {
                NotTcp::OtherTransport(datagram.protocol)
            },
        ));
    }
    if datagram.protocol != IPPROTO_TCP {
        return Ok(Parsed::Other(NotTcp::OtherTransport(datagram.protocol)));
    }
    tcp::parse(datagram.src, datagram.dst, datagram.payload).map(Parsed::Tcp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::testdata::*;
    use crate::net::{TcpFlags, TcpSegment};
    use std::net::SocketAddr;

    const ETHERNET: LinkType = LinkType::ETHERNET;

    fn tcp(link_type: LinkType, frame: &[u8]) -> TcpSegment<'_> {
        match parse_packet(link_type, frame) {
            Ok(Parsed::Tcp(segment)) => segment,
            other => panic!("expected a TCP segment, got {other:?}"),
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Every frame that must yield a TCP segment, with its link type.
    const TCP_FRAMES: &[(LinkType, &[u8])] = &[
        (ETHERNET, &ETH_IPV4_TCP_PADDED),
        (ETHERNET, &ETH_VLAN_IPV4_TCP_SYN_OPTIONS),
        (ETHERNET, &ETH_QINQ_IPV6_TCP),
        (LinkType::LINUX_SLL, &SLL_IPV4_TCP),
        (LinkType::LINUX_SLL2, &SLL2_IPV6_TCP),
        (LinkType::NULL, &NULL_LE_IPV6_TCP),
        (LinkType::NULL, &NULL_BE_IPV4_TCP),
        (LinkType::LOOP, &LOOP_IPV6_TCP),
        (LinkType::RAW, &RAW_IPV4_TCP),
        (LinkType::RAW, &RAW_IPV6_TCP),
        (LinkType::RAW, &RAW_IPV6_HBH_ATOMIC_FRAGMENT_TCP),
        (ETHERNET, &ETH_IPV4_OPTIONS_TCP),
        (ETHERNET, &ETH_IPV4_TCP_SNAPLEN_96),
    ];

    /// Frames that parse to something other than TCP, or fail.
    const OTHER_FRAMES: &[(LinkType, &[u8])] = &[
        (ETHERNET, &ETH_IPV6_HBH_FIRST_FRAGMENT),
        (ETHERNET, &ETH_IPV4_TCP_HEADER_CUT),
        (ETHERNET, &ETH_ARP),
        (ETHERNET, &ETH_IPV4_UDP_DNS),
        (ETHERNET, &ETH_IPV4_LAST_FRAGMENT),
    ];

    #[test]
    fn ethernet_padding_is_not_payload() {
        let s = tcp(ETHERNET, &ETH_IPV4_TCP_PADDED);
        assert_eq!(
            s,
            TcpSegment {
                src: addr("192.168.1.10:50051"),
                dst: addr("192.168.1.20:43122"),
                seq: 0x8a2f_3c01,
                ack: 0x11d4_e0a7,
                flags: TcpFlags(TcpFlags::PSH | TcpFlags::ACK),
                window: 501,
                payload: &[0, 0],
                payload_len: 2,
            }
        );
    }

    #[test]
    fn vlan_syn_with_options() {
        let s = tcp(ETHERNET, &ETH_VLAN_IPV4_TCP_SYN_OPTIONS);
        assert_eq!(
            (s.src, s.dst),
            (addr("10.1.2.3:40112"), addr("10.1.2.4:50051"))
        );
        assert_eq!((s.seq, s.ack, s.window), (0x1b2c_3d4e, 0, 64240));
        assert!(s.flags.syn() && !s.flags.ack());
        assert_eq!((s.payload, s.payload_len), (&[][..], 0));
    }

    #[test]
    fn qinq_ipv6_preface() {
        let s = tcp(ETHERNET, &ETH_QINQ_IPV6_TCP);
        assert_eq!(s.src, addr("[2001:db8::10]:43122"));
        assert_eq!(s.dst, addr("[2001:db8::20]:50051"));
        assert_eq!(s.payload, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(s.payload_len, 24);
    }

    #[test]
    fn cooked_captures() {
        let s = tcp(LinkType::LINUX_SLL, &SLL_IPV4_TCP);
        assert_eq!(
            (s.src, s.dst),
            (addr("127.0.0.1:50051"), addr("127.0.0.1:38412"))
        );
        assert_eq!(s.payload, [0, 0, 0, 4, 0, 0, 0, 0, 0]);
        let s = tcp(LinkType::LINUX_SLL2, &SLL2_IPV6_TCP);
        assert_eq!(
            (s.src, s.dst),
            (addr("[fd00::1]:8443"), addr("[fd00::2]:51000"))
        );
        assert_eq!((s.seq, s.ack), (0xdead_beef, 0x0102_0304));
        assert_eq!(s.payload_len, 17);
    }

    #[test]
    fn loopback_captures() {
        let s = tcp(LinkType::NULL, &NULL_LE_IPV6_TCP);
        assert_eq!((s.src, s.dst), (addr("[::1]:61234"), addr("[::1]:50051")));
        assert_eq!(s.flags, TcpFlags(TcpFlags::ACK));
        let s = tcp(LinkType::NULL, &NULL_BE_IPV4_TCP);
        assert_eq!(
            (s.src, s.dst),
            (addr("127.0.0.1:8080"), addr("127.0.0.1:60000"))
        );
        assert!(s.flags.fin() && s.flags.ack());
        let s = tcp(LinkType::LOOP, &LOOP_IPV6_TCP);
        assert!(s.flags.rst());
        assert_eq!(s.dst, addr("[::1]:61234"));
    }

    #[test]
    fn raw_ip_under_every_raw_link_type() {
        for lt in [LinkType::RAW, LinkType(12), LinkType(14), LinkType::IPV4] {
            let s = tcp(lt, &RAW_IPV4_TCP);
            assert_eq!(
                (s.src, s.dst),
                (addr("172.16.0.5:443"), addr("172.16.0.9:55555"))
            );
            assert_eq!((s.seq, s.ack), (3_000_000_000, 4_000_000_000));
        }
        for lt in [LinkType::RAW, LinkType(12), LinkType(14), LinkType::IPV6] {
            let s = tcp(lt, &RAW_IPV6_TCP);
            assert_eq!(s.src, addr("[2001:db8:1::1]:50051"));
            assert_eq!(s.payload, [0, 0, 0, 0, 5, 10, 3, b'a', b'b', b'c']);
        }
        // The explicit link types check the version instead of dispatching on it.
        assert!(matches!(
            parse_packet(LinkType::IPV4, &RAW_IPV6_TCP),
            Err(NetError::Malformed { layer: "ipv4", .. })
        ));
        assert!(matches!(
            parse_packet(LinkType::IPV6, &RAW_IPV4_TCP),
            Err(NetError::Malformed { layer: "ipv6", .. })
        ));
    }

    #[test]
    fn ipv6_extension_headers() {
        let s = tcp(LinkType::RAW, &RAW_IPV6_HBH_ATOMIC_FRAGMENT_TCP);
        assert_eq!(
            (s.src, s.dst),
            (addr("[fe80::1]:1234"), addr("[fe80::2]:50051"))
        );
        assert_eq!((s.payload, s.payload_len), (&b"ab"[..], 2));
        assert_eq!(
            parse_packet(ETHERNET, &ETH_IPV6_HBH_FIRST_FRAGMENT),
            Ok(Parsed::Other(NotTcp::Fragment))
        );
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let s = tcp(ETHERNET, &ETH_IPV4_OPTIONS_TCP);
        assert_eq!(
            (s.src, s.dst),
            (addr("10.0.0.1:50051"), addr("10.0.0.2:33000"))
        );
        assert_eq!((s.seq, s.ack), (123_456, 654_321));
        assert_eq!(s.payload, [0, 0, 0, 4, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn snaplen_cut_payload_keeps_its_length() {
        let s = tcp(ETHERNET, &ETH_IPV4_TCP_SNAPLEN_96);
        assert_eq!(s.payload.len(), 30);
        assert_eq!(s.payload_len, 1400);
        assert_eq!(
            parse_packet(ETHERNET, &ETH_IPV4_TCP_HEADER_CUT),
            Err(NetError::Truncated { layer: "tcp" })
        );
    }

    #[test]
    fn not_tcp() {
        assert_eq!(
            parse_packet(ETHERNET, &ETH_ARP),
            Ok(Parsed::Other(NotTcp::NotIp(0x0806)))
        );
        assert_eq!(
            parse_packet(ETHERNET, &ETH_IPV4_UDP_DNS),
            Ok(Parsed::Other(NotTcp::OtherTransport(17)))
        );
        assert_eq!(
            parse_packet(ETHERNET, &ETH_IPV4_LAST_FRAGMENT),
            Ok(Parsed::Other(NotTcp::Fragment))
        );
        // A fragmented UDP packet is UDP: "fragment" flags TCP data we could not see.
        let mut udp_fragment = ETH_IPV4_UDP_DNS;
        udp_fragment[20] = 0x20; // MF
        assert_eq!(
            parse_packet(ETHERNET, &udp_fragment),
            Ok(Parsed::Other(NotTcp::OtherTransport(17)))
        );
        // IPv4 first fragment of TCP: a whole TCP header, but still a fragment.
        let mut first = ETH_IPV4_TCP_PADDED;
        first[20] = 0x20;
        assert_eq!(
            parse_packet(ETHERNET, &first),
            Ok(Parsed::Other(NotTcp::Fragment))
        );
    }

    #[test]
    fn bad_ip_version() {
        let mut frame = ETH_IPV4_TCP_PADDED;
        frame[14] = 0x55;
        assert_eq!(
            parse_packet(ETHERNET, &frame),
            Err(NetError::Malformed {
                layer: "ipv4",
                what: "version is not 4"
            })
        );
        let mut raw = RAW_IPV4_TCP;
        raw[0] = 0x75;
        assert!(matches!(
            parse_packet(LinkType::RAW, &raw),
            Err(NetError::Malformed { layer: "ip", .. })
        ));
    }

    #[test]
    fn tcp_data_offset_below_five() {
        let mut frame = ETH_IPV4_TCP_PADDED;
        frame[14 + 20 + 12] = 0x40;
        assert_eq!(
            parse_packet(ETHERNET, &frame),
            Err(NetError::Malformed {
                layer: "tcp",
                what: "data offset below 5"
            })
        );
    }

    #[test]
    fn unsupported_link_type() {
        // LINKTYPE_IEEE802_11 (105): not a wired capture.
        assert_eq!(
            parse_packet(LinkType(105), &ETH_IPV4_TCP_PADDED),
            Err(NetError::UnsupportedLinkType(LinkType(105)))
        );
    }

    #[test]
    fn ipv4_total_length_zero_runs_to_the_end() {
        // TSO captures: the NIC fills the length in later. Padding cannot be told apart then.
        let mut frame = ETH_IPV4_TCP_PADDED;
        frame[16..18].copy_from_slice(&[0, 0]);
        let s = tcp(ETHERNET, &frame);
        assert_eq!((s.payload, s.payload_len), (&[0, 0, 0, 0, 0, 0][..], 6));
        // With no length to check against, a TCP header cut short is the capture's doing.
        assert_eq!(
            parse_packet(ETHERNET, &frame[..14 + 20 + 10]),
            Err(NetError::Truncated { layer: "tcp" })
        );
    }

    /// The properties every result must have, whatever the input.
    fn check_invariants(data: &[u8], result: &Result<Parsed<'_>, NetError>) {
        if let Ok(Parsed::Tcp(s)) = result {
            assert!(s.payload_len as usize >= s.payload.len(), "{s:?}");
            // The payload borrows the frame: a suffix-free window inside it.
            let start = s.payload.as_ptr() as usize;
            let frame = data.as_ptr() as usize;
            assert!(start >= frame && start + s.payload.len() <= frame + data.len());
        }
    }

    const ALL_LINK_TYPES: [LinkType; 10] = [
        LinkType::NULL,
        LinkType::ETHERNET,
        LinkType(12),
        LinkType(14),
        LinkType::RAW,
        LinkType::LOOP,
        LinkType::LINUX_SLL,
        LinkType::IPV4,
        LinkType::IPV6,
        LinkType::LINUX_SLL2,
    ];

    #[test]
    fn every_prefix_parses_without_panic() {
        for &(lt, frame) in TCP_FRAMES.iter().chain(OTHER_FRAMES) {
            for n in 0..=frame.len() {
                let prefix = &frame[..n];
                let result = parse_packet(lt, prefix);
                check_invariants(prefix, &result);
                // A prefix never becomes a different packet: if it parses to TCP, it is the
                // same segment with less payload captured.
                if let (Ok(Parsed::Tcp(cut)), Ok(Parsed::Tcp(whole))) =
                    (result, parse_packet(lt, frame))
                {
                    assert_eq!(
                        (cut.src, cut.dst, cut.seq),
                        (whole.src, whole.dst, whole.seq)
                    );
                    assert_eq!(cut.payload_len, whole.payload_len);
                    assert!(whole.payload.starts_with(cut.payload));
                }
                // The same bytes under every other link type must not panic either.
                for other in ALL_LINK_TYPES {
                    check_invariants(prefix, &parse_packet(other, prefix));
                }
            }
        }
    }

    /// xorshift64*: deterministic, dependency-free noise.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn mutated_frames_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut buf = Vec::new();
        for _ in 0..20_000 {
            let &(lt, frame) = match rng.below(2) {
                0 => &TCP_FRAMES[rng.below(TCP_FRAMES.len())],
                _ => &OTHER_FRAMES[rng.below(OTHER_FRAMES.len())],
            };
            buf.clear();
            buf.extend_from_slice(frame);
            // Flip a few bytes, biased to the headers where the lengths live.
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(buf.len().min(80));
                buf[at] = rng.next() as u8;
            }
            buf.truncate(rng.below(buf.len() + 1).max(buf.len() / 2));
            let lt = if rng.below(8) == 0 {
                ALL_LINK_TYPES[rng.below(ALL_LINK_TYPES.len())]
            } else {
                lt
            };
            check_invariants(&buf, &parse_packet(lt, &buf));
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(42);
        let mut buf = Vec::new();
        for _ in 0..20_000 {
            buf.clear();
            let len = rng.below(160);
            buf.extend((0..len).map(|_| rng.next() as u8));
            // Give the IP version nibble a fair chance so deeper layers get exercised.
            if let Some(first) = buf.first_mut() {
                *first = [0x45, 0x46, 0x4f, 0x60, *first][rng.below(5)];
            }
            for lt in ALL_LINK_TYPES {
                check_invariants(&buf, &parse_packet(lt, &buf));
            }
        }
    }

    /// Real captures from /work/shared/captures (skipped where absent). The pcap format is
    /// read inline, just enough to feed frames: 24-byte global header, 16-byte record
    /// headers, in the magic's byte order. pcapng files are left to the capture module.
    mod real_captures {
        use super::*;
        use std::path::Path;

        const CORPUS: &str = "/work/shared/captures";

        /// Calls `each(link_type, frame, orig_len)` for every record; `None` if the file is
        /// absent or not a classic pcap.
        fn for_each_frame(path: &Path, mut each: impl FnMut(LinkType, &[u8], u32)) -> Option<()> {
            let file = std::fs::read(path).ok()?;
            let (header, mut records) = file.split_at_checked(24)?;
            let magic: [u8; 4] = header[..4].try_into().unwrap();
            let le = match magic {
                [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
                [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
                _ => return None,
            };
            let u32_at = |b: &[u8], at: usize| {
                let v: [u8; 4] = b[at..at + 4].try_into().unwrap();
                if le {
                    u32::from_le_bytes(v)
                } else {
                    u32::from_be_bytes(v)
                }
            };
            // The link type's upper 16 bits may hold FCS flags; none of our files use them.
            let link_type = LinkType(u32_at(header, 20) & 0xffff);
            while let Some((record, rest)) = records.split_at_checked(16) {
                let incl_len = u32_at(record, 8) as usize;
                let (frame, rest) = rest.split_at_checked(incl_len)?;
                each(link_type, frame, u32_at(record, 12));
                records = rest;
            }
            Some(())
        }

        #[test]
        fn grpcdump_null_ipv6_is_all_grpc() {
            let path = Path::new(CORPUS).join("grpcdump-rmedvedev/grpc.pcap");
            let mut packets = 0;
            let seen = for_each_frame(&path, |lt, frame, _| {
                assert_eq!(lt, LinkType::NULL);
                let s = tcp(lt, frame);
                assert!(s.src.is_ipv6() && s.src.ip().is_loopback());
                assert!(s.src.port() == 50051 || s.dst.port() == 50051, "{s:?}");
                assert_eq!(s.payload_len as usize, s.payload.len());
                packets += 1;
            });
            if seen.is_none() {
                eprintln!("skipped: {} not found", path.display());
                return;
            }
            assert_eq!(packets, 145);
        }

        /// Per classic pcap of the corpus: packets, TCP segments, sum of TCP payload lengths
        /// on the wire, segments whose payload the snaplen cut, as tshark 4.0 counts them
        /// (`tshark -o tcp.desegment_tcp_streams:FALSE -T fields -e tcp.len`); and packets
        /// rejected as malformed, each checked against tshark's expert info.
        const EXPECTED: &str = r#"
# file                                                                      packets tcp payload_bytes cut malformed
arkime/http2-nghttp2.pcap                                                       101 101         64897   0         0
deepflow/grpc-segmented.pcap                                                      2   2          2529   0         0
deepflow/grpc-server-stream.pcap                                                  8   8          3524   0         0
deepflow/grpc-service-name.pcap                                                  39  39           674   0         0
deepflow/grpc-unary.pcap                                                          2   2          1707   0         0
# orig_len exceeds incl_len by 16 on all 3 packets, yet each IP packet is whole
# (14 + IP total length = incl_len): nothing of the TCP payload is missing.
deepflow/grpc-unknown.pcap                                                        3   3           350   0         0
deepflow/h2c_ascii.pcap                                                           2   2           506   0         0
deepflow/http2-multi.pcap                                                         2   2           559   0         0
deepflow/httpv2-stream-id.pcap                                                    1   1            88   0         0
grpcdump-rmedvedev/grpc.pcap                                                    145 145          1824   0         0
suricata-verify/bug-5929-02/http2_multiple_headers.pcap                          12  12           879   0         0
suricata-verify/dns-over-http2-limit/input.pcap                                  50  50        131665   0         0
suricata-verify/dns-over-http2-post/dns_over_https_POST.pcap                    147 147         10730   0         0
suricata-verify/dns-over-http2/dns_over_https.pcap                               25  25          3414   0         0
# Fuzzed: packet 1 is IP protocol 116; packet 7 has TCP data offset 2 (tshark:
# 'Bogus TCP header length'), so its 37 bytes are not counted here.
suricata-verify/drop-protocol-change/input.pcap                                   7   5           434   0         1
suricata-verify/http2-authority-mismatch/authority_and_host_2.pcap               10  10           423   0         0
suricata-verify/http2-bugfixes/input.pcap                                        29  29          4807   0         0
suricata-verify/http2-compression-bug/input.pcap                                 54  54         22456   0         0
suricata-verify/http2-continuation/input.pcap                                    30  30           380   0         0
suricata-verify/http2-deflate-case/input.pcap                                    28  28           553   0         0
suricata-verify/http2-deflate/http2_deflate.pcap                                 30  30           511   0         0
suricata-verify/http2-errorcode/input.pcap                                       55  55           949   0         0
suricata-verify/http2-keywords/input.pcap                                        56  56        412939   0         0
suricata-verify/http2-keywords2/input.pcap                                       10  10           773   0         0
suricata-verify/http2-long-frame/input.pcap                                      60  60         70283   0         0
suricata-verify/http2-range/http2-range.pcap                                    116 116          2279   0         0
suricata-verify/http2-userinfo-authority/http2_userinfo_in_authority_1.pcap       9   9           423   0         0
# Fuzzed: packets 11 and 59 claim a 60-byte TCP header in a 32-byte IP payload.
suricata-verify/transform-base64-7296/input.pcap                                 59  57          1184   0         2
wireshark-wiki/http2-h2c.pcap                                                    10  10           773   0         0
"#;

        #[test]
        fn corpus_matches_tshark() {
            let mut files = 0;
            let rows = EXPECTED
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'));
            for row in rows {
                let mut fields = row.split_whitespace();
                let name = fields.next().unwrap();
                let mut number = || fields.next().unwrap().parse::<u64>().unwrap();
                let expected = (number(), number(), number(), number(), number());
                let path = Path::new(CORPUS).join(name);
                let (mut p, mut s, mut bytes, mut c, mut e) = (0, 0, 0, 0, 0);
                let seen = for_each_frame(&path, |lt, frame, orig_len| {
                    p += 1;
                    match parse_packet(lt, frame) {
                        Ok(Parsed::Tcp(seg)) => {
                            s += 1;
                            bytes += u64::from(seg.payload_len);
                            if (seg.payload_len as usize) > seg.payload.len() {
                                c += 1;
                                assert!(orig_len as usize > frame.len(), "{name} #{p}");
                            }
                        }
                        Ok(Parsed::Other(_)) => {}
                        Err(NetError::Malformed { .. }) => e += 1,
                        Err(err) => panic!("{name} packet {p}: {err}"),
                    }
                });
                if seen.is_none() {
                    continue;
                }
                files += 1;
                assert_eq!((p, s, bytes, c, e), expected, "{name}");
            }
            if files == 0 {
                eprintln!("skipped: {CORPUS} not found");
            }
        }
    }

    mod property {
        use super::*;
        use etherparse::{PacketBuilder, TcpOptionElement};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_any_link_type(data in proptest::collection::vec(any::<u8>(), 0..200),
                                       lt in proptest::sample::select(ALL_LINK_TYPES.to_vec())) {
                check_invariants(&data, &parse_packet(lt, &data));
            }

            /// etherparse writes the packet, we read it back: an independent encoder.
            #[test]
            fn agrees_with_etherparse_builder(
                v6 in any::<bool>(),
                vlan in proptest::option::of(0u16..4095),
                src4 in any::<[u8; 4]>(), dst4 in any::<[u8; 4]>(),
                src6 in any::<[u8; 16]>(), dst6 in any::<[u8; 16]>(),
                sport in any::<u16>(), dport in any::<u16>(),
                seq in any::<u32>(), ack in any::<u32>(), window in any::<u16>(),
                mss in proptest::option::of(any::<u16>()),
                timestamps in proptest::option::of(any::<(u32, u32)>()),
                payload in proptest::collection::vec(any::<u8>(), 0..300),
                snaplen in 0usize..400,
            ) {
                let eth = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]);
                let mut frame = Vec::new();
                let mut options = Vec::new();
                if let Some(mss) = mss {
                    options.push(TcpOptionElement::MaximumSegmentSize(mss));
                }
                if let Some((a, b)) = timestamps {
                    options.push(TcpOptionElement::Timestamp(a, b));
                }
                macro_rules! finish {
                    ($ip:expr) => {{
                        let mut tcp = $ip.tcp(sport, dport, seq, window).ack(ack).psh();
                        if !options.is_empty() {
                            tcp = tcp.options(&options).unwrap();
                        }
                        tcp.write(&mut frame, &payload).unwrap();
                    }};
                }
                match (vlan, v6) {
                    (None, false) => finish!(eth.ipv4(src4, dst4, 64)),
                    (None, true) => finish!(eth.ipv6(src6, dst6, 64)),
                    (Some(id), false) => finish!(eth.single_vlan(id.try_into().unwrap()).ipv4(src4, dst4, 64)),
                    (Some(id), true) => finish!(eth.single_vlan(id.try_into().unwrap()).ipv6(src6, dst6, 64)),
                }
                let header_len = frame.len() - payload.len();
                let captured = &frame[..frame.len().min(header_len + snaplen)];
                let s = match parse_packet(ETHERNET, captured) {
                    Ok(Parsed::Tcp(s)) => s,
                    other => panic!("{other:?}"),
                };
                prop_assert_eq!((s.src.port(), s.dst.port()), (sport, dport));
                if v6 {
                    prop_assert_eq!(s.src.ip(), std::net::Ipv6Addr::from(src6));
                } else {
                    prop_assert_eq!(s.dst.ip(), std::net::Ipv4Addr::from(dst4));
                }
                prop_assert_eq!((s.seq, s.ack, s.window), (seq, ack, window));
                prop_assert_eq!(s.flags, TcpFlags(TcpFlags::PSH | TcpFlags::ACK));
                prop_assert_eq!(s.payload, &payload[..payload.len().min(snaplen)]);
                prop_assert_eq!(s.payload_len as usize, payload.len());
            }
        }
    }
}
