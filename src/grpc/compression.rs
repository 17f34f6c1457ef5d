//! Message decompression for `grpc-encoding`, with a hard cap on the output.
//!
//! A compressed message is a few bytes that can claim gigabytes: every decoder here stops at
//! `cap` bytes of output, so a bomb costs at most `cap` bytes of memory and the time to
//! produce them, and comes back as [`CompressionError::TooLarge`].
//!
//! What each name means on the wire (checked against the implementations, not guessed):
//! - `gzip`: RFC 1952. Every gRPC implementation has it.
//! - `deflate`: the zlib format (RFC 1950). grpc-core (C++, and the Python/Ruby/PHP/C#
//!   wrappers over it) calls `deflateInit2(..., windowBits 15, ...)` for `deflate`, which is
//!   the zlib wrapper, and 15|16 for gzip. Raw deflate (RFC 1951) is accepted as a fallback
//!   because some hand-written compressors send it under that name.
//! - `snappy`: the Go compressors registered under that name (e.g. the ones built on
//!   `github.com/golang/snappy` or `klauspost/compress/snappy` with `NewBufferedWriter` /
//!   `NewWriter`) and Vert.x's (Netty `SnappyFrameEncoder`) write the snappy *framing* format,
//!   which starts with the stream identifier `ff 06 00 00 "sNaPpY"`. Input that does not start
//!   so is decoded as raw (block) snappy, as some other stacks send.
//! - `zstd`: RFC 8878 frames (one or several concatenated), decoded by `ruzstd`.
//! - `identity`: no compression; the bytes are returned as they are (the spec makes a set
//!   compressed flag with `identity` a protocol error: the caller reports that, since it is
//!   the one that knows the flag).

use std::cell::RefCell;
use std::fmt;
use std::io::Read;

/// Default cap on one decompressed message, the same as the default message limit.
pub const DEFAULT_DECOMPRESS_CAP: usize = 16 << 20;

/// The zstd window the decoder may allocate, whatever the cap: windows are declared by the
/// frame header, so a tiny frame could otherwise ask for 128 MiB.
const MIN_ZSTD_WINDOW: usize = 8 << 20;

/// Unknown encoding names are kept for display, up to this many bytes.
const MAX_ENCODING_NAME: usize = 64;

/// A `grpc-encoding` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Zstd,
    Snappy,
    /// Anything else, lowercased and cut to 64 bytes.
    Unknown(String),
}

