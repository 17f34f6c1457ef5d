//! Linux "cooked" capture headers, LINKTYPE_LINUX_SLL (v1, 16 bytes) and LINKTYPE_LINUX_SLL2
//! (v2, 20 bytes): what `tcpdump -i any` writes.
//!
//! Layouts from <https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html> and
//! `LINKTYPE_LINUX_SLL2.html`. The protocol field is an EtherType except for a few
//! ARPHRD types (netlink), so it goes through the same EtherType / VLAN logic as Ethernet.

use super::NetError;
use super::ethernet;
use super::ip::Network;

/// ARPHRD_NETLINK: the protocol field is a netlink family, not an EtherType.
const ARPHRD_NETLINK: u16 = 824;

/// SLL v1: packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2).
#[inline]
pub(super) fn parse_sll(frame: &[u8]) -> Result<Network<'_>, NetError> {
    let Some((header, rest)) = frame.split_first_chunk::<16>() else {
        return Err(NetError::Truncated { layer: "sll" });
    };
    let [_pt0, _pt1, hw0, hw1, .., p0, p1] = *header;
    network(
        u16::from_be_bytes([hw0, hw1]),
        u16::from_be_bytes([p0, p1]),
        rest,
    )
}

/// SLL v2: protocol (2), reserved (2), interface index (4), ARPHRD type (2), packet type (1),
/// address length (1), address (8).
#[inline]
pub(super) fn parse_sll2(frame: &[u8]) -> Result<Network<'_>, NetError> {
    let Some((header, rest)) = frame.split_first_chunk::<20>() else {
        return Err(NetError::Truncated { layer: "sll2" });
    };
    let [p0, p1, _r0, _r1, _if0, _if1, _if2, _if3, hw0, hw1, ..] = *header;
    network(
        u16::from_be_bytes([hw0, hw1]),
        u16::from_be_bytes([p0, p1]),
        rest,
    )
}

#[inline]
fn network(arphrd: u16, protocol: u16, rest: &[u8]) -> Result<Network<'_>, NetError> {
    if arphrd == ARPHRD_NETLINK {
        return Ok(Network::Other(u32::from(protocol)));
    }
    // Values below 0x0600 (802.3 without LLC, 802.2 LLC, CAN...) fall out as `Other`.
    ethernet::by_ethertype(protocol, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sll_ipv4_and_netlink() {
        let mut f = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        f.push(0x45);
        assert_eq!(parse_sll(&f), Ok(Network::Ipv4(&[0x45])));
        f[2..4].copy_from_slice(&824u16.to_be_bytes());
        assert_eq!(parse_sll(&f), Ok(Network::Other(0x0800)));
        assert_eq!(
            parse_sll(&f[..15]),
            Err(NetError::Truncated { layer: "sll" })
        );
    }

    #[test]
    fn sll_with_vlan_tag() {
        let f = [
            0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x81, 0x00, // SLL, protocol 802.1Q
            0x00, 0x0a, 0x86, 0xdd, // VLAN 10, IPv6
            0x60,
        ];
        assert_eq!(parse_sll(&f), Ok(Network::Ipv6(&[0x60])));
    }

    #[test]
    fn sll2_ipv6() {
        let f = [
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x60,
        ];
        assert_eq!(parse_sll2(&f), Ok(Network::Ipv6(&[0x60])));
        assert_eq!(
            parse_sll2(&f[..19]),
            Err(NetError::Truncated { layer: "sll2" })
        );
    }
}
