//! gRPC framing and compression: one stream direction's DATA bytes through a `Deframer`
//! (optionally gRPC-Web, optionally base64 text first) in arbitrary pieces with losses, then
//! every message body through `decompress` with every encoding and a small cap.
//!
//! Input layout:
//! ```text
//! ctrl  u8      bit 0: gRPC-Web; bit 1: grpc-web-text (base64); bit 2: 1 KiB message limit
//! n     u8      number of cuts (mod 16)
//! cuts  n x 4   (position u16 BE, lost u16 BE): push up to `position`, then `lost` bytes
//!               are lost (0xffff: an unknown amount); 0 is only a push boundary
//! bytes ...     the DATA payload bytes
//! ```
//! Checked: bodies never exceed the message limit or their declared length, a complete
//! frame holds exactly its declared length, indices increase, decompressed output never
//! exceeds the cap, and without losses any cutting gives the same frames as one push.

#![no_main]

use h2scope::capture::Timestamp;
use h2scope::grpc::{
    Deframer, Encoding, FrameKind, Framed, WebTextDecoder, decompress, framing::MAX_WEB_TRAILERS,
    parse_web_trailers,
};
use libfuzzer_sys::fuzz_target;

const CAP: usize = 64 << 10;

fn deframe(ctrl: u8, stream: &[u8], cuts: &[(usize, u64)]) -> (Vec<Framed>, String) {
    let max = if ctrl & 4 != 0 { 1024 } else { 64 << 10 };
    let mut d = Deframer::new(max).web(ctrl & 1 != 0);
    let mut text = (ctrl & 2 != 0).then(WebTextDecoder::new);
    let mut out = Vec::new();
    let mut bytes = Vec::new();
    let ts = Timestamp(1);
    let mut push = |piece: &[u8], d: &mut Deframer, out: &mut Vec<Framed>| match &mut text {
        Some(t) => {
            bytes.clear();
            t.push(piece, &mut bytes);
            d.push(&bytes, ts, out);
        }
        None => d.push(piece, ts, out),
    };
    let mut at = 0;
    for &(pos, lost) in cuts {
        let pos = pos.clamp(at, stream.len());
        push(&stream[at..pos], &mut d, &mut out);
        at = pos;
        if lost > 0 {
            d.lost(lost, ts, &mut out);
            let skip = usize::try_from(lost).unwrap_or(usize::MAX);
            at = at.saturating_add(skip).min(stream.len());
        }
    }
    push(&stream[at..], &mut d, &mut out);
    if let Some(t) = &mut text {
        let mut tail = Vec::new();
        t.finish(&mut tail);
        d.push(&tail, ts, &mut out);
    }
    d.finish(ts, &mut out);

    let mut last = None;
    for f in &out {
        assert!(f.body.len() <= max, "body over the message limit");
        assert!(f.body.len() as u64 <= u64::from(f.declared_len));
        if f.is_complete() {
            assert_eq!(f.body.len() as u64, u64::from(f.declared_len));
        }
        if f.kind != FrameKind::SyncLost {
            assert!(last.is_none_or(|l| f.index > l), "indices must increase");
            last = Some(f.index);
        }
    }
    (out, format!("{:?}", d.stats()))
}

fuzz_target!(|data: &[u8]| {
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
            let lost = match u16::from_be_bytes([c[2], c[3]]) {
                0xffff => u64::MAX,
                l => u64::from(l),
            };
            (pos, lost)
        })
        .collect();
    cuts.sort_by_key(|c| c.0);
    let (frames, stats) = deframe(*ctrl, stream, &cuts);
    if cuts.iter().all(|c| c.1 == 0) {
        let (whole, whole_stats) = deframe(*ctrl, stream, &[]);
        assert_eq!(frames, whole, "pushes cut differently deframe differently");
        assert_eq!(stats, whole_stats);
    }

    let encodings = [
        Encoding::Identity,
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Zstd,
        Encoding::Snappy,
        Encoding::from_header(b"lz4"),
    ];
    for f in &frames {
        if f.kind == FrameKind::WebTrailers {
            assert!(parse_web_trailers(&f.body).len() <= MAX_WEB_TRAILERS + 1);
        }
        for enc in &encodings {
            if let Ok(out) = decompress(enc, &f.body, CAP) {
                assert!(out.len() <= CAP, "{enc} output over the cap");
            }
        }
    }
});
