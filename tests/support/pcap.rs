//! Writes pcap files from byte streams: a TCP connection (handshake, segments, FIN) in
//! Ethernet/IPv4 frames, so tests can run the whole pipeline on traffic a real peer made.

use std::net::SocketAddrV4;

/// One direction's bytes at one moment.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub from_client: bool,
    pub ts_nanos: i64,
    pub data: Vec<u8>,
}

/// Builds a classic pcap (microsecond, little-endian, Ethernet).
pub struct PcapWriter {
    out: Vec<u8>,
}

impl Default for PcapWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl PcapWriter {
    pub fn new() -> Self {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&262_144u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        PcapWriter { out }
    }

    pub fn packet(&mut self, ts_nanos: i64, frame: &[u8]) {
        let secs = ts_nanos.div_euclid(1_000_000_000) as u32;
        let usecs = (ts_nanos.rem_euclid(1_000_000_000) / 1000) as u32;
        self.out.extend_from_slice(&secs.to_le_bytes());
        self.out.extend_from_slice(&usecs.to_le_bytes());
        self.out
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.extend_from_slice(frame);
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// An Ethernet/IPv4/TCP frame.
pub fn tcp_frame(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src.ip().octets());
    f.extend_from_slice(&dst.ip().octets());
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A whole TCP connection carrying `chunks` (each cut into segments of at most `mss`
/// bytes): handshake first, FINs last.
pub fn connection(
    client: SocketAddrV4,
    server: SocketAddrV4,
    chunks: &[Chunk],
    mss: usize,
) -> Vec<u8> {
    let mut w = PcapWriter::new();
    let t0 = chunks
        .first()
        .map_or(1_700_000_000_000_000_000, |c| c.ts_nanos - 1_000_000);
    let (mut cseq, mut sseq) = (1_000u32, 9_000_000u32);
    w.packet(t0, &tcp_frame(client, server, cseq, 0, SYN, &[]));
    w.packet(
        t0,
        &tcp_frame(server, client, sseq, cseq + 1, SYN | ACK, &[]),
    );
    cseq += 1;
    sseq += 1;
    w.packet(t0, &tcp_frame(client, server, cseq, sseq, ACK, &[]));
    let mut last = t0;
    for c in chunks {
        last = c.ts_nanos;
        for piece in c.data.chunks(mss.max(1)) {
            if c.from_client {
                w.packet(
                    c.ts_nanos,
                    &tcp_frame(client, server, cseq, sseq, ACK | PSH, piece),
                );
                cseq = cseq.wrapping_add(piece.len() as u32);
            } else {
                w.packet(
                    c.ts_nanos,
                    &tcp_frame(server, client, sseq, cseq, ACK | PSH, piece),
                );
                sseq = sseq.wrapping_add(piece.len() as u32);
            }
        }
    }
    w.packet(last, &tcp_frame(client, server, cseq, sseq, FIN | ACK, &[]));
    w.packet(
        last,
        &tcp_frame(server, client, sseq, cseq + 1, FIN | ACK, &[]),
    );
    w.packet(
        last,
        &tcp_frame(client, server, cseq + 1, sseq + 1, ACK, &[]),
    );
    w.finish()
}
