//! TCP headers (RFC 9293 section 3.1): ports, sequence numbers, flags, window, and the
//! payload after the options.
//!
//! Options are skipped: reassembly needs none of them, and the checksum is not verified
//! (offloaded checksums are garbage in captures taken on the sender).

use super::ip::Payload;
use super::{NetError, TcpFlags, TcpSegment};
use std::net::{IpAddr, SocketAddr};

/// The fixed header (data offset 5).
const MIN_HEADER_LEN: usize = 20;

/// Parses the TCP segment an IP packet carries. `segment.len` is the IP-declared length, so
/// `payload_len` keeps the part the snaplen cut.
#[inline]
pub(super) fn parse(
    src: IpAddr,
    dst: IpAddr,
    segment: Payload<'_>,
) -> Result<TcpSegment<'_>, NetError> {
    // One RFC 9293 header word per row.
    #[rustfmt::skip]
    let &[
        sp0, sp1, dp0, dp1,
        s0, s1, s2, s3,
        a0, a1, a2, a3,
        offset_reserved, flags, w0, w1,
        _ck0, _ck1, _urg0, _urg1,
    ] = segment.peek::<MIN_HEADER_LEN>("tcp", "IP payload shorter than a TCP header")?;
    // Data offset counts 32-bit words: at most 15 * 4 = 60.
    let header_len = usize::from(offset_reserved >> 4) * 4;
    if header_len < MIN_HEADER_LEN {
        return Err(NetError::Malformed {
            layer: "tcp",
            what: "data offset below 5",
        });
    }
    let payload = segment.skip(header_len, "tcp", "data offset beyond the IP payload")?;
    Ok(TcpSegment {
        src: SocketAddr::new(src, u16::from_be_bytes([sp0, sp1])),
        dst: SocketAddr::new(dst, u16::from_be_bytes([dp0, dp1])),
        seq: u32::from_be_bytes([s0, s1, s2, s3]),
        ack: u32::from_be_bytes([a0, a1, a2, a3]),
        flags: TcpFlags(flags),
        window: u16::from_be_bytes([w0, w1]),
        payload: payload.bytes,
        payload_len: payload.len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// 443 -> 50000, seq 1, ack 2, PSH|ACK, window 512, data offset 6 (MSS 1460), "hi".
    const SEGMENT: [u8; 26] = [
        0x01, 0xbb, 0xc3, 0x50, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x18, 0x02, 0x00, 0, 0, 0, 0, //
        2, 4, 0x05, 0xb4, // MSS
        b'h', b'i',
    ];

    #[test]
    fn fields() {
        let s = parse(LOCAL, LOCAL, Payload::declared(&SEGMENT, 26)).unwrap();
        assert_eq!((s.src.port(), s.dst.port()), (443, 50000));
        assert_eq!((s.seq, s.ack, s.window), (1, 2, 512));
        assert_eq!(s.flags, TcpFlags(TcpFlags::PSH | TcpFlags::ACK));
        assert_eq!((s.payload, s.payload_len), (&b"hi"[..], 2));
    }

    #[test]
    fn snaplen_cut_payload_keeps_length() {
        let s = parse(LOCAL, LOCAL, Payload::declared(&SEGMENT[..25], 1000)).unwrap();
        assert_eq!((s.payload, s.payload_len), (&b"h"[..], 976));
    }

    #[test]
    fn header_errors() {
        let cut = Payload::declared(&SEGMENT[..22], 26);
        assert_eq!(
            parse(LOCAL, LOCAL, cut),
            Err(NetError::Truncated { layer: "tcp" })
        );
        let cut = Payload::declared(&SEGMENT[..19], 26);
        assert_eq!(
            parse(LOCAL, LOCAL, cut),
            Err(NetError::Truncated { layer: "tcp" })
        );
        let short = Payload::declared(&SEGMENT, 22);
        assert!(matches!(
            parse(LOCAL, LOCAL, short),
            Err(NetError::Malformed { layer: "tcp", .. })
        ));
        let mut bad = SEGMENT;
        bad[12] = 0x40;
        assert_eq!(
            parse(LOCAL, LOCAL, Payload::declared(&bad, 26)),
            Err(NetError::Malformed {
                layer: "tcp",
                what: "data offset below 5"
            })
        );
    }
}
