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
mod tests;
