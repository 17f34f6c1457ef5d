use super::*;
use proptest::prelude::*;

fn ts(n: i64) -> Timestamp {
    Timestamp(n)
}

/// Frames `(flags, body)` as gRPC does.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![flags];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn stream(msgs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    msgs.iter().flat_map(|(f, b)| frame(*f, b)).collect()
}

/// Pushes `data` cut at `cuts` (sorted, deduplicated offsets); chunk `i` gets timestamp `i`.
fn feed(d: &mut Deframer, data: &[u8], cuts: &[usize]) -> Vec<Framed> {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, &c) in cuts.iter().chain(std::iter::once(&data.len())).enumerate() {
        d.push(&data[at..c], ts(i as i64), &mut out);
        at = c;
    }
    out
}

fn cuts_for(len: usize, raw: Vec<usize>) -> Vec<usize> {
    let mut cuts: Vec<usize> = raw.into_iter().map(|c| c % (len + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

fn msgs_strategy() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![0u8, 1]),
            prop_oneof![
                Just(Vec::new()),
                prop::collection::vec(any::<u8>(), 0..40),
                prop::collection::vec(any::<u8>(), 200..600),
            ],
        ),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any split of a stream yields the same messages, each stamped with the time of the
    /// chunk that held its last byte.
    #[test]
    fn any_split_yields_the_same_messages(
        msgs in msgs_strategy(),
        raw_cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let data = stream(&msgs);
        let cuts = cuts_for(data.len(), raw_cuts);
        let mut d = Deframer::new(DEFAULT_MAX_MESSAGE);
        let out = feed(&mut d, &data, &cuts);
        prop_assert_eq!(out.len(), msgs.len());
        let mut end = 0;
        for (i, ((flags, body), got)) in msgs.iter().zip(&out).enumerate() {
            let start = end;
            end += 5 + body.len();
            // Chunk k covers [cuts[k-1], cuts[k]); the chunk holding byte `end - 1` is the
            // number of cuts at or before it.
            let chunk_of = |byte: usize| cuts.iter().filter(|&&c| c <= byte).count() as i64;
            prop_assert_eq!(got.index, i as u32);
            prop_assert_eq!(got.kind, FrameKind::Message);
            prop_assert_eq!(got.compressed, *flags == 1);
            prop_assert_eq!(got.declared_len as usize, body.len());
            prop_assert_eq!(&got.body, body);
            prop_assert_eq!(&got.error, &None);
            prop_assert_eq!(got.ts, ts(chunk_of(end - 1)));
            prop_assert_eq!(got.start_ts, ts(chunk_of(start)));
        }
        let mut tail = Vec::new();
        d.finish(ts(99), &mut tail);
        prop_assert!(tail.is_empty());
        prop_assert_eq!(d.stats().frames, msgs.len() as u64);
    }

    /// A stream that ends anywhere reports every whole message, then the one cut short with
    /// exactly the bytes captured of it.
    #[test]
    fn stream_ending_anywhere_reports_the_partial_message(
        msgs in msgs_strategy().prop_filter("non-empty", |m| !m.is_empty()),
        cut in any::<usize>(),
        raw_cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let data = stream(&msgs);
        let cut = cut % (data.len() + 1);
        let part = &data[..cut];
        let cuts = cuts_for(part.len(), raw_cuts);
        let mut d = Deframer::new(DEFAULT_MAX_MESSAGE);
        let mut out = feed(&mut d, part, &cuts);
        d.finish(ts(99), &mut out);

        let mut offset = 0;
        let mut expected = 0;
        for (flags, body) in &msgs {
            let len = 5 + body.len();
            if offset + len <= cut {
                let got = &out[expected];
                prop_assert_eq!(&got.body, body);
                prop_assert!(got.error.is_none());
                expected += 1;
            } else if offset < cut {
                let got = &out[expected];
                prop_assert_eq!(got.ts, ts(99));
                let have = cut - offset;
                if have < 5 {
                    prop_assert_eq!(got.flags, *flags);
                    prop_assert!(got.body.is_empty());
                    let want = format!("stream ended inside a message prefix ({have} of 5 bytes)");
                    prop_assert_eq!(got.error.as_deref(), Some(want.as_str()));
                } else {
                    prop_assert_eq!(&got.body[..], &body[..have - 5]);
                    prop_assert_eq!(got.declared_len as usize, body.len());
                    let want = format!("message cut short: {} of {} bytes", have - 5, body.len());
                    prop_assert_eq!(got.error.as_deref(), Some(want.as_str()));
                }
                expected += 1;
            }
            offset += len;
        }
        prop_assert_eq!(out.len(), expected);
    }

    /// Arbitrary bytes and losses never panic and every frame is accounted for.
    #[test]
    fn arbitrary_input_never_panics(
        ops in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64).prop_map(Ok),
                (0u64..100).prop_map(Err),
            ],
            0..30,
        ),
        web in any::<bool>(),
    ) {
        let mut d = Deframer::new(64).web(web);
        let mut out = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Ok(bytes) => d.push(bytes, ts(i as i64), &mut out),
                Err(n) => d.lost(*n, ts(i as i64), &mut out),
            }
        }
        d.finish(ts(-1), &mut out);
        let frames = out.iter().filter(|f| f.kind != FrameKind::SyncLost).count() as u64;
        prop_assert_eq!(frames, d.stats().frames);
        prop_assert!(out.iter().filter(|f| f.kind == FrameKind::SyncLost).count() <= 1);
        for f in &out {
            prop_assert!(f.body.len() <= 64);
            prop_assert!(f.body.len() <= f.declared_len as usize);
        }
    }
}

