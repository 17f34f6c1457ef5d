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
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 2, 0, 1, 4, 0, 0, 0, 1,
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
