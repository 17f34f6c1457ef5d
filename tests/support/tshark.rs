//! Readers for tshark's reference outputs (`*.stats.txt` made with `-z conv,tcp`).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// A byte count as tshark prints it: exact below 10 kB, otherwise rounded to a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bytes {
    Exact(u64),
    Scaled { value: u64, unit: u64 },
}

impl Bytes {
    /// Whether an exact count agrees with what tshark printed. tshark 4.0 divides by the
    /// unit (floor); rounding is accepted too so a different formatter does not break us.
    pub fn matches(self, n: u64) -> bool {
        match self {
            Bytes::Exact(v) => v == n,
            Bytes::Scaled { value, unit } => n / unit == value || (n + unit / 2) / unit == value,
        }
    }
}

/// One row of `tshark -z conv,tcp`.
#[derive(Clone, Debug)]
pub struct ConvRow {
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub frames_b_to_a: u64,
    pub bytes_b_to_a: Bytes,
    pub frames_a_to_b: u64,
    pub bytes_a_to_b: Bytes,
    /// Seconds from the capture's first packet.
    pub rel_start: f64,
    pub duration: f64,
}

/// Where the reference outputs of an external capture live:
/// `<src>/tshark/<path within src, '/' as '__'>.<kind>`.
pub fn external_reference(captures: &Path, file: &Path, kind: &str) -> PathBuf {
    let rel = file
        .strip_prefix(captures)
        .expect("capture under the captures dir");
    let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
    let src = parts.next().expect("a source directory");
    let rest: Vec<String> = parts.collect();
    captures
        .join(src)
        .join("tshark")
        .join(format!("{}.{kind}", rest.join("__")))
}

/// Parses an endpoint as tshark prints it: `1.2.3.4:80` or `::1:3000` (no brackets).
pub fn endpoint(s: &str) -> SocketAddr {
    let (ip, port) = s.rsplit_once(':').expect("ip:port");
    let ip: IpAddr = ip.parse().unwrap_or_else(|_| panic!("bad ip in {s}"));
    SocketAddr::new(ip, port.parse().expect("port"))
}

fn bytes(value: &str, unit: &str) -> Bytes {
    let v: u64 = value.parse().expect("byte count");
    match unit {
        "bytes" => Bytes::Exact(v),
        "kB" => Bytes::Scaled {
            value: v,
            unit: 1000,
        },
        "MB" => Bytes::Scaled {
            value: v,
            unit: 1_000_000,
        },
        "GB" => Bytes::Scaled {
            value: v,
            unit: 1_000_000_000,
        },
        u => panic!("unknown unit {u}"),
    }
}

/// The rows of the "TCP Conversations" table in a stats file.
pub fn conv_tcp(stats: &str) -> Vec<ConvRow> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in stats.lines() {
        if line.starts_with("TCP Conversations") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with("=====") {
            break;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() != 14 || t[1] != "<->" {
            continue;
        }
        rows.push(ConvRow {
            a: endpoint(t[0]),
            b: endpoint(t[2]),
            frames_b_to_a: t[3].parse().expect("frames"),
            bytes_b_to_a: bytes(t[4], t[5]),
            frames_a_to_b: t[6].parse().expect("frames"),
            bytes_a_to_b: bytes(t[7], t[8]),
            rel_start: t[12].parse().expect("start"),
            duration: t[13].parse().expect("duration"),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
TCP Conversations
Filter:<No Filter>
                                                           |       <-      | |       ->      | |     Total     |    Relative    |   Duration   |
                                                           | Frames  Bytes | | Frames  Bytes | | Frames  Bytes |      Start     |              |
::1:56508                  <-> ::1:3000                        25 414 kB         31 3344 bytes      56 417 kB        0.000000000         0.0255
================================================================================
";

    #[test]
    fn parses_ipv6_and_units() {
        let rows = conv_tcp(SAMPLE);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].a, "[::1]:56508".parse().unwrap());
        assert_eq!(rows[0].frames_b_to_a, 25);
        assert!(rows[0].bytes_b_to_a.matches(414_999));
        assert!(!rows[0].bytes_b_to_a.matches(416_000));
        assert_eq!(rows[0].bytes_a_to_b, Bytes::Exact(3344));
    }
}

/// One HTTP/2 frame as tshark's `frames.tsv` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsharkFrame {
    pub packet: u64,
    pub tcp_stream: u64,
    pub stream_id: u32,
    pub kind: u8,
    pub flags: u8,
    pub length: u32,
}

/// The frames of a `frames.tsv` (one row per packet, comma-separated lists per field;
/// the connection preface, "Magic", has no fields and is not listed).
pub fn frames_tsv(text: &str) -> Vec<TsharkFrame> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (num, tcp, sid, kind, flags, len) = (
        col("frame.number"),
        col("tcp.stream"),
        col("http2.streamid"),
        col("http2.type"),
        col("http2.flags"),
        col("http2.length"),
    );
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let list = |i: usize| -> Vec<&str> {
            f.get(i)
                .map(|s| s.split(',').filter(|x| !x.is_empty()).collect())
                .unwrap_or_default()
        };
        let (sids, kinds, flagss, lens) = (list(sid), list(kind), list(flags), list(len));
        for (i, kind) in kinds.iter().enumerate() {
            out.push(TsharkFrame {
                packet: f[num].parse().expect("frame.number"),
                tcp_stream: f[tcp]
                    .split(',')
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .expect("tcp.stream"),
                stream_id: sids.get(i).and_then(|s| s.parse().ok()).unwrap_or(0),
                kind: kind.parse().expect("type"),
                flags: u8::from_str_radix(
                    flagss.get(i).unwrap_or(&"0x00").trim_start_matches("0x"),
                    16,
                )
                .expect("flags"),
                length: lens.get(i).and_then(|s| s.parse().ok()).unwrap_or(0),
            });
        }
    }
    out
}

/// The `tcp.stream` of each row of a `frames.tsv`, in order. tshark's `-J http2` JSON
/// filters the tcp layer out; made with the same `-Y http2`, its i-th packet is the TSV's
/// i-th row.
pub fn frames_tsv_tcp_streams(text: &str) -> Vec<u64> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let tcp = header
        .iter()
        .position(|h| *h == "tcp.stream")
        .expect("tcp.stream");
    lines
        .map(|l| {
            l.split('\t')
                .nth(tcp)
                .and_then(|s| s.split(',').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        })
        .collect()
}