#[test]
fn empty_messages_and_a_prefix_split_byte_by_byte() {
    let data = stream(&[(0, vec![]), (1, vec![]), (0, b"x".to_vec())]);
    let mut d = Deframer::default();
    let mut out = Vec::new();
    for (i, b) in data.iter().enumerate() {
        d.push(std::slice::from_ref(b), ts(i as i64), &mut out);
    }
    assert_eq!(out.len(), 3);
    assert_eq!((out[0].ts, out[0].start_ts), (ts(4), ts(0)));
    assert!(out[1].compressed && out[1].body.is_empty());
    assert_eq!(
        (out[2].ts, out[2].start_ts, &out[2].body[..]),
        (ts(15), ts(10), &b"x"[..])
    );
}

#[test]
fn oversized_declared_length_is_reported_skipped_and_framing_goes_on() {
    let data = stream(&[(0, vec![7; 20]), (0, b"ok".to_vec())]);
    let mut d = Deframer::new(10);
    let mut out = Vec::new();
    d.push(&data[..12], ts(1), &mut out);
    assert!(
        out.is_empty(),
        "reported when its end has gone by, not before"
    );
    d.push(&data[12..], ts(2), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].declared_len, 20);
    assert!(out[0].body.is_empty());
    assert_eq!(
        out[0].error.as_deref(),
        Some("declared length 20 exceeds the 10-byte limit; body skipped")
    );
    assert_eq!((out[0].ts, out[0].start_ts), (ts(2), ts(1)));
    assert_eq!((out[1].index, &out[1].body[..]), (1, &b"ok"[..]));
    let s = d.stats();
    assert_eq!((s.frames, s.oversized, s.skipped_bytes), (2, 1, 20));
}

#[test]
fn huge_declared_length_allocates_nothing_up_front() {
    let mut d = Deframer::new(DEFAULT_MAX_MESSAGE);
    let mut out = Vec::new();
    // 16 MiB declared, 3 bytes sent: the body holds what came, not what was promised.
    d.push(&[0, 0x01, 0x00, 0x00, 0x00, 1, 2, 3], ts(0), &mut out);
    match &d.state {
        State::Body { msg, remaining } => {
            assert_eq!(*remaining, (16 << 20) - 3);
            assert!(msg.body.capacity() <= 64 << 10);
        }
        other => panic!("{other:?}"),
    }
    d.finish(ts(1), &mut out);
    assert_eq!(
        out[0].error.as_deref(),
        Some("message cut short: 3 of 16777216 bytes")
    );
}

