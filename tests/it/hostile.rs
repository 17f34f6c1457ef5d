//! Hostile input end to end, through the real binary:
//! - every fixture damaged (packets dropped, duplicated, reordered, cut short) at 0.1%, 1%
//!   and 5%: the run succeeds, gaps are reported where bytes were lost, and every stream of
//!   a connection the damage did not touch decodes exactly as before;
//! - resource bounds under attack: 100,000 connections, 200,000 streams on one connection,
//!   a 20 MB header block, an HPACK table size update to 4 GB, a gzip bomb in a gRPC
//!   message, a 2 GB TCP sequence jump;
//! - bad files and arguments: one clear line on stderr, a non-zero exit, nothing on stdout
//!   (or, for damage the reader tolerates, a normal run that reports it);
//! - limits (README, "Limits"): hitting a default is reported, and its flag raises it;
//! - terminal safety: no control character of the capture or of a file name reaches
//!   stdout or stderr raw.
//!
//! Memory is measured as the child's peak RSS (`/usr/bin/time -f %M` when present, else
//! polling `/proc/<pid>/status`). The bounds are absolute figures about 1.5 times what a debug
//! build uses, below what the attack would cost without the limit it checks (the capture's
//! own pages count: files are memory-mapped). For scale: 100,000 connections take 31 MB with
//! `--max-connections 1000` and 290 MB without it.

