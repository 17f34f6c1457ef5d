//! The streaming frame decoder: reassembled TCP bytes in, [`Event`]s out.
//!
//! # Contract
//! - Fed in pieces ([`FrameDecoder::push`]), told of holes ([`FrameDecoder::gap`]) and of the
//!   end ([`FrameDecoder::finish`]); does no I/O. A frame split across any number of pushes
//!   and many frames in one push produce the same events (DATA payloads may come in more,
//!   smaller [`Event::DataChunk`]s).
//! - DATA payloads are never buffered: each chunk borrows from the pushed bytes, the
//!   pad-length octet and the padding stripped as they go by. Every [`Event::DataStart`] is
//!   followed by exactly one [`Event::DataEnd`] or [`Event::Truncated`].
//! - Other frames are parsed in place when a push holds all of them, else assembled in one
//!   buffer that grows only to the current frame's size and never beyond
//!   [`DecoderLimits::max_buffered_frame`]; larger frames are skipped ([`Event::Oversized`]).
//! - A frame whose length its type forbids (PING != 8, ...) is reported
//!   ([`Event::Malformed`]) as soon as its header is read and skipped without buffering;
//!   its length is trusted, so decoding continues at the next frame.
//! - Frames larger than SETTINGS_MAX_FRAME_SIZE, stream-id rules, flags: not reported here
//!   while synchronized (the connection layer judges); they only steer resynchronisation.
//!
//! # Gaps
//! - inside a DATA payload: [`Event::DataGap`] with the number of data octets lost
//!   (padding lost is not counted) and decoding goes on. If the pad-length octet itself was
//!   lost, the split between data and padding is unknown: the rest of the frame is reported
//!   as one gap (an upper bound) and skipped.
//! - inside another frame's payload: the frame is lost ([`Event::Lost`], a dedicated event
//!   rather than `Malformed`: nothing is wrong with the frame, the capture missed it), and
//!   decoding resumes at the next frame, whose position is known.
//! - over a frame header or past the end of the current frame: the boundaries are lost (a
//!   DATA frame in progress is first closed with `DataGap` + `DataEnd`), and the decoder
//!   resynchronises.
//!
//! # Resynchronisation heuristic
//! Used after a lost sync and by [`FrameDecoder::new_unsynchronized`]. Offsets are tried in
//! stream order; the bytes at an offset are a *plausible* header when all of these hold:
//! - a known type: core 0x0-0x9, or ALTSVC, ORIGIN, PRIORITY_UPDATE (never an unknown type);
//! - length <= the peer's max frame size ([`FrameDecoder::set_max_frame_size`]);
//! - only the flags the type defines, and the reserved bit clear;
//! - the stream-id rule of [`super::check_stream_id`] (SETTINGS, PING, GOAWAY, ORIGIN,
//!   PRIORITY_UPDATE on 0; DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE, CONTINUATION
//!   elsewhere; WINDOW_UPDATE, ALTSVC anywhere);
//! - the type's length rule ([`super::length_rule`]: PING 8, PRIORITY 5, RST_STREAM and
//!   WINDOW_UPDATE 4, SETTINGS a multiple of 6 and 0 with ACK, minimum sizes).
//!
//! A plausible header is then *accepted* when
//! 1. the header found at its end (+9+length) is plausible too, and so on along the chain
//!    for as many frames as are buffered, up to 4 (any implausible link rejects it); or
//! 2. its frame, or the chain, ends exactly at the end of the buffered data (TCP segments
//!    usually end at frame boundaries); or
//! 3. it starts a push (TCP segments usually start at frame boundaries) and nothing
//!    buffered contradicts it. This is the preference for push starts: such a candidate is
//!    also taken over an earlier one that is still waiting for data.
//!
//! Otherwise a plausible header whose chain is not yet buffered *waits* for more data
//! (later offsets are not tried meanwhile), unless 9+length+9 exceeds
//! [`DecoderLimits::max_resync_lookahead`], in which case it could never be verified and is
//! rejected. So the lookahead buffer holds at most one candidate's frame and the following
//! header; it is bounded by `max_resync_lookahead` all the same (oldest bytes dropped). Bytes
//! before an accepted offset are counted in [`Event::Resync`]'s `skipped`, with the gap
//! that caused the loss. One byte of random data passes the header test with a probability
//! of about 1e-7 (default max frame size), so a two-header chain is a strong signal; with a
//! 16 MiB max frame size the length test is void and rule 3 is weaker (about 3e-5).
//! Push boundaries matter, so resynchronisation (unlike synchronized decoding) can depend
//! on how the stream was cut into pushes. Once accepted, frames are decoded as usual.
//!
//! Only the peer's bytes matter here: a capture starting with the client preface is
//! handled by the layer above before it creates decoders.

use std::mem;

use super::{
    FRAME_HEADER_LEN, Frame, FrameError, FrameHeader, FrameType, check_length, check_stream_id,
    parse_frame,
};

/// Bounds on what a peer can make a decoder hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Non-DATA frames larger than this are skipped with an [`Event::Oversized`].
    /// Default 1 MiB.
    pub max_buffered_frame: usize,
    /// The most bytes held while looking for a frame boundary. Default 64 KiB.
    pub max_resync_lookahead: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_buffered_frame: 1 << 20,
            max_resync_lookahead: 64 << 10,
        }
    }
}

/// What the decoder found, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A DATA frame starts. DataChunk events carry its payload (padding and pad-length
    /// byte removed) as it arrives; DataEnd closes it. `pad_len` is `None` for an unpadded
    /// frame, and for a PADDED one whose pad-length octet was never captured.
    DataStart {
        header: FrameHeader,
        pad_len: Option<u8>,
    },
    /// Part of the current DATA frame's data, never empty.
    DataChunk {
        header: FrameHeader,
        data: &'a [u8],
    },
    /// Part of the current DATA frame's payload was never captured (a TCP gap that fell
    /// inside it: the frame's boundary is still known). `len` counts data octets, not
    /// padding; if the pad-length octet was lost it is an upper bound.
    DataGap {
        header: FrameHeader,
        len: u64,
    },
    DataEnd {
        header: FrameHeader,
    },
    /// A complete non-DATA frame.
    Frame {
        header: FrameHeader,
        frame: Frame<'a>,
    },
    /// A frame whose payload is structurally invalid: skipped whole (its length is
    /// trusted, so decoding continues at the next frame). A PADDED DATA frame whose pad
    /// length does not fit is reported here instead of a DataStart.
    Malformed {
        header: FrameHeader,
        error: FrameError,
    },
    /// A non-DATA frame larger than `max_buffered_frame`: its payload is skipped unparsed.
    Oversized {
        header: FrameHeader,
    },
    /// A non-DATA frame part of whose payload (`missing` octets) was never captured, by a
    /// gap or the end of the stream: it is dropped, and decoding continues at the next
    /// frame (its position is known). Not `Malformed`: the frame may well be valid.
    Lost {
        header: FrameHeader,
        missing: u64,
    },
    /// Frame boundaries were lost (a gap that did not fall inside a frame payload, or
    /// garbage): `skipped` bytes were dropped (gap bytes + bytes scanned) before a
    /// plausible frame header was found again. Emitted when sync is regained (even with
    /// `skipped == 0`, for a decoder created unsynchronized), and at finish() if never
    /// regained (then only if something was skipped).
    Resync {
        skipped: u64,
        at_start: bool,
    },
    /// The byte stream ended inside a frame: in its header (`header: None`, `missing`
    /// header octets) or its payload (`missing` payload octets). It always follows the
    /// frame's first event: DataStart (it then replaces DataEnd), Malformed, Oversized, or
    /// Lost (a non-DATA frame still being assembled is reported Lost first).
    Truncated {
        header: Option<FrameHeader>,
        missing: u64,
    },
}

