//! The compact document's held records (its connections): serialized as they complete,
//! held back to back in pre-faulted chunks, written in key order at the end.
//!
//! Streams are written as the capture is read (see `Streams` in the parent module);
//! connection records come after them in the document, so they wait for the end: with
//! `--frames` (every connection's own frames) that can be hundreds of MB. On this machine
//! class, filling fresh memory one 4 KiB page fault at a time costs about 0.65 ms per MB:
//! a gRPC export without bodies spent a sixth of its time in the kernel, most of it there,
//! when the whole document was held this way.
//! Chunks are therefore mapped with `MAP_POPULATE` (the kernel faults them in one
//! call, about 40% cheaper), and grow from small to [`MAX_CHUNK`] so a small export does
//! not populate memory it never uses. Transparent huge pages would be cheaper still, but
//! with `defrag=madvise` (Debian's default) a fragmented machine stalls for compaction
//! (seen: 0.7 s for 300 MB instead of 40 ms), so they are not asked for.
//!
//! Each record is followed by a comma in its chunk, so records that are adjacent in key
//! order and in memory (connections that end in the order they start) are written with one
//! call instead of being copied through a buffer one by one.
//!
//! Beyond [`SPILL_FROM`] bytes held, full chunks go to a temporary file (unlinked at once,
//! so nothing is left behind) and their memory is given back, as `sort` does it: what
//! stays is the index, 24 bytes a record (a connection's record is hundreds of bytes to
//! hundreds of kilobytes). The file is in `$TMPDIR`: on a tmpfs it is memory again. Where
//! no temporary file can be made or written, the chunks stay in memory, as before.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// The first chunk's size; each new chunk doubles it, up to [`MAX_CHUNK`].
const FIRST_CHUNK: usize = 64 << 10;
/// The largest chunk (a bigger record gets a chunk of its own size).
const MAX_CHUNK: usize = 16 << 20;
/// Chunks from this size are populated anonymous mappings; smaller ones are plain heap.
const MAP_FROM: usize = 1 << 20;
/// Bytes of chunks held in memory beyond which the full ones go to the spill file. Not
/// less: spilling costs about 1.2 ms of system time per MB written and read back here (8%
/// of a one-core `--frames` export when 32 MiB was the bound), and a 1 GB capture's
/// connection records (200 MB with `--frames`) fit.
const SPILL_FROM: usize = 256 << 20;
/// Spilled bytes are read back this much at a time.
const READ_BACK: usize = 1 << 20;

/// Fixed-size storage for records: a record never spans two chunks, and a chunk never moves
/// or grows (a growing buffer would be copied at each doubling and briefly held twice).
struct Chunk {
    buf: Storage,
    len: usize,
}

enum Storage {
    Heap(Box<[u8]>),
    Mapped(memmap2::MmapMut),
    /// In the spill file from this offset; its memory given back.
    Spilled(u64),
}

/// Where full chunks go once too much is held.
enum Spill {
    /// Not needed yet.
    None,
    /// The file and its length; `broken` once a write failed (what it holds stays good,
    /// later chunks stay in memory).
    File { file: File, len: u64, broken: bool },
    /// No temporary file could be made: everything stays in memory.
    Unavailable,
}

impl Chunk {
    fn new(size: usize) -> Self {
        let buf = if size >= MAP_FROM {
            // Where mapping fails (an address-space limit), the heap's failure is the one
            // reported: the same allocation error as any other.
            memmap2::MmapOptions::new()
                .len(size)
                .populate()
                .map_anon()
                .map(Storage::Mapped)
                .unwrap_or_else(|_| Storage::Heap(vec![0; size].into_boxed_slice()))
        } else {
            Storage::Heap(vec![0; size].into_boxed_slice())
        };
        Chunk { buf, len: 0 }
    }

    /// The chunk's memory (nothing once spilled).
    fn bytes(&self) -> &[u8] {
        match &self.buf {
            Storage::Heap(b) => b,
            Storage::Mapped(m) => m,
            Storage::Spilled(_) => &[],
        }
    }

    fn spare(&mut self) -> &mut [u8] {
        let buf: &mut [u8] = match &mut self.buf {
            Storage::Heap(b) => b,
            Storage::Mapped(m) => m,
            Storage::Spilled(_) => &mut [],
        };
        buf.get_mut(self.len..).unwrap_or_default()
    }
}

/// Serialized records (compact JSON) and their sort keys.
pub(super) struct Records<K> {
    chunks: Vec<Chunk>,
    /// Per record, in arrival order: its sort key, its chunk, and where its bytes start and
    /// end there.
    index: Vec<(K, u32, u32, u32)>,
    /// The chunk small records go to, and the size of the next one.
    current: Option<usize>,
    next_size: usize,
    /// The record being serialized (reused: it stays in cache, and its size is known
    /// before a chunk is chosen).
    scratch: Vec<u8>,
    /// Bytes of the chunks in memory, and beyond how many the full ones are spilled.
    held: usize,
    spill_from: usize,
    spill: Spill,
}