use crate::support::damage::{Capture, Damage, Damaged, conn_key};
use crate::support::{self, pcap};
use h2scope::capture::LinkType;
use h2scope::net::{Parsed, parse_packet};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::net::{SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Running the binary

/// A finished run: its output, peak RSS in KiB (when it could be measured) and wall time.
struct Run {
    out: Output,
    max_rss_kb: Option<u64>,
    elapsed: Duration,
}

impl Run {
    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn json(&self) -> Value {
        assert_eq!(self.code(), 0, "exit status; stderr: {}", self.stderr());
        serde_json::from_slice(&self.out.stdout).expect("valid JSON on stdout")
    }

    fn rss_below(&self, mb: u64, what: &str) {
        eprintln!(
            "{what}: {:?} KiB peak RSS, {:?}",
            self.max_rss_kb, self.elapsed
        );
        match self.max_rss_kb {
            Some(kb) => assert!(
                kb < mb * 1024,
                "{what}: peak RSS {} MiB over {mb} MiB",
                kb / 1024
            ),
            None => eprintln!("SKIPPED: {what}: peak RSS not measurable here"),
        }
    }
}

/// Runs `h2scope ARGS`, measuring its peak RSS.
fn run(args: &[&str]) -> Run {
    let exe = env!("CARGO_BIN_EXE_h2scope");
    let time = Path::new("/usr/bin/time");
    let start = Instant::now();
    if time.exists() {
        let report = tempfile::NamedTempFile::new().unwrap();
        let out = Command::new(time)
            .args(["-f", "%M", "-o"])
            .arg(report.path())
            .arg(exe)
            .args(args)
            .output()
            .expect("run h2scope under /usr/bin/time");
        let elapsed = start.elapsed();
        let text = std::fs::read_to_string(report.path()).unwrap_or_default();
        // GNU time writes "Command exited with non-zero status N" before the figure.
        let max_rss_kb = text.lines().last().and_then(|l| l.trim().parse().ok());
        return Run {
            out,
            max_rss_kb,
            elapsed,
        };
    }
    let child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run h2scope");
    let status = format!("/proc/{}/status", child.id());
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let poll = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            while let Ok(s) = std::fs::read_to_string(&status) {
                if let Some(kb) = s
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    peak.fetch_max(kb, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let out = child.wait_with_output().expect("wait for h2scope");
    let elapsed = start.elapsed();
    let _ = poll.join();
    let kb = peak.load(std::sync::atomic::Ordering::Relaxed);
    Run {
        out,
        max_rss_kb: (kb > 0).then_some(kb),
        elapsed,
    }
}

/// `h2scope export FILE ARGS...` on bytes written to a temporary file.
fn export_bytes(bytes: &[u8], name: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).unwrap();
    let mut all = vec!["export", file.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

/// `h2scope export --ndjson` of `bytes` into a file; returns the run and the parsed lines
/// by type (streams and connections are only counted, the rest kept).
struct Lines {
    counts: BTreeMap<String, usize>,
    capture: Value,
    connections: Vec<Value>,
}

fn export_ndjson(bytes: &[u8], args: &[&str], keep_connections: bool) -> (Run, Lines) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("attack.pcap");
    let out = dir.path().join("out.ndjson");
    std::fs::write(&file, bytes).unwrap();
    let mut all = vec![
        "export",
        file.to_str().unwrap(),
        "--ndjson",
        "-o",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code(), 0, "exit status; stderr: {}", r.stderr());
    assert!(r.out.stdout.is_empty(), "nothing on stdout with -o");
    let mut lines = Lines {
        counts: BTreeMap::new(),
        capture: Value::Null,
        connections: Vec::new(),
    };
    for line in std::io::BufReader::new(std::fs::File::open(&out).unwrap()).lines() {
        let line = line.unwrap();
        // Counting the bulk lines by their prefix keeps this fast; the rest is parsed.
        let kind = if line.starts_with(r#"{"type":"stream""#) {
            "stream"
        } else if line.starts_with(r#"{"type":"connection""#) && !keep_connections {
            "connection"
        } else {
            let v: Value = serde_json::from_str(&line).expect("each line is JSON");
            let kind = v["type"].as_str().unwrap().to_string();
            match kind.as_str() {
                "capture" => lines.capture = v,
                "connection" => lines.connections.push(v),
                _ => {}
            }
            *lines.counts.entry(kind).or_default() += 1;
            continue;
        };
        *lines.counts.entry(kind.to_string()).or_default() += 1;
    }
    (r, lines)
}

fn count(lines: &Lines, kind: &str) -> usize {
    lines.counts.get(kind).copied().unwrap_or(0)
}

/// The text of every anomaly of a document's connections and streams (each an object with
/// a kind, checked to be one of the documented ones by `schema::anomaly_kinds_*`).
fn anomalies(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for list in ["connections", "streams"] {
        for item in doc[list].as_array().into_iter().flatten() {
            for a in item["anomalies"].as_array().into_iter().flatten() {
                assert!(a["kind"].is_string(), "an anomaly without a kind: {a}");
                out.push(a["text"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Building captures

const T0: i64 = 1_700_000_000_000_000_000;

fn addr(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    assert!(len < 1 << 24);
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An HPACK integer with an `n`-bit prefix, `flags` in the bits above it (RFC 7541 §5.1).
fn hpack_int(flags: u8, n: u32, mut v: u64) -> Vec<u8> {
    let max = (1u64 << n) - 1;
    if v < max {
        return vec![flags | v as u8];
    }
    let mut out = vec![flags | max as u8];
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
    out
}

/// A literal field with a literal name: `first` is 0x00 (without indexing) or 0x40
/// (incremental indexing).
fn literal(first: u8, name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    out.extend(hpack_int(0, 7, name.len() as u64));
    out.extend_from_slice(name);
    out.extend(hpack_int(0, 7, value.len() as u64));
    out.extend_from_slice(value);
    out
}

/// A GET request for `path` using only the static table and literals.
fn request_block(path: &str) -> Vec<u8> {
    // :method GET, :scheme http
    let mut b = vec![0x82, 0x86];
    b.extend(literal(0x00, b":path", path.as_bytes()));
    b.extend(literal(0x00, b":authority", b"attack.test"));
    b
}

/// DATA frames of at most 16,384 bytes carrying `body`; END_STREAM on the last if asked.
fn data_frames(stream: u32, body: &[u8], end_stream: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let pieces: Vec<&[u8]> = body.chunks(16_384).collect();
    for (i, p) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        out.extend(frame(
            DATA,
            if last && end_stream { END_STREAM } else { 0 },
            stream,
            p,
        ));
    }
    out
}

fn chunk(from_client: bool, n: i64, data: Vec<u8>) -> pcap::Chunk {
    pcap::Chunk {
        from_client,
        ts_nanos: T0 + n * 1_000_000,
        data,
    }
}

/// A whole HTTP/2 connection in a pcap: client preface + SETTINGS (+ `client_settings`),
/// server SETTINGS + ACK, then `rest`.
fn h2_capture(client_settings: &[u8], rest: Vec<pcap::Chunk>, mss: usize) -> Vec<u8> {
    let mut c = PREFACE.to_vec();
    c.extend(frame(SETTINGS, 0, 0, client_settings));
    let mut chunks = vec![
        chunk(true, 0, c),
        chunk(false, 1, {
            let mut s = frame(SETTINGS, 0, 0, &[]);
            s.extend(frame(SETTINGS, ACK, 0, &[]));
            s
        }),
        chunk(true, 2, frame(SETTINGS, ACK, 0, &[])),
    ];
    chunks.extend(rest);
    pcap::connection(addr("10.0.0.1:40000"), addr("10.0.0.2:80"), &chunks, mss)
}

// ---------------------------------------------------------------------------------------
// Damaged fixtures

/// Lost payload bytes that the capture itself shows were lost: a byte range sent (by the
/// original capture) but carried by no kept packet, followed by kept bytes of the same
/// direction. Returns the connections that must report a gap.
fn must_show_gaps(original: &Capture, damaged: &Damaged) -> BTreeSet<(SocketAddr, SocketAddr)> {
    type Ranges = BTreeMap<(SocketAddr, SocketAddr), Vec<(i64, i64)>>;
    // Sequence numbers relative to the first one seen per direction in the original.
    let mut base: BTreeMap<(SocketAddr, SocketAddr), u32> = BTreeMap::new();
    let ranges = |cap: &Capture, base: &mut BTreeMap<_, u32>, learn: bool| -> Ranges {
        let mut out: Ranges = BTreeMap::new();
        for p in &cap.packets {
            let link = LinkType(cap.interfaces[p.interface as usize].0);
            let Ok(Parsed::Tcp(seg)) = parse_packet(link, &p.data) else {
                continue;
            };
            if seg.payload.is_empty() {
                continue;
            }
            let dir = (seg.src, seg.dst);
            if learn {
                base.entry(dir).or_insert(seg.seq);
            }
            let Some(&b) = base.get(&dir) else { continue };
            let start = i64::from(seg.seq.wrapping_sub(b) as i32);
            out.entry(dir)
                .or_default()
                .push((start, start + seg.payload.len() as i64));
        }
        out
    };
    let sent = ranges(original, &mut base, true);
    let kept = ranges(&damaged.capture, &mut base, false);
    let merge = |mut v: Vec<(i64, i64)>| {
        v.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::new();
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        out
    };
    let mut out = BTreeSet::new();
    for (dir, s) in sent {
        let k = merge(kept.get(&dir).cloned().unwrap_or_default());
        let Some(&(last_kept_start, _)) = k.last() else {
            continue;
        };
        // A hole: a sent byte no kept range covers, before the last kept range.
        let hole = merge(s).iter().any(|&(a, b)| {
            let mut at = a;
            for &(ks, ke) in &k {
                if ke <= at {
                    continue;
                }
                if ks > at {
                    break;
                }
                at = ke;
            }
            at < b && at < last_kept_start
        });
        if hole {
            out.insert(conn_key(dir.0, dir.1));
        }
    }
    out
}

/// A document's connections and streams keyed by endpoints, ids dropped (they renumber when
/// a whole connection is lost), with the packet counters that duplicates change left out.
fn by_endpoints(doc: &Value) -> BTreeMap<(String, String), (Vec<Value>, Vec<Value>)> {
    let key = |v: &Value| {
        let (a, b) = (
            v["client"].as_str().unwrap().to_string(),
            v["server"].as_str().unwrap().to_string(),
        );
        if a <= b { (a, b) } else { (b, a) }
    };
    let mut out: BTreeMap<(String, String), (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for c in doc["connections"].as_array().unwrap() {
        let mut c = c.clone();
        let m = c.as_object_mut().unwrap();
        for f in ["id", "packets", "tcp"] {
            m.remove(f);
        }
        out.entry(key(&c)).or_default().0.push(c);
    }
    for s in doc["streams"].as_array().unwrap() {
        let mut s = s.clone();
        s.as_object_mut().unwrap().remove("connection");
        out.entry(key(&s)).or_default().1.push(s);
    }
    for (conns, streams) in out.values_mut() {
        conns.sort_by_key(|c| c["start"].as_f64().map(f64::to_bits));
        streams.sort_by_key(|s| {
            (
                s["stream_id"].as_u64(),
                s["start"].as_f64().map(f64::to_bits),
            )
        });
    }
    out
}

/// The key `by_endpoints` uses (endpoints as text, in text order) for a connection.
fn endpoint_key(k: (SocketAddr, SocketAddr)) -> (String, String) {
    let (a, b) = (k.0.to_string(), k.1.to_string());
    if a <= b { (a, b) } else { (b, a) }
}

const SEEDS_PER_RATE: u64 = 4;

fn damaged_fixtures(rate: f64) {
    let fixtures = support::capture_files(&support::root().join("fixtures"));
    assert!(!fixtures.is_empty());
    let protos = support::root().join("fixtures/protos");
    let (mut damaged_runs, mut gap_checks, mut intact_streams) = (0, 0, 0);
    for path in &fixtures {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let args: Vec<&str> = if name.starts_with("grpc") {
            vec!["--proto-path", protos.to_str().unwrap()]
        } else {
            vec![]
        };
        let original = Capture::read(path);
        let baseline = export_bytes(&original.write(), "baseline.pcapng", &args).json();
        let before = by_endpoints(&baseline);
        for seed in 0..SEEDS_PER_RATE {
            let seed = seed ^ (rate.to_bits() >> 3) ^ (name.len() as u64 * 7919);
            let d = original.damage(Damage::all(rate, seed));
            if !d.any() {
                continue;
            }
            damaged_runs += 1;
            let what = format!("{name} at {}% (seed {seed})", rate * 100.0);
            let doc = export_bytes(&d.capture.write(), "damaged.pcapng", &args).json();
            let after = by_endpoints(&doc);

            for key in must_show_gaps(&original, &d) {
                let gaps: u64 = after
                    .get(&endpoint_key(key))
                    .map(|(conns, _)| conns.iter().map(|c| c["gaps"].as_u64().unwrap()).sum())
                    .unwrap_or(0);
                if gaps == 0 {
                    std::fs::write("/tmp/h2scope-damaged.pcapng", d.capture.write()).unwrap();
                }
                assert!(
                    gaps > 0,
                    "{what}: {key:?} lost bytes but reports no gap (dropped {:?}, truncated {:?}, \
                     duplicated {:?}, moved {:?})",
                    d.dropped,
                    d.truncated,
                    d.duplicated,
                    d.moved
                );
                gap_checks += 1;
            }

            let touched: BTreeSet<(String, String)> =
                d.touched(&original).into_iter().map(endpoint_key).collect();
            for (key, (conns, streams)) in &before {
                if touched.contains(key) {
                    continue;
                }
                let Some((conns2, streams2)) = after.get(key) else {
                    panic!("{what}: untouched connection {key:?} is missing");
                };
                assert_eq!(
                    conns, conns2,
                    "{what}: untouched connection {key:?} changed"
                );
                assert_eq!(
                    streams.len(),
                    streams2.len(),
                    "{what}: untouched connection {key:?} has a different number of streams"
                );
                for (a, b) in streams.iter().zip(streams2) {
                    assert_eq!(
                        a, b,
                        "{what}: stream {} of untouched connection {key:?} decodes differently",
                        a["stream_id"]
                    );
                    intact_streams += 1;
                }
            }
        }
    }
    eprintln!(
        "{}%: {damaged_runs} damaged runs, {gap_checks} connections checked for gaps, \
         {intact_streams} intact streams compared",
        rate * 100.0
    );
    if rate >= 0.01 {
        assert!(damaged_runs > 0 && gap_checks > 0 && intact_streams > 0);
    }
}

#[test]
fn damaged_fixtures_at_0_1_percent() {
    damaged_fixtures(0.001);
}

#[test]
fn damaged_fixtures_at_1_percent() {
    damaged_fixtures(0.01);
}

#[test]
fn damaged_fixtures_at_5_percent() {
    damaged_fixtures(0.05);
}

// ---------------------------------------------------------------------------------------
// Resource bounds under attack

/// 100,000 connections, each a SYN and one segment with the HTTP/2 preface and SETTINGS: the
/// flow table stays within `--max-connections`, every connection is reported once, and
/// memory stays flat.
#[test]
fn a_hundred_thousand_connections_stay_bounded() {
    const N: u32 = 100_000;
    let server = addr("10.255.255.1:80");
    let mut payload = PREFACE.to_vec();
    payload.extend(frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]));
    let mut w = pcap::PcapWriter::new();
    for i in 0..N {
        let [_, a, b, c] = i.to_be_bytes();
        let client = SocketAddrV4::new([10, a, b, c].into(), 1024 + (i % 60_000) as u16);
        let ts = T0 + i64::from(i) * 1000;
        w.packet(ts, &pcap::tcp_frame(client, server, 7, 0, pcap::SYN, &[]));
        w.packet(
            ts + 500,
            &pcap::tcp_frame(client, server, 8, 1, pcap::ACK | pcap::PSH, &payload),
        );
    }
    let (r, lines) = export_ndjson(&w.finish(), &["--max-connections", "1000"], false);
    assert_eq!(count(&lines, "connection"), N as usize);
    let evicted = lines.capture["evicted_connections"].as_u64().unwrap();
    assert!(evicted >= u64::from(N) - 1000, "evicted {evicted}");
    r.rss_below(100, "100,000 connections");
}

/// 200,000 HEADERS frames on increasing stream ids, each inserting into the HPACK table,
/// none answered: at most `max_open_streams` are held, every stream is reported, in time
/// linear in the input.
#[test]
fn two_hundred_thousand_streams_finish_in_bounded_time() {
    const N: u32 = 200_000;
    let mut c = Vec::with_capacity(N as usize * 40);
    for i in 0..N {
        let mut block = request_block("/");
        block.extend(literal(0x40, b"x-n", i.to_string().as_bytes()));
        c.extend(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, &block));
    }
    let capture = h2_capture(&[], vec![chunk(true, 3, c)], 60_000);
    let (r, lines) = export_ndjson(&capture, &[], true);
    assert_eq!(count(&lines, "stream"), N as usize);
    assert_eq!(lines.connections.len(), 1);
    assert_eq!(lines.connections[0]["streams"], N);
    assert!(
        r.elapsed < Duration::from_secs(30),
        "200,000 streams took {:?}",
        r.elapsed
    );
    r.rss_below(100, "200,000 streams");
}

/// A 20 MB header block (HEADERS + 1,280 CONTINUATIONs): dropped past the 1 MiB limit and
/// reported, without being held; the request after it still decodes.
#[test]
fn a_twenty_megabyte_header_block_is_capped() {
    let fragment = vec![b'a'; 16_384];
    let mut c = frame(HEADERS, 0, 1, &fragment);
    for i in 0..1_280 {
        let flags = if i == 1_279 { END_HEADERS } else { 0 };
        c.extend(frame(CONTINUATION, flags, 1, &fragment));
    }
    c.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        3,
        &request_block("/after"),
    ));
    let capture = h2_capture(&[], vec![chunk(true, 3, c)], 60_000);
    let r = export_bytes(&capture, "continuation.pcap", &[]);
    let doc = r.json();
    let all = anomalies(&doc);
    assert!(
        all.iter()
            .any(|a| a.contains("header block on stream 1 larger than")),
        "{all:?}"
    );
    let after = doc["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream_id"] == 3)
        .expect("stream 3");
    assert_eq!(after["path"], "/after");
    r.rss_below(40, "20 MB header block");
}

/// Dynamic table size updates to 4 GB, from both sides (the client also advertising a 4 GB
/// SETTINGS_HEADER_TABLE_SIZE): capped at 1 MiB, reported as HPACK errors; later blocks
/// still decode, and inserting 2.4 MB of entries keeps the table within the cap.
#[test]
fn an_hpack_table_size_update_to_4_gb_is_capped() {
    let update = hpack_int(0x20, 5, u64::from(u32::MAX));
    let mut req = update.clone();
    req.extend(request_block("/first"));
    let mut resp = update;
    resp.push(0x88); // :status 200
    let mut rest = vec![
        chunk(true, 3, frame(HEADERS, END_HEADERS | END_STREAM, 1, &req)),
        chunk(false, 4, frame(HEADERS, END_HEADERS | END_STREAM, 1, &resp)),
    ];
    // Entries that would fill a 4 GB table: 3 blocks of 200 entries of 4 KB.
    let big_value = vec![b'v'; 4000];
    for (n, id) in [3u32, 5, 7].into_iter().enumerate() {
        rest.push(chunk(
            true,
            5 + 2 * n as i64,
            frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                id,
                &request_block("/later"),
            ),
        ));
        let mut resp = vec![0x88];
        for i in 0..200 {
            resp.extend(literal(0x40, format!("x-{id}-{i}").as_bytes(), &big_value));
        }
        rest.push(chunk(
            false,
            6 + 2 * n as i64,
            frame(HEADERS, END_HEADERS | END_STREAM, id, &resp),
        ));
    }
    // SETTINGS_HEADER_TABLE_SIZE = 2^32 - 1
    let capture = h2_capture(&[0, 1, 0xff, 0xff, 0xff, 0xff], rest, 60_000);
    let r = export_bytes(&capture, "table-size.pcap", &[]);
    let doc = r.json();
    let all = anomalies(&doc);
    let size_errors = all
        .iter()
        .filter(|a| a.contains("table size update to 4294967295 exceeds"))
        .count();
    assert_eq!(size_errors, 2, "{all:?}");
    assert_eq!(all.len(), 2, "{all:?}");
    for s in doc["streams"].as_array().unwrap() {
        if s["stream_id"] != 1 {
            assert_eq!(s["path"], "/later");
            assert_eq!(s["status"], 200);
            assert_eq!(s["response_headers"].as_array().unwrap().len(), 201);
        }
    }
    r.rss_below(40, "4 GB table size update");
}

/// A server asks for a 2 MiB HPACK table (the client advertised 2 MiB) and fills it with
/// 1.2 MB of entries: over the 1 MiB default of --max-hpack-table-size the update is an HPACK
/// error and the oldest entry cannot be referred to; with `--max-hpack-table-size 4MiB` the
/// table holds them all and a later response refers to the oldest by index.
#[test]
fn max_hpack_table_size_caps_by_default_and_the_flag_raises_it() {
    // Three responses of 100 entries of 4 KB each (a frame and a block stay under 1 MiB),
    // the first starting with the size update; then a response naming the oldest entry by
    // its index (static table 61 + 300 dynamic entries).
    let value = vec![b'v'; 4000];
    let mut rest = Vec::new();
    for (n, id) in [1u32, 3, 5].into_iter().enumerate() {
        let mut block = if id == 1 {
            hpack_int(0x20, 5, 2 << 20)
        } else {
            Vec::new()
        };
        block.push(0x88); // :status 200
        for i in 0..100 {
            block.extend(literal(
                0x40,
                format!("x-{}", n * 100 + i).as_bytes(),
                &value,
            ));
        }
        let n = 3 + 2 * n as i64;
        let req = request_block("/fill");
        rest.push(chunk(
            true,
            n,
            frame(HEADERS, END_HEADERS | END_STREAM, id, &req),
        ));
        rest.push(chunk(
            false,
            n + 1,
            frame(HEADERS, END_HEADERS | END_STREAM, id, &block),
        ));
    }
    let mut last = vec![0x88];
    last.extend(hpack_int(0x80, 7, 61 + 300));
    let req = request_block("/oldest");
    rest.push(chunk(
        true,
        9,
        frame(HEADERS, END_HEADERS | END_STREAM, 7, &req),
    ));
    rest.push(chunk(
        false,
        10,
        frame(HEADERS, END_HEADERS | END_STREAM, 7, &last),
    ));
    // SETTINGS_HEADER_TABLE_SIZE = 2 MiB, from the client (the server's encoder obeys it).
    let capture = h2_capture(&[0, 1, 0, 0x20, 0, 0], rest, 60_000);

    let doc = export_bytes(&capture, "table-2m.pcap", &[]).json();
    let all = anomalies(&doc);
    assert!(
        all.iter()
            .any(|a| a.contains("table size update to 2097152 exceeds")),
        "{all:?}"
    );
    let oldest = |doc: &Value| {
        stream_by_id(doc, 7)
            .and_then(|s| s["response_headers"].as_array().cloned())
            .and_then(|h| h.iter().find(|h| h[0] == "x-0").map(|h| h[1].clone()))
    };
    assert_eq!(oldest(&doc), None);

    let raised = ["--max-hpack-table-size", "4MiB"];
    let doc = export_bytes(&capture, "table-2m.pcap", &raised).json();
    assert!(anomalies(&doc).is_empty(), "{:?}", anomalies(&doc));
    assert_eq!(oldest(&doc), Some(Value::from("v".repeat(4000))));
}

/// A gRPC request whose gzip-compressed message inflates to 64 MiB: decompression stops at
/// the 16 MiB cap, the message carries the error, and the call is otherwise intact.
#[test]
fn a_gzip_bomb_in_a_grpc_message_is_capped() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 256 << 10, "{} compressed bytes", bomb.len());
    let capture = grpc_call_capture(&bomb, true);
    let protos = support::root().join("fixtures/protos");
    let r = export_bytes(
        &capture,
        "bomb.pcap",
        &["--proto-path", protos.to_str().unwrap()],
    );
    let doc = r.json();
    let g = &doc["streams"][0]["grpc"];
    assert_eq!(g["method"], "GetItem", "{g}");
    assert_eq!(g["status_name"], "OK");
    let m = &g["request_messages"][0];
    assert_eq!(m["compressed"], true);
    let err = m["error"].as_str().expect("an error on the bomb");
    assert!(err.contains("limit"), "{err}");
    assert!(m["json"].is_null());
    // What is shown is the message as captured (compressed), never the 64 MiB.
    let raw = m["raw"]["base64"].as_str().map_or(0, str::len);
    assert!(raw <= bomb.len().div_ceil(3) * 4, "{raw} bytes of base64");
    r.rss_below(48, "gzip bomb");
}

// ---------------------------------------------------------------------------------------
// Limits: hitting the default is reported; the flag raises it (README, "Limits")

/// A request whose header block carries `x-big` with a value of `size` bytes: in HEADERS
/// plus CONTINUATIONs of 16 KiB (`one_frame`: a single HEADERS frame), then a small request.
fn big_header_capture(size: usize, one_frame: bool) -> Vec<u8> {
    let mut block = request_block("/big");
    block.extend(literal(0x00, b"x-big", &vec![b'v'; size]));
    let mut c = Vec::new();
    if one_frame {
        c.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &block));
    } else {
        let pieces: Vec<&[u8]> = block.chunks(16_384).collect();
        for (i, p) in pieces.iter().enumerate() {
            let last = if i + 1 == pieces.len() {
                END_HEADERS
            } else {
                0
            };
            let (kind, flags) = if i == 0 {
                (HEADERS, END_STREAM | last)
            } else {
                (CONTINUATION, last)
            };
            c.extend(frame(kind, flags, 1, p));
        }
    }
    c.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        3,
        &request_block("/after"),
    ));
    h2_capture(&[], vec![chunk(true, 3, c)], 60_000)
}