/// The default SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2).
const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
/// The largest SETTINGS_MAX_FRAME_SIZE allowed (RFC 9113 §6.5.2).
const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;
/// Following headers checked along a resync candidate's chain.
const CHAIN_LINKS: usize = 4;
/// Buffers above this capacity are released once empty.
const KEEP_CAPACITY: usize = 64 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At a frame boundary; `buf` holds the first octets of a header split across pushes.
    Header,
    /// Assembling a non-DATA payload in `buf`.
    Buffer { header: FrameHeader },
    /// Skipping the rest of a reported frame.
    Skip { header: FrameHeader, remaining: u32 },
    /// A PADDED DATA frame whose pad-length octet is next.
    DataPadLen { header: FrameHeader },
    /// Inside a DATA payload: data, then padding.
    Data {
        header: FrameHeader,
        data_left: u32,
        pad_left: u32,
    },
    /// Looking for a frame boundary; `look[look_start..]` holds the lookahead.
    Resync,
}

/// The streaming decoder of one direction of one connection.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: DecoderLimits,
    max_frame_size: u32,
    state: State,
    /// A split header, then a non-DATA payload; never longer than the current frame.
    buf: Vec<u8>,
    /// Resync lookahead; live part `look[look_start..]`, compacted lazily.
    look: Vec<u8>,
    look_start: usize,
    /// Bytes dropped since sync was lost.
    skipped: u64,
    /// The decoder was created unsynchronized and has not found a boundary yet.
    at_start: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DecoderLimits::default())
    }
}

impl FrameDecoder {
    /// At a frame boundary (after the client preface, or at the start of the server's stream).
    pub fn new(limits: DecoderLimits) -> Self {
        FrameDecoder {
            limits,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            state: State::Header,
            buf: Vec::new(),
            look: Vec::new(),
            look_start: 0,
            skipped: 0,
            at_start: false,
        }
    }

    /// Joining mid-stream: the first frame boundary is found heuristically.
    pub fn new_unsynchronized(limits: DecoderLimits) -> Self {
        FrameDecoder {
            state: State::Resync,
            at_start: true,
            ..FrameDecoder::new(limits)
        }
    }

