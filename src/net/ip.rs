//! The seams around the IP layer: what a link layer hands up ([`Network`]), what IPv4 and IPv6
//! hand up ([`IpDatagram`], [`Payload`]), and the raw-IP version switch.
//!
//! [`Payload`] carries the two lengths every upper header must be checked against: the bytes
//! that were captured and the length the IP header declares. A header that does not fit the
//! declared length is the sender's fault (`Malformed`); one that fits it but was not captured
//! is the snaplen's (`Truncated`), and its payload is still reported with its true length.

use super::NetError;
use std::net::IpAddr;

/// What a link layer carries, as far as this crate cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// Not IP: the EtherType (or address family) is kept for the report.
    Other(u32),
}

/// Raw IP (LINKTYPE_RAW): the version is the first nibble.
#[inline]
pub(super) fn by_version(packet: &[u8]) -> Result<Network<'_>, NetError> {
    match packet.first().map(|b| b >> 4) {
        Some(4) => Ok(Network::Ipv4(packet)),
        Some(6) => Ok(Network::Ipv6(packet)),
        Some(_) => Err(NetError::Malformed {
            layer: "ip",
            what: "version is neither 4 nor 6",
        }),
        None => Err(NetError::Truncated { layer: "ip" }),
    }
}

/// An IP packet's upper layer, after IPv4 options or IPv6 extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct IpDatagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol / IPv6 next header of the upper layer. For a fragment, the protocol the
    /// fragmented part starts with (which, in IPv6, may be another extension header).
    pub protocol: u8,
    /// A piece of a fragmented packet (first or not); its payload is not a whole upper layer.
    pub fragment: bool,
    pub payload: Payload<'a>,
}

/// Part of an IP packet: the bytes captured, and its length on the wire.
///
/// Invariant: `bytes.len() <= len as usize` (unless a captured packet exceeds 4 GiB, which no
/// capture format allows; `len` then saturates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Payload<'a> {
    pub bytes: &'a [u8],
    pub len: u32,
    /// The IP length field was 0, so `len` is only what was captured: a header running past
    /// it may have been cut by the snaplen, and is not the sender's fault.
    pub len_unknown: bool,
}

impl<'a> Payload<'a> {
    /// `declared` bytes on the wire, of which `captured` holds a prefix, or more: link-layer
    /// padding (Ethernet's 60-byte minimum) after the declared end is cut off here.
    #[inline]
    pub fn declared(captured: &'a [u8], declared: u16) -> Self {
        let bytes = captured.get(..usize::from(declared)).unwrap_or(captured);
        Payload {
            bytes,
            len: u32::from(declared),
            len_unknown: false,
        }
    }

    /// A length field of 0 where a real length is expected: TCP segmentation offload
    /// captures (IPv4 total length) and jumbograms (IPv6 payload length) both mean "as long
    /// as the frame", so the captured end is the only end we know.
    #[inline]
    pub fn to_end(captured: &'a [u8]) -> Self {
        Payload {
            bytes: captured,
            len: u32::try_from(captured.len()).unwrap_or(u32::MAX),
            len_unknown: true,
        }
    }

    /// The first `N` bytes, as a header of `layer`; `what` names the lie when the declared
    /// length cannot hold them.
    #[inline]
    pub fn peek<const N: usize>(
        self,
        layer: &'static str,
        what: &'static str,
    ) -> Result<&'a [u8; N], NetError> {
        if u32::try_from(N).map_or(true, |n| n > self.len) {
            return Err(self.too_short(layer, what));
        }
        self.bytes
            .first_chunk::<N>()
            .ok_or(NetError::Truncated { layer })
    }

    /// What follows a header of `n` bytes (checked like [`Payload::peek`]).
    #[inline]
    pub fn skip(
        self,
        n: usize,
        layer: &'static str,
        what: &'static str,
    ) -> Result<Payload<'a>, NetError> {
        let Some(len) = u32::try_from(n).ok().and_then(|n| self.len.checked_sub(n)) else {
            return Err(self.too_short(layer, what));
        };
        let Some((_, bytes)) = self.bytes.split_at_checked(n) else {
            return Err(NetError::Truncated { layer });
        };
        Ok(Payload { bytes, len, ..self })
    }

    #[cold]
    fn too_short(self, layer: &'static str, what: &'static str) -> NetError {
        if self.len_unknown {
            NetError::Truncated { layer }
        } else {
            NetError::Malformed { layer, what }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_version_switch() {
        assert_eq!(by_version(&[0x45]), Ok(Network::Ipv4(&[0x45])));
        assert_eq!(by_version(&[0x60]), Ok(Network::Ipv6(&[0x60])));
        assert!(matches!(
            by_version(&[0x55]),
            Err(NetError::Malformed { layer: "ip", .. })
        ));
        assert_eq!(by_version(&[]), Err(NetError::Truncated { layer: "ip" }));
    }

    #[test]
    fn declared_trims_padding_and_keeps_true_length() {
        let padded = Payload::declared(&[1, 2, 3, 0, 0], 3);
        assert_eq!((padded.bytes, padded.len), (&[1, 2, 3][..], 3));
        let cut = Payload::declared(&[1, 2], 10);
        assert_eq!((cut.bytes, cut.len), (&[1, 2][..], 10));
    }

    #[test]
    fn malformed_before_truncated() {
        let cut = Payload::declared(&[1, 2], 10);
        assert_eq!(cut.peek::<2>("x", "y"), Ok(&[1, 2]));
        assert_eq!(
            cut.peek::<4>("x", "y"),
            Err(NetError::Truncated { layer: "x" })
        );
        assert_eq!(
            cut.peek::<11>("x", "y"),
            Err(NetError::Malformed {
                layer: "x",
                what: "y"
            })
        );
        let rest = cut.skip(1, "x", "y").unwrap();
        assert_eq!((rest.bytes, rest.len), (&[2][..], 9));
        assert_eq!(
            cut.skip(3, "x", "y"),
            Err(NetError::Truncated { layer: "x" })
        );
        assert_eq!(
            cut.skip(11, "x", "y"),
            Err(NetError::Malformed {
                layer: "x",
                what: "y"
            })
        );
    }

    #[test]
    fn unknown_length_blames_the_capture() {
        let to_end = Payload::to_end(&[1, 2]);
        assert_eq!(
            to_end.peek::<4>("x", "y"),
            Err(NetError::Truncated { layer: "x" })
        );
        assert_eq!(
            to_end.skip(3, "x", "y"),
            Err(NetError::Truncated { layer: "x" })
        );
        assert_eq!(to_end.skip(2, "x", "y").unwrap().len, 0);
    }
}
