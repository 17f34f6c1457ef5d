//! The byte source under the capture parsers: one `fill(n)` / `take(n)` interface over a whole
//! file in memory (a memory map or a `Vec`) or a bounded streaming buffer, optionally behind a
//! gzip decoder.
//!
//! Contract:
//! - `fill(n)` makes the next `n` unconsumed bytes visible and returns them; it returns fewer
//!   only at the end of the input. It never consumes.
//! - `take(n)` consumes up to `n` bytes that a previous `fill` made visible and returns them.
//!   The returned slice borrows the input, so the borrow checker guarantees it is dead before
//!   the next `fill` (the only call that moves or overwrites buffered bytes).
//!
//! For whole inputs both calls are slicing: packets are borrowed straight from the mapping.
//! For streams, one buffer holds the unconsumed bytes; it starts at [`CHUNK`] bytes, grows only
//! to the size of the record the parser asks for (the parsers bound that by their hard limit,
//! so this layer never sees an unbounded `n`), and is compacted (and shrunk back after an
//! unusually large record) when the next record does not fit behind the current position.

use super::file::CaptureError;
use super::gzip::GzipReader;
use memmap2::Mmap;
use std::io::{self, BufReader, Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Read size for streams, and the buffer size we return to after a larger record.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Compressed bytes read ahead of the gzip decoder.
const GZIP_INPUT: usize = 64 * 1024;

/// A memory-mapped input gives the pages it has read back to the OS every this many bytes.
#[cfg(unix)]
const RELEASE_EVERY: usize = 8 << 20;

/// The bytes of a whole input: a read-only memory map, or a buffer (`from_bytes`).
pub(crate) enum Backing {
    Map(Mmap),
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for Backing {
    fn as_ref(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

pub(crate) struct Input {
    src: Source,
    /// Bytes consumed so far (of the decompressed input when gzipped).
    consumed: u64,
    /// For I/O error messages.
    path: Option<PathBuf>,
    /// Compressed bytes read so far, shared with the counting reader under the gzip decoder.
    compressed: Option<Arc<AtomicU64>>,
    /// The gzip stream ended in the middle of a member: the capture was cut short.
    cut_short: bool,
}

enum Source {
    Whole {
        data: Backing,
        pos: usize,
        /// Mapped bytes before this were given back to the OS (`live::release_mapped`).
        released: usize,
    },
    Stream(Stream),
}

struct Stream {
    reader: Box<dyn Read + Send>,
    /// `buf[start..end]` are the unconsumed bytes; `buf.len()` is the buffer's capacity in use.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl Input {
    pub(crate) fn whole(data: Backing, path: Option<PathBuf>) -> Self {
        Self::new(
            Source::Whole {
                data,
                pos: 0,
                released: 0,
            },
            path,
        )
    }

    pub(crate) fn stream(reader: Box<dyn Read + Send>, path: Option<PathBuf>) -> Self {
        let stream = Stream {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
        };
        Self::new(Source::Stream(stream), path)
    }

    fn new(src: Source, path: Option<PathBuf>) -> Self {
        Input {
            src,
            consumed: 0,
            path,
            compressed: None,
            cut_short: false,
        }
    }

    /// Replace this input, which must be unconsumed and start with a gzip header, by a stream of
    /// its decompressed bytes. Bytes already buffered from a stream are replayed to the decoder.
    pub(crate) fn into_gzip(self) -> Input {
        let compressed: Box<dyn Read + Send> = match self.src {
            Source::Whole { data, pos, .. } => {
                let mut cursor = Cursor::new(data);
                cursor.set_position(pos as u64);
                Box::new(cursor)
            }
            Source::Stream(s) => {
                let buffered = s.buf.get(s.start..s.end).unwrap_or_default().to_vec();
                Box::new(Cursor::new(buffered).chain(s.reader))
            }
        };
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counting {
            inner: compressed,
            count: Arc::clone(&count),
        };
        let decoder = GzipReader::new(BufReader::with_capacity(GZIP_INPUT, counted));
        let mut input = Input::stream(Box::new(decoder), self.path);
        input.compressed = Some(count);
        input
    }

    /// The next `n` unconsumed bytes (fewer only at the end of the input).
    pub(crate) fn fill(&mut self, n: usize) -> Result<&[u8], CaptureError> {
        let Input {
            src,
            consumed,
            path,
            compressed,
            cut_short,
        } = self;
        match src {
            Source::Whole {
                data,
                pos,
                released,
            } => {
                // Every slice `take` handed out is dead by now (see the module doc), so the
                // mapped pages behind `pos` can go: reading a file keeps a flat RSS.
                #[cfg(unix)]
                if let Backing::Map(map) = data
                    && *pos - *released >= RELEASE_EVERY
                {
                    let _ = super::live::release_mapped(map, *released, *pos);
                    *released = *pos - *pos % super::live::RELEASE_ALIGN;
                }
                let data = Backing::as_ref(data);
                let end = pos.saturating_add(n).min(data.len());
                Ok(data.get(*pos..end).unwrap_or_default())
            }
            Source::Stream(s) => {
                if let Err(e) = s.fill(n) {
                    let kind = e.kind();
                    match compressed {
                        // The decoder reports a stream that stops inside a gzip member as
                        // UnexpectedEof: treat it as the end of the input, so the parser reports
                        // the record it cuts, and remember it for a cut at a record boundary.
                        Some(_) if kind == io::ErrorKind::UnexpectedEof => {
                            s.eof = true;
                            *cut_short = true;
                        }
                        // Bad headers, corrupt deflate data and CRC mismatches.
                        Some(_)
                            if matches!(
                                kind,
                                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                            ) =>
                        {
                            return Err(CaptureError::Gzip {
                                offset: *consumed,
                                source: e,
                            });
                        }
                        _ => {
                            return Err(CaptureError::Io {
                                path: path.clone(),
                                source: e,
                            });
                        }
                    }
                }
                Ok(s.visible(n))
            }
        }
    }

    /// Consume up to `n` bytes made visible by the last `fill`, and return them.
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        let (start, end, bytes): (usize, usize, &[u8]) = match &mut self.src {
            Source::Whole { data, pos, .. } => {
                let data = Backing::as_ref(data);
                let start = *pos;
                let end = start.saturating_add(n).min(data.len());
                *pos = end;
                (start, end, data)
            }
            Source::Stream(s) => {
                let start = s.start;
                let end = start.saturating_add(n).min(s.end);
                s.start = end;
                (start, end, &s.buf)
            }
        };
        self.consumed += (end - start) as u64;
        bytes.get(start..end).unwrap_or_default()
    }

    /// Bytes consumed so far (decompressed bytes for gzip).
    pub(crate) fn position(&self) -> u64 {
        self.consumed
    }

    /// Compressed bytes read from the underlying file so far, for gzip inputs. The decoder reads
    /// ahead, so this runs up to one decoder buffer (and one `CHUNK` of output) ahead.
    pub(crate) fn compressed_position(&self) -> Option<u64> {
        self.compressed.as_ref().map(|c| c.load(Ordering::Relaxed))
    }

    pub(crate) fn is_gzip(&self) -> bool {
        self.compressed.is_some()
    }

    /// Whether a gzip stream ended inside a member (reported by the reader at the end).
    pub(crate) fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// The streaming buffer's size, for tests of the memory bound.
    #[cfg(test)]
    pub(crate) fn buffer_len(&self) -> usize {
        match &self.src {
            Source::Whole { .. } => 0,
            Source::Stream(s) => s.buf.len(),
        }
    }
}

impl Stream {
    fn buffered(&self) -> usize {
        self.end - self.start
    }

    fn visible(&self, n: usize) -> &[u8] {
        let end = self.start.saturating_add(n).min(self.end);
        self.buf.get(self.start..end).unwrap_or_default()
    }

    /// Read until `n` bytes are buffered or the reader ends.
    fn fill(&mut self, n: usize) -> io::Result<()> {
        if self.buffered() >= n || self.eof {
            return Ok(());
        }
        if self.start.saturating_add(n) > self.buf.len() {
            // The record does not fit behind the current position. Consumed bytes are dead
            // (every slice handed out by `take` ended its borrow before this call), so move the
            // unconsumed ones to the front.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if n > self.buf.len() {
                self.buf.resize(n.max(CHUNK), 0);
            } else if self.buf.len() > CHUNK && n <= CHUNK && self.end <= CHUNK {
                // Back to normal after a large record: do not keep megabytes for small packets.
                self.buf.truncate(CHUNK);
                self.buf.shrink_to_fit();
            }
        }
        while self.buffered() < n {
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            if space.is_empty() {
                break; // unreachable: the buffer holds at least start + n bytes
            }
            let room = space.len();
            match self.reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                // A misbehaving reader may claim more than the room it was given.
                Ok(k) => self.end += k.min(room),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Counts the compressed bytes the gzip decoder reads, for progress reporting.
struct Counting {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(data: Vec<u8>) -> Input {
        Input::stream(Box::new(Cursor::new(data)), None)
    }

    #[test]
    fn whole_fill_and_take_borrow_in_place() {
        let mut input = Input::whole(Backing::Owned(vec![1, 2, 3, 4, 5]), None);
        assert_eq!(input.fill(2).unwrap(), &[1, 2]);
        assert_eq!(input.take(2), &[1, 2]);
        assert_eq!(input.position(), 2);
        assert_eq!(input.fill(10).unwrap(), &[3, 4, 5]);
        assert_eq!(input.take(10), &[3, 4, 5]);
        assert_eq!(input.fill(1).unwrap(), &[] as &[u8]);
        assert_eq!(input.take(1), &[] as &[u8]);
        assert_eq!(input.position(), 5);
    }

    #[test]
    fn stream_refills_across_chunks_and_compacts() {
        let data: Vec<u8> = (0..3 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let mut input = stream_of(data.clone());
        let mut at = 0;
        // Odd-sized records so they straddle chunk boundaries.
        while at < data.len() {
            let n = 1000.min(data.len() - at);
            assert_eq!(input.fill(n).unwrap(), &data[at..at + n]);
            assert_eq!(input.take(n), &data[at..at + n]);
            at += n;
            assert!(input.buffer_len() <= CHUNK);
        }
        assert!(input.fill(1).unwrap().is_empty());
        assert_eq!(input.position(), data.len() as u64);
    }

    #[test]
    fn stream_grows_for_a_large_record_then_shrinks_back() {
        let big = 3 * CHUNK + 5;
        let data: Vec<u8> = (0..big + 4 * CHUNK).map(|i| (i % 253) as u8).collect();
        let mut input = stream_of(data.clone());
        assert_eq!(input.fill(10).unwrap().len(), 10);
        input.take(10);
        assert_eq!(input.fill(big).unwrap(), &data[10..10 + big]);
        assert_eq!(input.buffer_len(), big);
        input.take(big);
        let mut at = 10 + big;
        while at < data.len() {
            let n = 4096.min(data.len() - at);
            assert_eq!(input.take_filled(n), &data[at..at + n]);
            at += n;
        }
        assert_eq!(input.buffer_len(), CHUNK);
    }

    #[test]
    fn stream_short_at_end() {
        let mut input = stream_of(vec![9; 10]);
        assert_eq!(input.fill(16).unwrap().len(), 10);
        assert_eq!(input.take(16).len(), 10);
        assert!(input.fill(16).unwrap().is_empty());
    }

    impl Input {
        fn take_filled(&mut self, n: usize) -> Vec<u8> {
            let got = self.fill(n).unwrap().len();
            assert_eq!(got, n);
            self.take(n).to_vec()
        }
    }
}