fn stream_by_id(doc: &Value, id: u32) -> Option<&Value> {
    doc["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream_id"] == id)
}

/// A 2 MiB header block is over the 1 MiB default of --max-header-block: dropped and
/// reported. With `--max-header-block 4MiB` it decodes, value and all.
#[test]
fn max_header_block_caps_by_default_and_the_flag_raises_it() {
    let capture = big_header_capture(2 << 20, false);
    let doc = export_bytes(&capture, "big-block.pcap", &[]).json();
    let all = anomalies(&doc);
    assert!(
        all.iter()
            .any(|a| a.contains("header block on stream 1 larger than 1048576")),
        "{all:?}"
    );
    assert_eq!(stream_by_id(&doc, 3).unwrap()["path"], "/after");

    let doc = export_bytes(&capture, "big-block.pcap", &["--max-header-block", "4MiB"]).json();
    assert!(anomalies(&doc).is_empty(), "{:?}", anomalies(&doc));
    let s = stream_by_id(&doc, 1).expect("stream 1 decoded");
    assert_eq!(s["path"], "/big");
    let big = s["request_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "x-big")
        .expect("x-big");
    assert_eq!(big[1].as_str().unwrap().len(), 2 << 20);
}

/// The same block in one 2 MiB HEADERS frame is over the 1 MiB default of --max-frame-size:
/// skipped and reported. Raising both bounds decodes it.
#[test]
fn max_frame_size_caps_by_default_and_the_flag_raises_it() {
    let capture = big_header_capture(2 << 20, true);
    let doc = export_bytes(&capture, "big-frame.pcap", &[]).json();
    let all = anomalies(&doc);
    assert!(
        all.iter().any(|a| a.contains("too large to decode")),
        "{all:?}"
    );
    assert_eq!(stream_by_id(&doc, 3).unwrap()["path"], "/after");

    let args = ["--max-frame-size", "3M", "--max-header-block", "3M"];
    let doc = export_bytes(&capture, "big-frame.pcap", &args).json();
    assert!(anomalies(&doc).is_empty(), "{:?}", anomalies(&doc));
    assert_eq!(stream_by_id(&doc, 1).expect("stream 1")["path"], "/big");
}

/// A gRPC GetItem call whose request message is `payload` as sent: compressed with gzip
/// (and `grpc-encoding: gzip`) when `gzip`.
fn grpc_call_capture(payload: &[u8], gzip: bool) -> Vec<u8> {
    let flag = u8::from(gzip);
    let mut message = vec![flag];
    message.extend((payload.len() as u32).to_be_bytes());
    message.extend(payload);
    let mut req = vec![0x83, 0x86]; // :method POST, :scheme http
    req.extend(literal(
        0x00,
        b":path",
        b"/h2scope.demo.v1.Inventory/GetItem",
    ));
    req.extend(literal(0x00, b":authority", b"limits.test"));
    req.extend(literal(0x00, b"content-type", b"application/grpc"));
    if gzip {
        req.extend(literal(0x00, b"grpc-encoding", b"gzip"));
    }
    let mut c = frame(HEADERS, END_HEADERS, 1, &req);
    c.extend(data_frames(1, &message, true));
    let mut resp = vec![0x88];
    resp.extend(literal(0x00, b"content-type", b"application/grpc"));
    let mut s = frame(HEADERS, END_HEADERS, 1, &resp);
    s.extend(data_frames(1, &[0, 0, 0, 0, 0], false));
    s.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &literal(0x00, b"grpc-status", b"0"),
    ));
    h2_capture(&[], vec![chunk(true, 3, c), chunk(false, 4, s)], 60_000)
}

