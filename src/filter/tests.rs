//! Agreement and oracle tests: `matches()` against our BPF programs run in the interpreter,
//! on synthetic frames (and every prefix of them), the fixture captures and the external
//! captures; and both against tcpdump's own programs (`tcpdump -dd`) and packet counts
//! (`tcpdump -r FILE --count`), when tcpdump is installed.

use super::bpf_interp::{check, exec, exec_traced, parse_dd};
use super::testdata::{self, frames};
use super::*;
// Test-only: the agreement tests run on real captures, read as the engine reads them.
use crate::capture::{CaptureReader, Record};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SNAPLEN: u32 = 262_144;

/// Every construct alone and in combination; all are valid for libpcap too.
const EXPRESSIONS: &[&str] = &[
    "",
    "tcp",
    "udp",
    "icmp",
    "ip",
    "ip6",
    "not tcp",
    "!udp",
    "not ip and not ip6",
    "host 10.0.0.1",
    "src host 10.0.0.1",
    "dst host 10.0.0.2",
    "src 10.0.0.1",
    "dst 10.0.0.2",
    "ip host 10.0.0.1",
    "ip src 127.0.0.1",
    "host 127.0.0.1",
    "src or dst host 10.0.0.1",
    "src and dst host 127.0.0.1",
    "dst and src 10.0.0.1",
    "host ::1",
    "ip6 host ::1",
    "src host 2001:db8::1",
    "dst 2001:db8::2",
    "host ::ffff:10.0.0.1",
    "src and dst host ::1",
    "net 10.0.0.0/8",
    "net 10.0",
    "src net 192.168.0.0/16",
    "dst net 127.0.0.0/8",
    "net 10.0.0.0 mask 255.0.0.0",
    "net 10.0.0.0 mask 255.0.255.0",
    "net 0.0.0.0/0",
    "net 127.0.0.1/32",
    "ip net 10.0.0.0/31",
    "net ::/0",
    "net 2001:db8::/32",
    "net fe80::/10",
    "net 2001:db8:8000::/33",
    "ip6 src net 2001:db8::/64",
    "net ::1/128",
    "src and dst net 2001:db8::/32",
    "port 80",
    "src port 80",
    "dst port 50051",
    "port 53",
    "port 0",
    "tcp port 80",
    "udp port 53",
    "tcp src port 50051",
    "tcp dst port 80",
    "udp dst port 53",
    "src and dst port 80",
    "port 18080",
    "tcp port 50052 or 50053",
    "src port 18081",
    "port 80 or 443",
    "port 80 or 443 or 50051",
    "tcp port 80 and 443",
    "portrange 80-90",
    "portrange 90-80",
    "src portrange 50000-60000",
    "tcp portrange 1-1023",
    "udp dst portrange 53-53",
    "portrange 0-65535",
    "portrange 18000-18100",
    "portrange 443",
    "tcp and port 80",
    "tcp or udp",
    "not (tcp or udp)",
    "tcp and not port 80",
    "ip and tcp",
    "ip6 and udp",
    "ip6 and tcp and port 80",
    "host 10.0.0.1 and port 80",
    "host 10.0.0.1 or port 80 and tcp",
    "tcp or udp and port 53",
    "not port 80 and not port 443",
    "!(port 80 || port 443) && ip",
    "host 10.0.0.1 and (tcp) or 10.0.0.2",
    "port 80 or (443 or 50051)",
    "port 80 or not 443",
    "host 10.0.0.1 and not 10.0.0.2",
    "not not tcp",
    "not ip6 or tcp",
    "src 10.0.0.1 and dst port 80",
    "(tcp and src port 50051) or (udp and dst port 53)",
    "dst host 10.0.0.2 or src net 2001:db8::/32",
    "tcp and (port 80 or port 50051) and not host 10.0.0.3",
    "host 127.0.0.1 and port 18080",
    "ip6 and port 18081",
    "host ::1 and tcp port 18081",
    "net 127.0.0.0/8 and tcp[0] = 0x46",
];

/// Expressions valid for both, minus the deliberately unsupported last one.
fn expressions() -> impl Iterator<Item = &'static str> {
    EXPRESSIONS.iter().copied().filter(|e| !e.contains('['))
}

const LINK_TYPES: [LinkType; 8] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NULL,
    LinkType::LOOP,
];

