//! gRPC length-prefixed message framing, per stream direction.
//!
//! PROTOCOL-HTTP2.md: `Length-Prefixed-Message -> Compressed-Flag Message-Length Message`,
//! a 1-byte flag (0 or 1), a 4-byte big-endian length, then that many bytes. Messages and
//! DATA frames are independent: a prefix can be split across DATA frames, and one DATA frame
//! can hold many messages. PROTOCOL-WEB.md adds one flag bit: a frame whose flag has the MSB
//! (0x80) set carries trailers as an HTTP/1-style header block ([`parse_web_trailers`]).
//!
//! # Contract
//! [`Deframer`] is fed in pieces and does no I/O. It reports every frame it sees, exactly once,
//! in wire order, as a [`Framed`]; nothing is silently dropped:
//! - a declared length over `max_message` is reported with an error and an empty body, and
//!   its body is skipped (counted in [`DeframerStats::skipped_bytes`]) so framing goes on;
//! - a loss ([`Deframer::lost`]) inside a body of known length reports the message with the
//!   bytes captured before the loss and skips exactly the rest of it: framing survives;
//! - a loss that covers (part of) a prefix, or runs past the end of the current message,
//!   loses sync: a [`FrameKind::SyncLost`] record says so and every later byte of this
//!   direction is counted in [`DeframerStats::unframed_bytes`], never guessed at;
//! - [`Deframer::finish`] reports a message cut short with its partial body.
//!
//! Memory: a body is held only while it arrives and grows with what was captured, never
//! preallocated from the declared length, so it is bounded by `max_message`.
//!
//! # State machine
//! ```text
//!            5 prefix bytes, len <= max         len bytes
//!  Prefix ---------------------------------> Body ---------> Prefix (message reported)
//!    |  \ len > max: report at end of skip       | lost(n < rest)
//!    |   \--------------------------------> Skip <--------/   (message reported when the
//!    |                                         |               skipped rest has gone by)
//!    | lost(..) at or inside a prefix          | lost(n > rest) / Body lost(n > rest)
//!    v                                         v
//!  Desynced (SyncLost reported once; everything after is counted, not framed)
//! ```

use super::base64::Base64Stream;
use crate::capture::Timestamp;

/// The default bound on one message: gRPC implementations default to 4 MiB on receive; 16 MiB
/// leaves room for services that raise it, and still bounds what one stream can make us hold.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// At most this many trailers are split out of a gRPC-Web trailers frame; the rest of the
/// block is kept whole in one last entry with an empty name.
pub const MAX_WEB_TRAILERS: usize = 1024;

const PREFIX_LEN: usize = 5;
const FLAG_COMPRESSED: u8 = 0x01;
const FLAG_WEB_TRAILERS: u8 = 0x80;

/// What a [`Framed`] record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A length-prefixed message.
    Message,
    /// gRPC-Web only: a frame with flag 0x80, whose body is a trailer block.
    WebTrailers,
    /// Not a frame: framing of this direction was lost here (see the error); nothing after
    /// it is framed. Does not take an index.
    SyncLost,
}

/// One frame of one stream direction, as captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framed {
    /// 0-based position among this direction's frames (messages and trailer frames).
    pub index: u32,
    pub kind: FrameKind,
    /// Time of the `push` that completed (or reported) the frame.
    pub ts: Timestamp,
    /// Time of the `push` that delivered its first prefix byte.
    pub start_ts: Timestamp,
    /// The whole flag byte as sent.
    pub flags: u8,
    /// Bit 0 of the flag byte: the body is compressed with the stream's `grpc-encoding`.
    pub compressed: bool,
    /// The length in the prefix.
    pub declared_len: u32,
    /// What was captured: the whole body, a prefix of it (see `error`), or nothing when it was
    /// over the limit.
    pub body: Vec<u8>,
    /// Body bytes captured: `body.len()`, or what it would be when the deframer counts
    /// bodies without keeping them ([`Deframer::keep_bodies`]).
    pub captured: usize,
    /// Why the frame is not a clean, complete one: "message cut short: 10 of 20 bytes",
    /// "300 bytes lost ...", "declared length ... exceeds ...", "reserved flag bits ...".
    pub error: Option<String>,
}

impl Framed {
    fn add_error(&mut self, e: String) {
        self.error = Some(match self.error.take() {
            Some(prev) => format!("{prev}; {e}"),
            None => e,
        });
    }

    /// Complete and clean: the whole declared body is here and nothing is wrong.
    pub fn is_complete(&self) -> bool {
        self.error.is_none() && self.kind != FrameKind::SyncLost
    }

