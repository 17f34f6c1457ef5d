//! Capture files: pcap and pcapng, plain or gzip-compressed, from a memory-mapped file or any
//! stream, read one [`Record`] at a time in bounded memory.
//!
//! # Why our own reader
//! We do not use pcap-parser. Both formats are small (a few hundred lines here), and writing
//! the reader gives us what a general parser does not:
//! - one code path for memory maps and streams (stdin, pipes, gzip): the parsers ask an
//!   `input::Input` for `fill(n)` / `take(n)` and never know which it is. Records are
//!   borrowed straight from the mapping, or from one streaming buffer that grows only to the
//!   record at hand;
//! - precise damage reports as data: a cut-off final record becomes
//!   [`Notice::TruncatedRecord`] with its offset and the bytes needed and present, unknown
//!   blocks and interfaces become notices, and only framing that makes the next record's start
//!   unknowable is an error, after every record before it has been returned;
//! - full control of hostile input: our own hard limits, no trust in the header's snaplen,
//!   bounded option walks, interface tables and comment queues.
//!
//! # Contract
//! - The first records describe the file: pcap yields one `Notice::Interface { id: 0, .. }`;
//!   pcapng yields the section header's comments, then an `Interface` notice per IDB, in file
//!   order (ids restart at 0 in every section).
//! - A packet's comments (pcapng opt_comment) come right after the packet, with the block's
//!   offset; other notices come where their block is.
//! - At the end of a clean file: `Ok(None)`. At a cut-off final record: one
//!   `TruncatedRecord`, then `Ok(None)`. At impossible framing: `Err`, then `Ok(None)` forever.
//! - Offsets are byte positions in the (decompressed) input.
//! - Not interpreted: pcap's `thiszone` (always 0 in practice; libpcap ignores it too) and
//!   the FCS bits of pcap's link type (any FCS stays in the packet bytes).
//!
//! # Limits
//! - [`MAX_RECORD_LEN`] (16 MiB) bounds a pcap record's captured length and a pcapng block's
//!   total length: 64 times tcpdump's largest snaplen (256 KiB), so odd-but-real files pass,
//!   while a garbage length is `RecordTooLarge` instead of a 4 GiB buffer. The header's own
//!   snaplen is reported but not enforced (writers put 0 or 2^32-1 there).
//! - Streams are read in `CHUNK` (256 KiB) reads into one buffer of at most
//!   `max(CHUNK, MAX_RECORD_LEN)` bytes, plus the gzip decoder's fixed state. A record header
//!   claiming up to the limit is believed until the input ends, so a hostile stream can make
//!   the buffer reach 16 MiB, never more; the buffer shrinks back after a large record.
//! - Memory maps borrow the file: the process's RSS counts the mapped pages read so far, but
//!   they are clean page cache, which `Advice::Sequential` lets the kernel drop first. Dropping
//!   them eagerly needs `MADV_DONTNEED`, which memmap2 rightly marks unsafe; we do not.
//! - pcapng: at most 65,536 interfaces per section, interface names cut at 256 bytes, at most
//!   64 comment notices per block.
//!
//! # gzip
//! An input starting with 1f 8b is decompressed as a stream (our `gzip::GzipReader` over
//! flate2's inflate, so concatenated members work, as in Wireshark), whatever its name, for `open`, `from_reader`
//! and `from_bytes` alike. A gzip stream that stops mid-member ends the input: the record it
//! cuts is a `TruncatedRecord`, and a cut between records is a [`CaptureError::Gzip`] at the
//! end. Corrupt compressed data is a `Gzip` error, raised only after every record decompressed
//! before the damage was returned (flate2's own reader dropped up to 256 KiB of them). gzip checks its CRC only at the end of a
//! member, so records decompressed before a bad checksum are returned before the error.
//!
//! # Progress
//! [`CaptureReader::position`] counts (decompressed) bytes consumed. [`CaptureReader::size_hint`]
//! is the size of the input as stored, which for gzip is the compressed size: compare it with
//! [`CaptureReader::compressed_position`], or use [`CaptureReader::progress`], which pairs the
//! right two.