fn program(filter: &Filter, lt: LinkType) -> Vec<SockFilter> {
    let text: String = filter.to_string().chars().take(200).collect();
    let prog = filter
        .compile_bpf(lt, SNAPLEN)
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    check(&prog).unwrap_or_else(|e| panic!("{text} on {lt}: kernel would refuse: {e}"));
    prog
}

#[track_caller]
fn agree(text: &str, filter: &Filter, lt: LinkType, prog: &[SockFilter], frame: &[u8], what: &str) {
    let m = filter.matches(lt, frame);
    let verdict = exec(prog, frame, 0);
    assert!(
        verdict == 0 || verdict == SNAPLEN,
        "{text:?}: returned {verdict}"
    );
    assert_eq!(
        m,
        verdict != 0,
        "{text:?} on {what} ({lt}, {} bytes): matches() says {m}\n{}frame {frame:02x?}",
        frame.len(),
        format_program(prog),
    );
}

/// (link type, frame) of every packet in a capture file; `None` if it cannot be read.
fn read_capture(path: &Path) -> Option<Vec<(LinkType, Vec<u8>)>> {
    let mut reader = CaptureReader::open(path).ok()?;
    let mut out = Vec::new();
    while let Ok(Some(record)) = reader.next_record() {
        if let Record::Packet(p) = record {
            out.push((p.link_type, p.data.to_vec()));
        }
    }
    Some(out)
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 9, "fixtures missing in {}", dir.display());
    files
}

/// The capture files under `$H2SCOPE_EXTERNAL_CAPTURES` (default `../shared/captures`), or
/// `None` after saying why the test is skipped.
fn external_files(test: &str) -> Option<Vec<PathBuf>> {
    let root = std::env::var_os("H2SCOPE_EXTERNAL_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"));
    if !root.is_dir() {
        println!(
            "SKIPPED: {test}: external captures not found at {} (set H2SCOPE_EXTERNAL_CAPTURES)",
            root.display()
        );
        return None;
    }
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name() != Some("tshark".as_ref()) {
                    dirs.push(path);
                }
            } else if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("md" | "proto" | "txt" | "tsv" | "json" | "desc" | "py")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    Some(files)
}

fn packets_of(files: &[PathBuf]) -> Vec<(LinkType, Vec<u8>)> {
    files
        .iter()
        .filter_map(|f| read_capture(f))
        .flatten()
        .collect()
}

#[test]
fn every_expression_round_trips_through_display() {
    for text in expressions() {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let shown = f.to_string();
        let again = Filter::parse(&shown).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!(f, again, "{text:?} printed as {shown:?}");
    }
}

/// Our program and `matches()` on every synthetic frame and every prefix of it (so every
/// read is also tried past the captured end).
#[test]
fn bpf_agrees_with_matches_on_synthetic_frames_and_their_prefixes() {
    let frames = frames();
    for text in expressions() {
        let f = Filter::parse(text).unwrap();
        for lt in LINK_TYPES {
            let prog = program(&f, lt);
            for (_, frame) in frames.iter().filter(|(l, _)| *l == lt) {
                for len in 0..=frame.len() {
                    agree(text, &f, lt, &prog, &frame[..len], "a synthetic frame");
                }
            }
        }
    }
}

/// The frame a SOCK_DGRAM socket's filter sees, and its `skb->protocol`, for a cooked frame.
fn uncook(lt: LinkType, frame: &[u8]) -> Option<(&[u8], u16)> {
    let (proto_at, header) = match lt {
        LinkType::LINUX_SLL => (14, 16),
        LinkType::LINUX_SLL2 => (0, 20),
        _ => return None,
    };
    let proto = u16::from_be_bytes([*frame.get(proto_at)?, *frame.get(proto_at + 1)?]);
    Some((frame.get(header..)?, proto))
}

#[test]
fn dgram_program_agrees_with_matches_on_cooked_frames() {
    let mut cooked: Vec<(LinkType, Vec<u8>)> = frames();
    cooked.extend(packets_of(&fixture_files()));
    cooked.retain(|(lt, _)| matches!(*lt, LinkType::LINUX_SLL | LinkType::LINUX_SLL2));
    assert!(cooked.len() > 100);
    for text in expressions() {
        let f = Filter::parse(text).unwrap();
        let prog = f.compile_bpf_dgram(SNAPLEN).unwrap();
        check(&prog).unwrap();
        for (lt, frame) in &cooked {
            let (packet, proto) = uncook(*lt, frame).unwrap();
            for len in 0..=packet.len().min(120) {
                let whole = &frame[..frame.len() - packet.len() + len];
                assert_eq!(
                    f.matches(*lt, whole),
                    exec(&prog, &packet[..len], proto) != 0,
                    "{text:?}, protocol {proto:#06x}, {len} bytes\n{}",
                    format_program(&prog)
                );
            }
        }
    }
}

