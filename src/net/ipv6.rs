//! IPv6 headers (RFC 8200): the fixed header, the extension header chain, and the payload
//! bounded by the payload length.
//!
//! The chain is walked only as far as the upper-layer header; extension headers' contents
//! (options, routing segments, AH data) are skipped. Hop-by-hop is accepted anywhere in the
//! chain, not only first: being strict would hide traffic, not protect anything.

use super::NetError;
use super::ip::{IpDatagram, Payload};
use std::net::{IpAddr, Ipv6Addr};

// Extension header numbers (IANA "IPv6 Extension Header Types").
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;
const MOBILITY: u8 = 135;
const HIP: u8 = 139;
const SHIM6: u8 = 140;

/// RFC 8200 recommends each extension header appear at most once (destination options
/// twice); 16 leaves room for odd but legal chains and stops a hostile one early.
const MAX_EXTENSION_HEADERS: usize = 16;

const LAYER: &str = "ipv6";

/// True for the next-header values that are extension headers this module can skip (ESP
/// is not: what follows it is encrypted).
#[inline]
pub(super) fn is_extension_header(next_header: u8) -> bool {
    matches!(
        next_header,
        HOP_BY_HOP
            | ROUTING
            | FRAGMENT
            | AUTHENTICATION
            | DESTINATION_OPTIONS
            | MOBILITY
            | HIP
            | SHIM6
    )
}

#[inline]
pub(super) fn parse(packet: &[u8]) -> Result<IpDatagram<'_>, NetError> {
    let Some((&[vtc, _tcfl, _fl0, _fl1, pl0, pl1, next_header, _hop_limit], rest)) =
        packet.split_first_chunk::<8>()
    else {
        return Err(NetError::Truncated { layer: LAYER });
    };
    if vtc >> 4 != 6 {
        return Err(NetError::Malformed {
            layer: LAYER,
            what: "version is not 6",
        });
    }
    let Some((&src, rest)) = rest.split_first_chunk::<16>() else {
        return Err(NetError::Truncated { layer: LAYER });
    };
    let Some((&dst, rest)) = rest.split_first_chunk::<16>() else {
        return Err(NetError::Truncated { layer: LAYER });
    };
    let payload_len = u16::from_be_bytes([pl0, pl1]);
    // 0 is a jumbogram (RFC 2675, real length in a hop-by-hop option) or a TSO capture:
    // either way the packet runs to the end of the frame.
    let payload = if payload_len == 0 {
        Payload::to_end(rest)
    } else {
        Payload::declared(rest, payload_len)
    };
    let (protocol, fragment, payload) = upper_layer(next_header, payload)?;
    Ok(IpDatagram {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol,
        fragment,
        payload,
    })
}