    /// A whole, uncompressed message at time 0, for tests of the layers above.
    #[cfg(test)]
    pub(crate) fn whole(index: u32, body: &[u8]) -> Self {
        Framed {
            index,
            kind: FrameKind::Message,
            ts: Timestamp(0),
            start_ts: Timestamp(0),
            flags: 0,
            compressed: false,
            declared_len: body.len() as u32,
            body: body.to_vec(),
            captured: body.len(),
            error: None,
        }
    }
}

/// Counters of one direction; nothing the Deframer sees goes uncounted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeframerStats {
    /// Frames reported (messages and trailer frames, complete or not).
    pub frames: u64,
    /// Frames whose declared length was over the limit.
    pub oversized: u64,
    /// Bytes reported lost by the caller.
    pub lost_bytes: u64,
    /// Captured body bytes of oversized or damaged messages that were skipped, not kept.
    pub skipped_bytes: u64,
    /// Bytes that arrived after sync was lost.
    pub unframed_bytes: u64,
}

#[derive(Debug)]
enum State {
    Prefix {
        buf: [u8; PREFIX_LEN],
        have: usize,
        start_ts: Timestamp,
    },
    Body {
        msg: Framed,
        remaining: usize,
    },
    /// Bytes to let go by before reporting `msg` (oversized, or damaged by a loss).
    Skip {
        msg: Framed,
        remaining: u64,
    },
    Desynced,
}

impl State {
    fn fresh() -> State {
        State::Prefix {
            buf: [0; PREFIX_LEN],
            have: 0,
            start_ts: Timestamp::default(),
        }
    }
}

/// Splits one stream direction's DATA bytes into gRPC frames. See the module doc.
#[derive(Debug)]
pub struct Deframer {
    max_message: usize,
    web: bool,
    next_index: u32,
    state: State,
    stats: DeframerStats,
    /// Off (`--no-messages`): bodies are counted, not copied.
    keep_bodies: bool,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::new(DEFAULT_MAX_MESSAGE)
    }
}

impl Deframer {
    /// A deframer that keeps bodies up to `max_message` bytes (see [`DEFAULT_MAX_MESSAGE`]).
    pub fn new(max_message: usize) -> Self {
        Deframer {
            max_message,
            web: false,
            next_index: 0,
            state: State::fresh(),
            stats: DeframerStats::default(),
            keep_bodies: true,
        }
    }

    /// Off: frames come with an empty body, and `captured` still says how much of it there
    /// was. Copying bodies only to drop them was a tenth of a `--no-messages` export.
    pub fn keep_bodies(mut self, keep: bool) -> Self {
        self.keep_bodies = keep;
        self
    }

    /// gRPC-Web mode: flag 0x80 marks a trailers frame. In plain gRPC that bit is reserved,
    /// and a frame with it is reported as a message with an error.
    pub fn web(mut self, web: bool) -> Self {
        self.web = web;
        self
    }

    pub fn stats(&self) -> DeframerStats {
        self.stats
    }

    /// False once a loss has made framing impossible for the rest of this direction.
    pub fn in_sync(&self) -> bool {
        !matches!(self.state, State::Desynced)
    }

    /// Feeds DATA payload bytes, split anywhere. Frames completed by this call are pushed to
    /// `out` with `ts`.
    pub fn push(&mut self, mut data: &[u8], ts: Timestamp, out: &mut Vec<Framed>) {
        while !data.is_empty() {
            match &mut self.state {
                State::Prefix {
                    buf,
                    have,
                    start_ts,
                } => {
                    if *have == 0 {
                        *start_ts = ts;
                    }
                    let take = (PREFIX_LEN - *have).min(data.len());
                    buf[*have..*have + take].copy_from_slice(&data[..take]);
                    *have += take;
                    data = &data[take..];
                    if *have == PREFIX_LEN {
                        let (buf, start_ts) = (*buf, *start_ts);
                        self.start_frame(buf, start_ts, ts, out);
                    }
                }
                State::Body { msg, remaining } => {
                    let take = (*remaining).min(data.len());
                    if self.keep_bodies {
                        if msg.body.is_empty() {
                            // Reserve for what is known to be coming, not for the declared
                            // length: a 5-byte prefix must not make us allocate 16 MiB.
                            msg.body.reserve(take.max((*remaining).min(64 << 10)));
                        }
                        msg.body.extend_from_slice(&data[..take]);
                    }
                    msg.captured += take;
                    *remaining -= take;
                    data = &data[take..];
                    if *remaining == 0 {
                        self.complete(ts, out);
                    }
                }
                State::Skip { remaining, .. } => {
                    let take = (*remaining).min(data.len() as u64);
                    *remaining -= take;
                    self.stats.skipped_bytes += take;
                    data = &data[take as usize..];
                    if *remaining == 0 {
                        self.complete(ts, out);
                    }
                }
                State::Desynced => {
                    self.stats.unframed_bytes += data.len() as u64;
                    return;
                }
            }
        }
    }