#[test]
fn bpf_agrees_with_matches_on_fixture_captures() {
    let packets = packets_of(&fixture_files());
    let mut links = BTreeMap::new();
    for (lt, _) in &packets {
        *links.entry(lt.0).or_insert(0) += 1;
    }
    // Ethernet, LINUX_SLL, LINUX_SLL2, IPv4 and IPv6.
    for lt in [1, 113, 276] {
        assert!(
            links.contains_key(&lt),
            "no fixture of link type {lt}: {links:?}"
        );
    }
    for text in expressions() {
        let f = Filter::parse(text).unwrap();
        let progs: BTreeMap<u32, Vec<SockFilter>> = links
            .keys()
            .map(|&l| (l, program(&f, LinkType(l))))
            .collect();
        for (lt, frame) in &packets {
            agree(text, &f, *lt, &progs[&lt.0], frame, "a fixture packet");
        }
    }
}

#[test]
fn bpf_agrees_with_matches_on_external_captures() {
    let Some(files) = external_files("bpf_agrees_with_matches_on_external_captures") else {
        return;
    };
    let packets = packets_of(&files);
    assert!(packets.len() > 1000, "{} external packets", packets.len());
    let mut checked = 0usize;
    for text in expressions() {
        let f = Filter::parse(text).unwrap();
        let mut progs = BTreeMap::new();
        for (lt, frame) in &packets {
            let Some(prog) = progs
                .entry(lt.0)
                .or_insert_with(|| f.compile_bpf(*lt, SNAPLEN).ok())
            else {
                continue;
            };
            agree(text, &f, *lt, prog, frame, "an external packet");
            checked += 1;
        }
    }
    println!(
        "{checked} verdicts compared on {} external packets",
        packets.len()
    );
}

/// `tcpdump -dd` link type names of the link types both can compile for (NULL and LOOP
/// differ on purpose: see the module doc).
const TCPDUMP_LINKS: &[(&str, LinkType)] = &[
    ("EN10MB", LinkType::ETHERNET),
    ("LINUX_SLL", LinkType::LINUX_SLL),
    ("LINUX_SLL2", LinkType::LINUX_SLL2),
    ("RAW", LinkType::RAW),
    ("IPV4", LinkType::IPV4),
    ("IPV6", LinkType::IPV6),
];

fn have_tcpdump(test: &str) -> bool {
    let ok = Command::new("tcpdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("SKIPPED: {test}: tcpdump is not installed (apt-get install -y tcpdump)");
    }
    ok
}

/// tcpdump's program for `text` on link type `name`; `None` when libpcap refuses the
/// expression. "expression rejects all packets" is the program `ret #0`.
fn tcpdump_program(name: &str, text: &str) -> Option<Vec<SockFilter>> {
    let out = Command::new("tcpdump")
        .args(["-y", name, "-dd", text])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("expression rejects all packets") {
        return Some(vec![SockFilter {
            code: 0x06,
            ..SockFilter::default()
        }]);
    }
    if !out.status.success() {
        return None;
    }
    let prog = parse_dd(&String::from_utf8_lossy(&out.stdout));
    check(&prog).unwrap();
    Some(prog)
}

