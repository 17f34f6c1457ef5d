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
mod tests;