/// Walks the extension headers to the upper layer: (its protocol, is a fragment, its bytes).
#[inline]
fn upper_layer(
    mut next_header: u8,
    mut payload: Payload<'_>,
) -> Result<(u8, bool, Payload<'_>), NetError> {
    const BEYOND: &str = "extension header beyond the payload length";
    for _ in 0..MAX_EXTENSION_HEADERS {
        let header_len = match next_header {
            // RFC 8200 section 4.3-4.6 and RFC 6275 / 7401 / 5533 (mobility, HIP, shim6)
            // share one layout: next header, length in 8-byte units not counting the first 8.
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS | MOBILITY | HIP | SHIM6 => {
                let &[next, len] = payload.peek::<2>(LAYER, BEYOND)?;
                next_header = next;
                (usize::from(len) + 1) * 8
            }
            // RFC 4302 section 2.2: length in 4-byte units, minus 2.
            AUTHENTICATION => {
                let &[next, len] = payload.peek::<2>(LAYER, BEYOND)?;
                next_header = next;
                (usize::from(len) + 2) * 4
            }
            // RFC 8200 section 4.5: next header, reserved, offset (13 bits) + 2 reserved
            // bits + M, identification.
            FRAGMENT => {
                let &[next, _reserved, o0, o1, ..] = payload.peek::<8>(LAYER, BEYOND)?;
                let offset_flags = u16::from_be_bytes([o0, o1]);
                let rest = payload.skip(8, LAYER, BEYOND)?;
                // Offset 0 and M clear is an "atomic fragment" (RFC 6946): a whole packet.
                if offset_flags & 0xfff9 != 0 {
                    return Ok((next, true, rest));
                }
                next_header = next;
                payload = rest;
                continue;
            }
            // TCP, UDP, ICMPv6, ESP, no next header (59), or unknown: the chain ends here.
            upper => return Ok((upper, false, payload)),
        };
        payload = payload.skip(header_len, LAYER, BEYOND)?;
    }
    Err(NetError::Malformed {
        layer: LAYER,
        what: "more than 16 extension headers",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ::1 -> ::1, payload length 12: hop-by-hop (8 bytes, PadN) then TCP; 4 bytes "TCP".
    const WITH_HOP_BY_HOP: [u8; 52] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, HOP_BY_HOP, 0x40, //
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, //
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, //
        6, 0, 1, 4, 0, 0, 0, 0, // hop-by-hop: next TCP, length 0, PadN(4)
        b'T', b'C', b'P', b'!',
    ];

    fn with_chain(chain: &[u8], first: u8) -> Vec<u8> {
        let mut p = WITH_HOP_BY_HOP[..40].to_vec();
        p[4..6].copy_from_slice(&(chain.len() as u16).to_be_bytes());
        p[6] = first;
        p.extend_from_slice(chain);
        p
    }

    #[test]
    fn hop_by_hop_then_tcp() {
        let d = parse(&WITH_HOP_BY_HOP).unwrap();
        assert_eq!(d.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!((d.protocol, d.fragment), (6, false));
        assert_eq!((d.payload.bytes, d.payload.len), (&b"TCP!"[..], 4));
    }

    #[test]
    fn fragment_headers() {
        // Atomic fragment: walked through.
        let atomic = with_chain(&[6, 0, 0, 0, 0, 0, 0, 1, b'x'], FRAGMENT);
        let d = parse(&atomic).unwrap();
        assert_eq!(
            (d.protocol, d.fragment, d.payload.bytes),
            (6, false, &b"x"[..])
        );
        // First fragment (M set) and a later one (offset 1).
        for (o0, o1) in [(0u8, 1u8), (0, 8)] {
            let frag = with_chain(&[6, 0, o0, o1, 0, 0, 0, 1, b'x'], FRAGMENT);
            let d = parse(&frag).unwrap();
            assert_eq!((d.protocol, d.fragment), (6, true));
        }
    }

    #[test]
    fn authentication_and_destination_options() {
        // AH with payload length 4 -> (4 + 2) * 4 = 24 bytes, then destination options, then UDP.
        let mut chain = vec![DESTINATION_OPTIONS, 4];
        chain.extend_from_slice(&[0; 22]);
        chain.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        chain.extend_from_slice(b"udp");
        let packet = with_chain(&chain, AUTHENTICATION);
        let d = parse(&packet).unwrap();
        assert_eq!((d.protocol, d.payload.bytes), (17, &b"udp"[..]));
    }

    #[test]
    fn no_next_header_and_bounds() {
        let packet = with_chain(&[], 59);
        let d = parse(&packet).unwrap();
        assert_eq!((d.protocol, d.payload.len), (59, 0));
        // 17 destination options headers in a row.
        let chain: Vec<u8> = (0..17)
            .flat_map(|_| [DESTINATION_OPTIONS, 0, 1, 4, 0, 0, 0, 0])
            .collect();
        assert!(matches!(
            parse(&with_chain(&chain, DESTINATION_OPTIONS)),
            Err(NetError::Malformed {
                what: "more than 16 extension headers",
                ..
            })
        ));
    }

    #[test]
    fn extension_header_cut_or_lying() {
        // Declared 16 bytes, hop-by-hop claims 16 but only 12 captured: truncated.
        let mut p = with_chain(
            &[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            HOP_BY_HOP,
        );
        p.truncate(52);
        assert_eq!(parse(&p), Err(NetError::Truncated { layer: LAYER }));
        // Declared 8 bytes, hop-by-hop claims 16: malformed.
        let p = with_chain(&[6, 1, 0, 0, 0, 0, 0, 0], HOP_BY_HOP);
        assert!(matches!(
            parse(&p),
            Err(NetError::Malformed { layer: LAYER, .. })
        ));
    }

    #[test]
    fn bad_fixed_header() {
        let mut p = WITH_HOP_BY_HOP;
        p[0] = 0x40;
        assert!(matches!(
            parse(&p),
            Err(NetError::Malformed {
                what: "version is not 6",
                ..
            })
        ));
        assert_eq!(
            parse(&WITH_HOP_BY_HOP[..39]),
            Err(NetError::Truncated { layer: LAYER })
        );
    }
}