impl Encoding {
    /// Parses a `grpc-encoding` header value (case-insensitive, whitespace trimmed). An
    /// empty value is `identity`, as an absent header would be.
    pub fn from_header(v: &[u8]) -> Self {
        let v = v.trim_ascii();
        match v.to_ascii_lowercase().as_slice() {
            b"" | b"identity" => Encoding::Identity,
            b"gzip" => Encoding::Gzip,
            b"deflate" => Encoding::Deflate,
            b"zstd" => Encoding::Zstd,
            b"snappy" => Encoding::Snappy,
            other => {
                let other = &other[..other.len().min(MAX_ENCODING_NAME)];
                Encoding::Unknown(String::from_utf8_lossy(other).into_owned())
            }
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Zstd => "zstd",
            Encoding::Snappy => "snappy",
            Encoding::Unknown(name) => name,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompressionError {
    #[error("unknown grpc-encoding {0:?}")]
    UnknownEncoding(String),
    #[error("decompressed message exceeds the {cap}-byte limit")]
    TooLarge { cap: usize },
    #[error("corrupt {encoding} data: {reason}")]
    Corrupt {
        encoding: &'static str,
        reason: String,
    },
}

/// Decompresses one message body. Output is never more than `cap` bytes: beyond that the
/// result is [`CompressionError::TooLarge`], found after at most `cap + 1` bytes of work.
pub fn decompress(enc: &Encoding, data: &[u8], cap: usize) -> Result<Vec<u8>, CompressionError> {
    match enc {
        Encoding::Identity => {
            if data.len() > cap {
                return Err(CompressionError::TooLarge { cap });
            }
            Ok(data.to_vec())
        }
        Encoding::Gzip => gunzip(data, cap),
        Encoding::Deflate => inflate(data, cap),
        Encoding::Zstd => unzstd(data, cap),
        Encoding::Snappy => unsnappy(data, cap),
        Encoding::Unknown(name) => Err(CompressionError::UnknownEncoding(name.clone())),
    }
}

/// Reads `r` to its end, failing once more than `cap` bytes have come out.
fn read_capped(
    r: impl Read,
    cap: usize,
    encoding: &'static str,
) -> Result<Vec<u8>, CompressionError> {
    let mut out = Vec::new();
    // Up to the cap, then one byte more to tell "exactly the cap" from "over it": reading
    // `cap + 1` at once would double the buffer past the cap for that one byte.
    let mut r = r.take(cap as u64);
    r.read_to_end(&mut out).map_err(|e| corrupt(encoding, &e))?;
    let mut probe = [0u8; 1];
    let more = r
        .into_inner()
        .read(&mut probe)
        .map_err(|e| corrupt(encoding, &e))?;
    if more > 0 {
        return Err(CompressionError::TooLarge { cap });
    }
    Ok(out)
}

/// RFC 1952 header flags.
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// gzip (RFC 1952), one member: the header is parsed here, the deflate stream inflated by
/// [`inflate_capped`], and the trailer's CRC-32 and length checked as gzip readers do.
fn gunzip(data: &[u8], cap: usize) -> Result<Vec<u8>, CompressionError> {
    let bad = |why: &str| corrupt("gzip", &why);
    let body = gzip_body(data).ok_or_else(|| bad("invalid gzip header"))?;
    // The trailer's length (ISIZE), as a size hint only: it is whatever the sender wrote.
    // Right, it is the one allocation the output needs; a bomb's is over the cap, so its
    // buffer is the cap from the start instead of doubling up to it.
    let hint = data
        .len()
        .checked_sub(4)
        .and_then(|at| data.get(at..))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let (out, used) = inflate_capped(body, false, cap, hint, "gzip")?;
    let trailer = body
        .get(used..used + 8)
        .ok_or_else(|| bad("unexpected end of data: no gzip trailer"))?;
    let crc = crc32fast::hash(&out);
    let want_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let want_len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc != want_crc {
        return Err(bad("CRC-32 mismatch"));
    }
    if want_len != out.len() as u32 {
        return Err(bad("length mismatch"));
    }
    Ok(out)
}

/// The deflate stream of a gzip member: what follows its header.
fn gzip_body(data: &[u8]) -> Option<&[u8]> {
    let (fixed, mut rest) = data.split_at_checked(10)?;
    // ID1 ID2 CM(8 = deflate) FLG MTIME(4) XFL OS.
    if fixed[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = fixed[3];
    if flags & FEXTRA != 0 {
        let (len, more) = rest.split_at_checked(2)?;
        rest = more.get(usize::from(u16::from_le_bytes([len[0], len[1]]))..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = rest.iter().position(|&b| b == 0)?;
            rest = rest.get(end + 1..)?;
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    Some(rest)
}

/// Inflates a deflate stream (RFC 1951; with its zlib wrapper and Adler-32 check when `zlib`)
/// into a buffer of at most `cap` bytes. Returns the bytes and how much of `input` the stream
/// took.
///
/// Through flate2's zlib-rs backend, one decoder of each kind per thread, reset per message
/// (flate2's miniz backend cleared 33 KB of state per message; miniz_oxide's own decoder,
/// used here before, rebuilt its Huffman tables from scratch for every block, the fixed
/// ones too: 8% of a `--frames` export whose gzip messages are a few hundred bytes each).
fn inflate_capped(
    input: &[u8],
    zlib: bool,
    cap: usize,
    size_hint: Option<usize>,
    encoding: &'static str,
) -> Result<(Vec<u8>, usize), CompressionError> {
    use flate2::{Decompress, FlushDecompress, Status};
    thread_local! {
        /// Raw deflate, zlib.
        static DECODERS: RefCell<[Option<Decompress>; 2]> = const { RefCell::new([None, None]) };
    }
    let run = |d: &mut Decompress| {
        d.reset(zlib);
        // The hint, else a first guess of 4x the input; doubled as needed, never past the cap.
        let guess = input.len().saturating_mul(4).clamp(256, 1 << 20);
        let mut out = vec![0u8; size_hint.unwrap_or(guess).min(cap)];
        let (mut in_pos, mut out_pos) = (0usize, 0usize);
        loop {
            let (before_in, before_out) = (d.total_in(), d.total_out());
            let status = d.decompress(
                input.get(in_pos..).unwrap_or_default(),
                out.get_mut(out_pos..).unwrap_or_default(),
                FlushDecompress::Finish,
            );
            in_pos += (d.total_in() - before_in) as usize;
            out_pos += (d.total_out() - before_out) as usize;
            match status {
                Ok(Status::StreamEnd) => {
                    out.truncate(out_pos);
                    if out.capacity() > out_pos.saturating_mul(2).saturating_add(4096) {
                        // A hint far over the truth: give the room back.
                        out.shrink_to_fit();
                    }
                    return Ok((out, in_pos));
                }
                // Stopped short: for want of room, else for want of input.
                Ok(Status::Ok | Status::BufError) if out_pos < out.len() => {
                    return Err(corrupt(encoding, &"unexpected end of data"));
                }
                Ok(Status::Ok | Status::BufError) => {
                    if out.len() >= cap {
                        return Err(CompressionError::TooLarge { cap });
                    }
                    let grown = out.len().saturating_mul(2).max(256).min(cap);
                    out.resize(grown, 0);
                }
                Err(e) if e.message() == Some("incorrect data check") => {
                    return Err(corrupt(encoding, &"Adler-32 mismatch"));
                }
                Err(_) => return Err(corrupt(encoding, &"invalid deflate data")),
            }
        }
    };
    let fresh = || Decompress::new(zlib);
    DECODERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slots) => run(slots[usize::from(zlib)].get_or_insert_with(fresh)),
        // Not reentrant in practice; if it ever were, a decoder of its own does the job.
        Err(_) => run(&mut fresh()),
    })
}

fn corrupt(encoding: &'static str, e: &dyn fmt::Display) -> CompressionError {
    CompressionError::Corrupt {
        encoding,
        reason: e.to_string(),
    }
}

/// RFC 1950 header: CM = 8 (deflate), CINFO <= 7, and the header checksum.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

fn inflate(data: &[u8], cap: usize) -> Result<Vec<u8>, CompressionError> {
    let raw = || inflate_capped(data, false, cap, None, "deflate").map(|(out, _)| out);
    if !looks_like_zlib(data) {
        return raw();
    }
    match inflate_capped(data, true, cap, None, "deflate") {
        Ok((out, _)) => Ok(out),
        Err(e @ CompressionError::TooLarge { .. }) => Err(e),
        // One raw stream in 31 or so passes the header check by chance.
        Err(zlib_err) => raw().map_err(|_| zlib_err),
    }
}

fn unzstd(data: &[u8], cap: usize) -> Result<Vec<u8>, CompressionError> {
    let max_window = cap.max(MIN_ZSTD_WINDOW) as u64;
    let mut src = data;
    let mut out = Vec::new();
    // Frames may be concatenated; each is read through what is left of the cap.
    loop {
        let dec =
            ruzstd::decoding::StreamingDecoder::new_with_max_window_size(&mut src, max_window)
                .map_err(|e| corrupt("zstd", &e))?;
        let room = cap - out.len();
        let limit = (room as u64).saturating_add(1);
        dec.take(limit)
            .read_to_end(&mut out)
            .map_err(|e| corrupt("zstd", &e))?;
        if out.len() > cap {
            return Err(CompressionError::TooLarge { cap });
        }
        if src.is_empty() {
            return Ok(out);
        }
    }
}

/// The snappy framing format's stream identifier chunk.
const SNAPPY_STREAM_ID: &[u8] = b"\xff\x06\x00\x00sNaPpY";

fn unsnappy(data: &[u8], cap: usize) -> Result<Vec<u8>, CompressionError> {
    if data.starts_with(SNAPPY_STREAM_ID) {
        return read_capped(snap::read::FrameDecoder::new(data), cap, "snappy");
    }
    // Raw snappy states its length up front: check it before allocating anything.
    let len = snap::raw::decompress_len(data).map_err(|e| corrupt("snappy", &e))?;
    if len > cap {
        return Err(CompressionError::TooLarge { cap });
    }
    snap::raw::Decoder::new()
        .decompress_vec(data)
        .map_err(|e| corrupt("snappy", &e))
}

#[cfg(test)]
mod tests;