impl<K: Ord + Copy> Records<K> {
    pub(super) fn new() -> Self {
        Records {
            chunks: Vec::new(),
            index: Vec::new(),
            current: None,
            next_size: FIRST_CHUNK,
            scratch: Vec::new(),
            held: 0,
            spill_from: SPILL_FROM,
            spill: Spill::None,
        }
    }

    /// A new chunk of at least `size` bytes, spilling the full ones first when too much
    /// is held; returns its number.
    fn add_chunk(&mut self, size: usize) -> usize {
        if self.held.saturating_add(size) > self.spill_from {
            self.spill_full_chunks();
        }
        let chunk = Chunk::new(size);
        self.held += chunk.bytes().len();
        self.chunks.push(chunk);
        self.chunks.len() - 1
    }

    /// Writes every chunk in memory but the current one to the spill file and frees it.
    fn spill_full_chunks(&mut self) {
        if matches!(self.spill, Spill::None) {
            self.spill = match tempfile::tempfile() {
                Ok(file) => Spill::File {
                    file,
                    len: 0,
                    broken: false,
                },
                Err(_) => Spill::Unavailable,
            };
        }
        let Spill::File {
            file,
            len,
            broken: broken @ false,
        } = &mut self.spill
        else {
            return;
        };
        for (i, chunk) in self.chunks.iter_mut().enumerate() {
            if Some(i) == self.current || matches!(chunk.buf, Storage::Spilled(_)) {
                continue;
            }
            let size = chunk.bytes().len();
            let used = chunk.bytes().get(..chunk.len).unwrap_or_default();
            if file.write_all_at(used, *len).is_err() {
                *broken = true;
                return;
            }
            let at = *len;
            *len += used.len() as u64;
            chunk.buf = Storage::Spilled(at);
            self.held -= size;
        }
    }

    #[cfg(test)]
    fn push<T: serde::Serialize>(&mut self, key: K, value: &T) {
        self.push_with(key, |out| crate::compact_json::to_vec(out, value));
    }