/// The oracle: libpcap's own programs, run on the same frames, give `matches()`'s verdict.
#[test]
fn tcpdump_programs_agree_with_matches() {
    if !have_tcpdump("tcpdump_programs_agree_with_matches") {
        return;
    }
    let mut packets = frames();
    packets.extend(packets_of(&fixture_files()));
    if let Some(files) = external_files("tcpdump_programs_agree_with_matches (external part)") {
        packets.extend(packets_of(&files));
    }
    let (mut compared, mut truncated, mut truncated_differences) = (0usize, 0usize, 0usize);
    for text in expressions() {
        let f = Filter::parse(text).unwrap();
        for &(name, lt) in TCPDUMP_LINKS {
            let prog = tcpdump_program(name, text)
                .unwrap_or_else(|| panic!("tcpdump -y {name} refuses {text:?}"));
            let ours = program(&f, lt);
            for (_, frame) in packets.iter().filter(|(l, _)| *l == lt) {
                let theirs = exec(&prog, frame, 0) != 0;
                assert_eq!(
                    f.matches(lt, frame),
                    theirs,
                    "{text:?} on {name}: tcpdump says {theirs}\n{}frame {frame:02x?}",
                    format_program(&prog)
                );
                compared += 1;
                // Cut inside the headers: libpcap's optimizer orders some reads differently
                // (`port 80 or 443` compares the source port with both before reading the
                // destination port), so a read past the end can happen in one program and
                // not the other. When neither runs past the end, the verdicts must agree.
                for len in 0..frame.len().min(80) {
                    let cut = &frame[..len];
                    let (v1, aborted1) = exec_traced(&prog, cut, 0);
                    let (v2, aborted2) = exec_traced(&ours, cut, 0);
                    truncated += 1;
                    if (v1 != 0) != (v2 != 0) {
                        truncated_differences += 1;
                        assert!(
                            aborted1 || aborted2,
                            "{text:?} on {name}, cut to {len} bytes: tcpdump {v1}, ours {v2}, \
                             both read only captured bytes\ntcpdump:\n{}ours:\n{}",
                            format_program(&prog),
                            format_program(&ours)
                        );
                    }
                }
            }
        }
    }
    println!(
        "{compared} whole-frame verdicts identical to tcpdump's; on {truncated} truncated \
         frames, {truncated_differences} differ, each after a read past the captured end"
    );
}

/// Our programs for simple expressions are tcpdump's, instruction for instruction.
#[test]
fn simple_programs_are_identical_to_tcpdumps() {
    if !have_tcpdump("simple_programs_are_identical_to_tcpdumps") {
        return;
    }
    for text in [
        "ip",
        "ip6",
        "tcp",
        "udp",
        "icmp",
        "host 10.0.0.1",
        "src 10.0.0.1",
        "ip dst host 127.0.0.1",
        "net 10.0.0.0/8",
        "host ::1",
        "ip6 and tcp",
    ] {
        let f = Filter::parse(text).unwrap();
        for &(name, lt) in TCPDUMP_LINKS.iter().take(3) {
            let out = Command::new("tcpdump")
                .args(["-y", name, "-d", text])
                .output()
                .unwrap();
            let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
            let ours = format_program(&program(&f, lt));
            assert_eq!(ours, theirs, "{text:?} on {name}");
        }
    }
}

/// libpcap reads precedence, `not` and the qualifier shorthand the way we do: each
/// expression and the explicit form we print for it get the same verdicts from tcpdump.
#[test]
fn libpcap_reads_precedence_and_shorthand_like_we_do() {
    if !have_tcpdump("libpcap_reads_precedence_and_shorthand_like_we_do") {
        return;
    }
    let frames: Vec<Vec<u8>> = frames()
        .into_iter()
        .filter(|(lt, _)| *lt == LinkType::ETHERNET)
        .map(|(_, f)| f)
        .collect();
    for (text, explicit) in [
        ("tcp or udp and port 53", "(tcp or udp) and port 53"),
        ("port 53 and udp or tcp", "(port 53 and udp) or tcp"),
        ("not tcp and port 80", "(not tcp) and port 80"),
        ("not port 80 or udp", "(not port 80) or udp"),
        (
            "host 10.0.0.1 or 10.0.0.2",
            "host 10.0.0.1 or host 10.0.0.2",
        ),
        ("port 80 or 443", "port 80 or port 443"),
        (
            "tcp src port 80 or 443",
            "tcp src port 80 or tcp src port 443",
        ),
        ("port 80 or not 443", "port 80 or not port 443"),
        (
            "port 80 and (443 or 53)",
            "port 80 and (port 443 or port 53)",
        ),
        (
            "host 10.0.0.1 and (tcp) or 10.0.0.2",
            "(host 10.0.0.1 and tcp) or host 10.0.0.2",
        ),
        ("host not 10.0.0.1", "not host 10.0.0.1"),
        (
            "dst and src 127.0.0.1",
            "src host 127.0.0.1 and dst host 127.0.0.1",
        ),
        ("src or dst port 53", "src port 53 or dst port 53"),
    ] {
        let f = Filter::parse(text).unwrap();
        let canonical = f.to_string();
        let a = tcpdump_program("EN10MB", text).unwrap();
        let b = tcpdump_program("EN10MB", explicit).unwrap();
        let c = tcpdump_program("EN10MB", &canonical).unwrap();
        for frame in &frames {
            let v = exec(&a, frame, 0) != 0;
            assert_eq!(v, exec(&b, frame, 0) != 0, "{text:?} vs {explicit:?}");
            assert_eq!(v, exec(&c, frame, 0) != 0, "{text:?} vs {canonical:?}");
            assert_eq!(v, f.matches(LinkType::ETHERNET, frame), "{text:?}");
        }
    }
}

