//! Ethernet II (IEEE 802.3) frames and 802.1Q / 802.1ad (QinQ) VLAN tags: from a frame to the
//! network-layer packet it carries.
//!
//! VLAN tags are walked here rather than in each link layer because Linux cooked captures
//! (SLL/SLL2) can carry them too: libpcap re-inserts the tag the kernel stripped and sets the
//! cooked protocol field to 0x8100. Ethernet padding and a trailing frame check sequence are
//! left in place: the IP length fields trim them.

use super::NetError;
use super::ip::Network;

/// EtherType of IPv4 (RFC 894).
const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6 (RFC 2464).
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IEEE 802.1Q customer VLAN tag (C-tag).
const ETHERTYPE_VLAN: u16 = 0x8100;
/// IEEE 802.1ad service VLAN tag (S-tag, the outer tag of QinQ).
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ outer tag still emitted by some switches.
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// Ethernet II header: destination MAC, source MAC, EtherType.
const HEADER_LEN: usize = 14;

/// Enough for QinQ and any stacking seen in practice; a frame of nothing but tags is
/// hostile and must not make us loop.
const MAX_VLAN_TAGS: usize = 8;

/// Parses an Ethernet II frame (LINKTYPE_ETHERNET).
#[inline]
pub(super) fn parse(frame: &[u8]) -> Result<Network<'_>, NetError> {
    let Some((header, rest)) = frame.split_first_chunk::<HEADER_LEN>() else {
        return Err(NetError::Truncated { layer: "ethernet" });
    };
    let [.., t0, t1] = *header;
    // An EtherType below 0x0600 is an 802.3 length and the frame is LLC: not IP for us
    // (IP over LLC/SNAP is not seen on modern networks). It is reported as `Other`.
    by_ethertype(u16::from_be_bytes([t0, t1]), rest)
}

/// Maps an EtherType and the bytes after it to the network layer, skipping VLAN tags.
#[inline]
pub(super) fn by_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Result<Network<'_>, NetError> {
    // One pass per tag plus one for the final EtherType.
    for _ in 0..=MAX_VLAN_TAGS {
        match ethertype {
            ETHERTYPE_IPV4 => return Ok(Network::Ipv4(rest)),
            ETHERTYPE_IPV6 => return Ok(Network::Ipv6(rest)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                // IEEE 802.1Q tag after its TPID: 2 bytes TCI (PCP, DEI, VID), 2 bytes EtherType.
                let Some((&[_tci0, _tci1, t0, t1], inner)) = rest.split_first_chunk::<4>() else {
                    return Err(NetError::Truncated { layer: "vlan" });
                };
                ethertype = u16::from_be_bytes([t0, t1]);
                rest = inner;
            }
            other => return Ok(Network::Other(u32::from(other))),
        }
    }
    Err(NetError::Malformed {
        layer: "vlan",
        what: "more than 8 stacked VLAN tags",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

    fn frame(tail: &[u8]) -> Vec<u8> {
        let mut f = MACS.to_vec();
        f.extend_from_slice(tail);
        f
    }

    #[test]
    fn ipv4_ipv6_and_other() {
        assert_eq!(
            parse(&frame(&[0x08, 0x00, 0x45])),
            Ok(Network::Ipv4(&[0x45]))
        );
        assert_eq!(parse(&frame(&[0x86, 0xdd])), Ok(Network::Ipv6(&[])));
        assert_eq!(
            parse(&frame(&[0x08, 0x06, 0, 1])),
            Ok(Network::Other(0x0806))
        );
        // 802.3 length field: LLC, not IP.
        assert_eq!(parse(&frame(&[0x00, 0x26, 0x42])), Ok(Network::Other(0x26)));
    }

    #[test]
    fn short_header_is_truncated() {
        assert_eq!(
            parse(&MACS[..]),
            Err(NetError::Truncated { layer: "ethernet" })
        );
        assert_eq!(
            parse(&frame(&[0x08])),
            Err(NetError::Truncated { layer: "ethernet" })
        );
    }

    #[test]
    fn vlan_tags_up_to_the_bound() {
        let mut tail = Vec::new();
        for tpid in [
            0x88a8u16, 0x8100, 0x9100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100,
        ] {
            tail.extend_from_slice(&tpid.to_be_bytes());
            tail.extend_from_slice(&[0x00, 0x64]); // TCI: VID 100
        }
        let mut ok = tail.clone();
        ok.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(parse(&frame(&ok)), Ok(Network::Ipv6(&[0x60])));

        let mut nine = tail;
        nine.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]);
        assert!(matches!(
            parse(&frame(&nine)),
            Err(NetError::Malformed { layer: "vlan", .. })
        ));
    }

    #[test]
    fn cut_vlan_tag_is_truncated() {
        assert_eq!(
            parse(&frame(&[0x81, 0x00, 0x00, 0x64, 0x08])),
            Err(NetError::Truncated { layer: "vlan" })
        );
    }
}
