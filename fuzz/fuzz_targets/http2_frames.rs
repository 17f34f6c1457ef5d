//! `FrameDecoder` fed one direction's bytes in arbitrary pieces, with gaps, synchronized
//! and unsynchronized; plus `parse_frame` on the input taken as one frame.
//!
//! Input layout (simple, so real streams from captures make good seeds):
//! ```text
//! ctrl  u8        bit 0: start unsynchronized; bit 1: max frame size 2^24-1;
//!                 bit 2: small limits (4 KiB frames, 1 KiB lookahead)
//! n     u8        number of cuts (mod 16)
//! cuts  n x 4     (position u16 BE, gap u16 BE): push up to `position`, then lose `gap`
//!                 bytes (bit 15 scales the gap by 4096); gap 0 is only a push boundary
//! bytes ...       the stream
//! ```
//! Checked: the documented event grammar (DataStart ... exactly one DataEnd or Truncated,
//! chunks never empty), the decoder is at a frame boundary after `finish`, and, for a
//! synchronized stream without gaps, that any cutting into pushes gives the same events as
//! one push (DATA payloads compared as concatenated bytes).

#![no_main]

use h2scope::http2::frame::{
    DecoderLimits, Event, FRAME_HEADER_LEN, Frame, FrameDecoder, FrameHeader, OriginEntries,
    check_length, check_stream_id, length_rule, parse_frame,
};
use libfuzzer_sys::fuzz_target;

/// Events in an owned, comparable form; consecutive DATA chunks are merged.
#[derive(Default)]
struct Log {
    events: Vec<String>,
    chunk: Vec<u8>,
    in_data: bool,
}

impl Log {
    fn flush_chunk(&mut self) {
        if !self.chunk.is_empty() {
            self.events.push(format!("chunk {:?}", self.chunk));
            self.chunk.clear();
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        match &ev {
            Event::DataStart { .. } => {
                assert!(!self.in_data, "DataStart inside a DATA frame");
                self.in_data = true;
            }
            Event::DataChunk { data, .. } => {
                assert!(self.in_data, "DataChunk outside a DATA frame");
                assert!(!data.is_empty(), "empty DataChunk");
                self.chunk.extend_from_slice(data);
                return;
            }
            Event::DataGap { len, .. } => {
                assert!(self.in_data, "DataGap outside a DATA frame");
                assert!(*len > 0, "empty DataGap");
            }
            Event::DataEnd { .. } => {
                assert!(self.in_data, "DataEnd outside a DATA frame");
                self.in_data = false;
            }
            Event::Truncated { .. } => self.in_data = false,
            Event::Frame { .. }
            | Event::Malformed { .. }
            | Event::Oversized { .. }
            | Event::Lost { .. }
            | Event::Resync { .. } => {
                assert!(!self.in_data, "{ev:?} inside a DATA frame");
            }
        }
        self.flush_chunk();
        self.events.push(format!("{ev:?}"));
    }

    fn finish(mut self) -> Vec<String> {
        self.flush_chunk();
        assert!(!self.in_data, "a DATA frame was never closed");
        self.events
    }
}

/// Decodes `stream` cut at `cuts` (sorted positions with the bytes lost after each).
fn decode(ctrl: u8, stream: &[u8], cuts: &[(usize, u64)]) -> Vec<String> {
    let limits = if ctrl & 4 != 0 {
        DecoderLimits {
            max_buffered_frame: 4096,
            max_resync_lookahead: 1024,
        }
    } else {
        DecoderLimits::default()
    };
    let mut d = if ctrl & 1 != 0 {
        FrameDecoder::new_unsynchronized(limits)
    } else {
        FrameDecoder::new(limits)
    };
    if ctrl & 2 != 0 {
        d.set_max_frame_size(u32::MAX);
    }
    let mut log = Log::default();
    let mut at = 0;
    for &(pos, gap) in cuts {
        let pos = pos.clamp(at, stream.len());
        d.push(&stream[at..pos], &mut |e| log.event(e));
        at = pos;
        if gap > 0 {
            d.gap(gap, &mut |e| log.event(e));
            at = at
                .saturating_add(gap.min(usize::MAX as u64) as usize)
                .min(stream.len());
        }
    }
    d.push(&stream[at..], &mut |e| log.event(e));
    d.finish(&mut |e| log.event(e));
    assert!(d.is_synchronized(), "not at a frame boundary after finish");
    log.finish()
}

fn parse_one(data: &[u8]) {
    let Some((head, payload)) = data.split_first_chunk::<FRAME_HEADER_LEN>() else {
        return;
    };
    let mut header = FrameHeader::parse(head);
    let _ = check_length(&header);
    let _ = check_stream_id(&header);
    let _ = length_rule(&header);
    header.length = payload.len().min(u32::MAX as usize) as u32;
    match parse_frame(&header, payload) {
        Ok(Frame::Settings { settings, .. }) => {
            for s in settings.iter() {
                let _ = s;
            }
        }
        Ok(Frame::Origin { payload }) => {
            let mut entries = OriginEntries::new(payload);
            for e in entries.by_ref() {
                let _ = e;
            }
            let _ = entries.trailing();
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    parse_one(data);
    let [ctrl, n, rest @ ..] = data else {
        return;
    };
    let n = usize::from(n % 16);
    let Some((cut_bytes, stream)) = rest.split_at_checked(n * 4) else {
        return;
    };
    let mut cuts: Vec<(usize, u64)> = cut_bytes
        .chunks_exact(4)
        .map(|c| {
            let pos = usize::from(u16::from_be_bytes([c[0], c[1]]));
            let g = u16::from_be_bytes([c[2], c[3]]);
            let gap = u64::from(g & 0x7fff) << if g & 0x8000 != 0 { 12 } else { 0 };
            (pos, gap)
        })
        .collect();
    cuts.sort_by_key(|c| c.0);
    let pieces = decode(*ctrl, stream, &cuts);
    if *ctrl & 1 == 0 && cuts.iter().all(|c| c.1 == 0) {
        let whole = decode(*ctrl, stream, &[]);
        assert_eq!(pieces, whole, "pushes cut differently decode differently");
    }
});