/// The oracle on whole files: `tcpdump -r FILE --count FILTER` counts what `matches()` does.
#[test]
fn tcpdump_counts_agree_on_fixture_captures() {
    if !have_tcpdump("tcpdump_counts_agree_on_fixture_captures") {
        return;
    }
    let mut files_compared = 0;
    for file in fixture_files() {
        let packets = read_capture(&file).unwrap();
        for text in expressions() {
            let f = Filter::parse(text).unwrap();
            let out = Command::new("tcpdump")
                .arg("-r")
                .arg(&file)
                .args(["--count", text])
                .output()
                .unwrap();
            if !out.status.success() {
                // libpcap reads pcapng files with one link type only (multi-interface).
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains("different from the type"),
                    "{}: {err}",
                    file.display()
                );
                break;
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let theirs: usize = stdout
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("tcpdump --count said {stdout:?}"));
            let ours = packets.iter().filter(|(lt, d)| f.matches(*lt, d)).count();
            assert_eq!(ours, theirs, "{text:?} on {}", file.display());
            files_compared += 1;
        }
    }
    assert!(files_compared > 0);
}

/// Random expressions libpcap and h2scope both accept: same verdicts. Exercises precedence,
/// qualifier repetition, `not` and parentheses far beyond the list above.
#[test]
fn tcpdump_agrees_on_random_expressions() {
    if !have_tcpdump("tcpdump_agrees_on_random_expressions") {
        return;
    }
    let frames: Vec<(LinkType, Vec<u8>)> = frames()
        .into_iter()
        .filter(|(lt, _)| matches!(*lt, LinkType::ETHERNET | LinkType::LINUX_SLL))
        .collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut tried, mut accepted, mut refused_by_libpcap) = (0, 0, Vec::new());
    while accepted < 400 {
        tried += 1;
        let text = if tried % 4 == 0 {
            soup(&mut rng.0, 9)
        } else {
            random_expr(&mut rng, 2)
        };
        let Ok(f) = Filter::parse(&text) else {
            continue;
        };
        accepted += 1;
        for (name, lt) in [
            ("EN10MB", LinkType::ETHERNET),
            ("LINUX_SLL", LinkType::LINUX_SLL),
        ] {
            let Some(prog) = tcpdump_program(name, &text) else {
                refused_by_libpcap.push(text.clone());
                break;
            };
            let ours = program(&f, lt);
            for (_, frame) in frames.iter().filter(|(l, _)| *l == lt) {
                assert_eq!(
                    f.matches(lt, frame),
                    exec(&prog, frame, 0) != 0,
                    "{text:?} (ours: {f}) on {name}\ntcpdump:\n{}ours:\n{}",
                    format_program(&prog),
                    format_program(&ours)
                );
            }
        }
    }
    println!("{accepted} of {tried} random expressions accepted and compared with tcpdump's");
    assert!(
        refused_by_libpcap.is_empty(),
        "accepted by h2scope, refused by libpcap: {refused_by_libpcap:#?}"
    );
}

