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