use super::bytes::Endian;
use super::input::{Backing, Input};
use super::pcap::PcapParser;
use super::pcapng::{self, PcapNgParser};
use super::{LinkType, Notice, Packet, Record, Timestamp};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The hard limit on a pcap record's captured length and on a pcapng block's total length.
pub const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic pcap: `nanos` for the a1b23c4d magic, `big_endian` for the writer's byte order.
    Pcap { nanos: bool, big_endian: bool },
    /// pcapng (each section has its own byte order).
    PcapNg,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Opening or reading failed; `path` is the file (or `<stdin>`) when known.
    #[error("{}{source}", path_prefix(.path.as_deref()))]
    Io {
        path: Option<PathBuf>,
        source: io::Error,
    },
    #[error("{}: is a directory, not a capture file", .path.display())]
    IsADirectory { path: PathBuf },
    #[error("the capture is empty (0 bytes)")]
    Empty,
    #[error("the input is only {len} bytes long, too short for a pcap or pcapng header")]
    TooShort { len: usize },
    #[error("not a pcap or pcapng capture: it starts with {}{}", hex(.magic), looks_like(.magic))]
    NotACapture { magic: [u8; 4] },
    #[error(
        "the record at byte {offset} claims {len} bytes, over the {limit}-byte limit: the file is corrupt from there on"
    )]
    RecordTooLarge { offset: u64, len: u64, limit: u64 },
    #[error("malformed capture at byte {offset}: {what}")]
    Malformed { offset: u64, what: String },
    #[error("gzip data is damaged after {offset} decompressed bytes: {source}")]
    Gzip { offset: u64, source: io::Error },
}

fn path_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

fn hex(magic: &[u8; 4]) -> String {
    let mut s = String::new();
    for (i, b) in magic.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(s, "{sep}{b:02x}");
    }
    s
}

/// What a non-capture file looks like, when its first bytes say so clearly.
fn looks_like(magic: &[u8; 4]) -> &'static str {
    match magic {
        [0xa1, 0xb2, 0xcd, 0x34] | [0x34, 0xcd, 0xb2, 0xa1] => {
            " (a modified/Kuznetzov pcap, which is not supported)"
        }
        [b's', b'n', b'o', b'o'] => " (a snoop capture, which is not supported)",
        [b'P', b'K', 3, 4] => " (a zip archive)",
        [b'B', b'Z', b'h', _] => " (bzip2-compressed data: decompress it first)",
        [0xfd, b'7', b'z', b'X'] => " (xz-compressed data: decompress it first)",
        [0x28, 0xb5, 0x2f, 0xfd] => " (zstd-compressed data: decompress it first)",
        [0x04, 0x22, 0x4d, 0x18] => " (lz4-compressed data: decompress it first)",
        [0x7f, b'E', b'L', b'F'] => " (an ELF executable)",
        [b'%', b'P', b'D', b'F'] => " (a PDF document)",
        [0xef, 0xbb, 0xbf, _] => " (text)",
        _ if magic
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace()) =>
        {
            " (text)"
        }
        _ => "",
    }
}

/// What a parser found at the current position. Parsers validate a whole record before they
/// answer `Packet`; the reader then consumes it and lends out its bytes.
pub(super) enum Plan {
    Packet(PacketPlan),
    /// Something was consumed (a header or a non-packet block); notices may be queued.
    Again,
    /// The input ends inside a record.
    Truncated(Notice),
    /// The input ends cleanly between records.
    End,
}

impl Plan {
    pub(super) fn truncated(offset: u64, needed: usize, available: usize) -> Plan {
        Plan::Truncated(Notice::TruncatedRecord {
            offset,
            needed: needed as u64,
            available: available as u64,
        })
    }
}

/// A validated packet record, `block_len` bytes long, buffered at the input's position.
pub(super) struct PacketPlan {
    pub(super) block_len: usize,
    /// Where the packet bytes are in the record.
    pub(super) data_at: usize,
    pub(super) data_len: usize,
    pub(super) ts: Timestamp,
    pub(super) interface: u32,
    pub(super) link_type: LinkType,
    pub(super) orig_len: u32,
}

enum Parser {
    Pcap(PcapParser),
    PcapNg(PcapNgParser),
}