    /// `len` bytes of this direction's DATA were lost (a TCP gap inside DATA). Pass
    /// `u64::MAX` when the amount is unknown (e.g. grpc-web-text, where a gap in the base64
    /// cannot be turned into a byte count): framing is then lost after the current message.
    pub fn lost(&mut self, len: u64, ts: Timestamp, out: &mut Vec<Framed>) {
        if len == 0 {
            return;
        }
        self.stats.lost_bytes = self.stats.lost_bytes.saturating_add(len);
        let what = if len == u64::MAX {
            "an unknown number of bytes lost".to_string()
        } else {
            format!("{len} bytes lost")
        };
        match &mut self.state {
            State::Prefix { have, .. } => {
                let where_ = if *have == 0 {
                    "at a message boundary".to_string()
                } else {
                    format!("inside a message prefix ({have} of 5 bytes captured)")
                };
                self.desync(format!("{what} {where_}"), ts, out);
            }
            State::Body { msg, remaining } => {
                let captured = msg.captured;
                let rest = *remaining as u64;
                msg.add_error(format!(
                    "{what} inside the body: captured {captured} of {} bytes",
                    msg.declared_len
                ));
                if len < rest {
                    // The length is known: let exactly the rest of this body go by.
                    let msg = std::mem::replace(msg, placeholder());
                    self.state = State::Skip {
                        msg,
                        remaining: rest - len,
                    };
                } else {
                    self.complete(ts, out);
                    if len > rest {
                        self.desync(
                            format!("{what} ran past the end of message {}", self.next_index - 1),
                            ts,
                            out,
                        );
                    }
                }
            }
            State::Skip { msg, remaining } => {
                msg.add_error(format!("{what} in the skipped part"));
                if len < *remaining {
                    *remaining -= len;
                } else {
                    let past = len > *remaining;
                    self.complete(ts, out);
                    if past {
                        self.desync(
                            format!("{what} ran past the end of message {}", self.next_index - 1),
                            ts,
                            out,
                        );
                    }
                }
            }
            State::Desynced => {}
        }
    }

    /// End of this direction (END_STREAM or connection close): a frame cut short is reported
    /// with what was captured. The deframer is then fresh for reuse; indices continue.
    pub fn finish(&mut self, ts: Timestamp, out: &mut Vec<Framed>) {
        match std::mem::replace(&mut self.state, State::fresh()) {
            State::Prefix {
                buf,
                have,
                start_ts,
            } => {
                if have > 0 {
                    let mut msg = self.new_frame(buf[0], 0, start_ts, ts);
                    msg.add_error(format!(
                        "stream ended inside a message prefix ({have} of 5 bytes)"
                    ));
                    self.emit(msg, out);
                }
            }
            State::Body { mut msg, remaining } => {
                msg.ts = ts;
                msg.add_error(format!(
                    "message cut short: {} of {} bytes",
                    msg.captured,
                    msg.captured + remaining
                ));
                self.emit(msg, out);
            }
            State::Skip { mut msg, remaining } => {
                msg.ts = ts;
                msg.add_error(format!("stream ended {remaining} bytes before its end"));
                self.emit(msg, out);
            }
            State::Desynced => {}
        }
    }

    fn new_frame(&mut self, flags: u8, len: u32, start_ts: Timestamp, ts: Timestamp) -> Framed {
        let index = self.next_index;
        self.next_index = self.next_index.saturating_add(1);
        let kind = if self.web && flags & FLAG_WEB_TRAILERS != 0 {
            FrameKind::WebTrailers
        } else {
            FrameKind::Message
        };
        let mut msg = Framed {
            index,
            kind,
            ts,
            start_ts,
            flags,
            compressed: flags & FLAG_COMPRESSED != 0,
            declared_len: len,
            body: Vec::new(),
            captured: 0,
            error: None,
        };
        let known = if self.web {
            FLAG_COMPRESSED | FLAG_WEB_TRAILERS
        } else {
            FLAG_COMPRESSED
        };
        if flags & !known != 0 {
            msg.add_error(format!("reserved flag bits set (flag byte 0x{flags:02x})"));
        }
        msg
    }