/// xorshift64
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[(self.next() % of.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const V4: &[&str] = &["10.0.0.1", "10.0.0.2", "127.0.0.1", "192.168.7.9"];
const V6: &[&str] = &[
    "::1",
    "2001:db8::1",
    "2001:db8::2",
    "fe80::1",
    "::ffff:10.0.0.1",
];
const NETS: &[&str] = &[
    "10.0.0.0/8",
    "10.0",
    "127.0.0.0/8",
    "10.0.0.0 mask 255.255.0.0",
    "0.0.0.0/0",
    "2001:db8::/32",
    "fe80::/10",
    "::/0",
    "2001:db8:8000::/33",
];
const PORTS: &[&str] = &["80", "443", "53", "50051", "0", "18080", "0x50"];
const RANGES: &[&str] = &["80-90", "1-1023", "443-80", "50000-60000", "53"];

/// A random (mostly valid) expression of the subset.
fn random_expr(rng: &mut Rng, depth: u32) -> String {
    let n = 1 + rng.next() % 4;
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str(rng.pick(&[" and ", " or ", " && ", " || "]));
        }
        if rng.chance(25) {
            out.push_str(rng.pick(&["not ", "!", "not not "]));
        }
        if depth > 0 && rng.chance(25) {
            out.push('(');
            out.push_str(&random_expr(rng, depth - 1));
            out.push(')');
        } else if i > 0 && rng.chance(30) {
            // A bare value: repeats the previous qualifiers (or is an error).
            let choices = [
                rng.pick(V4),
                rng.pick(V6),
                rng.pick(PORTS),
                rng.pick(RANGES),
            ];
            let v = rng.pick(&choices);
            if rng.chance(15) {
                out.push_str(&format!("({v} or {})", rng.pick(PORTS)));
            } else {
                out.push_str(v);
            }
        } else {
            out.push_str(&random_primitive(rng));
        }
    }
    out
}

fn random_primitive(rng: &mut Rng) -> String {
    let dir = rng.pick(&["", "", "src ", "dst ", "src or dst ", "dst and src "]);
    match rng.next() % 7 {
        0 => rng.pick(&["tcp", "udp", "icmp", "ip", "ip6"]).to_owned(),
        1 => format!("{}{dir}host {}", rng.pick(&["", "ip "]), rng.pick(V4)),
        2 => format!("{}{dir}host {}", rng.pick(&["", "ip6 "]), rng.pick(V6)),
        3 => format!("{dir}net {}", rng.pick(NETS)),
        4 => format!(
            "{}{dir}port {}",
            rng.pick(&["", "tcp ", "udp "]),
            rng.pick(PORTS)
        ),
        5 => format!(
            "{}{dir}portrange {}",
            rng.pick(&["", "tcp ", "udp "]),
            rng.pick(RANGES)
        ),
        _ => format!("{} {}", rng.pick(&["src", "dst"]), rng.pick(V4)),
    }
}

/// A random expression from the subset's vocabulary (often ill-formed, on purpose).
fn soup(rng: &mut u64, max: usize) -> String {
    const WORDS: &[&str] = &[
        "tcp",
        "udp",
        "icmp",
        "ip",
        "ip6",
        "host",
        "net",
        "port",
        "portrange",
        "src",
        "dst",
        "and",
        "or",
        "not",
        "!",
        "&&",
        "||",
        "(",
        ")",
        "10.0.0.1",
        "10.0.0.2",
        "127.0.0.1",
        "::1",
        "2001:db8::1",
        "10.0.0.0/8",
        "2001:db8::/32",
        "80",
        "443",
        "53",
        "50051",
        "80-90",
        "10.0",
        "mask",
        "255.255.0.0",
    ];
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let n = 1 + (next() % max as u64) as usize;
    (0..n)
        .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn empty_filter_is_a_single_return() {
    let f = Filter::parse("  \t").unwrap();
    assert!(f.is_match_all());
    assert_eq!(
        f.compile_bpf(LinkType::ETHERNET, 96).unwrap(),
        vec![SockFilter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 96
        }]
    );
    assert!(f.matches(LinkType(147), &[]));
    assert!(
        !Filter::parse("tcp")
            .unwrap()
            .matches(LinkType(147), &[0; 64])
    );
}