/// Reads a pcap or pcapng capture, plain or gzip-compressed, one record at a time.
pub struct CaptureReader {
    input: Input,
    format: FileFormat,
    parser: Parser,
    /// Notices waiting to be returned; bounded by what one block can produce.
    pending: VecDeque<Notice>,
    done: bool,
    size_hint: Option<u64>,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("gzipped", &self.gzipped())
            .field("position", &self.position())
            .field("size_hint", &self.size_hint)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// "-" means stdin. Regular files are memory-mapped (memmap2); anything else (pipes,
    /// `/dev/fd/N`, files that cannot be mapped) is streamed. A gzip file (magic 1f 8b) is
    /// decompressed as a stream.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        if path == Path::new("-") {
            let input = Input::stream(Box::new(io::stdin()), Some(PathBuf::from("<stdin>")));
            return Self::start(input, None);
        }
        let io_error = |source| CaptureError::Io {
            path: Some(path.to_path_buf()),
            source,
        };
        let meta = fs::metadata(path).map_err(io_error)?;
        if meta.is_dir() {
            return Err(CaptureError::IsADirectory {
                path: path.to_path_buf(),
            });
        }
        let file = File::open(path).map_err(io_error)?;
        // A regular file of size 0 may still have content (/proc); streaming it finds out.
        let size = (meta.is_file() && meta.len() > 0).then_some(meta.len());
        if size.is_some() {
            // Mapped read-only; see `live::map_file` for what that may and may not survive.
            if let Ok(map) = super::live::map_file(&file) {
                // One sequential pass: let the kernel read ahead and drop pages behind us.
                #[cfg(unix)]
                let _ = map.advise(memmap2::Advice::Sequential);
                let input = Input::whole(Backing::Map(map), Some(path.to_path_buf()));
                return Self::start(input, size);
            }
            // Mapping failed (some filesystems, 32-bit address space): stream instead.
        }
        Self::start(
            Input::stream(Box::new(file), Some(path.to_path_buf())),
            size,
        )
    }

    /// Read a capture from a stream (pipes, sockets, decompressors) in bounded memory.
    pub fn from_reader(r: impl Read + Send + 'static) -> Result<Self, CaptureError> {
        Self::start(Input::stream(Box::new(r), None), None)
    }

    /// Read a capture held in memory, through the same code path as a memory-mapped file.
    pub fn from_bytes(data: Vec<u8>) -> Result<Self, CaptureError> {
        let len = data.len() as u64;
        Self::start(Input::whole(Backing::Owned(data), None), Some(len))
    }

    /// Recognize the format from the first bytes (after gzip, if any).
    fn start(mut input: Input, size_hint: Option<u64>) -> Result<Self, CaptureError> {
        let (mut magic, mut len) = peek_magic(&mut input)?;
        if len >= 2 && magic[..2] == [0x1f, 0x8b] {
            input = input.into_gzip();
            (magic, len) = peek_magic(&mut input)?;
            if len == 0 && input.cut_short() {
                return Err(CaptureError::Gzip {
                    offset: 0,
                    source: io::ErrorKind::UnexpectedEof.into(),
                });
            }
        }
        if len == 0 {
            return Err(CaptureError::Empty);
        }
        if len < magic.len() {
            return Err(CaptureError::TooShort { len });
        }
        let (format, parser) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => pcap_parser(Endian::Little, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => pcap_parser(Endian::Big, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => pcap_parser(Endian::Little, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => pcap_parser(Endian::Big, true),
            m if u32::from_be_bytes(m) == pcapng::SHB => {
                (FileFormat::PcapNg, Parser::PcapNg(PcapNgParser::new()))
            }
            _ => return Err(CaptureError::NotACapture { magic }),
        };
        Ok(CaptureReader {
            input,
            format,
            parser,
            pending: VecDeque::new(),
            done: false,
            size_hint,
        })
    }

    pub fn format(&self) -> FileFormat {
        self.format
    }

    pub fn gzipped(&self) -> bool {
        self.input.is_gzip()
    }

    /// The next record, borrowed until the next call. `Ok(None)` at the end. After an `Err`,
    /// the reader is finished (further calls return `Ok(None)`).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, CaptureError> {
        loop {
            if let Some(notice) = self.pending.pop_front() {
                return Ok(Some(Record::Notice(notice)));
            }
            if self.done {
                return Ok(None);
            }
            let plan = match &mut self.parser {
                Parser::Pcap(p) => p.plan(&mut self.input, &mut self.pending),
                Parser::PcapNg(p) => p.plan(&mut self.input, &mut self.pending),
            };
            match plan {
                Ok(Plan::Packet(p)) => {
                    let offset = self.input.position();
                    // The parser validated the record against bytes it had filled, and nothing
                    // read since: `take` returns all of it. Checked anyway, never sliced blind.
                    let record = self.input.take(p.block_len);
                    let data = p
                        .data_at
                        .checked_add(p.data_len)
                        .and_then(|end| record.get(p.data_at..end));
                    let Some(data) = data else {
                        self.done = true;
                        self.pending.clear();
                        return Err(CaptureError::Malformed {
                            offset,
                            what: "packet data outside its record (reader bug)".into(),
                        });
                    };
                    return Ok(Some(Record::Packet(Packet {
                        ts: p.ts,
                        interface: p.interface,
                        link_type: p.link_type,
                        data,
                        orig_len: p.orig_len,
                    })));
                }
                Ok(Plan::Again) => {}
                Ok(Plan::Truncated(notice)) => {
                    self.done = true;
                    self.pending.push_back(notice);
                }
                Ok(Plan::End) => {
                    self.done = true;
                    if self.input.cut_short() {
                        return Err(CaptureError::Gzip {
                            offset: self.input.position(),
                            source: io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the compressed stream ends inside a gzip member",
                            ),
                        });
                    }
                }
                Err(e) => {
                    // Notices are queued only for blocks that validated, but an error ends
                    // the reader: nothing may follow it.
                    self.done = true;
                    self.pending.clear();
                    return Err(e);
                }
            }
        }
    }

    /// Bytes of the (decompressed) input consumed so far.
    pub fn position(&self) -> u64 {
        self.input.position()
    }

    /// For gzip inputs, compressed bytes read so far (the decoder reads ahead, so this leads
    /// `position` by up to a few hundred KiB of input). `None` for plain inputs.
    pub fn compressed_position(&self) -> Option<u64> {
        self.input.compressed_position()
    }

    /// The size of the input as stored, when known: the file (or `from_bytes` buffer) size,
    /// which for gzip is the compressed size. `None` for streams.
    pub fn size_hint(&self) -> Option<u64> {
        self.size_hint
    }

    /// `(done, total)` in the same unit, for a progress bar: compressed bytes for gzip,
    /// plain bytes otherwise.
    pub fn progress(&self) -> (u64, Option<u64>) {
        let done = self
            .compressed_position()
            .unwrap_or_else(|| self.position());
        (done, self.size_hint)
    }
}

