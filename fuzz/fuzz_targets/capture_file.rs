//! `CaptureReader` over arbitrary bytes, read to the end, through both input paths.
//!
//! The in-memory path (`from_bytes`, the same code as a memory-mapped file) and the
//! streaming path (`from_reader`, here fed in uneven small reads) must yield the same
//! records and the same final error: the parsers are written once for both, so any
//! difference is a bug in the input layer. Also checked: the reader's documented contract
//! (after an error or the end, `Ok(None)` forever), and that a packet never claims more
//! bytes than the record limit.
//!
//! One known, accepted difference: when gzip data is corrupt, flate2's `Read` drops what it
//! decompressed in the call that met the damage, and how much that is depends on how the
//! compressed bytes arrive (one path may even read further and stop at damage in the
//! decompressed capture instead). So when either path meets a gzip error, the records before
//! each path's final error need only be a prefix one of the other.

#![no_main]

use h2scope::capture::{CaptureError, CaptureReader, Record, file::MAX_RECORD_LEN};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

/// A reader that hands out its bytes in small, uneven pieces, as a pipe might.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let rest = self.data.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len()).min(self.step * 997);
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// What a reader returned, in comparable form.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Rec {
    Packet {
        ts: i64,
        interface: u32,
        link_type: u32,
        orig_len: u32,
        data: Vec<u8>,
    },
    Notice(String),
    /// The error that ended the reader (`open` when the reader could not even start).
    Error {
        open: bool,
        gzip: bool,
    },
}

/// Every record, then the error, if any. Bounded: each record consumes input.
fn read_all(reader: Result<CaptureReader, CaptureError>) -> Vec<Rec> {
    let mut out = Vec::new();
    let error = |open: bool, e: &CaptureError| Rec::Error {
        open,
        gzip: matches!(e, CaptureError::Gzip { .. }),
    };
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => {
            out.push(error(true, &e));
            return out;
        }
    };
    loop {
        match reader.next_record() {
            Ok(Some(Record::Packet(p))) => {
                assert!(p.data.len() <= MAX_RECORD_LEN);
                out.push(Rec::Packet {
                    ts: p.ts.0,
                    interface: p.interface,
                    link_type: p.link_type.0,
                    orig_len: p.orig_len,
                    data: p.data.to_vec(),
                });
            }
            Ok(Some(Record::Notice(n))) => out.push(Rec::Notice(format!("{n:?}"))),
            Ok(None) => break,
            Err(e) => {
                // The message too: its offsets must agree as well.
                out.push(Rec::Notice(format!("error: {e}")));
                out.push(error(false, &e));
                break;
            }
        }
    }
    // Finished is finished, whatever ended it.
    for _ in 0..3 {
        assert!(matches!(reader.next_record(), Ok(None)));
    }
    out
}

/// Reports the first difference only: whole captures are too long to print.
fn same(a: &[Rec], b: &[Rec], when: &str) {
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        panic!(
            "memory and stream inputs disagree {when} at record {i} of {}/{}:\n{:?}\n{:?}",
            a.len(),
            b.len(),
            a.get(i),
            b.get(i)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = read_all(CaptureReader::from_bytes(data.to_vec()));
    let streamed = read_all(CaptureReader::from_reader(Trickle {
        data: data.to_vec(),
        at: 0,
        step: data.len(),
    }));
    let gzip_error = |r: &[Rec]| matches!(r.last(), Some(Rec::Error { gzip: true, .. }));
    if data.starts_with(&[0x1f, 0x8b]) && (gzip_error(&whole) || gzip_error(&streamed)) {
        // Records only: drop the final error and its message.
        let records = |r: &[Rec]| -> Vec<Rec> {
            let mut r = r.to_vec();
            while let Some(Rec::Error { .. }) = r.last() {
                r.pop();
                if matches!(r.last(), Some(Rec::Notice(n)) if n.starts_with("error: ")) {
                    r.pop();
                }
            }
            r
        };
        let (a, b) = (records(&whole), records(&streamed));
        let n = a.len().min(b.len());
        same(&a[..n], &b[..n], "before a gzip error");
    } else {
        same(&whole, &streamed, "");
    }
});