/// Programs for link types tcpdump prints differently, or not at all.
#[test]
fn program_shapes() {
    let text = |f: &str, lt: LinkType| {
        format_program(&Filter::parse(f).unwrap().compile_bpf(lt, SNAPLEN).unwrap())
    };
    assert_eq!(
        text("ip6", LinkType::RAW),
        "(000) ldb      [0]\n\
         (001) and      #0xf0\n\
         (002) jeq      #0x60            jt 3\tjf 4\n\
         (003) ret      #262144\n\
         (004) ret      #0\n"
    );
    // The IPv4 branch's failures after the EtherType matched go straight to "no": the
    // path knows the IPv6 test would fail. The IPv6 test reuses A = [0].
    assert_eq!(
        text("tcp dst port 80", LinkType::LINUX_SLL2),
        "(000) ldh      [0]\n\
         (001) jeq      #0x800           jt 2\tjf 9\n\
         (002) ldb      [29]\n\
         (003) jeq      #0x6             jt 4\tjf 15\n\
         (004) ldh      [26]\n\
         (005) jset     #0x1fff          jt 15\tjf 6\n\
         (006) ldxb     4*([20]&0xf)\n\
         (007) ldh      [x + 22]\n\
         (008) jeq      #0x50            jt 14\tjf 15\n\
         (009) jeq      #0x86dd          jt 10\tjf 15\n\
         (010) ldb      [26]\n\
         (011) jeq      #0x6             jt 12\tjf 15\n\
         (012) ldh      [62]\n\
         (013) jeq      #0x50            jt 14\tjf 15\n\
         (014) ret      #262144\n\
         (015) ret      #0\n"
    );
    assert_eq!(
        text("ip6", LinkType::IPV4),
        "(000) ret      #0\n",
        "a constant needs no test"
    );
    assert_eq!(
        text("ip", LinkType::LOOP),
        "(000) ld       [0]\n\
         (001) jeq      #0x2             jt 2\tjf 3\n\
         (002) ret      #262144\n\
         (003) ret      #0\n"
    );
    let dgram = Filter::parse("ip6")
        .unwrap()
        .compile_bpf_dgram(100)
        .unwrap();
    assert_eq!(
        format_program(&dgram),
        "(000) ldh      #proto\n\
         (001) jeq      #0x86dd          jt 2\tjf 3\n\
         (002) ret      #100\n\
         (003) ret      #0\n"
    );
    assert_eq!(dgram[0].k, 0xffff_f000, "SKF_AD_OFF + SKF_AD_PROTOCOL");
}

#[test]
fn compile_errors() {
    let f = Filter::parse("tcp").unwrap();
    assert_eq!(
        f.compile_bpf(LinkType(147), SNAPLEN),
        Err(BpfError::UnsupportedLinkType(LinkType(147)))
    );
    assert_eq!(
        f.compile_bpf(LinkType::ETHERNET, 0),
        Err(BpfError::ZeroSnaplen)
    );
    assert_eq!(
        BpfError::UnsupportedLinkType(LinkType(147)).to_string(),
        "no BPF filter for link type UNKNOWN (147): h2scope compiles filters for ETHERNET, \
         LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL and LOOP"
    );
}