/// A GetItemRequest (`id`, field 1) with an id of `n` bytes.
fn get_item_request(n: usize) -> Vec<u8> {
    let mut body = vec![0x0a];
    let mut len = n as u64;
    while len >= 0x80 {
        body.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    body.push(len as u8);
    body.extend(std::iter::repeat_n(b'i', n));
    body
}

fn first_request_message(capture: &[u8], args: &[&str]) -> Value {
    let protos = support::root().join("fixtures/protos");
    let mut all = vec!["--proto-path", protos.to_str().unwrap()];
    all.extend_from_slice(args);
    let doc = export_bytes(capture, "grpc-limit.pcap", &all).json();
    doc["streams"][0]["grpc"]["request_messages"][0].clone()
}

/// A 100 KiB message over `--max-message-size 64KiB` is reported with its body skipped;
/// under the 16 MiB default it decodes.
#[test]
fn max_message_size_is_reported_and_the_flag_sets_it() {
    let capture = grpc_call_capture(&get_item_request(100 << 10), false);
    let m = first_request_message(&capture, &["--max-message-size", "64KiB"]);
    let err = m["error"].as_str().expect("an error on the message");
    assert!(err.contains("exceeds the 65536-byte limit"), "{err}");
    assert!(m["json"].is_null(), "{m}");

    let m = first_request_message(&capture, &[]);
    assert!(m["error"].is_null(), "{m}");
    assert_eq!(m["json"]["id"].as_str().unwrap().len(), 100 << 10);
}

/// A gzip message inflating to 2 MiB: over `--max-decompressed-size 1MiB` it is reported and
/// shown compressed; under the 16 MiB default it decodes.
#[test]
fn max_decompressed_size_is_reported_and_the_flag_sets_it() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&get_item_request(2 << 20)).unwrap();
    let capture = grpc_call_capture(&gz.finish().unwrap(), true);
    let m = first_request_message(&capture, &["--max-decompressed-size", "1MiB"]);
    let err = m["error"].as_str().expect("an error on the message");
    assert!(err.contains("limit"), "{err}");
    assert!(m["json"].is_null(), "{m}");

    let m = first_request_message(&capture, &[]);
    assert!(m["error"].is_null(), "{m}");
    assert_eq!(m["json"]["id"].as_str().unwrap().len(), 2 << 20);
}

