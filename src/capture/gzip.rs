//! gzip (RFC 1952) decompression that hands out every byte it decoded before damage.
//!
//! flate2's `MultiGzDecoder` returns `Err` from a `read` that hit corrupt deflate data, and the
//! bytes that same call had already decompressed into the caller's buffer are lost with it: up
//! to one read (256 KiB for our streams) of good records before the damage. Its low-level
//! `Decompress`, on the other hand, counts what it wrote even when it fails, and its zlib-rs
//! backend (like zlib) decodes straight into the output, so everything decoded before the
//! damage is there. So this reader runs `Decompress` into its own buffer of [`OUT`] bytes
//! (more than deflate's 32 KiB window), returns every byte decoded, and only then the error.
//!
//! The rest mirrors `MultiGzDecoder`, so callers see the same error kinds:
//! - members are concatenated (as Wireshark reads them); after the last one, the input ends;
//! - input ending inside a member is `UnexpectedEof` (the capture was cut short);
//! - a bad header, corrupt deflate data, or a CRC/length mismatch in the trailer is
//!   `InvalidInput` or `InvalidData`, raised after the bytes decoded before it.
//!
//! Memory is fixed: the input buffer, [`OUT`] bytes of output, and the inflate state. Header
//! fields (extra, name, comment) are skipped, never stored.

use flate2::{Decompress, FlushDecompress, Status};
use std::io::{self, BufRead, Read};

/// Output buffer size: larger than deflate's 32 KiB window, so that a failing `decompress`
/// always has room to flush everything it decoded.
const OUT: usize = 64 * 1024;

/// A member's CRC-32 and length (mod 2^32), as its trailer states them: crc32fast, whose
/// vector code is an order of magnitude faster than the table-driven CRC flate2's zlib-rs
/// backend carries.
#[derive(Default)]
struct Crc {
    hasher: crc32fast::Hasher,
    amount: u32,
}

impl Crc {
    fn new() -> Self {
        Crc::default()
    }

    fn reset(&mut self) {
        *self = Crc::default();
    }

    fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.amount = self.amount.wrapping_add(bytes.len() as u32);
    }

    fn sum(&self) -> u32 {
        self.hasher.clone().finalize()
    }

    fn amount(&self) -> u32 {
        self.amount
    }
}

/// RFC 1952 section 2.3.1: header flags.
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

