//! BSD loopback encapsulations: LINKTYPE_NULL (a 4-byte address family in the byte order of
//! the machine that wrote the capture) and LINKTYPE_LOOP (the same, always big-endian).
//!
//! Per <https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html> the IPv6 family differs by OS
//! (24 on NetBSD/OpenBSD/BSD/OS and Npcap, 28 on FreeBSD, 30 on macOS/iOS); 10 (Linux
//! AF_INET6) is accepted too since it collides with nothing.

use super::NetError;
use super::ip::Network;

const AF_INET: u32 = 2;
const AF_INET6_LINUX: u32 = 10;
const AF_INET6_BSD: u32 = 24;
const AF_INET6_FREEBSD: u32 = 28;
const AF_INET6_DARWIN: u32 = 30;

/// LINKTYPE_NULL. The writer's byte order is unknown to the reader (a pcap written on a
/// big-endian host and read here, or a pcapng from another machine), but families are small
/// numbers: of the two readings, the smaller one is the family.
#[inline]
pub(super) fn parse_null(frame: &[u8]) -> Result<Network<'_>, NetError> {
    let Some((&family, rest)) = frame.split_first_chunk::<4>() else {
        return Err(NetError::Truncated { layer: "null" });
    };
    let family = u32::from_le_bytes(family).min(u32::from_be_bytes(family));
    Ok(by_family(family, rest))
}

/// LINKTYPE_LOOP (OpenBSD): the family is always big-endian.
#[inline]
pub(super) fn parse_loop(frame: &[u8]) -> Result<Network<'_>, NetError> {
    let Some((&family, rest)) = frame.split_first_chunk::<4>() else {
        return Err(NetError::Truncated { layer: "loop" });
    };
    Ok(by_family(u32::from_be_bytes(family), rest))
}

#[inline]
fn by_family(family: u32, rest: &[u8]) -> Network<'_> {
    match family {
        AF_INET => Network::Ipv4(rest),
        AF_INET6_LINUX | AF_INET6_BSD | AF_INET6_FREEBSD | AF_INET6_DARWIN => Network::Ipv6(rest),
        other => Network::Other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_either_byte_order() {
        assert_eq!(parse_null(&[2, 0, 0, 0, 0x45]), Ok(Network::Ipv4(&[0x45])));
        assert_eq!(parse_null(&[0, 0, 0, 2, 0x45]), Ok(Network::Ipv4(&[0x45])));
        for af in [10u32, 24, 28, 30] {
            let mut le = af.to_le_bytes().to_vec();
            le.push(0x60);
            assert_eq!(parse_null(&le), Ok(Network::Ipv6(&[0x60])));
            let mut be = af.to_be_bytes().to_vec();
            be.push(0x60);
            assert_eq!(parse_null(&be), Ok(Network::Ipv6(&[0x60])));
        }
        assert_eq!(parse_null(&[7, 0, 0, 0]), Ok(Network::Other(7)));
        assert_eq!(
            parse_null(&[2, 0, 0]),
            Err(NetError::Truncated { layer: "null" })
        );
    }

    #[test]
    fn loop_is_big_endian_only() {
        assert_eq!(parse_loop(&[0, 0, 0, 24, 0x60]), Ok(Network::Ipv6(&[0x60])));
        assert_eq!(parse_loop(&[2, 0, 0, 0]), Ok(Network::Other(0x0200_0000)));
        assert_eq!(parse_loop(&[]), Err(NetError::Truncated { layer: "loop" }));
    }
}