    /// The largest frame the peer may send (its receiver's SETTINGS_MAX_FRAME_SIZE, clamped
    /// to the allowed 2^14..=2^24-1). Used by the resync heuristic only; larger frames still
    /// decode when synchronized.
    pub fn set_max_frame_size(&mut self, n: u32) {
        self.max_frame_size = n.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE);
    }

    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    pub fn limits(&self) -> DecoderLimits {
        self.limits
    }

    pub fn is_synchronized(&self) -> bool {
        self.state != State::Resync
    }

    /// Feeds the next bytes of the stream (typically one TCP segment's payload).
    pub fn push<F: FnMut(Event<'_>)>(&mut self, data: &[u8], f: &mut F) {
        if data.is_empty() {
            return;
        }
        if self.state == State::Resync {
            self.resync_push(data, f);
        } else {
            self.feed(data, f);
        }
    }

    /// `len` bytes of the stream were never captured.
    pub fn gap<F: FnMut(Event<'_>)>(&mut self, len: u64, f: &mut F) {
        if len == 0 {
            return;
        }
        match self.state {
            State::Header => {
                let partial = self.buf.len() as u64;
                self.clear_buf();
                self.lose_sync(partial.saturating_add(len));
            }
            State::Buffer { header } => {
                let remaining = u64::from(header.length).saturating_sub(self.buf.len() as u64);
                self.clear_buf();
                f(Event::Lost {
                    header,
                    missing: len.min(remaining),
                });
                match remaining.checked_sub(len) {
                    Some(rest) => self.skip(header, rest),
                    None => self.lose_sync(len - remaining),
                }
            }
            State::Skip { header, remaining } => match u64::from(remaining).checked_sub(len) {
                Some(rest) => self.skip(header, rest),
                None => self.lose_sync(len - u64::from(remaining)),
            },
            State::DataPadLen { header } => {
                // The pad-length octet is lost: the rest of the payload cannot be split into
                // data and padding, so all of it is reported as lost and skipped.
                let total = u64::from(header.length);
                f(Event::DataStart {
                    header,
                    pad_len: None,
                });
                let unknown = total.saturating_sub(1);
                if unknown > 0 {
                    f(Event::DataGap {
                        header,
                        len: unknown,
                    });
                }
                match total.checked_sub(len) {
                    Some(rest) => self.data(header, 0, rest as u32, f),
                    None => {
                        f(Event::DataEnd { header });
                        self.lose_sync(len - total);
                    }
                }
            }
            State::Data {
                header,
                data_left,
                pad_left,
            } => {
                let total = u64::from(data_left) + u64::from(pad_left);
                let lost_data = len.min(u64::from(data_left));
                if lost_data > 0 {
                    f(Event::DataGap {
                        header,
                        len: lost_data,
                    });
                }
                if len <= total {
                    let data_left = data_left - lost_data as u32;
                    let pad_left = pad_left - (len - lost_data) as u32;
                    self.data(header, data_left, pad_left, f);
                } else {
                    f(Event::DataEnd { header });
                    self.lose_sync(len - total);
                }
            }
            State::Resync => {
                // Bytes before a hole cannot be chained to bytes after it.
                let live = (self.look.len() - self.look_start) as u64;
                self.skipped = self.skipped.saturating_add(live).saturating_add(len);
                self.clear_look();
            }
        }
    }

    /// At a frame boundary with nothing held: [`finish`](Self::finish) would report nothing.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Header) && self.buf.is_empty()
    }

    /// End of the stream. The decoder is then back at a frame boundary, as from `new`.
    pub fn finish<F: FnMut(Event<'_>)>(&mut self, f: &mut F) {
        match self.state {
            State::Header => {
                if !self.buf.is_empty() {
                    let missing = (FRAME_HEADER_LEN - self.buf.len()) as u64;
                    f(Event::Truncated {
                        header: None,
                        missing,
                    });
                }
            }
            State::Buffer { header } => {
                // The frame was never reported: it is lost, and cut short.
                let missing = u64::from(header.length).saturating_sub(self.buf.len() as u64);
                f(Event::Lost { header, missing });
                f(Event::Truncated {
                    header: Some(header),
                    missing,
                });
            }
            State::Skip { header, remaining } => {
                f(Event::Truncated {
                    header: Some(header),
                    missing: u64::from(remaining),
                });
            }
            State::DataPadLen { header } => {
                // Every frame gets one starting event: the pad length was never seen.
                f(Event::DataStart {
                    header,
                    pad_len: None,
                });
                f(Event::Truncated {
                    header: Some(header),
                    missing: u64::from(header.length),
                });
            }
            State::Data {
                header,
                data_left,
                pad_left,
            } => {
                let missing = u64::from(data_left) + u64::from(pad_left);
                f(Event::Truncated {
                    header: Some(header),
                    missing,
                });
            }
            State::Resync => {
                let live = (self.look.len() - self.look_start) as u64;
                let skipped = self.skipped.saturating_add(live);
                if skipped > 0 {
                    f(Event::Resync {
                        skipped,
                        at_start: self.at_start,
                    });
                }
            }
        }
        self.state = State::Header;
        self.clear_buf();
        self.clear_look();
        self.skipped = 0;
        self.at_start = false;
    }

    // ---- synchronized decoding ----

    /// Decodes `data` from a known frame boundary or from inside a known frame.
    fn feed<F: FnMut(Event<'_>)>(&mut self, mut data: &[u8], f: &mut F) {
        while !data.is_empty() {
            match self.state {
                State::Header => {
                    let header = match data.split_first_chunk::<FRAME_HEADER_LEN>() {
                        Some((head, rest)) if self.buf.is_empty() => {
                            data = rest;
                            FrameHeader::parse(head)
                        }
                        _ => {
                            let take = FRAME_HEADER_LEN
                                .saturating_sub(self.buf.len())
                                .min(data.len());
                            let (part, rest) = data.split_at_checked(take).unwrap_or((data, &[]));
                            data = rest;
                            extend_bounded(&mut self.buf, part, FRAME_HEADER_LEN);
                            let Ok(head) = <&[u8; FRAME_HEADER_LEN]>::try_from(self.buf.as_slice())
                            else {
                                continue; // still short: `data` is empty now
                            };
                            let header = FrameHeader::parse(head);
                            self.buf.clear();
                            header
                        }
                    };
                    self.start_frame(header, f);
                }
                State::Buffer { header } => {
                    let len = header.length as usize;
                    let whole = if self.buf.is_empty() {
                        data.split_at_checked(len)
                    } else {
                        None
                    };
                    if let Some((payload, rest)) = whole {
                        // The whole payload is in this push: parse it in place.
                        data = rest;
                        self.state = State::Header;
                        emit_parsed(header, payload, f);
                        continue;
                    }
                    let take = len.saturating_sub(self.buf.len()).min(data.len());
                    let (part, rest) = data.split_at_checked(take).unwrap_or((data, &[]));
                    data = rest;
                    extend_bounded(&mut self.buf, part, len);
                    if self.buf.len() >= len {
                        self.state = State::Header;
                        emit_parsed(header, &self.buf, f);
                        self.clear_buf();
                    }
                }
                State::Skip { header, remaining } => {
                    let take = (remaining as usize).min(data.len());
                    data = data.get(take..).unwrap_or_default();
                    self.skip(header, u64::from(remaining) - take as u64);
                }
                State::DataPadLen { header } => {
                    let Some((&pad_len, rest)) = data.split_first() else {
                        break;
                    };
                    data = rest;
                    let after = header.length.saturating_sub(1);
                    // "If the length of the padding is the length of the frame payload or
                    // greater, the recipient MUST treat this as a connection error" (§6.1).
                    match after.checked_sub(u32::from(pad_len)) {
                        Some(data_len) => {
                            f(Event::DataStart {
                                header,
                                pad_len: Some(pad_len),
                            });
                            self.data(header, data_len, u32::from(pad_len), f);
                        }
                        None => {
                            let error = FrameError::PaddingTooLong {
                                pad_len,
                                length: header.length,
                            };
                            f(Event::Malformed { header, error });
                            self.skip(header, u64::from(after));
                        }
                    }
                }
                State::Data {
                    header,
                    data_left,
                    pad_left,
                } => {
                    if data_left > 0 {
                        let take = (data_left as usize).min(data.len());
                        let (chunk, rest) = data.split_at_checked(take).unwrap_or((data, &[]));
                        data = rest;
                        f(Event::DataChunk {
                            header,
                            data: chunk,
                        });
                        self.data(header, data_left - take as u32, pad_left, f);
                    } else {
                        let take = (pad_left as usize).min(data.len());
                        data = data.get(take..).unwrap_or_default();
                        self.data(header, 0, pad_left - take as u32, f);
                    }
                }
                State::Resync => {
                    // Not reached: synchronized decoding never loses sync by itself.
                    self.resync_push(data, f);
                    return;
                }
            }
        }
    }

    /// A header has been read: decide how its payload is handled.
    fn start_frame<F: FnMut(Event<'_>)>(&mut self, header: FrameHeader, f: &mut F) {
        if let Err(error) = check_length(&header) {
            f(Event::Malformed { header, error });
            self.skip(header, u64::from(header.length));
            return;
        }
        if header.kind == FrameType::Data {
            if header.padded() {
                // check_length guarantees room for the pad-length octet.
                self.state = State::DataPadLen { header };
            } else {
                f(Event::DataStart {
                    header,
                    pad_len: None,
                });
                self.data(header, header.length, 0, f);
            }
        } else if header.length as usize > self.limits.max_buffered_frame {
            f(Event::Oversized { header });
            self.skip(header, u64::from(header.length));
        } else if header.length == 0 {
            self.state = State::Header;
            emit_parsed(header, &[], f);
        } else {
            self.state = State::Buffer { header };
        }
    }

    /// Inside a DATA frame with this much left; closes it when nothing is.
    fn data<F: FnMut(Event<'_>)>(
        &mut self,
        header: FrameHeader,
        data_left: u32,
        pad_left: u32,
        f: &mut F,
    ) {
        if data_left == 0 && pad_left == 0 {
            self.state = State::Header;
            f(Event::DataEnd { header });
        } else {
            self.state = State::Data {
                header,
                data_left,
                pad_left,
            };
        }
    }

    /// Skips `remaining` more payload octets of a frame already reported.
    fn skip(&mut self, header: FrameHeader, remaining: u64) {
        self.state = match u32::try_from(remaining) {
            Ok(0) => State::Header,
            Ok(remaining) => State::Skip { header, remaining },
            // Frame lengths are 24-bit: not reached.
            Err(_) => State::Header,
        };
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
    }

    // ---- resynchronisation ----

    /// Frame boundaries are lost after `skipped` bytes that will not be seen.
    fn lose_sync(&mut self, skipped: u64) {
        self.state = State::Resync;
        self.skipped = skipped;
        self.at_start = false;
        self.clear_look();
    }

    fn clear_look(&mut self) {
        self.look.clear();
        self.look_start = 0;
        if self.look.capacity() > KEEP_CAPACITY {
            self.look = Vec::new();
        }
    }

    /// The lookahead bound, never below two headers.
    fn lookahead_cap(&self) -> usize {
        self.limits.max_resync_lookahead.max(2 * FRAME_HEADER_LEN)
    }

    fn resync_push<F: FnMut(Event<'_>)>(&mut self, data: &[u8], f: &mut F) {
        let max = self.max_frame_size;
        let cap = self.lookahead_cap();
        if self.look_start == self.look.len() {
            // Nothing held: scan the push in place and copy only what must wait.
            self.clear_look();
            match scan(data, 0, 0, max, cap) {
                Scan::Found(p) => {
                    self.regain(p as u64, f);
                    self.feed(data.get(p..).unwrap_or_default(), f);
                }
                Scan::Wait(keep) => {
                    let rest = data.get(keep..).unwrap_or_default();
                    self.skipped = self.skipped.saturating_add(keep as u64);
                    self.look.extend_from_slice(rest);
                    self.bound_look();
                }
            }
            return;
        }
        if self.look_start > 0 && self.look_start >= self.look.len() / 2 {
            self.look.drain(..self.look_start);
            self.look_start = 0;
        }
        let push_start = self.look.len();
        self.look.extend_from_slice(data);
        match scan(&self.look, self.look_start, push_start, max, cap) {
            Scan::Found(p) => {
                self.regain(p.saturating_sub(self.look_start) as u64, f);
                let look = mem::take(&mut self.look);
                self.look_start = 0;
                self.feed(look.get(p..).unwrap_or_default(), f);
                self.look = look;
                self.clear_look();
            }
            Scan::Wait(keep) => {
                let dropped = keep.saturating_sub(self.look_start);
                self.skipped = self.skipped.saturating_add(dropped as u64);
                self.look_start = keep.max(self.look_start);
                self.bound_look();
            }
        }
    }

    /// Drops the oldest lookahead bytes beyond the cap (a waiting candidate never needs
    /// more, so this is a safety net).
    fn bound_look(&mut self) {
        let live = self.look.len() - self.look_start;
        let cap = self.lookahead_cap();
        if live > cap {
            let drop = live - cap;
            self.skipped = self.skipped.saturating_add(drop as u64);
            self.look_start += drop;
        }
    }

    /// A boundary was found `extra` bytes into the lookahead.
    fn regain<F: FnMut(Event<'_>)>(&mut self, extra: u64, f: &mut F) {
        let skipped = self.skipped.saturating_add(extra);
        f(Event::Resync {
            skipped,
            at_start: self.at_start,
        });
        self.state = State::Header;
        self.skipped = 0;
        self.at_start = false;
    }
}

