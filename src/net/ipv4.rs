//! IPv4 headers (RFC 791): addresses, upper-layer protocol, fragmentation, and the payload
//! bounded by the total length.
//!
//! Checksums are not verified: captures taken on the sending host show offloaded
//! (unfilled) checksums, and an inspector must still show that traffic. Options are
//! skipped, not interpreted.

use super::NetError;
use super::ip::{IpDatagram, Payload};
use std::net::{IpAddr, Ipv4Addr};

/// The fixed part of the header (IHL = 5).
const MIN_HEADER_LEN: usize = 20;
/// Flags and fragment offset: More Fragments (RFC 791 section 3.1).
const MORE_FRAGMENTS: u16 = 0x2000;
/// Flags and fragment offset: the offset, in 8-byte units.
const FRAGMENT_OFFSET: u16 = 0x1fff;

#[inline]
pub(super) fn parse(packet: &[u8]) -> Result<IpDatagram<'_>, NetError> {
    let Some(fixed) = packet.first_chunk::<MIN_HEADER_LEN>() else {
        return Err(NetError::Truncated { layer: "ipv4" });
    };
    // One RFC 791 header word per row.
    #[rustfmt::skip]
    let [
        version_ihl, _tos, tl0, tl1,
        _id0, _id1, ff0, ff1,
        _ttl, protocol, _ck0, _ck1,
        s0, s1, s2, s3,
        d0, d1, d2, d3,
    ] = *fixed;
    if version_ihl >> 4 != 4 {
        return Err(NetError::Malformed {
            layer: "ipv4",
            what: "version is not 4",
        });
    }
    // IHL counts 32-bit words; at most 15 * 4 = 60.
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if header_len < MIN_HEADER_LEN {
        return Err(NetError::Malformed {
            layer: "ipv4",
            what: "header length (IHL) below 20 bytes",
        });
    }
    let total_len = u16::from_be_bytes([tl0, tl1]);
    let packet = if total_len == 0 {
        Payload::to_end(packet)
    } else {
        Payload::declared(packet, total_len)
    };
    let payload = packet.skip(header_len, "ipv4", "total length below header length")?;
    let flags_fragment = u16::from_be_bytes([ff0, ff1]);
    Ok(IpDatagram {
        src: IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3)),
        dst: IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3)),
        protocol,
        // A first fragment (offset 0, MF) holds a whole TCP header but only part of the
        // payload; without reassembly its length would be wrong, so it counts as a fragment.
        fragment: flags_fragment & (MORE_FRAGMENTS | FRAGMENT_OFFSET) != 0,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20-byte header: total length 24, DF, TTL 64, TCP, 10.0.0.1 -> 10.0.0.2, then 4 bytes
    /// of payload and 2 bytes of link padding.
    const PACKET: [u8; 26] = [
        0x45, 0x00, 0x00, 0x18, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, //
        10, 0, 0, 1, 10, 0, 0, 2, //
        0xde, 0xad, 0xbe, 0xef, 0x00, 0x00,
    ];

    #[test]
    fn fields_and_padding() {
        let d = parse(&PACKET).unwrap();
        assert_eq!(d.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(d.dst, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(d.protocol, 6);
        assert!(!d.fragment);
        assert_eq!(
            (d.payload.bytes, d.payload.len),
            (&[0xde, 0xad, 0xbe, 0xef][..], 4)
        );
    }

    #[test]
    fn total_length_zero_runs_to_the_end() {
        let mut p = PACKET;
        p[2..4].copy_from_slice(&[0, 0]);
        assert_eq!(parse(&p).unwrap().payload.len, 6);
    }

    #[test]
    fn total_length_beyond_capture_keeps_true_length() {
        let mut p = PACKET;
        p[2..4].copy_from_slice(&1500u16.to_be_bytes());
        let d = parse(&p).unwrap();
        assert_eq!(d.payload.bytes.len(), 6);
        assert_eq!(d.payload.len, 1480);
    }

    #[test]
    fn fragments() {
        for (ff, frag) in [
            (0x4000u16, false), // DF only
            (0x2000, true),     // first fragment
            (0x0001, true),     // last fragment, offset 8
            (0x2100, true),     // middle fragment
        ] {
            let mut p = PACKET;
            p[6..8].copy_from_slice(&ff.to_be_bytes());
            assert_eq!(parse(&p).unwrap().fragment, frag, "{ff:#06x}");
        }
    }

    #[test]
    fn bad_headers() {
        let mut p = PACKET;
        p[0] = 0x65;
        assert!(matches!(
            parse(&p),
            Err(NetError::Malformed {
                what: "version is not 4",
                ..
            })
        ));
        p[0] = 0x44;
        assert!(matches!(
            parse(&p),
            Err(NetError::Malformed { layer: "ipv4", .. })
        ));
        p[0] = 0x46; // a 24-byte header (4 bytes of options) fills the whole packet
        assert_eq!(parse(&p).unwrap().payload.len, 0);
        p[0] = 0x47; // 28-byte header in a 24-byte packet
        assert!(matches!(
            parse(&p),
            Err(NetError::Malformed { layer: "ipv4", .. })
        ));
        p[0] = 0x4f;
        p[2..4].copy_from_slice(&100u16.to_be_bytes()); // 60-byte header, 26 captured
        assert_eq!(parse(&p), Err(NetError::Truncated { layer: "ipv4" }));
        assert_eq!(
            parse(&PACKET[..19]),
            Err(NetError::Truncated { layer: "ipv4" })
        );
    }
}