    fn start_frame(
        &mut self,
        buf: [u8; PREFIX_LEN],
        start_ts: Timestamp,
        ts: Timestamp,
        out: &mut Vec<Framed>,
    ) {
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        let mut msg = self.new_frame(buf[0], len, start_ts, ts);
        if len as usize > self.max_message {
            self.stats.oversized += 1;
            msg.add_error(format!(
                "declared length {len} exceeds the {}-byte limit; body skipped",
                self.max_message
            ));
            self.state = State::Skip {
                msg,
                remaining: u64::from(len),
            };
        } else if len == 0 {
            self.state = State::fresh();
            self.emit(msg, out);
        } else {
            self.state = State::Body {
                msg,
                remaining: len as usize,
            };
        }
    }

    /// Reports the frame in progress (Body or Skip) and starts on the next prefix.
    fn complete(&mut self, ts: Timestamp, out: &mut Vec<Framed>) {
        match std::mem::replace(&mut self.state, State::fresh()) {
            State::Body { mut msg, .. } | State::Skip { mut msg, .. } => {
                msg.ts = ts;
                self.emit(msg, out);
            }
            other => self.state = other,
        }
    }

    fn emit(&mut self, msg: Framed, out: &mut Vec<Framed>) {
        self.stats.frames += 1;
        out.push(msg);
    }

    fn desync(&mut self, why: String, ts: Timestamp, out: &mut Vec<Framed>) {
        self.state = State::Desynced;
        out.push(Framed {
            index: self.next_index,
            kind: FrameKind::SyncLost,
            ts,
            start_ts: ts,
            flags: 0,
            compressed: false,
            declared_len: 0,
            body: Vec::new(),
            captured: 0,
            error: Some(format!(
                "{why}: framing lost, the rest of this direction is not deframed"
            )),
        });
    }
}

fn placeholder() -> Framed {
    Framed {
        index: 0,
        kind: FrameKind::Message,
        ts: Timestamp::default(),
        start_ts: Timestamp::default(),
        flags: 0,
        compressed: false,
        declared_len: 0,
        body: Vec::new(),
        captured: 0,
        error: None,
    }
}

/// Splits a gRPC-Web trailers frame body (`grpc-status: 0\r\ngrpc-message: ok\r\n`) into
/// (name, value) pairs, in order.
///
/// Names are trimmed and lowercased (HTTP/1 names are case-insensitive, and gRPC-Web
/// implementations differ); values are trimmed of spaces and tabs and kept as bytes (a
/// `grpc-message` is percent-encoded, `-bin` values are base64). Lines end in CRLF or a bare
/// LF. A line without a colon is kept with an empty name and the whole line as its value,
/// and past [`MAX_WEB_TRAILERS`] entries the rest of the block is one last such entry.
pub fn parse_web_trailers(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if out.len() == MAX_WEB_TRAILERS {
            out.push((String::new(), rest.to_vec()));
            break;
        }
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        match line.iter().position(|&b| b == b':') {
            Some(at) => {
                let name = String::from_utf8_lossy(line[..at].trim_ascii()).to_ascii_lowercase();
                let value = trim_ows(&line[at + 1..]);
                out.push((name, value.to_vec()));
            }
            None => out.push((String::new(), line.to_vec())),
        }
    }
    out
}

/// RFC 9110 optional whitespace: spaces and horizontal tabs only.
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Turns `application/grpc-web-text` DATA (base64, each chunk possibly padded on its own)
/// into the bytes a [`Deframer`] expects. Holds at most 3 characters between calls; output is
/// at most 3 bytes per 4 characters, so it is bounded by the input.
///
/// Tolerant: whitespace is skipped, `=` anywhere ends the current quantum, and characters
/// outside the base64 alphabets (standard and URL-safe) are skipped and counted
/// ([`WebTextDecoder::invalid`]). A TCP gap cannot be mapped to a byte count: call
/// [`WebTextDecoder::reset`] and [`Deframer::lost`] with `u64::MAX`.
#[derive(Debug, Default, Clone)]
pub struct WebTextDecoder {
    inner: Base64Stream,
}

impl WebTextDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `text` onto `out`; returns the number of characters skipped in this call.
    pub fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> u64 {
        self.inner.push(text, out)
    }

    /// End of the stream: decodes an unpadded tail. False when a lone character was dropped.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        self.inner.finish(out)
    }

    /// Forgets a partial quantum (after a gap), keeping the count of skipped characters.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Characters skipped so far.
    pub fn invalid(&self) -> u64 {
        self.inner.invalid()
    }
}

#[cfg(test)]
mod tests;