    /// Adds the record that `write` writes (compact JSON), to come out in `key` order.
    pub(super) fn push_with(
        &mut self,
        key: K,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), crate::compact_json::Error>,
    ) {
        self.scratch.clear();
        // Our types serialize without errors (string keys only); a failed record is left out.
        if write(&mut self.scratch).is_err() {
            return;
        }
        self.scratch.push(b',');
        let need = self.scratch.len();
        // A record past 4 GiB cannot be indexed: it is left out.
        if u32::try_from(need).is_err() {
            return;
        }
        let n = if need > MAX_CHUNK / 4 {
            // A large record gets a chunk of its own: the current chunk's free space is
            // kept for the records after it (populated memory is resident).
            self.add_chunk(need)
        } else {
            match self.current {
                Some(i)
                    if self
                        .chunks
                        .get_mut(i)
                        .is_some_and(|c| c.spare().len() >= need) =>
                {
                    i
                }
                _ => {
                    // The current chunk is full: it may be spilled with the others.
                    self.current = None;
                    let n = self.add_chunk(self.next_size.max(need));
                    self.next_size = self.next_size.saturating_mul(2).min(MAX_CHUNK);
                    self.current = Some(n);
                    n
                }
            }
        };
        let Some(chunk) = self.chunks.get_mut(n) else {
            return;
        };
        let start = chunk.len;
        if let Some(dst) = chunk.spare().get_mut(..need) {
            dst.copy_from_slice(&self.scratch);
            chunk.len += need;
            // A chunk is at most MAX_CHUNK, or one record whose size fits in u32 (checked
            // above); the record's range leaves out its comma.
            let (start, end) = (start as u32, (start + need - 1) as u32);
            self.index.push((key, n as u32, start, end));
        }
    }

    /// Writes `[r1,r2,...]` in key order (ties keep their order, as a stable sort does).
    /// The records' last use: the index is sorted in place (it is what stays in memory when
    /// the records are spilled).
    pub(super) fn write_sorted(mut self, out: &mut impl Write) -> io::Result<()> {
        let mut ranges = std::mem::take(&mut self.index);
        ranges.sort_by_key(|&(k, ..)| k);
        out.write_all(b"[")?;
        let mut run: Option<(u32, u32, u32)> = None;
        for &(_, c, s, e) in &ranges {
            match &mut run {
                // The next record in memory (past the comma): the run grows.
                Some((rc, _, re)) if *rc == c && re.checked_add(1) == Some(s) => *re = e,
                _ => {
                    if let Some(done) = run {
                        self.write_run(out, done)?;
                        out.write_all(b",")?;
                    }
                    run = Some((c, s, e));
                }
            }
        }
        if let Some(done) = run {
            self.write_run(out, done)?;
        }
        out.write_all(b"]")
    }

    /// Writes the bytes of consecutive records (with the commas between them).
    fn write_run(&mut self, out: &mut impl Write, (c, s, e): (u32, u32, u32)) -> io::Result<()> {
        let Some(chunk) = self.chunks.get(c as usize) else {
            return Ok(());
        };
        let (Storage::Spilled(at), Spill::File { file, .. }) = (&chunk.buf, &self.spill) else {
            return out.write_all(
                chunk
                    .bytes()
                    .get(s as usize..e as usize)
                    .unwrap_or_default(),
            );
        };
        // Read back a piece at a time (the run may be a whole chunk) into one buffer for
        // every run: connections that end out of order make a run per record.
        let buf = &mut self.scratch;
        buf.resize(READ_BACK, 0);
        let (mut from, end) = (at + u64::from(s), at + u64::from(e));
        while from < end {
            let piece = buf
                .get_mut(..(end - from).min(READ_BACK as u64) as usize)
                .unwrap_or_default();
            file.read_exact_at(piece, from)?;
            out.write_all(piece)?;
            from += piece.len() as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written<K: Ord + Copy>(r: Records<K>) -> String {
        let mut out = Vec::new();
        r.write_sorted(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn records_come_out_in_key_order_ties_in_arrival_order() {
        assert_eq!(written(Records::<u32>::new()), "[]");
        let mut r = Records::new();
        for (k, v) in [(3, "c"), (1, "a"), (2, "b1"), (2, "b2"), (0, "z")] {
            r.push(k, &v);
        }
        assert_eq!(written(r), r#"["z","a","b1","b2","c"]"#);
    }

    #[test]
    fn a_record_larger_than_the_next_chunk_gets_room() {
        let mut r = Records::new();
        let sizes = [
            10,
            3 * FIRST_CHUNK,
            FIRST_CHUNK + 1,
            MAX_CHUNK / 4,
            MAX_CHUNK / 4 + 1,
        ];
        let values: Vec<String> = sizes.iter().map(|&n| "v".repeat(n)).collect();
        for (i, v) in values.iter().enumerate() {
            r.push(i, v);
        }
        let want: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        assert_eq!(written(r), format!("[{}]", want.join(",")));
    }

    #[test]
    fn records_larger_than_a_chunk_and_many_chunks_keep_their_bytes() {
        many_records(Records::new(), |_| {});
    }

    /// Past the threshold, full chunks go to the spill file and come back in order; the
    /// current chunk stays. Without a file, everything stays in memory.
    #[test]
    fn spilled_records_come_back_in_key_order() {
        let spilled = |r: &Records<u32>| {
            r.chunks
                .iter()
                .filter(|c| matches!(c.buf, Storage::Spilled(_)))
                .count()
        };
        let mut r = Records::new();
        r.spill_from = 256 << 10;
        many_records(r, |r| {
            assert!(
                spilled(r) > 3,
                "{} of {} spilled",
                spilled(r),
                r.chunks.len()
            );
            assert!(r.held <= (256 << 10) + MAX_CHUNK, "{} held", r.held);
            assert!(!matches!(
                r.chunks[r.current.unwrap()].buf,
                Storage::Spilled(_)
            ));
        });

        let mut r = Records::new();
        r.spill_from = 256 << 10;
        r.spill = Spill::Unavailable;
        many_records(r, |r| assert_eq!(spilled(r), 0));
    }

    /// Fills `r` with many records of interleaved keys and a huge one, hands it to `inspect`,
    /// and checks what it writes.
    fn many_records(mut r: Records<u32>, inspect: impl FnOnce(&Records<u32>)) {
        let big = "x".repeat(MAX_CHUNK + 10);
        let mut want = Vec::new();
        // Enough small records to fill several growing chunks, a huge one in the middle,
        // keys that interleave chunks.
        for i in 0..40_000u32 {
            let v = format!("record {i} {}", "y".repeat((i % 97) as usize));
            r.push(i % 1000, &v);
            want.push((i % 1000, i, serde_json::to_string(&v).unwrap()));
            if i == 20_000 {
                r.push(500, &big);
                want.push((500, i, serde_json::to_string(&big).unwrap()));
            }
        }
        assert!(r.chunks.len() > 4, "{} chunks", r.chunks.len());
        inspect(&r);
        want.sort_by_key(|&(k, i, _)| (k, i));
        let want: Vec<&str> = want.iter().map(|(_, _, s)| s.as_str()).collect();
        assert_eq!(written(r), format!("[{}]", want.join(",")));
    }
}