#[test]
fn loss_inside_a_body_skips_exactly_its_rest() {
    let data = stream(&[(0, (0..20).collect()), (1, b"next".to_vec())]);
    let mut d = Deframer::default();
    let mut out = Vec::new();
    d.push(&data[..9], ts(1), &mut out); // prefix + 4 body bytes
    d.lost(6, ts(2), &mut out); // body bytes 4..10 gone
    assert!(out.is_empty());
    d.push(&data[15..], ts(3), &mut out); // body bytes 10..20, then the next message
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].body, vec![0, 1, 2, 3]);
    assert_eq!(
        out[0].error.as_deref(),
        Some("6 bytes lost inside the body: captured 4 of 20 bytes")
    );
    assert_eq!(out[0].ts, ts(3));
    assert_eq!(
        (out[1].index, &out[1].body[..], out[1].compressed),
        (1, &b"next"[..], true)
    );
    assert!(out[1].error.is_none());
    assert!(d.in_sync());
    assert_eq!(d.stats().skipped_bytes, 10);
    assert_eq!(d.stats().lost_bytes, 6);
}

#[test]
fn loss_ending_exactly_at_the_end_of_a_body_keeps_sync() {
    let data = stream(&[(0, vec![1; 10]), (0, b"b".to_vec())]);
    let mut d = Deframer::default();
    let mut out = Vec::new();
    d.push(&data[..7], ts(1), &mut out);
    d.lost(8, ts(2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ts, ts(2));
    d.push(&data[15..], ts(3), &mut out);
    assert_eq!(out[1].body, b"b");
    assert!(d.in_sync());
}

#[test]
fn loss_covering_a_prefix_loses_sync_and_says_so() {
    let data = stream(&[(0, b"one".to_vec()), (0, b"two".to_vec())]);
    let mut d = Deframer::default();
    let mut out = Vec::new();
    d.push(&data[..8], ts(1), &mut out);
    assert_eq!(out.len(), 1);
    d.lost(3, ts(2), &mut out); // the first 3 bytes of the second prefix
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].kind, FrameKind::SyncLost);
    assert_eq!(
        out[1].error.as_deref(),
        Some(
            "3 bytes lost at a message boundary: framing lost, the rest of this direction is not deframed"
        )
    );
    assert!(!d.in_sync());
    d.push(&data[11..], ts(3), &mut out);
    d.finish(ts(4), &mut out);
    assert_eq!(out.len(), 2, "nothing is guessed after sync is lost");
    assert_eq!(d.stats().unframed_bytes, 5);

    // Inside a partly captured prefix.
    let mut d = Deframer::default();
    let mut out = Vec::new();
    d.push(&data[..2], ts(1), &mut out);
    d.lost(1, ts(2), &mut out);
    assert_eq!(out[0].kind, FrameKind::SyncLost);
    assert!(
        out[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("1 bytes lost inside a message prefix (2 of 5 bytes captured)")
    );
}

#[test]
fn loss_running_past_the_end_of_a_body_reports_it_then_loses_sync() {
    let data = stream(&[(0, vec![1; 10]), (0, b"b".to_vec())]);
    let mut d = Deframer::default();
    let mut out = Vec::new();
    d.push(&data[..7], ts(1), &mut out);
    d.lost(u64::MAX, ts(2), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].body, vec![1, 1]);
    assert_eq!(
        out[0].error.as_deref(),
        Some("an unknown number of bytes lost inside the body: captured 2 of 10 bytes")
    );
    assert_eq!(out[1].kind, FrameKind::SyncLost);
    assert!(!d.in_sync());
}

#[test]
fn web_trailers_frame() {
    let trailers = b"grpc-status: 0\r\ngrpc-message: OK\r\n";
    let data = [frame(0, b"msg"), frame(0x80, trailers)].concat();
    let mut d = Deframer::default().web(true);
    let mut out = Vec::new();
    d.push(&data, ts(1), &mut out);
    assert_eq!(out[0].kind, FrameKind::Message);
    assert_eq!(out[1].kind, FrameKind::WebTrailers);
    assert!(out[1].error.is_none());
    assert_eq!(
        parse_web_trailers(&out[1].body),
        vec![
            ("grpc-status".to_string(), b"0".to_vec()),
            ("grpc-message".to_string(), b"OK".to_vec())
        ]
    );
    // In plain gRPC the bit is reserved: still a message, with an error.
    let mut d = Deframer::default();
    let mut out = Vec::new();
    d.push(&data, ts(1), &mut out);
    assert_eq!(out[1].kind, FrameKind::Message);
    assert_eq!(
        out[1].error.as_deref(),
        Some("reserved flag bits set (flag byte 0x80)")
    );
}

