//! Test support: builders for pcap and pcapng byte arrays, an owned copy of what a reader
//! yields, and `read_all`, which reads bytes through both the whole-input and the streaming
//! paths and insists they agree.

use super::bytes::Endian;
use super::file::CaptureReader;
use super::{Notice, Record};
use std::io::{self, Read};

/// What a reader yields, owned so runs can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Packet {
        ts: i64,
        interface: u32,
        link_type: u32,
        data: Vec<u8>,
        orig_len: u32,
    },
    Notice(Notice),
    /// An error from the constructor or from `next_record`, as displayed.
    Error(String),
}

pub(crate) fn packet(ts: i64, interface: u32, link_type: u32, data: &[u8], orig_len: u32) -> Item {
    Item::Packet {
        ts,
        interface,
        link_type,
        data: data.to_vec(),
        orig_len,
    }
}

/// Drain a reader. Also checks it stays finished, and that it makes progress (a reader that
/// yields more items than a generous bound is looping).
pub(crate) fn drain(
    reader: Result<CaptureReader, super::CaptureError>,
    input_len: usize,
) -> Vec<Item> {
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => return vec![Item::Error(e.to_string())],
    };
    let mut items = Vec::new();
    loop {
        assert!(
            items.len() <= 4 * input_len + 16,
            "reader does not progress"
        );
        match reader.next_record() {
            Ok(Some(Record::Packet(p))) => items.push(Item::Packet {
                ts: p.ts.0,
                interface: p.interface,
                link_type: p.link_type.0,
                data: p.data.to_vec(),
                orig_len: p.orig_len,
            }),
            Ok(Some(Record::Notice(n))) => items.push(Item::Notice(n)),
            Ok(None) => break,
            Err(e) => {
                items.push(Item::Error(e.to_string()));
                break;
            }
        }
    }
    assert!(
        matches!(reader.next_record(), Ok(None)),
        "reader not finished"
    );
    assert!(
        matches!(reader.next_record(), Ok(None)),
        "reader not finished"
    );
    items
}

/// Read `bytes` with `from_bytes` and with `from_reader` over reads of 1..7 bytes; both must
/// give the same items, which are returned.
pub(crate) fn read_all(bytes: &[u8]) -> Vec<Item> {
    let whole = drain(CaptureReader::from_bytes(bytes.to_vec()), bytes.len());
    let seed = bytes.len() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let streamed = drain(
        CaptureReader::from_reader(Trickle::new(bytes.to_vec(), seed)),
        bytes.len(),
    );
    assert_eq!(whole, streamed, "from_bytes and from_reader disagree");
    whole
}

/// A reader that hands out 1 to 7 bytes per call and is sometimes interrupted, to exercise
/// every refill path of the streaming buffer.
pub(crate) struct Trickle {
    data: Vec<u8>,
    at: usize,
    rng: u64,
}