fn port_chain(n: u16) -> String {
    (1..=n)
        .map(|p| format!("port {p}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Far targets go through `ja` trampolines; the program stays valid and agrees.
#[test]
fn long_jumps_use_trampolines() {
    // `(... or ...) and tcp`: the chain's "true" exits jump over everything after them.
    let text = format!("({}) and not host 10.0.0.3 and tcp", port_chain(40));
    let f = Filter::parse(&text).unwrap();
    let frames = frames();
    for lt in LINK_TYPES {
        let prog = program(&f, lt);
        assert!(prog.len() > 300, "{lt}: {} instructions", prog.len());
        let far = prog
            .iter()
            .any(|i| i.code == bpf::BPF_JMP | bpf::BPF_JA && i.k > 255);
        assert!(far, "{lt}: no long ja in\n{}", format_program(&prog));
        for (_, frame) in frames.iter().filter(|(l, _)| *l == lt) {
            for len in [frame.len(), 40, 50] {
                let frame = &frame[..len.min(frame.len())];
                agree(&text, &f, lt, &prog, frame, "a synthetic frame");
            }
        }
    }
    let mut eth = vec![0u8; 12];
    eth.extend_from_slice(&[0x08, 0x00]);
    eth.extend(testdata::ipv4(
        testdata::TCP,
        "10.0.0.1".parse().unwrap(),
        "10.0.0.2".parse().unwrap(),
        0,
        0,
        &[
            0, 39, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0,
        ],
    ));
    let prog = program(&f, LinkType::ETHERNET);
    assert!(f.matches(LinkType::ETHERNET, &eth));
    assert_eq!(exec(&prog, &eth, 0), SNAPLEN);
}

#[test]
fn too_long_is_an_error_not_a_truncated_program() {
    let f = Filter::parse(&port_chain(400)).unwrap();
    match f.compile_bpf(LinkType::ETHERNET, SNAPLEN) {
        Err(BpfError::TooLong { instructions, max }) => {
            assert!(instructions > 4096, "{instructions}");
            assert_eq!(max, 4096);
        }
        other => panic!("expected TooLong, got {other:?}"),
    }
    // matches() still works without a program.
    let f2 = Filter::parse(&format!("{} or port 80", port_chain(400))).unwrap();
    let frames = frames();
    let hits = frames.iter().filter(|(lt, fr)| f2.matches(*lt, fr)).count();
    assert!(hits > 0);
    // Huge filters fail fast (every pass is linear).
    let started = std::time::Instant::now();
    let huge = Filter::parse(&port_chain(20_000)).unwrap();
    assert!(matches!(
        huge.compile_bpf(LinkType::ETHERNET, SNAPLEN),
        Err(BpfError::TooLong { .. })
    ));
    let repeated = vec!["tcp"; 2_000].join(" or ");
    let prog = program(&Filter::parse(&repeated).unwrap(), LinkType::ETHERNET);
    assert!(
        prog.len() < 4096,
        "threading folds the repeats: {}",
        prog.len()
    );
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    // Just under the limit compiles.
    let g = Filter::parse(&port_chain(150)).unwrap();
    let prog = program(&g, LinkType::ETHERNET);
    assert!(prog.len() <= 4096);
}

/// Nesting is bounded before anything recurses too deep.
#[test]
fn deep_nesting_is_an_error() {
    let deep = format!("{}tcp{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(
        Filter::parse(&deep),
        Err(FilterError::TooDeep {
            column: 201,
            max: 200
        })
    ));
    let nots = format!("{}tcp", "not ".repeat(100_000));
    assert!(matches!(
        Filter::parse(&nots),
        Err(FilterError::TooDeep { .. })
    ));
    // Alternating operators nest the tree without parentheses.
    let alternating: String = (0..10_000)
        .map(|i| {
            format!(
                "port {} {} ",
                i % 60_000,
                if i % 2 == 0 { "or" } else { "and" }
            )
        })
        .collect::<String>()
        + "tcp";
    assert!(matches!(
        Filter::parse(&alternating),
        Err(FilterError::TooDeep { .. })
    ));
    // Long chains of one operator are flat, so fine.
    let flat = Filter::parse(&port_chain(5000)).unwrap();
    assert!(
        flat.matches(LinkType::ETHERNET, &frames()[0].1),
        "port 50051 is in the chain"
    );
    let ok = format!("{}tcp{}", "(".repeat(150), ")".repeat(150));
    assert!(Filter::parse(&ok).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary text never panics; what parses prints back to itself.
    #[test]
    fn garbage_never_panics(text in "\\PC{0,40}") {
        if let Ok(f) = Filter::parse(&text) {
            let again = Filter::parse(&f.to_string());
            prop_assert_eq!(again, Ok(f));
        }
    }

    /// Token soups: parse, print, reparse, compile, and agree on a few frames.
    #[test]
    fn token_soup(seed in any::<u64>(), len in 1usize..14) {
        let mut rng = seed | 1;
        let text = soup(&mut rng, len);
        if let Ok(f) = Filter::parse(&text) {
            let shown = f.to_string();
            prop_assert_eq!(Filter::parse(&shown), Ok(f.clone()), "{:?} -> {:?}", text, shown);
            for lt in [LinkType::ETHERNET, LinkType::RAW, LinkType::NULL] {
                let prog = f.compile_bpf(lt, SNAPLEN).unwrap();
                prop_assert!(check(&prog).is_ok());
                for (l, frame) in frames().iter().filter(|(l, _)| *l == lt).take(40) {
                    prop_assert_eq!(f.matches(*l, frame), exec(&prog, frame, 0) != 0, "{}", text);
                }
            }
        }
    }

    /// Random bytes as frames, for every link type: agreement and no panic.
    #[test]
    fn random_frames(frame in proptest::collection::vec(any::<u8>(), 0..120), pick in 0usize..1000) {
        let texts: Vec<&str> = expressions().collect();
        let text = texts[pick % texts.len()];
        let f = Filter::parse(text).unwrap();
        for lt in LINK_TYPES {
            let prog = f.compile_bpf(lt, SNAPLEN).unwrap();
            prop_assert_eq!(f.matches(lt, &frame), exec(&prog, &frame, 0) != 0, "{}", text);
        }
    }
}