/// Two requests left open on one connection with `--max-streams 1`: the first is reported
/// incomplete when the second opens; by default both stay open until the end.
#[test]
fn max_streams_is_reported_and_the_flag_sets_it() {
    let mut c = frame(HEADERS, END_HEADERS, 1, &request_block("/one"));
    c.extend(frame(HEADERS, END_HEADERS, 3, &request_block("/two")));
    let capture = h2_capture(&[], vec![chunk(true, 3, c)], 60_000);
    let evicted = "too many open streams: the oldest was reported incomplete";
    let doc = export_bytes(&capture, "streams.pcap", &["--max-streams", "1"]).json();
    assert!(
        anomalies(&doc).iter().any(|a| a == evicted),
        "{:?}",
        anomalies(&doc)
    );
    let doc = export_bytes(&capture, "streams.pcap", &[]).json();
    assert!(
        !anomalies(&doc).iter().any(|a| a == evicted),
        "{:?}",
        anomalies(&doc)
    );
    assert_eq!(doc["streams"].as_array().unwrap().len(), 2);
}

/// Sizes take units; a bad one is one clear line naming the flag.
#[test]
fn limit_flags_take_sizes_with_units() {
    let capture = big_header_capture(10, false);
    for ok in ["2M", "2MiB", "2097152", "2 mb"] {
        let r = export_bytes(&capture, "units.pcap", &["--max-header-block", ok]);
        assert_eq!(r.code(), 0, "{ok}: {}", r.stderr());
    }
    let r = export_bytes(&capture, "units.pcap", &["--max-header-block", "2 parsecs"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("--max-header-block"), "{}", r.stderr());
}

/// A client that jumps 2,000,000,000 bytes ahead in its sequence space mid-connection: a gap
/// of that size, counted, never allocated; the frames after it are found again.
#[test]
fn a_two_gigabyte_sequence_jump_is_a_gap_not_an_allocation() {
    const JUMP: u32 = 2_000_000_000;
    let (client, server) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let mut w = pcap::PcapWriter::new();
    let (cisn, sisn) = (1000u32, 5000u32);
    let t = |n: i64| T0 + n * 1_000_000;
    w.packet(
        t(0),
        &pcap::tcp_frame(client, server, cisn, 0, pcap::SYN, &[]),
    );
    w.packet(
        t(1),
        &pcap::tcp_frame(server, client, sisn, cisn + 1, pcap::SYN | pcap::ACK, &[]),
    );
    let mut first = PREFACE.to_vec();
    first.extend(frame(SETTINGS, 0, 0, &[]));
    first.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &request_block("/before"),
    ));
    let mut seq = cisn + 1;
    w.packet(
        t(2),
        &pcap::tcp_frame(client, server, seq, sisn + 1, pcap::ACK | pcap::PSH, &first),
    );
    seq = seq.wrapping_add(first.len() as u32).wrapping_add(JUMP);
    let later = frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        3,
        &request_block("/after"),
    );
    w.packet(
        t(3),
        &pcap::tcp_frame(client, server, seq, sisn + 1, pcap::ACK | pcap::PSH, &later),
    );
    seq = seq.wrapping_add(later.len() as u32);
    w.packet(
        t(4),
        &pcap::tcp_frame(client, server, seq, sisn + 1, pcap::FIN | pcap::ACK, &[]),
    );
    let r = export_bytes(&w.finish(), "jump.pcap", &[]);
    let doc = r.json();
    let c = &doc["connections"][0];
    assert_eq!(c["gaps"], 1, "{c}");
    assert_eq!(c["tcp"]["gap_bytes_client"], u64::from(JUMP), "{c}");
    let paths: Vec<&str> = doc["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["path"].as_str())
        .collect();
    assert!(paths.contains(&"/before"), "{paths:?}");
    r.rss_below(40, "2 GB sequence jump");
}