/// Up to the first 4 bytes of the input, without consuming them.
fn peek_magic(input: &mut Input) -> Result<([u8; 4], usize), CaptureError> {
    let head = input.fill(4)?;
    let mut magic = [0u8; 4];
    let len = head.len().min(4);
    magic
        .get_mut(..len)
        .unwrap_or_default()
        .copy_from_slice(head.get(..len).unwrap_or_default());
    Ok((magic, len))
}

fn pcap_parser(endian: Endian, nanos: bool) -> (FileFormat, Parser) {
    let format = FileFormat::Pcap {
        nanos,
        big_endian: endian == Endian::Big,
    };
    (format, Parser::Pcap(PcapParser::new(endian, nanos)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Item, NgFile, PcapFile, Trickle, drain, read_all};
    use super::*;
    use proptest::prelude::*;
    use std::io::{Cursor, Write};

    const COMMENT: u16 = 1;

    /// A pcapng with every block kind we handle, in two sections of different byte orders.
    fn rich_pcapng() -> NgFile {
        let (le, be) = (Endian::Little, Endian::Big);
        let mut f = NgFile::new();
        f.shb(le, &[(COMMENT, b"made by a test")]);
        f.idb(le, 1, 0, &[(2, b"eth0"), (9, &[9])]);
        f.idb(le, 0, 96, &[(9, &[0x80 | 20]), (14, &7i64.to_le_bytes())]);
        f.epb(le, 0, 1_700_000_000_000_000_001, &[0xaa; 61], 61, &[]);
        f.block(le, 4, &[0, 0, 0, 0]);
        f.epb(
            le,
            1,
            1 << 20,
            b"loopback",
            8,
            &[(COMMENT, b"a packet comment")],
        );
        f.dsb(le, 0x544c_534b, b"CLIENT_RANDOM 00 11\n", &[]);
        f.spb(le, 5, b"simple");
        f.block(le, 0x0777, b"unknown");
        f.shb(be, &[]);
        f.idb(be, 101, 65535, &[]);
        f.pb(be, 0, 5_000_000, &[0x45; 20], 40, &[]);
        f.epb(be, 3, 0, b"no such interface", 17, &[]);
        f.packet_ends.pop(); // skipped: not a packet the reader returns
        f.epb(be, 0, 6_000_000, &[0x60; 1500], 1500, &[]);
        f
    }

    fn rich_pcap() -> PcapFile {
        let mut f = PcapFile::new(Endian::Little, false, 1, 262144);
        for i in 0..20u32 {
            let len = (i * 37 % 300) as usize;
            f.record(
                1_600_000_000 + i,
                i * 1000,
                &vec![i as u8; len],
                len as u32 + 4,
            );
        }
        f
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn error_of(r: Result<CaptureReader, CaptureError>) -> CaptureError {
        match r {
            Ok(r) => panic!("expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<CaptureReader>();
    }

    #[test]
    fn rich_pcapng_reads_identically_both_ways() {
        let items = read_all(&rich_pcapng().bytes);
        let packets = items
            .iter()
            .filter(|i| matches!(i, Item::Packet { .. }))
            .count();
        assert_eq!(packets, 5, "{items:#?}");
        let notices = |f: fn(&Notice) -> bool| {
            items
                .iter()
                .filter(|i| matches!(i, Item::Notice(n) if f(n)))
                .count()
        };
        assert_eq!(notices(|n| matches!(n, Notice::Interface { .. })), 3);
        assert_eq!(notices(|n| matches!(n, Notice::Comment { .. })), 2);
        assert_eq!(
            notices(|n| matches!(n, Notice::DecryptionSecrets { .. })),
            1
        );
        assert_eq!(notices(|n| matches!(n, Notice::UnknownBlock { .. })), 1);
        assert_eq!(notices(|n| matches!(n, Notice::UnknownInterface { .. })), 1);
    }

    #[test]
    fn not_captures() {
        assert!(matches!(
            error_of(CaptureReader::from_bytes(vec![])),
            CaptureError::Empty
        ));
        assert!(matches!(
            error_of(CaptureReader::from_bytes(vec![0x0a, 0x0d, 0x0d])),
            CaptureError::TooShort { len: 3 }
        ));
        let text = error_of(CaptureReader::from_bytes(b"GET / HTTP/1.1\r\n".to_vec()));
        assert!(matches!(text, CaptureError::NotACapture { magic } if &magic == b"GET "));
        assert_eq!(
            text.to_string(),
            "not a pcap or pcapng capture: it starts with 47 45 54 20 (text)"
        );
        let zip = error_of(CaptureReader::from_bytes(b"PK\x03\x04rest".to_vec()));
        assert!(zip.to_string().ends_with("(a zip archive)"), "{zip}");
        let bin = error_of(CaptureReader::from_bytes(vec![0, 1, 2, 0xff, 9]));
        assert!(bin.to_string().ends_with("00 01 02 ff"), "{bin}");
        // The same through a stream.
        assert!(matches!(
            error_of(CaptureReader::from_reader(Cursor::new(Vec::new()))),
            CaptureError::Empty
        ));
        // gzip of nothing, and of text.
        assert!(matches!(
            error_of(CaptureReader::from_bytes(gz(b""))),
            CaptureError::Empty
        ));
        let gz_text = error_of(CaptureReader::from_bytes(gz(b"hello world")));
        assert!(gz_text.to_string().contains("(text)"), "{gz_text}");
    }

    #[test]
    fn open_reports_what_is_wrong_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pcap");
        match error_of(CaptureReader::open(&missing)) {
            CaptureError::Io { path, source } => {
                assert_eq!(path.as_deref(), Some(missing.as_path()));
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
        let msg = error_of(CaptureReader::open(&missing)).to_string();
        assert!(msg.starts_with(&missing.display().to_string()), "{msg}");
        assert!(matches!(
            error_of(CaptureReader::open(dir.path())),
            CaptureError::IsADirectory { .. }
        ));
        let empty = dir.path().join("empty.pcap");
        fs::write(&empty, b"").unwrap();
        assert!(matches!(
            error_of(CaptureReader::open(&empty)),
            CaptureError::Empty
        ));
        let text = dir.path().join("notes.pcap");
        fs::write(&text, b"just some notes\n").unwrap();
        assert!(
            error_of(CaptureReader::open(&text))
                .to_string()
                .contains("(text)")
        );
    }

    #[test]
    fn open_maps_files_and_agrees_with_from_bytes() {
        let bytes = rich_pcapng().bytes;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rich.pcapng");
        fs::write(&path, &bytes).unwrap();
        let mut reader = CaptureReader::open(&path).unwrap();
        assert_eq!(reader.format(), FileFormat::PcapNg);
        assert!(!reader.gzipped());
        assert_eq!(reader.size_hint(), Some(bytes.len() as u64));
        while reader.next_record().unwrap().is_some() {}
        assert_eq!(reader.position(), bytes.len() as u64);
        assert_eq!(
            reader.progress(),
            (bytes.len() as u64, Some(bytes.len() as u64))
        );
        assert_eq!(
            drain(CaptureReader::open(&path), bytes.len()),
            read_all(&bytes)
        );
    }

    #[test]
    fn gzip_is_read_transparently_everywhere() {
        let plain = rich_pcapng().bytes;
        let expected = read_all(&plain);
        let packed = gz(&plain);
        let n = packed.len();
        assert_eq!(read_all(&packed), expected);
        // Concatenated members (what `cat a.gz b.gz` gives) are one stream.
        let (a, b) = plain.split_at(plain.len() / 2);
        let mut multi = gz(a);
        multi.extend(gz(b));
        assert_eq!(read_all(&multi), expected);
        // Through a file, whatever its name.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture-without-extension");
        fs::write(&path, &packed).unwrap();
        let mut reader = CaptureReader::open(&path).unwrap();
        assert!(reader.gzipped());
        assert_eq!(reader.format(), FileFormat::PcapNg);
        assert_eq!(reader.size_hint(), Some(n as u64));
        while reader.next_record().unwrap().is_some() {}
        assert_eq!(reader.position(), plain.len() as u64);
        assert_eq!(reader.compressed_position(), Some(n as u64));
        assert_eq!(reader.progress(), (n as u64, Some(n as u64)));
        assert_eq!(drain(CaptureReader::open(&path), n), expected);
        let pcap = rich_pcap().bytes;
        let reader = CaptureReader::from_reader(Trickle::new(gz(&pcap), 7)).unwrap();
        assert!(reader.gzipped());
        assert_eq!(
            reader.format(),
            FileFormat::Pcap {
                nanos: false,
                big_endian: false
            }
        );
    }

    #[test]
    fn damaged_gzip_keeps_what_came_before() {
        let plain = rich_pcap().bytes;
        let full = read_all(&plain);
        let packed = gz(&plain);
        for cut in 2..packed.len() {
            let items = read_all(&packed[..cut]);
            let (last, before) = items.split_last().unwrap();
            assert_eq!(before, &full[..before.len()], "cut at {cut}");
            match last {
                Item::Notice(Notice::TruncatedRecord { .. }) => {}
                Item::Error(msg) => assert!(
                    msg.contains("gzip") || msg.contains("too short") || msg.contains("empty"),
                    "cut at {cut}: {msg}"
                ),
                other => panic!("cut at {cut}: ended with {other:?}"),
            }
        }
        // Corrupt deflate data or checksum: never a panic, and the damage is reported. (What
        // was decompressed before the checksum at the member's end can be wrong: gzip cannot
        // tell earlier, and streaming means we do not wait for it.) A flip in the stream's
        // last bytes can spoil its end-of-block code: the decoder then reads on into the
        // trailer as more data and runs out of input, which is a cut (zlib's reading; the
        // member's last 12 bytes are its trailer and the end of its deflate stream).
        let tail = packed.len() - 12;
        for at in 10..packed.len() {
            let mut bad = packed.clone();
            bad[at] ^= 0x55;
            let items = read_all(&bad);
            let cut = matches!(
                items.last(),
                Some(Item::Notice(Notice::TruncatedRecord { .. }))
            );
            assert!(
                items == full
                    || matches!(items.last(), Some(Item::Error(_)))
                    || (at >= tail && cut),
                "flip at {at}: ends with {:?}",
                items.last()
            );
        }
    }

    /// Cut a file at every length: never a panic, every record wholly before the cut comes
    /// out, then a truncation notice (or a clean end exactly at a record boundary).
    fn check_every_cut(bytes: &[u8], packet_ends: &[usize]) {
        let full = read_all(bytes);
        for cut in 0..=bytes.len() {
            let items = read_all(&bytes[..cut]);
            if cut < 4 {
                assert_eq!(items.len(), 1, "cut at {cut}");
                assert!(matches!(items[0], Item::Error(_)), "cut at {cut}");
                continue;
            }
            let body = match items.last() {
                Some(Item::Notice(Notice::TruncatedRecord {
                    offset,
                    needed,
                    available,
                })) => {
                    assert_eq!(offset + available, cut as u64, "cut at {cut}");
                    assert!(available < needed, "cut at {cut}");
                    &items[..items.len() - 1]
                }
                _ => &items[..],
            };
            assert_eq!(body, &full[..body.len()], "cut at {cut}");
            let packets = body
                .iter()
                .filter(|i| matches!(i, Item::Packet { .. }))
                .count();
            let whole = packet_ends.iter().filter(|&&end| end <= cut).count();
            assert_eq!(packets, whole, "cut at {cut}");
        }
    }

    #[test]
    fn truncated_at_every_cut_point_pcap() {
        let f = rich_pcap();
        check_every_cut(&f.bytes, &f.packet_ends);
        let mut be = PcapFile::new(Endian::Big, true, 113, 0);
        be.record(1, 2, b"cooked", 6);
        be.record(3, 4, &[], 0);
        check_every_cut(&be.bytes, &be.packet_ends);
    }

    #[test]
    fn truncated_at_every_cut_point_pcapng() {
        let f = rich_pcapng();
        check_every_cut(&f.bytes, &f.packet_ends);
    }

    #[test]
    fn streaming_memory_stays_bounded() {
        let mut f = PcapFile::new(Endian::Little, false, 1, 65535);
        let big = 5 * 1024 * 1024;
        f.record(0, 0, &vec![1; big], big as u32);
        for i in 0..200 {
            f.record(i, 0, &[2; 1000], 1000);
        }
        let mut reader = CaptureReader::from_reader(Cursor::new(f.bytes.clone())).unwrap();
        let mut largest = 0;
        let mut packets = 0;
        while let Some(rec) = reader.next_record().unwrap() {
            packets += usize::from(matches!(rec, Record::Packet(_)));
            largest = largest.max(reader.input.buffer_len());
        }
        assert_eq!(packets, 201);
        assert!(largest <= big + 16, "{largest}");
        assert_eq!(reader.input.buffer_len(), super::super::input::CHUNK);

        // A hostile length is refused before anything is allocated for it.
        let mut ng = NgFile::new();
        ng.shb(Endian::Little, &[]);
        ng.raw(Endian::Little, &[6, 0x0100_0004, 0, 0]);
        let mut reader = CaptureReader::from_reader(Cursor::new(ng.bytes)).unwrap();
        assert!(matches!(
            reader.next_record(),
            Err(CaptureError::RecordTooLarge { offset: 28, .. })
        ));
        assert_eq!(reader.input.buffer_len(), super::super::input::CHUNK);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
            read_all(&data);
        }

        #[test]
        fn random_bodies_after_a_real_magic_never_panic(
            magic in prop::sample::select(vec![
                [0xd4u8, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4],
                [0x4d, 0x3c, 0xb2, 0xa1], [0x0a, 0x0d, 0x0d, 0x0a],
            ]),
            data in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            let mut bytes = magic.to_vec();
            bytes.extend(data);
            read_all(&bytes);
        }

        #[test]
        fn mutated_captures_never_panic(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            ng in any::<bool>(),
            zipped in any::<bool>(),
        ) {
            let mut bytes = if ng { rich_pcapng().bytes } else { rich_pcap().bytes };
            for (at, v) in &flips {
                let i = at.index(bytes.len());
                bytes[i] = *v;
            }
            if zipped {
                bytes = gz(&bytes);
            }
            read_all(&bytes);
        }
    }

    /// Every capture under `H2SCOPE_EXTERNAL_CAPTURES` (default `../shared/captures`) reads to
    /// the end without an error, with the packet count and link type that tshark reported in
    /// that directory's COUNTS.tsv; the same through the streaming path.
    #[test]
    fn external_captures_match_counts_tsv() {
        let root = std::env::var_os("H2SCOPE_EXTERNAL_CAPTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"));
        if !root.is_dir() {
            eprintln!(
                "SKIP external_captures_match_counts_tsv: {} does not exist (set H2SCOPE_EXTERNAL_CAPTURES)",
                root.display()
            );
            return;
        }
        let counts = fs::read_to_string(root.join("COUNTS.tsv")).expect("COUNTS.tsv");
        let mut expected = std::collections::BTreeMap::new();
        for line in counts.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let packets: usize = cols[1].parse().expect("packet count");
            let link = match cols.get(2).copied() {
                Some("Ethernet") => Some(LinkType::ETHERNET),
                Some("NULL/Loopback") => Some(LinkType::NULL),
                _ => None,
            };
            expected.insert(cols[0].to_owned(), (packets, link));
        }

        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if path.file_name() != Some("tshark".as_ref()) {
                        dirs.push(path);
                    }
                } else if !matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("md" | "proto" | "txt" | "tsv" | "json")
                ) {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(!files.is_empty(), "no captures under {}", root.display());

        let mut seen = std::collections::BTreeSet::new();
        for path in &files {
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let (want, link) = *expected
                .get(&rel)
                .unwrap_or_else(|| panic!("{rel} has no row in COUNTS.tsv"));
            let summary = |reader: Result<CaptureReader, CaptureError>| {
                let mut reader = reader.unwrap_or_else(|e| panic!("{rel}: {e}"));
                let (mut packets, mut links, mut notices) = (0, Vec::new(), Vec::new());
                loop {
                    match reader.next_record() {
                        Ok(Some(Record::Packet(p))) => {
                            packets += 1;
                            if !links.contains(&p.link_type) {
                                links.push(p.link_type);
                            }
                        }
                        Ok(Some(Record::Notice(n))) => notices.push(n),
                        Ok(None) => break,
                        Err(e) => panic!("{rel}: {e} after {packets} packets"),
                    }
                }
                (packets, links, notices, reader.format(), reader.gzipped())
            };
            let mapped = summary(CaptureReader::open(path));
            let streamed = summary(CaptureReader::from_reader(File::open(path).unwrap()));
            assert_eq!(mapped, streamed, "{rel}: mmap and stream disagree");
            let (packets, links, notices, format, gzipped) = mapped;
            assert_eq!(packets, want, "{rel}: packet count");
            if let Some(link) = link {
                assert_eq!(links, vec![link], "{rel}: link types");
            }
            assert!(
                !notices
                    .iter()
                    .any(|n| matches!(n, Notice::TruncatedRecord { .. })),
                "{rel}: {notices:?}"
            );
            if rel.ends_with("Sample-of-HTTP2-(draft-14)") {
                assert!(gzipped, "{rel} is gzip");
                assert_eq!(format, FileFormat::PcapNg, "{rel}");
            }
            if rel.ends_with("-dsb.pcapng") {
                assert!(
                    notices
                        .iter()
                        .any(|n| matches!(n, Notice::DecryptionSecrets { .. })),
                    "{rel}: no decryption secrets"
                );
            }
            if rel.ends_with("http2-16-ssl.pcapng") {
                // Its TLS keys are in the section header's comment.
                assert!(
                    notices.iter().any(
                        |n| matches!(n, Notice::Comment { offset: 0, text } if text.contains("CLIENT_RANDOM"))
                    ),
                    "{rel}: no key-log comment"
                );
            }
            eprintln!(
                "{rel}: {packets} packets, {format:?}, gzip {gzipped}, {} notices",
                notices.len()
            );
            seen.insert(rel);
        }
        for rel in expected.keys() {
            assert!(
                seen.contains(rel),
                "{rel} is in COUNTS.tsv but was not found"
            );
        }
        eprintln!("{} captures checked against COUNTS.tsv", seen.len());
    }
}