impl Trickle {
    pub(crate) fn new(data: Vec<u8>, seed: u64) -> Self {
        Trickle {
            data,
            at: 0,
            rng: seed | 1,
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        if self.rng.is_multiple_of(11) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let want = 1 + (self.rng % 7) as usize;
        let n = want.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A classic pcap file under construction.
pub(crate) struct PcapFile {
    pub(crate) endian: Endian,
    pub(crate) bytes: Vec<u8>,
    /// End offset of every packet record, for truncation tests.
    pub(crate) packet_ends: Vec<usize>,
}

impl PcapFile {
    pub(crate) fn new(endian: Endian, nanos: bool, network: u32, snaplen: u32) -> Self {
        let mut bytes = Vec::new();
        endian.put_u32(&mut bytes, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        endian.put_u16(&mut bytes, 2);
        endian.put_u16(&mut bytes, 4);
        endian.put_u32(&mut bytes, 0);
        endian.put_u32(&mut bytes, 0);
        endian.put_u32(&mut bytes, snaplen);
        endian.put_u32(&mut bytes, network);
        PcapFile {
            endian,
            bytes,
            packet_ends: Vec::new(),
        }
    }

    pub(crate) fn raw_header(&mut self, secs: u32, frac: u32, incl: u32, orig: u32) {
        for v in [secs, frac, incl, orig] {
            self.endian.put_u32(&mut self.bytes, v);
        }
    }

    pub(crate) fn record(&mut self, secs: u32, frac: u32, data: &[u8], orig: u32) {
        self.raw_header(secs, frac, data.len() as u32, orig);
        self.bytes.extend_from_slice(data);
        self.packet_ends.push(self.bytes.len());
    }
}

/// A pcapng file under construction; each block is written in the byte order given.
#[derive(Default)]
pub(crate) struct NgFile {
    pub(crate) bytes: Vec<u8>,
    pub(crate) packet_ends: Vec<usize>,
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn options(e: Endian, out: &mut Vec<u8>, opts: &[(u16, &[u8])]) {
    if opts.is_empty() {
        return;
    }
    for (code, value) in opts {
        e.put_u16(out, *code);
        e.put_u16(out, value.len() as u16);
        out.extend_from_slice(value);
        pad4(out);
    }
    e.put_u32(out, 0); // opt_endofopt
}

/// EPB and PB after their interface field: timestamp, lengths, padded data, options.
fn packet_fields(
    e: Endian,
    body: &mut Vec<u8>,
    ticks: u64,
    data: &[u8],
    orig: u32,
    opts: &[(u16, &[u8])],
) {
    e.put_u32(body, (ticks >> 32) as u32);
    e.put_u32(body, ticks as u32);
    e.put_u32(body, data.len() as u32);
    e.put_u32(body, orig);
    body.extend_from_slice(data);
    pad4(body);
    options(e, body, opts);
}

impl NgFile {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A block: type, total length, body padded to 32 bits, total length.
    pub(crate) fn block(&mut self, e: Endian, block_type: u32, body: &[u8]) {
        let mut body = body.to_vec();
        pad4(&mut body);
        let total = body.len() as u32 + 12;
        e.put_u32(&mut self.bytes, block_type);
        e.put_u32(&mut self.bytes, total);
        self.bytes.extend_from_slice(&body);
        e.put_u32(&mut self.bytes, total);
    }

    /// Words written as they are, for hand-made damage.
    pub(crate) fn raw(&mut self, e: Endian, words: &[u32]) {
        for w in words {
            e.put_u32(&mut self.bytes, *w);
        }
    }

    pub(crate) fn shb(&mut self, e: Endian, opts: &[(u16, &[u8])]) {
        let mut body = Vec::new();
        e.put_u32(&mut body, 0x1A2B_3C4D);
        e.put_u16(&mut body, 1);
        e.put_u16(&mut body, 0);
        e.put_u64(&mut body, u64::MAX); // section length unknown
        options(e, &mut body, opts);
        self.block(e, 0x0A0D_0D0A, &body);
    }

    pub(crate) fn idb(&mut self, e: Endian, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) {
        let mut body = Vec::new();
        e.put_u16(&mut body, link);
        e.put_u16(&mut body, 0);
        e.put_u32(&mut body, snaplen);
        options(e, &mut body, opts);
        self.block(e, 1, &body);
    }

    pub(crate) fn epb(
        &mut self,
        e: Endian,
        iface: u32,
        ticks: u64,
        data: &[u8],
        orig: u32,
        opts: &[(u16, &[u8])],
    ) {
        let mut body = Vec::new();
        e.put_u32(&mut body, iface);
        packet_fields(e, &mut body, ticks, data, orig, opts);
        self.block(e, 6, &body);
        self.packet_ends.push(self.bytes.len());
    }

    pub(crate) fn pb(
        &mut self,
        e: Endian,
        iface: u16,
        ticks: u64,
        data: &[u8],
        orig: u32,
        opts: &[(u16, &[u8])],
    ) {
        let mut body = Vec::new();
        e.put_u16(&mut body, iface);
        e.put_u16(&mut body, 0); // drops count
        packet_fields(e, &mut body, ticks, data, orig, opts);
        self.block(e, 2, &body);
        self.packet_ends.push(self.bytes.len());
    }

    pub(crate) fn spb(&mut self, e: Endian, orig: u32, data: &[u8]) {
        let mut body = Vec::new();
        e.put_u32(&mut body, orig);
        body.extend_from_slice(data);
        self.block(e, 3, &body);
        self.packet_ends.push(self.bytes.len());
    }

    pub(crate) fn dsb(&mut self, e: Endian, secrets_type: u32, data: &[u8], opts: &[(u16, &[u8])]) {
        let mut body = Vec::new();
        e.put_u32(&mut body, secrets_type);
        e.put_u32(&mut body, data.len() as u32);
        body.extend_from_slice(data);
        pad4(&mut body);
        options(e, &mut body, opts);
        self.block(e, 0x0A, &body);
    }
}