// ---------------------------------------------------------------------------------------
// Bad files and arguments

fn fixture(name: &str) -> PathBuf {
    support::root().join("fixtures").join(name)
}

/// Exit status 2, nothing on stdout, one line on stderr containing `expect`.
fn assert_one_line_error(r: &Run, expect: &str) {
    let err = r.stderr();
    assert_eq!(r.code(), 2, "exit status; stderr: {err}");
    assert!(r.out.stdout.is_empty(), "nothing on stdout");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(expect), "expected {expect:?} in {err:?}");
}

/// A classic pcap header with this snaplen and link type, then `records`.
fn pcap_with(snaplen: u32, records: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&snaplen.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (claimed, data) in records {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&claimed.to_le_bytes());
        out.extend_from_slice(&claimed.to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

#[test]
fn an_absurd_snaplen_is_reported_not_enforced() {
    let original = std::fs::read(fixture("h2c-nghttp-lo.pcap")).unwrap();
    let plain = support::export(&fixture("h2c-nghttp-lo.pcap"));
    for snaplen in [0u32, 1, u32::MAX] {
        let mut bytes = original.clone();
        let le = bytes[..4] == [0xd4, 0xc3, 0xb2, 0xa1];
        let v = if le {
            snaplen.to_le_bytes()
        } else {
            snaplen.to_be_bytes()
        };
        bytes[16..20].copy_from_slice(&v);
        let doc = export_bytes(&bytes, "snaplen.pcap", &[]).json();
        assert_eq!(doc["capture"]["interfaces"][0]["snaplen"], snaplen);
        assert_eq!(doc["capture"]["packets"], plain["capture"]["packets"]);
        assert_eq!(doc["connections"], plain["connections"]);
    }
}

#[test]
fn a_record_longer_than_the_file_is_a_truncated_record() {
    let frame = pcap::tcp_frame(
        addr("10.0.0.1:40000"),
        addr("10.0.0.2:80"),
        1,
        0,
        pcap::SYN,
        &[],
    );
    let mut bytes = pcap_with(65_535, &[(frame.len() as u32, &frame)]);
    // A second record that claims 1 MB, of which 100 bytes are there.
    bytes.extend(&pcap_with(65_535, &[(1_000_000, &[0u8; 100])])[24..]);
    let doc = export_bytes(&bytes, "cut.pcap", &[]).json();
    assert_eq!(doc["capture"]["packets"], 1);
    let kinds: Vec<&str> = doc["capture"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["truncated_record"]);
}

/// A record claiming 4 GB cannot be a record: reading stops there with exit status 1, one
/// line on stderr, and the document holds what came before, with the error.
#[test]
fn a_record_over_the_limit_stops_the_run_with_what_came_before() {
    let frame = pcap::tcp_frame(
        addr("10.0.0.1:40000"),
        addr("10.0.0.2:80"),
        1,
        0,
        pcap::SYN,
        &[],
    );
    let mut bytes = pcap_with(65_535, &[(frame.len() as u32, &frame)]);
    bytes.extend(&pcap_with(65_535, &[(u32::MAX, &[0u8; 100])])[24..]);
    let r = export_bytes(&bytes, "huge.pcap", &[]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let err = r.stderr();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("over the") && err.contains("limit"), "{err}");
    let doc: Value = serde_json::from_slice(&r.out.stdout).unwrap();
    assert_eq!(doc["capture"]["packets"], 1);
    assert!(doc["capture"]["error"].as_str().unwrap().contains("limit"));
}

#[test]
fn a_pcapng_block_of_unknown_type_is_skipped() {
    let cap = Capture::read(&fixture("h2c-nghttp-lo.pcap"));
    let n = cap.packets.len();
    let good = cap.write();
    // After the section and interface blocks, insert a block of type 0x12345678.
    let first_epb = {
        let mut at = 0;
        loop {
            let kind = u32::from_le_bytes(good[at..at + 4].try_into().unwrap());
            if kind == 6 {
                break at;
            }
            at += u32::from_le_bytes(good[at + 4..at + 8].try_into().unwrap()) as usize;
        }
    };
    let mut bytes = good[..first_epb].to_vec();
    bytes.extend(0x1234_5678u32.to_le_bytes());
    bytes.extend(20u32.to_le_bytes());
    bytes.extend(b"junk    ");
    bytes.extend(20u32.to_le_bytes());
    bytes.extend(&good[first_epb..]);
    let r = export_bytes(&bytes, "unknown-block.pcapng", &[]);
    let doc = r.json();
    assert_eq!(doc["capture"]["packets"], n);
    let unknown = doc["capture"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "unknown_block")
        .expect("an unknown_block anomaly");
    assert_eq!(unknown["count"], 1);
    let plain = export_bytes(&good, "plain.pcapng", &[]).json();
    assert_eq!(doc["streams"], plain["streams"]);
}

#[test]
fn corrupt_gzip_is_one_clear_line() {
    // A gzip header, then bytes that are no deflate stream.
    let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    bytes.extend([0xff; 64]);
    let r = export_bytes(&bytes, "corrupt.pcap.gz", &[]);
    assert_one_line_error(&r, "gzip");
}

/// A gzip capture cut in the middle: every record before the cut is read, and the cut is
/// reported as a truncated record (a capture being written when it was copied).
#[test]
fn a_gzip_capture_cut_short_reads_up_to_the_cut() {
    let plain = std::fs::read(fixture("h2c-nghttp-lo.pcap")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let zipped = gz.finish().unwrap();
    let cut = &zipped[..zipped.len() / 2];
    let r = export_bytes(cut, "cut.pcap.gz", &[]);
    let doc = r.json();
    assert_eq!(doc["capture"]["gzipped"], true);
    let full = support::export(&fixture("h2c-nghttp-lo.pcap"));
    let (got, all) = (
        doc["capture"]["packets"].as_u64().unwrap(),
        full["capture"]["packets"].as_u64().unwrap(),
    );
    assert!(got > 0 && got < all, "{got} of {all} packets");
    assert_eq!(doc["capture"]["anomalies"][0]["kind"], "truncated_record");
}

/// Regression: on corrupt deflate data near the end of a gzip capture, flate2's reader
/// dropped everything the failing read had decompressed (up to 256 KiB: the whole of this
/// fixture, so nothing was read at all). Now every record that inflates before the damage is
/// exported, exactly as in the undamaged file, and the damage is the one-line error after it.
#[test]
fn corrupt_gzip_near_the_end_keeps_every_record_before_the_damage() {
    let plain = std::fs::read(fixture("h2c-nghttp-lo.pcap")).unwrap();
    // Damage that inflate detects where it is: a sync flush 1000 bytes before the end (in the
    // middle of a record) leaves the next deflate block byte-aligned, and its first byte
    // becomes 0x07, a final block of the reserved type 3. (Most damage inflates to garbage
    // first, caught only by the CRC; the unit tests in src/capture/gzip.rs cover that.)
    let cut = plain.len() - 1000;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain[..cut]).unwrap();
    gz.flush().unwrap();
    let at = gz.get_ref().len();
    gz.write_all(&plain[cut..]).unwrap();
    let mut damaged = gz.finish().unwrap();
    damaged[at] = 0x07;
    let good = &plain[..cut];
    // The pcap records wholly inside what inflates before the damage.
    let (mut end, mut records) = (24, 0);
    while let Some(h) = plain.get(end..end + 16) {
        let next = end + 16 + u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
        if next > good.len() {
            break;
        }
        (end, records) = (next, records + 1);
    }
    assert!(records > 10, "only {records} records before the damage");

    let r = export_bytes(&damaged, "damaged.pcap.gz", &[]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
    assert!(r.stderr().contains("gzip"), "{}", r.stderr());
    let doc: Value = serde_json::from_slice(&r.out.stdout).expect("the document before the damage");
    assert_eq!(doc["capture"]["packets"].as_u64().unwrap(), records);
    // The same as the undamaged file cut after those records.
    let prefix = export_bytes(&plain[..end], "prefix.pcap", &[]).json();
    assert_eq!(doc["connections"], prefix["connections"]);
    assert_eq!(doc["streams"], prefix["streams"]);
}

#[test]
fn a_descriptor_set_that_is_not_one_is_one_clear_line() {
    let capture = fixture("grpc-roundrobin.pcapng");
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.desc");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let proto = fixture("protos/demo.proto");
    for set in [&random, &proto] {
        let r = run(&[
            "export",
            capture.to_str().unwrap(),
            "--descriptor-set",
            set.to_str().unwrap(),
        ]);
        assert_one_line_error(&r, set.file_name().unwrap().to_str().unwrap());
    }
    let missing = dir.path().join("missing.desc");
    let r = run(&[
        "export",
        capture.to_str().unwrap(),
        "--descriptor-set",
        missing.to_str().unwrap(),
    ]);
    assert_one_line_error(&r, "missing.desc");
}

#[test]
fn a_proto_path_that_is_not_a_directory_is_one_clear_line() {
    let capture = fixture("grpc-roundrobin.pcapng");
    let proto = fixture("protos/demo.proto");
    let r = run(&[
        "export",
        capture.to_str().unwrap(),
        "--proto-path",
        proto.to_str().unwrap(),
    ]);
    assert_one_line_error(&r, "demo.proto");
}

#[test]
fn an_output_that_cannot_be_created_is_one_clear_line() {
    let capture = fixture("h2c-nghttp-lo.pcap");
    let r = run(&[
        "export",
        capture.to_str().unwrap(),
        "-o",
        "/nonexistent/dir/out.json",
    ]);
    assert_one_line_error(&r, "/nonexistent/dir/out.json");
}

// ---------------------------------------------------------------------------------------
// Terminal safety: captured (or hostile) text never reaches a terminal raw

/// Characters a terminal may act on, or that reorder or hide text: C0 controls but newline,
/// DEL, C1 controls, and the bidirectional and invisible formatting characters (the list of
/// `src/text.rs`, written out again here).
fn terminal_controls(out: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    text.char_indices()
        .filter(|(_, c)| *c != '\n' && crate::tui::dangerous(*c))
        .map(|(i, c)| format!("U+{:04X} at {i}", c as u32))
        .collect()
}

/// What the capture below carries in its path, a request header, the backend's label, the
/// `grpc-message` trailer and GOAWAY's debug data: an OSC title, a CSI, DEL, a C1 CSI, a
/// right-to-left override, a left-to-right isolate and a right-to-left mark.
const EVIL: &str =
    "\x1b]0;pwned\x07\x1b[31m red \u{7f} \u{9b}31m \u{202e}txet \u{2066}i\u{2069} \u{200f}!";

/// The UTF-8 of those characters, none of which may reach a terminal raw.
const RAW: [(&str, &[u8]); 6] = [
    ("ESC", b"\x1b"),
    ("DEL", b"\x7f"),
    ("U+009B", b"\xc2\x9b"),
    ("U+202E", b"\xe2\x80\xae"),
    ("U+2066", b"\xe2\x81\xa6"),
    ("U+200F", b"\xe2\x80\x8f"),
];

fn assert_inert(out: &[u8], what: &str) {
    for (name, raw) in RAW {
        assert!(
            !out.windows(raw.len()).any(|w| w == raw),
            "{what}: {name} written raw"
        );
    }
    assert_eq!(terminal_controls(out), Vec::<String>::new(), "{what}");
}

/// One gRPC call carrying [`EVIL`] everywhere a peer puts text, its request message a string
/// field with only bidi characters in it (still read schema-less as a string), then GOAWAY.
fn evil_capture() -> Vec<u8> {
    let mut req = vec![0x83, 0x86]; // :method POST, :scheme http
    req.extend(literal(
        0x00,
        b":path",
        format!("/evil.Svc/{EVIL}").as_bytes(),
    ));
    req.extend(literal(0x00, b":authority", b"attack.test"));
    req.extend(literal(0x00, b"content-type", b"application/grpc"));
    req.extend(literal(0x00, b"x-evil", EVIL.as_bytes()));
    let text = "\u{202e}\u{2066}\u{200f}gnirts".as_bytes();
    let mut message = vec![0];
    message.extend((text.len() as u32 + 2).to_be_bytes());
    message.extend([0x0a, text.len() as u8]);
    message.extend(text);
    let mut c = frame(HEADERS, END_HEADERS, 1, &req);
    c.extend(data_frames(1, &message, true));
    let mut resp = vec![0x88]; // :status 200
    resp.extend(literal(0x00, b"content-type", b"application/grpc"));
    resp.extend(literal(0x00, b"x-backend", EVIL.as_bytes()));
    let mut s = frame(HEADERS, END_HEADERS, 1, &resp);
    s.extend(data_frames(1, &[0, 0, 0, 0, 0], false));
    // Raw, and percent-encoded as gRPC sends it (decoded into `grpc.message`).
    let status_message = format!("{EVIL} %E2%80%AE%1B%C2%9B");
    let mut trailers = literal(0x00, b"grpc-status", b"13");
    trailers.extend(literal(0x00, b"grpc-message", status_message.as_bytes()));
    s.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &trailers));
    let mut goaway = 1u32.to_be_bytes().to_vec();
    goaway.extend(0u32.to_be_bytes());
    goaway.extend(EVIL.as_bytes());
    s.extend(frame(GOAWAY, 0, 0, &goaway));
    h2_capture(&[], vec![chunk(true, 3, c), chunk(false, 4, s)], 60_000)
}

/// Captured text never reaches a terminal raw, whichever writer takes it: `export` to
/// standard output in every layout (compact, NDJSON, pretty, with frames, one thread or two),
/// to `-o` files, the terminal UI, and error lines on stderr quoting a file name that holds
/// the same characters. Every JSON output still reads back to the captured strings.
#[test]
fn captured_text_reaches_no_terminal_raw_through_any_writer() {
    let capture = evil_capture();
    let name = "evil\x1b[2J\u{7f}\u{9b}31m\u{202e}\u{2066}\u{200f}.pcap";
    let label = ["--backend-header", "x-backend"];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, &capture).unwrap();
    let out = dir.path().join("out.json");
    let file = file.to_str().unwrap();
    for args in [
        &[][..],
        &["-j1"],
        &["--ndjson"],
        &["--ndjson", "-j2"],
        &["--pretty"],
        &["--frames", "-j1"],
        &["--frames", "-j2"],
        &["--pretty", "--frames"],
        &["--no-messages"],
    ] {
        for to_file in [false, true] {
            let mut all = vec!["export", file];
            all.extend_from_slice(&label);
            all.extend_from_slice(args);
            if to_file {
                all.extend_from_slice(&["-o", out.to_str().unwrap()]);
            }
            let r = run(&all);
            assert_eq!(r.code(), 0, "{}", r.stderr());
            assert_eq!(r.stderr(), "", "{args:?}");
            let written = if to_file {
                assert!(r.out.stdout.is_empty());
                std::fs::read(&out).unwrap()
            } else {
                r.out.stdout
            };
            let what = format!("{args:?}{}", if to_file { " -o" } else { "" });
            assert_inert(&written, &what);
            // The characters are there, escaped: `\u202e` is in the text ...
            let text = String::from_utf8(written).unwrap();
            assert!(
                text.contains(r"\u202e") && text.contains(r"\u009b"),
                "{what}"
            );
            // ... and the JSON says what the capture said.
            let docs: Vec<Value> = if args.contains(&"--ndjson") {
                text.lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect()
            } else {
                vec![serde_json::from_str(&text).unwrap()]
            };
            let all_text = docs.iter().map(|d| d.to_string()).collect::<String>();
            let strings = json_strings(&docs);
            for want in [
                format!("/evil.Svc/{EVIL}"),
                EVIL.to_string(),
                format!("{EVIL} \u{202e}\x1b\u{9b}"),
                format!("{EVIL} %E2%80%AE%1B%C2%9B"),
                dir.path().join(name).to_str().unwrap().to_string(),
            ] {
                assert!(
                    strings.contains(&want),
                    "{what}: {want:?} not in {all_text}"
                );
            }
            if !args.contains(&"--no-messages") {
                let bidi = "\u{202e}\u{2066}\u{200f}gnirts".to_string();
                assert!(
                    strings.contains(&bidi),
                    "{what}: message not read as a string"
                );
            }
        }
    }
    // Error lines on stderr: the same file with a broken record after the call (exit 1,
    // the output holding everything before it).
    let mut damaged = capture.clone();
    damaged.extend([0u8; 8]);
    damaged.extend(u32::MAX.to_le_bytes());
    damaged.extend(u32::MAX.to_le_bytes());
    std::fs::write(file, &damaged).unwrap();
    let r = run(&["export", file, "-o", out.to_str().unwrap()]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_inert(&r.out.stderr, "stderr");
    assert!(
        r.stderr()
            .contains(r"evil\x1b[2J\x7f\u{9b}31m\u{202e}\u{2066}\u{200f}.pcap"),
        "{}",
        r.stderr()
    );
    // The terminal UI, drawn on a `TestBackend`: every screen, every cell.
    let seen = crate::tui::every_screen_inert(capture, name, Some("x-backend"));
    for shown in [
        r"\u{202e}txet",
        r"\u{2066}i\u{2069}",
        r"\u{200f}",
        r"\x1b]0;pwned\x07",
    ] {
        assert!(seen.contains(shown), "{shown} not shown in:\n{seen}");
    }
}

/// Every string in `docs`, keys and values, at any depth.
fn json_strings(docs: &[Value]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                out.insert(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.iter().for_each(|(k, v)| {
                out.insert(k.clone());
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    docs.iter().for_each(|d| walk(d, &mut out));
    out
}

/// Error messages quote file names (and, for sniff, interface names): a name with escape
/// sequences is shown escaped.
#[test]
fn error_messages_carry_no_terminal_controls() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\x1b]0;pwned\x07\u{9b}31m.pcap";
    let file = dir.path().join(name);
    std::fs::write(&file, b"this is not a capture at all").unwrap();
    let missing = dir.path().join(format!("missing-{name}"));
    for path in [&file, &missing] {
        let r = run(&["export", path.to_str().unwrap()]);
        assert_eq!(r.code(), 2, "{}", r.stderr());
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
        assert_eq!(terminal_controls(&r.out.stderr), Vec::<String>::new());
        assert!(
            r.stderr().contains("evil\\x1b]0;pwned\\x07"),
            "{}",
            r.stderr()
        );
    }
    // Damage mid-file: the error line quotes the file name too (exit status 1). The second
    // record's length is broken, so the first is read and reading stops there.
    let good = std::fs::read(fixture("h2c-nghttp-lo.pcap")).unwrap();
    let damaged = dir.path().join(format!("damaged-{name}"));
    let mut bytes = good.clone();
    let first_len = u32::from_le_bytes(good[24 + 8..24 + 12].try_into().unwrap()) as usize;
    let second = 24 + 16 + first_len;
    bytes[second + 8..second + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&damaged, &bytes).unwrap();
    let r = run(&["export", damaged.to_str().unwrap()]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(terminal_controls(&r.out.stderr), Vec::<String>::new());
    // An unknown interface with escapes in its name.
    let r = run(&["sniff", "-i", "eth\x1b[31m0", "--ndjson"]);
    assert_ne!(r.code(), 0);
    assert_eq!(
        terminal_controls(&r.out.stderr),
        Vec::<String>::new(),
        "{}",
        r.stderr()
    );
}