#[test]
fn web_trailers_parsing_is_lenient() {
    let got = parse_web_trailers(
        b"Grpc-Status:5\nX-Empty:\r\n\r\n  grpc-message :\t not%20found \r\ngarbage\r\n",
    );
    assert_eq!(
        got,
        vec![
            ("grpc-status".to_string(), b"5".to_vec()),
            ("x-empty".to_string(), b"".to_vec()),
            ("grpc-message".to_string(), b"not%20found".to_vec()),
            (String::new(), b"garbage".to_vec()),
        ]
    );
    assert!(parse_web_trailers(b"").is_empty());
    let many = "a: b\r\n".repeat(MAX_WEB_TRAILERS + 5);
    let got = parse_web_trailers(many.as_bytes());
    assert_eq!(got.len(), MAX_WEB_TRAILERS + 1);
    assert_eq!(got[MAX_WEB_TRAILERS].1, "a: b\r\n".repeat(5).into_bytes());
}

#[test]
fn web_text_chunks_padded_separately_feed_the_deframer() {
    use crate::grpc::base64_encode;
    let msg = frame(0, b"\x0a\x04hell");
    let trailers = frame(0x80, b"grpc-status:0\r\n");
    // Each frame encoded on its own, so padding lands in the middle of the body.
    let text = format!("{}{}", base64_encode(&msg), base64_encode(&trailers));
    assert!(text.trim_end_matches('=').contains('='));
    for split in 0..=text.len() {
        let mut dec = WebTextDecoder::new();
        let mut d = Deframer::default().web(true);
        let mut out = Vec::new();
        for (i, part) in [&text[..split], &text[split..]].iter().enumerate() {
            let mut bytes = Vec::new();
            assert_eq!(dec.push(part.as_bytes(), &mut bytes), 0);
            d.push(&bytes, ts(i as i64), &mut out);
        }
        let mut bytes = Vec::new();
        assert!(dec.finish(&mut bytes));
        assert!(bytes.is_empty());
        assert_eq!(out.len(), 2, "split at {split}");
        assert_eq!(out[0].body, b"\x0a\x04hell");
        assert_eq!(out[1].kind, FrameKind::WebTrailers);
    }
}

/// `--no-messages`: counting bodies reports the same frames, errors and stats as keeping
/// them, with `captured` standing for the body, also when a loss or the end cuts one short.
#[test]
fn counting_bodies_reports_what_keeping_them_does() {
    let data = stream(&[(0, vec![1; 30]), (1, b"ok".to_vec()), (0, vec![2; 40])]);
    for cut in [0, 3, 7, 20, 36, 50, data.len() - 5] {
        let run = |keep: bool| {
            let mut d = Deframer::new(DEFAULT_MAX_MESSAGE).keep_bodies(keep);
            let mut out = feed(&mut d, &data[..cut], &[]);
            d.lost(3, ts(8), &mut out);
            d.push(&data[(cut + 3).min(data.len())..], ts(9), &mut out);
            d.finish(ts(10), &mut out);
            (out, d.stats())
        };
        let (kept, kept_stats) = run(true);
        let (counted, counted_stats) = run(false);
        assert_eq!(kept_stats, counted_stats, "cut at {cut}");
        assert_eq!(kept.len(), counted.len(), "cut at {cut}");
        for (k, c) in kept.iter().zip(&counted) {
            assert!(c.body.is_empty());
            assert_eq!(k.body.len(), k.captured, "cut at {cut}");
            let mut k = k.clone();
            k.body = Vec::new();
            assert_eq!(&k, c, "cut at {cut}");
        }
    }
}