pub(crate) struct GzipReader<R> {
    inner: R,
    state: State,
    inflate: Decompress,
    crc: Crc,
    out: Box<[u8]>,
    /// `out[start..end]` is decoded and not yet returned.
    start: usize,
    end: usize,
    /// The error to report once the bytes decoded before it are returned; it sticks.
    failed: Option<(io::ErrorKind, &'static str)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a member: the first must be there, later ones are optional.
    Header {
        first: bool,
    },
    Body,
    Trailer,
    Done,
}

impl<R: BufRead> GzipReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        GzipReader {
            inner,
            state: State::Header { first: true },
            inflate: Decompress::new(false),
            crc: Crc::new(),
            out: vec![0; OUT].into_boxed_slice(),
            start: 0,
            end: 0,
            failed: None,
        }
    }

    /// Parse one member header (RFC 1952 section 2.3), skipping its optional fields.
    fn header(&mut self) -> io::Result<()> {
        let mut fixed = [0u8; 10];
        self.inner.read_exact(&mut fixed)?;
        let [id1, id2, cm, flags, ..] = fixed;
        // "ID1 = 31 (0x1f), ID2 = 139 (0x8b)"; "CM = 8 denotes the deflate compression method".
        if id1 != 0x1f || id2 != 0x8b {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid gzip header",
            ));
        }
        if cm != 8 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "gzip member not compressed with deflate",
            ));
        }
        if flags & FEXTRA != 0 {
            let mut xlen = [0u8; 2];
            self.inner.read_exact(&mut xlen)?;
            self.skip(usize::from(u16::from_le_bytes(xlen)))?;
        }
        if flags & FNAME != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FHCRC != 0 {
            self.skip(2)?;
        }
        Ok(())
    }

    fn skip(&mut self, mut n: usize) -> io::Result<()> {
        while n > 0 {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let k = buf.len().min(n);
            self.inner.consume(k);
            n -= k;
        }
        Ok(())
    }

    /// Skip a zero-terminated field of any length without storing it.
    fn skip_zero_terminated(&mut self) -> io::Result<()> {
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            match buf.iter().position(|&b| b == 0) {
                Some(at) => {
                    self.inner.consume(at + 1);
                    return Ok(());
                }
                None => {
                    let k = buf.len();
                    self.inner.consume(k);
                }
            }
        }
    }

    /// "CRC32 ... ISIZE: the size of the original (uncompressed) input data modulo 2^32."
    fn trailer(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.inner.read_exact(&mut t)?;
        let (crc, size) = t.split_at(4);
        let crc = u32::from_le_bytes(crc.try_into().unwrap_or_default());
        let size = u32::from_le_bytes(size.try_into().unwrap_or_default());
        if crc != self.crc.sum() || size != self.crc.amount() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "gzip checksum or length mismatch",
            ));
        }
        Ok(())
    }

    /// Decode more into `out` (which is empty), or move to the next state.
    fn step(&mut self) -> io::Result<()> {
        match self.state {
            State::Header { first } => {
                if !first && self.inner.fill_buf()?.is_empty() {
                    self.state = State::Done;
                    return Ok(());
                }
                self.header()?;
                self.inflate.reset(false);
                self.crc.reset();
                self.state = State::Body;
            }
            State::Body => {
                let input = self.inner.fill_buf()?;
                // At the end of the input the decoder may still hold decoded bytes it had no
                // room for (how many depends on how the input arrived): drain them before
                // saying the stream was cut, so a cut loses nothing that was decodable.
                let at_end = input.is_empty();
                let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
                let res = self
                    .inflate
                    .decompress(input, &mut self.out, FlushDecompress::None);
                // Both counts are bounded by the slices given, so the casts cannot truncate.
                let consumed = (self.inflate.total_in() - in_before) as usize;
                let produced = ((self.inflate.total_out() - out_before) as usize).min(OUT);
                self.inner.consume(consumed);
                let decoded = self.out.get(..produced).unwrap_or_default();
                self.crc.update(decoded);
                self.start = 0;
                self.end = produced;
                if at_end && produced == 0 && !matches!(res, Ok(Status::StreamEnd)) {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the compressed stream ends inside a gzip member",
                    ));
                }
                match res {
                    Ok(Status::StreamEnd) => self.state = State::Trailer,
                    Ok(_) if consumed == 0 && produced == 0 => {
                        // Cannot happen with input available and an empty output, but a
                        // decoder that stalls must not spin forever.
                        self.failed = Some((io::ErrorKind::InvalidData, "gzip decoder stalled"));
                    }
                    Ok(_) => {}
                    // Kept until the bytes decoded by this same call are returned.
                    Err(_) => {
                        self.failed = Some((io::ErrorKind::InvalidInput, "corrupt deflate stream"))
                    }
                }
            }
            State::Trailer => {
                self.trailer()?;
                self.state = State::Header { first: false };
            }
            State::Done => {}
        }
        Ok(())
    }
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.start < self.end {
                let ready = self.out.get(self.start..self.end).unwrap_or_default();
                let n = ready.len().min(dst.len());
                if let (Some(to), Some(from)) = (dst.get_mut(..n), ready.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.start += n;
                return Ok(n);
            }
            if let Some((kind, what)) = self.failed {
                return Err(io::Error::new(kind, what));
            }
            if self.state == State::Done || dst.is_empty() {
                return Ok(0);
            }
            if let Err(e) = self.step() {
                // Header and trailer errors stick too: the stream is unusable after them.
                let what = match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        "the compressed stream ends inside a gzip member"
                    }
                    io::ErrorKind::InvalidInput => "invalid gzip header",
                    io::ErrorKind::InvalidData => "gzip checksum or length mismatch",
                    _ => return Err(e),
                };
                self.failed = Some((e.kind(), what));
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::{BufReader, Write};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivially so.
        (0..len)
            .map(|i| ((i * 7 + i / 251) % 97) as u8 ^ (i as u8 & 0x10))
            .collect()
    }

    /// Read everything until the end or an error, in pieces of `piece` bytes.
    fn read_all(bytes: &[u8], piece: usize) -> (Vec<u8>, Option<io::ErrorKind>) {
        let mut r = GzipReader::new(BufReader::new(bytes));
        let mut got = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Some(e.kind())),
            }
        }
    }

    #[test]
    fn decodes_like_flate2_including_concatenated_members() {
        let a = sample(300_000);
        let b = sample(1234);
        let mut both = gzip(&a);
        both.extend(gzip(&b));
        for piece in [1, 4096, 256 * 1024] {
            let (got, err) = read_all(&both, piece);
            assert_eq!(err, None);
            assert_eq!(got.len(), a.len() + b.len());
            assert!(got[..a.len()] == a[..] && got[a.len()..] == b[..]);
        }
    }

    #[test]
    fn header_fields_are_skipped() {
        let mut gz = flate2::GzBuilder::new()
            .filename("x.pcap")
            .comment("a comment")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::fast());
        gz.write_all(b"hello").unwrap();
        let (got, err) = read_all(&gz.finish().unwrap(), 100);
        assert_eq!((got.as_slice(), err), (&b"hello"[..], None));
    }

    #[test]
    fn a_cut_is_unexpected_eof_after_every_byte_before_it() {
        let data = sample(200_000);
        let zipped = gzip(&data);
        let (got, err) = read_all(&zipped[..zipped.len() / 2], 256 * 1024);
        assert_eq!(err, Some(io::ErrorKind::UnexpectedEof));
        assert!(!got.is_empty() && data.starts_with(&got));
    }

    /// A cut stream yields the same bytes however its input arrives: the decoder can hold
    /// decoded bytes back when its output is full, and those are drained at the end of the
    /// input instead of lost (the capture_file fuzz target found this on a cut gzip capture,
    /// where the memory and streaming paths disagreed by 12 KB).
    #[test]
    fn a_cut_yields_the_same_bytes_whatever_the_input_pieces() {
        // Half-compressible bytes (16 symbols), so output fills faster than input drains.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..600_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'a' + (x % 16) as u8
            })
            .collect();
        let zipped = gzip(&data);
        for cut in (1..40).map(|i| zipped.len() * i / 40) {
            let cut = &zipped[..cut];
            let read = |capacity: usize| {
                let mut r = GzipReader::new(BufReader::with_capacity(capacity, cut));
                let mut got = Vec::new();
                let err = r.read_to_end(&mut got).err().map(|e| e.kind());
                (got, err)
            };
            let whole = read(1 << 22);
            assert_eq!(whole.1, Some(io::ErrorKind::UnexpectedEof));
            assert!(data.starts_with(&whole.0));
            for capacity in [7, 997, 8192, 65_536, 100_000] {
                let got = read(capacity);
                assert_eq!(got.1, whole.1, "{capacity}");
                assert!(
                    got.0 == whole.0,
                    "cut {}, input in pieces of {capacity}: {} bytes, not {}",
                    cut.len(),
                    got.0.len(),
                    whole.0.len()
                );
            }
        }
    }

    /// The regression: flate2's `Read` dropped what the failing call had decoded (up to the
    /// caller's whole buffer). Here every byte the deflate stream yields before the damage is
    /// returned, and the same as the low-level decoder reaches on its own.
    #[test]
    fn corrupt_deflate_data_loses_nothing_decoded_before_it() {
        let data = sample(400_000);
        let zipped = gzip(&data);
        for back in [40, 300, 2000] {
            let mut bad = zipped.clone();
            let at = bad.len() - back;
            bad[at..at + 8].copy_from_slice(&[0xff; 8]);
            // What raw inflate of the damaged stream yields before failing, with room to flush.
            let mut d = Decompress::new(false);
            let mut reference = vec![0; data.len() + OUT];
            let _ = d.decompress(&bad[10..], &mut reference, FlushDecompress::None);
            reference.truncate(d.total_out() as usize);
            let (got, err) = read_all(&bad, 256 * 1024);
            assert!(
                err.is_some(),
                "damage {back} bytes from the end went unnoticed"
            );
            assert!(
                got.len() >= reference.len(),
                "{} < {}",
                got.len(),
                reference.len()
            );
            assert_eq!(got[..reference.len()], reference[..]);
        }
    }

    #[test]
    fn garbage_after_a_member_is_an_invalid_header() {
        let mut bytes = gzip(b"abc");
        bytes.extend(b"not a gzip member at all");
        let (got, err) = read_all(&bytes, 10);
        assert_eq!(got, b"abc");
        assert_eq!(err, Some(io::ErrorKind::InvalidInput));
    }
}