/// Parses a complete non-DATA payload and reports it.
fn emit_parsed<F: FnMut(Event<'_>)>(header: FrameHeader, payload: &[u8], f: &mut F) {
    match parse_frame(&header, payload) {
        Ok(frame) => f(Event::Frame { header, frame }),
        Err(error) => f(Event::Malformed { header, error }),
    }
}

/// Appends, growing the capacity geometrically but never past `limit` (the frame size).
fn extend_bounded(buf: &mut Vec<u8>, bytes: &[u8], limit: usize) {
    let want = buf.len().saturating_add(bytes.len());
    if want > buf.capacity() {
        let target = buf
            .capacity()
            .saturating_mul(2)
            .clamp(want, limit.max(want));
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(bytes);
}

/// Could these 9 octets start a frame? See the module doc.
pub(crate) fn plausible(h: &FrameHeader, max_frame_size: u32) -> bool {
    h.kind.is_known()
        && !h.reserved_bit
        && h.length <= max_frame_size
        && h.undefined_flags() == 0
        && check_stream_id(h).is_none()
        && check_length(h).is_ok()
}

fn header_at(buf: &[u8], i: usize) -> Option<FrameHeader> {
    let end = i.checked_add(FRAME_HEADER_LEN)?;
    let head: &[u8; FRAME_HEADER_LEN] = buf.get(i..end)?.try_into().ok()?;
    Some(FrameHeader::parse(head))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Accept,
    Reject,
    /// Plausible, but the chain that would decide is not buffered yet.
    Pending,
}

/// Judges offset `i`; `None` if fewer than 9 octets are buffered there.
fn judge(buf: &[u8], i: usize, at_push_start: bool, max: u32, cap: usize) -> Option<Verdict> {
    let h = header_at(buf, i)?;
    if !plausible(&h, max) {
        return Some(Verdict::Reject);
    }
    let frame_end = |at: usize, len: u32| {
        at.saturating_add(FRAME_HEADER_LEN)
            .saturating_add(len as usize)
    };
    let mut next = frame_end(i, h.length);
    let mut links = 0;
    loop {
        if next == buf.len() {
            return Some(Verdict::Accept);
        }
        let Some(nh) = header_at(buf, next) else {
            break;
        };
        if !plausible(&nh, max) {
            return Some(Verdict::Reject);
        }
        links += 1;
        if links == CHAIN_LINKS {
            return Some(Verdict::Accept);
        }
        next = frame_end(next, nh.length);
    }
    Some(if links > 0 || at_push_start {
        Verdict::Accept
    } else if frame_end(FRAME_HEADER_LEN, h.length) > cap {
        // Its frame and the next header could never be held together: never verifiable.
        Verdict::Reject
    } else {
        Verdict::Pending
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// A boundary at this offset.
    Found(usize),
    /// Nothing yet: everything before this offset can be dropped.
    Wait(usize),
}

/// Scans `buf` from `from`; `push_start` is where the newest push begins.
fn scan(buf: &[u8], from: usize, push_start: usize, max: u32, cap: usize) -> Scan {
    let mut i = from;
    while let Some(verdict) = judge(buf, i, i == push_start, max, cap) {
        match verdict {
            Verdict::Accept => return Scan::Found(i),
            Verdict::Reject => i += 1,
            Verdict::Pending => {
                // Prefer the push start to an earlier candidate still waiting for data.
                if push_start > i && judge(buf, push_start, true, max, cap) == Some(Verdict::Accept)
                {
                    return Scan::Found(push_start);
                }
                return Scan::Wait(i);
            }
        }
    }
    Scan::Wait(i)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::frame;
    use super::super::{ErrorCode, Priority, SettingId, flags};
    use super::*;
    use proptest::prelude::*;

    const T_DATA: FrameType = FrameType::Data;

    /// An event with borrowed bytes copied out; adjacent chunks of one frame merged.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Chunk(FrameHeader, Vec<u8>),
        Other(String),
    }

    /// Records events and checks the ordering contract as they come.
    #[derive(Default)]
    struct Log {
        evs: Vec<Ev>,
        open_data: Option<FrameHeader>,
        /// Stream octets the events account for: each frame once (9 + length, from its
        /// first event), skipped octets, partial headers, minus what a truncation missed.
        accounted: i128,
    }

    impl Log {
        fn on(&mut self, ev: Event<'_>) {
            self.accounted += match &ev {
                Event::DataStart { header, .. }
                | Event::Frame { header, .. }
                | Event::Malformed { header, .. }
                | Event::Oversized { header }
                | Event::Lost { header, .. } => 9 + i128::from(header.length),
                Event::Resync { skipped, .. } => i128::from(*skipped),
                Event::Truncated {
                    header: None,
                    missing,
                } => 9 - i128::from(*missing),
                Event::Truncated {
                    header: Some(_),
                    missing,
                } => -i128::from(*missing),
                Event::DataChunk { .. } | Event::DataGap { .. } | Event::DataEnd { .. } => 0,
            };
            match &ev {
                Event::DataStart { header, .. } => {
                    assert_eq!(self.open_data, None, "DataStart inside a DATA frame");
                    assert_eq!(header.kind, T_DATA);
                    self.open_data = Some(*header);
                }
                Event::DataChunk { header, data } => {
                    assert!(!data.is_empty(), "empty chunk");
                    assert_eq!(self.open_data, Some(*header));
                }
                Event::DataGap { header, len } => {
                    assert!(*len > 0);
                    assert_eq!(self.open_data, Some(*header));
                }
                Event::DataEnd { header } => {
                    assert_eq!(self.open_data.take(), Some(*header));
                }
                Event::Truncated { header, .. } => {
                    if self.open_data.is_some() {
                        assert_eq!(self.open_data.take(), *header);
                    }
                }
                _ => assert_eq!(self.open_data, None, "{ev:?} inside a DATA frame"),
            }
            if let Event::DataChunk { header, data } = ev {
                match self.evs.last_mut() {
                    Some(Ev::Chunk(h, v)) if *h == header => v.extend_from_slice(data),
                    _ => self.evs.push(Ev::Chunk(header, data.to_vec())),
                }
            } else {
                self.evs.push(Ev::Other(format!("{ev:?}")));
            }
        }
    }

    enum Op<'a> {
        Push(&'a [u8]),
        Gap(u64),
    }

    fn run(mut dec: FrameDecoder, ops: &[Op<'_>]) -> Vec<Ev> {
        let mut log = Log::default();
        let mut total = 0i128;
        for op in ops {
            match op {
                Op::Push(b) => {
                    dec.push(b, &mut |e| log.on(e));
                    total += b.len() as i128;
                }
                Op::Gap(n) => {
                    dec.gap(*n, &mut |e| log.on(e));
                    total += i128::from(*n);
                }
            }
            check_bounds(&dec);
        }
        dec.finish(&mut |e| log.on(e));
        assert_eq!(log.open_data, None, "DATA frame left open");
        assert_eq!(log.accounted, total, "octets accounted for");
        log.evs
    }

    fn check_bounds(dec: &FrameDecoder) {
        let frame_cap = dec.limits.max_buffered_frame.max(FRAME_HEADER_LEN);
        assert!(
            dec.buf.len() <= frame_cap,
            "buf {} > {frame_cap}",
            dec.buf.len()
        );
        assert!(dec.buf.capacity() <= frame_cap.max(KEEP_CAPACITY));
        let live = dec.look.len() - dec.look_start;
        assert!(live <= dec.lookahead_cap(), "lookahead {live}");
    }

    fn decode(stream: &[u8], cuts: &[usize], limits: DecoderLimits) -> Vec<Ev> {
        let mut ops = Vec::new();
        let mut at = 0;
        for &c in cuts {
            let c = c.clamp(at, stream.len());
            ops.push(Op::Push(&stream[at..c]));
            at = c;
        }
        ops.push(Op::Push(&stream[at..]));
        run(FrameDecoder::new(limits), &ops)
    }

    /// One line per event, for readable expectations.
    fn summary(evs: &[Ev]) -> Vec<String> {
        evs.iter()
            .map(|e| match e {
                Ev::Chunk(h, v) => format!("chunk {} {}", h.stream_id, String::from_utf8_lossy(v)),
                Ev::Other(s) => s.clone(),
            })
            .collect()
    }

    fn small_limits() -> DecoderLimits {
        DecoderLimits {
            max_buffered_frame: 64,
            max_resync_lookahead: 64 << 10,
        }
    }

    const SETTINGS_PAYLOAD: [u8; 12] = [0, 3, 0, 0, 0, 100, 0xf0, 0x0d, 0, 0, 0, 7];
    const HPACK_GET: [u8; 3] = [0x82, 0x86, 0x84];
    /// PADDED|PRIORITY HEADERS payload: pad 2, exclusive dep 1, weight 15, fragment, padding.
    const HEADERS_PP_PAYLOAD: [u8; 9] = [2, 0x80, 0, 0, 1, 15, 0x82, 0, 0];
    /// PADDED DATA payload: pad 3, "0123456789", padding.
    const DATA_PADDED_PAYLOAD: [u8; 14] = [
        3, b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', 0, 0, 0,
    ];
    const GOAWAY_PAYLOAD: [u8; 12] = [0, 0, 0, 5, 0, 0, 0, 2, b'b', b'y', b'e', b'!'];

    /// A stream exercising every path that does not need a gap.
    fn mixed_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend(frame(FrameType::Settings, 0, 0, &SETTINGS_PAYLOAD));
        s.extend(frame(FrameType::Settings, flags::ACK, 0, &[]));
        s.extend(frame(FrameType::WindowUpdate, 0, 0, &[0, 0x0f, 0, 1]));
        s.extend(frame(FrameType::Headers, flags::END_HEADERS, 1, &HPACK_GET));
        s.extend(frame(FrameType::Headers, 0x2c, 3, &HEADERS_PP_PAYLOAD));
        s.extend(frame(
            FrameType::Continuation,
            flags::END_HEADERS,
            3,
            &[0x84],
        ));
        s.extend(frame(T_DATA, 0, 1, b"abcdefghijklmnopqrst"));
        s.extend(frame(T_DATA, flags::PADDED, 3, &DATA_PADDED_PAYLOAD));
        s.extend(frame(T_DATA, flags::PADDED, 3, &[0])); // padded, empty
        s.extend(frame(T_DATA, flags::PADDED, 3, &[2, 0, 0])); // all padding
        s.extend(frame(T_DATA, flags::PADDED, 3, &[3, 0, 0])); // pad too long
        s.extend(frame(T_DATA, flags::END_STREAM, 1, &[]));
        s.extend(frame(FrameType::Ping, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8]));
        s.extend(frame(FrameType::Ping, 0, 0, &[1, 2, 3, 4, 5, 6, 7])); // bad length
        s.extend(frame(FrameType::Settings, 0, 0, &[0; 7])); // bad length
        s.extend(frame(FrameType::Headers, 0x0c, 5, &[9, 0x82])); // padding too long
        s.extend(frame(FrameType::Unknown(0xfa), 0xff, 7, b"xyz"));
        s.extend(frame(
            FrameType::Headers,
            flags::END_HEADERS,
            5,
            &[0x41; 100],
        )); // oversized (limit 64)
        s.extend(frame(FrameType::RstStream, 0, 5, &[0, 0, 0, 8]));
        s.extend(frame(
            FrameType::PushPromise,
            flags::END_HEADERS,
            1,
            &[0, 0, 0, 2, 0x82],
        ));
        s.extend(frame(FrameType::Priority, 0, 9, &[0, 0, 0, 3, 200]));
        s.extend(frame(
            FrameType::PriorityUpdate,
            0,
            0,
            &[0, 0, 0, 1, b'u', b'=', b'2'],
        ));
        s.extend(frame(
            FrameType::AltSvc,
            0,
            1,
            &[0, 0, b'c', b'l', b'e', b'a', b'r'],
        ));
        s.extend(frame(FrameType::Origin, 0, 0, &[0, 1, b'o']));
        s.extend(frame(T_DATA, 0, 5, &[0x5a; 300])); // DATA is never "oversized"
        s.extend(frame(FrameType::Goaway, 0, 0, &GOAWAY_PAYLOAD));
        s
    }

    #[test]
    fn mixed_stream_events() {
        let evs = decode(&mixed_stream(), &[], small_limits());
        let s = summary(&evs);
        let has = |needle: &str| s.iter().any(|e| e.contains(needle));
        assert!(has("SettingId(61453), 7"), "{s:#?}");
        assert!(has("chunk 1 abcdefghijklmnopqrst"));
        assert!(has("chunk 3 0123456789"));
        assert!(has("PaddingTooLong { pad_len: 3, length: 3 }"));
        assert!(has("PaddingTooLong { pad_len: 9, length: 2 }"));
        assert!(has("kind: Ping, expected: Exactly(8), got: 7"));
        assert!(has("kind: Settings, expected: MultipleOf(6), got: 7"));
        assert!(has("Unknown { payload: [120, 121, 122] }"));
        assert!(has("Oversized"));
        assert!(has("debug_data: [98, 121, 101, 33]"));
        // Frames decoded, in order.
        let kinds: Vec<&str> = s
            .iter()
            .filter_map(|e| {
                [
                    "Frame {",
                    "Malformed",
                    "Oversized",
                    "DataStart",
                    "DataEnd",
                    "chunk",
                ]
                .into_iter()
                .find(|k| e.starts_with(k))
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "Frame {",
                "Frame {",
                "Frame {",
                "Frame {",
                "Frame {",
                "Frame {", // SETTINGS..CONTINUATION
                "DataStart",
                "chunk",
                "DataEnd", // plain
                "DataStart",
                "chunk",
                "DataEnd", // padded
                "DataStart",
                "DataEnd", // padded empty
                "DataStart",
                "DataEnd",   // all padding
                "Malformed", // pad too long
                "DataStart",
                "DataEnd", // empty END_STREAM
                "Frame {",
                "Malformed",
                "Malformed",
                "Malformed", // PING, PING/7, SETTINGS/7, HEADERS pad
                "Frame {",
                "Oversized", // unknown, HEADERS/100
                "Frame {",
                "Frame {",
                "Frame {",
                "Frame {",
                "Frame {",
                "Frame {", // RST..ORIGIN
                "DataStart",
                "chunk",
                "DataEnd", // DATA/300
                "Frame {", // GOAWAY
            ]
        );
        // Padding is reported, priority parsed.
        let want = Event::Frame {
            header: FrameHeader {
                length: 9,
                kind: FrameType::Headers,
                flags: 0x2c,
                stream_id: 3,
                reserved_bit: false,
            },
            frame: Frame::Headers {
                priority: Some(Priority {
                    exclusive: true,
                    dependency: 1,
                    weight: 15,
                }),
                fragment: &[0x82],
                pad_len: Some(2),
            },
        };
        assert!(s.contains(&format!("{want:?}")));
        assert!(
            s.iter()
                .any(|e| e.contains("DataStart") && e.contains("pad_len: Some(3)"))
        );
    }

    #[test]
    fn every_split_point_decodes_identically() {
        let stream = mixed_stream();
        let whole = decode(&stream, &[], small_limits());
        for cut in 0..=stream.len() {
            assert_eq!(
                decode(&stream, &[cut], small_limits()),
                whole,
                "split at {cut}"
            );
        }
        for cut in 0..stream.len() {
            assert_eq!(
                decode(&stream, &[cut, cut + 1, cut + 9], small_limits()),
                whole,
                "cuts at {cut}"
            );
        }
        let bytewise: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(
            decode(&stream, &bytewise, small_limits()),
            whole,
            "one byte per push"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn random_splits_decode_identically(mut cuts in proptest::collection::vec(0usize..2000, 0..40)) {
            let stream = mixed_stream();
            cuts.sort_unstable();
            prop_assert_eq!(decode(&stream, &cuts, small_limits()), decode(&stream, &[], small_limits()));
        }
    }

    #[test]
    fn data_is_passed_through_without_copying() {
        let stream = frame(T_DATA, 0, 1, b"zero-copy payload");
        let range = stream.as_ptr_range();
        let mut dec = FrameDecoder::default();
        let mut chunks = 0;
        for part in stream.chunks(5) {
            let r = part.as_ptr_range();
            dec.push(part, &mut |e| {
                if let Event::DataChunk { data, .. } = e {
                    chunks += 1;
                    assert!(range.contains(&data.as_ptr()) && r.contains(&data.as_ptr()));
                }
            });
        }
        assert!(chunks >= 3);
        assert!(
            dec.buf.capacity() <= FRAME_HEADER_LEN,
            "only split headers are copied"
        );
    }

    #[test]
    fn padded_data_across_pushes() {
        let stream = frame(
            T_DATA,
            flags::PADDED | flags::END_STREAM,
            3,
            &DATA_PADDED_PAYLOAD,
        );
        // Cut after the header, after the pad length, inside the data, inside the padding.
        let evs = decode(&stream, &[9, 10, 14, 21], DecoderLimits::default());
        let h = FrameHeader::parse(stream[..9].try_into().unwrap());
        assert_eq!(
            evs,
            [
                Ev::Other(format!(
                    "{:?}",
                    Event::DataStart {
                        header: h,
                        pad_len: Some(3)
                    }
                )),
                Ev::Chunk(h, b"0123456789".to_vec()),
                Ev::Other(format!("{:?}", Event::DataEnd { header: h })),
            ]
        );
    }

    fn ev(e: Event<'_>) -> Ev {
        Ev::Other(format!("{e:?}"))
    }

    fn head(wire: &[u8]) -> FrameHeader {
        FrameHeader::parse(wire[..9].try_into().unwrap())
    }

    const PING_PAYLOAD: [u8; 8] = *b"pingpong";

    #[test]
    fn gap_inside_data_payload() {
        let data = frame(T_DATA, 0, 1, &[b'd'; 100]);
        let ping = frame(FrameType::Ping, 0, 0, &PING_PAYLOAD);
        let h = head(&data);
        let mut tail = data[79..].to_vec();
        tail.extend(&ping);
        let evs = run(
            FrameDecoder::default(),
            &[Op::Push(&data[..39]), Op::Gap(40), Op::Push(&tail)],
        );
        assert_eq!(
            evs,
            [
                ev(Event::DataStart {
                    header: h,
                    pad_len: None
                }),
                Ev::Chunk(h, vec![b'd'; 30]),
                ev(Event::DataGap { header: h, len: 40 }),
                Ev::Chunk(h, vec![b'd'; 30]),
                ev(Event::DataEnd { header: h }),
                ev(Event::Frame {
                    header: head(&ping),
                    frame: Frame::Ping {
                        ack: false,
                        payload: PING_PAYLOAD
                    }
                }),
            ]
        );
    }

    #[test]
    fn gap_in_padding_is_not_data() {
        let data = frame(T_DATA, flags::PADDED, 3, &DATA_PADDED_PAYLOAD);
        let h = head(&data);
        // Lose the last data octet and the first padding octet.
        let evs = run(
            FrameDecoder::default(),
            &[Op::Push(&data[..19]), Op::Gap(2), Op::Push(&data[21..])],
        );
        assert_eq!(
            evs,
            [
                ev(Event::DataStart {
                    header: h,
                    pad_len: Some(3)
                }),
                Ev::Chunk(h, b"012345678".to_vec()),
                ev(Event::DataGap { header: h, len: 1 }),
                ev(Event::DataEnd { header: h }),
            ]
        );
    }

    #[test]
    fn gap_over_the_pad_length_octet() {
        let data = frame(T_DATA, flags::PADDED, 3, &DATA_PADDED_PAYLOAD);
        let ping = frame(FrameType::Ping, 0, 0, &PING_PAYLOAD);
        let h = head(&data);
        let mut tail = data[12..].to_vec();
        tail.extend(&ping);
        let evs = run(
            FrameDecoder::default(),
            &[Op::Push(&data[..9]), Op::Gap(3), Op::Push(&tail)],
        );
        assert_eq!(
            evs,
            [
                ev(Event::DataStart {
                    header: h,
                    pad_len: None
                }),
                ev(Event::DataGap { header: h, len: 13 }),
                ev(Event::DataEnd { header: h }),
                ev(Event::Frame {
                    header: head(&ping),
                    frame: Frame::Ping {
                        ack: false,
                        payload: PING_PAYLOAD
                    }
                }),
            ]
        );
    }

    #[test]
    fn gap_inside_a_non_data_frame_loses_only_that_frame() {
        let goaway = frame(FrameType::Goaway, 0, 0, &GOAWAY_PAYLOAD);
        let ping = frame(FrameType::Ping, 0, 0, &PING_PAYLOAD);
        let mut tail = goaway[15..].to_vec();
        tail.extend(&ping);
        let evs = run(
            FrameDecoder::default(),
            &[Op::Push(&goaway[..11]), Op::Gap(4), Op::Push(&tail)],
        );
        assert_eq!(
            evs,
            [
                ev(Event::Lost {
                    header: head(&goaway),
                    missing: 4
                }),
                ev(Event::Frame {
                    header: head(&ping),
                    frame: Frame::Ping {
                        ack: false,
                        payload: PING_PAYLOAD
                    }
                }),
            ]
        );
    }

    /// A client stream of gRPC-like traffic: HEADERS, DATA, WINDOW_UPDATE...
    fn client_frames() -> Vec<Vec<u8>> {
        vec![
            frame(FrameType::Headers, flags::END_HEADERS, 1, &HPACK_GET),
            frame(T_DATA, 0, 1, &[b'a'; 50]),
            frame(
                FrameType::Headers,
                flags::END_HEADERS,
                3,
                &[0x82, 0x87, 0x85, 0xbf],
            ),
            frame(FrameType::WindowUpdate, 0, 0, &[0, 0, 0x10, 0]),
            frame(T_DATA, flags::END_STREAM, 3, b"hello"),
            frame(FrameType::Ping, 0, 0, &PING_PAYLOAD),
        ]
    }

    fn kinds(evs: &[Ev]) -> Vec<String> {
        summary(evs)
            .into_iter()
            .map(|s| {
                let end = s.find([' ', '{']).unwrap_or(s.len());
                if s.starts_with("Frame") || s.starts_with("Resync") {
                    // Keep the frame type / skipped count.
                    let kind = s.split("kind: ").nth(1).and_then(|k| k.split(',').next());
                    match kind {
                        Some(k) => format!("Frame {k}"),
                        None => s,
                    }
                } else {
                    s[..end].to_string()
                }
            })
            .collect()
    }

    #[test]
    fn gap_across_a_boundary_resyncs() {
        let f = client_frames();
        // Segments: [H1 + DATA head + 20 data] gap(30 data + H3 header + 2) [rest of H3 payload] [WU] [DATA] [PING]
        let mut seg1 = f[0].clone();
        seg1.extend(&f[1][..29]);
        let ops = [
            Op::Push(&seg1),
            Op::Gap(30 + 11),
            Op::Push(&f[2][11..]),
            Op::Push(&f[3]),
            Op::Push(&f[4]),
            Op::Push(&f[5]),
        ];
        let evs = run(FrameDecoder::default(), &ops);
        assert_eq!(
            kinds(&evs),
            [
                "Frame Headers",
                "DataStart",
                "chunk",
                "DataGap",
                "DataEnd",
                "Resync { skipped: 13, at_start: false }",
                "Frame WindowUpdate",
                "DataStart",
                "chunk",
                "DataEnd",
                "Frame Ping",
            ]
        );
        assert!(evs.contains(&ev(Event::DataGap {
            header: head(&f[1]),
            len: 30
        })));
    }

    #[test]
    fn gap_across_a_boundary_resyncs_within_one_push() {
        let f = client_frames();
        // After the gap, one push holds the tail of a payload and the next frames.
        let mut tail = f[2][11..].to_vec();
        for fr in &f[3..] {
            tail.extend(fr);
        }
        let evs = run(
            FrameDecoder::default(),
            &[Op::Push(&f[0]), Op::Gap(20), Op::Push(&tail)],
        );
        assert_eq!(
            kinds(&evs),
            [
                "Frame Headers",
                "Resync { skipped: 22, at_start: false }",
                "Frame WindowUpdate",
                "DataStart",
                "chunk",
                "DataEnd",
                "Frame Ping",
            ]
        );
    }

    #[test]
    fn unsynchronized_start_in_a_data_payload() {
        let f = client_frames();
        let mut stream = f[1][20..].to_vec(); // 39 octets of a DATA payload
        for fr in &f[2..] {
            stream.extend(fr);
        }
        let want = [
            "Resync { skipped: 39, at_start: true }",
            "Frame Headers",
            "Frame WindowUpdate",
            "DataStart",
            "chunk",
            "DataEnd",
            "Frame Ping",
        ];
        // One push, and one push per frame, and bytewise.
        let dec = || FrameDecoder::new_unsynchronized(DecoderLimits::default());
        assert_eq!(kinds(&run(dec(), &[Op::Push(&stream)])), want);
        let mut ops = vec![Op::Push(&stream[..39])];
        ops.extend(f[2..].iter().map(|fr| Op::Push(fr)));
        assert_eq!(kinds(&run(dec(), &ops)), want);
        let bytewise: Vec<Op<'_>> = stream.chunks(1).map(Op::Push).collect();
        assert_eq!(kinds(&run(dec(), &bytewise)), want);
    }

    #[test]
    fn unsynchronized_start_at_a_boundary() {
        let f = client_frames();
        let evs = run(
            FrameDecoder::new_unsynchronized(DecoderLimits::default()),
            &[Op::Push(&f[0]), Op::Push(&f[1])],
        );
        assert_eq!(
            kinds(&evs),
            [
                "Resync { skipped: 0, at_start: true }",
                "Frame Headers",
                "DataStart",
                "chunk",
                "DataEnd"
            ]
        );
    }

    #[test]
    fn garbage_then_frames() {
        let f = client_frames();
        // The zeros and 0x0d make plausible empty DATA headers that the chain rules out.
        let garbage =
            b"GET / HTTP/1.1\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0d\nHost: example\r\n\r\n";
        let mut stream = garbage.to_vec();
        for fr in &f {
            stream.extend(fr);
        }
        let evs = run(
            FrameDecoder::new_unsynchronized(DecoderLimits::default()),
            &[Op::Push(&stream)],
        );
        let k = kinds(&evs);
        assert_eq!(
            k[0],
            format!("Resync {{ skipped: {}, at_start: true }}", garbage.len())
        );
        assert_eq!(
            k[1..],
            kinds(&run(FrameDecoder::default(), &[Op::Push(&f.concat())]))[..]
        );
    }

    #[test]
    fn never_resynced_is_reported_at_finish() {
        let garbage = [0xffu8; 1000];
        let evs = run(
            FrameDecoder::new_unsynchronized(DecoderLimits::default()),
            &[Op::Push(&garbage), Op::Gap(5)],
        );
        assert_eq!(kinds(&evs), ["Resync { skipped: 1005, at_start: true }"]);
        let evs = run(
            FrameDecoder::new_unsynchronized(DecoderLimits::default()),
            &[],
        );
        assert!(evs.is_empty());
    }

    #[test]
    fn candidate_waits_for_its_chain() {
        // 3 garbage octets, then a DATA frame, cut so that the candidate's chain is not yet
        // buffered and it does not start a push.
        let f = client_frames();
        let mut stream = vec![0xee, 0xee, 0xee];
        stream.extend(&f[1]);
        stream.extend(&f[5]);
        let mut dec = FrameDecoder::new_unsynchronized(DecoderLimits::default());
        let mut log = Log::default();
        dec.push(&stream[..30], &mut |e| log.on(e));
        assert!(!dec.is_synchronized() && log.evs.is_empty());
        assert_eq!(
            dec.look.len() - dec.look_start,
            27,
            "held from the candidate on"
        );
        dec.push(&stream[30..70], &mut |e| log.on(e));
        assert!(!dec.is_synchronized(), "the next header is one octet short");
        dec.push(&stream[70..71], &mut |e| log.on(e));
        assert!(dec.is_synchronized());
        dec.push(&stream[71..], &mut |e| log.on(e));
        assert_eq!(
            kinds(&log.evs),
            [
                "Resync { skipped: 3, at_start: true }",
                "DataStart",
                "chunk",
                "DataEnd",
                "Frame Ping"
            ]
        );
    }

    #[test]
    fn push_start_preferred_over_a_waiting_candidate() {
        // A false candidate (plausible PING header whose chain is not yet buffered) inside
        // garbage, then a segment starting with real frames.
        let fake = [0xee, 0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 0xee];
        let f = client_frames();
        let mut dec = FrameDecoder::new_unsynchronized(DecoderLimits::default());
        let mut log = Log::default();
        dec.push(&fake, &mut |e| log.on(e));
        assert!(!dec.is_synchronized());
        dec.push(&f[5], &mut |e| log.on(e));
        assert_eq!(
            kinds(&log.evs),
            ["Resync { skipped: 12, at_start: true }", "Frame Ping"]
        );
    }

    #[test]
    fn oversized_non_data_is_skipped() {
        let big = frame(FrameType::Headers, flags::END_HEADERS, 1, &[0x41; 200]);
        let ping = frame(FrameType::Ping, 0, 0, &PING_PAYLOAD);
        let stream = [big.clone(), ping.clone()].concat();
        let limits = DecoderLimits {
            max_buffered_frame: 100,
            ..DecoderLimits::default()
        };
        for cut in [0, 5, 50, 209, 212] {
            let evs = decode(&stream, &[cut], limits);
            assert_eq!(
                evs,
                [
                    ev(Event::Oversized { header: head(&big) }),
                    ev(Event::Frame {
                        header: head(&ping),
                        frame: Frame::Ping {
                            ack: false,
                            payload: PING_PAYLOAD
                        }
                    }),
                ]
            );
        }
    }

    #[test]
    fn frames_above_max_frame_size_decode_when_synchronized() {
        let data = frame(T_DATA, 0, 1, &[7; 20_000]);
        let evs = decode(&data, &[4000], DecoderLimits::default());
        assert_eq!(kinds(&evs), ["DataStart", "chunk", "DataEnd"]);
    }

    #[test]
    fn truncated_at_finish() {
        let goaway = frame(FrameType::Goaway, 0, 0, &GOAWAY_PAYLOAD);
        let data = frame(T_DATA, 0, 1, &[1; 10]);
        let evs = decode(&goaway[..4], &[], DecoderLimits::default());
        assert_eq!(
            evs,
            [ev(Event::Truncated {
                header: None,
                missing: 5
            })]
        );
        let evs = decode(&goaway[..15], &[], DecoderLimits::default());
        let h = head(&goaway);
        assert_eq!(
            evs,
            [
                ev(Event::Lost {
                    header: h,
                    missing: 6
                }),
                ev(Event::Truncated {
                    header: Some(h),
                    missing: 6
                })
            ]
        );
        let evs = decode(&data[..12], &[], DecoderLimits::default());
        let h = head(&data);
        assert_eq!(
            evs,
            [
                ev(Event::DataStart {
                    header: h,
                    pad_len: None
                }),
                Ev::Chunk(h, vec![1; 3]),
                ev(Event::Truncated {
                    header: Some(h),
                    missing: 7
                }),
            ]
        );
    }

    #[test]
    fn decoded_settings_keep_unknown_ids() {
        let s = frame(FrameType::Settings, 0, 0, &SETTINGS_PAYLOAD);
        let mut dec = FrameDecoder::default();
        let mut seen = Vec::new();
        dec.push(&s, &mut |e| {
            if let Event::Frame {
                frame: Frame::Settings { settings, .. },
                ..
            } = e
            {
                seen.extend(settings.iter());
            }
        });
        assert_eq!(
            seen,
            [
                (SettingId::MAX_CONCURRENT_STREAMS, 100),
                (SettingId(0xf00d), 7)
            ]
        );
        let rst = frame(FrameType::RstStream, 0, 1, &[0, 0, 0, 2]);
        dec.push(&rst, &mut |e| {
            let Event::Frame {
                frame: Frame::RstStream { error_code },
                ..
            } = e
            else {
                panic!()
            };
            assert_eq!(error_code, ErrorCode::INTERNAL_ERROR);
        });
    }

    #[test]
    fn buffer_grows_only_to_the_frame() {
        let hdrs = frame(FrameType::Headers, flags::END_HEADERS, 1, &[0x41; 3000]);
        let mut dec = FrameDecoder::default();
        for part in hdrs.chunks(7) {
            dec.push(part, &mut |_| {});
            assert!(dec.buf.capacity() <= 3000, "{}", dec.buf.capacity());
        }
        assert!(dec.buf.is_empty());
    }

    #[test]
    fn lookahead_is_bounded() {
        // Each 20-octet segment holds plausible headers (HEADERS of 512 octets at 11, DATA of
        // 260 at 13) that wait for their chains, which are contradicted 500 octets later.
        const SEGMENT: [u8; 20] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 2, 0, 1, 4, 0, 0,
            0, 1,
        ];
        let limits = DecoderLimits {
            max_buffered_frame: 1 << 20,
            max_resync_lookahead: 1000,
        };
        let mut dec = FrameDecoder::new_unsynchronized(limits);
        dec.set_max_frame_size(1 << 24);
        let mut log = Log::default();
        let mut max_live = 0;
        for _ in 0..5000 {
            dec.push(&SEGMENT, &mut |e| log.on(e));
            check_bounds(&dec);
            max_live = max_live.max(dec.look.len() - dec.look_start);
        }
        assert!(max_live > 500, "candidates did wait ({max_live})");
        assert!(dec.look.capacity() <= 4096, "{}", dec.look.capacity());
        dec.finish(&mut |e| log.on(e));
        assert_eq!(
            log.evs,
            [ev(Event::Resync {
                skipped: 5000 * 20,
                at_start: true
            })]
        );
    }

    /// xorshift64*, for reproducible random cases without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    #[test]
    fn random_bytes_pushes_and_gaps_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let valid = mixed_stream();
        let mut stats = (0, 0, 0); // events, resyncs, frames
        for case in 0..6000 {
            // Half the cases: valid frames with random corruption; half: random bytes.
            let mut stream = if case % 2 == 0 {
                let mut s = valid.clone();
                for _ in 0..rng.below(8) {
                    let i = rng.below(s.len() as u64) as usize;
                    s[i] = rng.next() as u8;
                }
                s
            } else {
                (0..rng.below(3000)).map(|_| rng.next() as u8).collect()
            };
            if case % 7 == 0 {
                // Zero-heavy data, where plausible headers are common.
                stream
                    .iter_mut()
                    .for_each(|b| *b &= if rng.below(4) == 0 { 0x0f } else { 0 });
            }
            let limits = DecoderLimits {
                max_buffered_frame: rng.below(200) as usize,
                max_resync_lookahead: rng.below(500) as usize,
            };
            let mut dec = if case % 3 == 0 {
                FrameDecoder::new(limits)
            } else {
                FrameDecoder::new_unsynchronized(limits)
            };
            if rng.below(2) == 0 {
                dec.set_max_frame_size(rng.next() as u32);
            }
            let mut log = Log::default();
            let mut at = 0;
            let mut total = 0i128;
            while at < stream.len() {
                let n = (rng.below(40) as usize + 1).min(stream.len() - at);
                dec.push(&stream[at..at + n], &mut |e| log.on(e));
                at += n;
                total += n as i128;
                if rng.below(10) == 0 {
                    let g = rng.below(60);
                    dec.gap(g, &mut |e| log.on(e));
                    at += (g as usize).min(stream.len() - at);
                    total += i128::from(g);
                }
                check_bounds(&dec);
            }
            dec.finish(&mut |e| log.on(e));
            assert_eq!(log.open_data, None);
            assert_eq!(log.accounted, total, "case {case}");
            stats.0 += log.evs.len();
            stats.1 += log
                .evs
                .iter()
                .filter(|e| matches!(e, Ev::Other(s) if s.starts_with("Resync")))
                .count();
            stats.2 += log
                .evs
                .iter()
                .filter(|e| matches!(e, Ev::Other(s) if s.starts_with("Frame")))
                .count();
            assert!(dec.is_synchronized() && dec.buf.is_empty() && dec.look.is_empty());
        }
        // The cases reach the interesting paths.
        assert!(stats.1 > 3000 && stats.2 > 20_000, "{stats:?}");
    }
}
