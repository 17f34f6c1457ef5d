//! Number, time and byte formatting for the views (no captured text here: see `crate::text::visible`).

use crate::model::record::Timestamp;

/// A duration in ns, in the unit that keeps it short: `0.591ms`, `27.4ms`, `1.33s`.
pub fn duration(ns: i64) -> String {
    let ms = ns as f64 / 1e6;
    if ns < 0 {
        "-".to_string()
    } else if ms < 10.0 {
        format!("{ms:.3}ms")
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0) as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Bytes with a binary unit: `75 B`, `68.6K`, `1.2M`.
pub fn bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if f < K * K {
        format!("{:.1}K", f / K)
    } else if f < K * K * K {
        format!("{:.1}M", f / K / K)
    } else {
        format!("{:.1}G", f / K / K / K)
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `one` for 1, else `many`.
pub fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Seconds since `t0`: `+1.329`.
pub fn offset(ts: Timestamp, t0: Timestamp) -> String {
    format!("+{:.3}", ts.saturating_sub(t0) as f64 / 1e9)
}

/// UTC date and time to the millisecond: `2026-11-22 10:24:37.837`.
pub fn utc(ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(1_000_000_000);
    let ms = ts.0.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Characters in the [`hexdump_line`] of `n` bytes at an offset under 4 GiB: the offset
/// (8), two spaces, the hex column (49), " |", the ASCII column (`n`) and "|". The message
/// screen counts its rows without making them.
pub fn hexdump_width(n: usize) -> usize {
    8 + 2 + 49 + 2 + n + 1
}

/// One `hexdump -C`-like line: the offset, up to 16 bytes in hex (a gap after the eighth),
/// and the printable ASCII.
pub fn hexdump_line(offset: usize, chunk: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut line = format!("{offset:08x}  ");
    let start = line.len();
    for (j, &b) in chunk.iter().enumerate() {
        if j == 8 {
            line.push(' ');
        }
        line.push(char::from(HEX[usize::from(b >> 4)]));
        line.push(char::from(HEX[usize::from(b & 15)]));
        line.push(' ');
    }
    while line.len() < start + 49 {
        line.push(' ');
    }
    line.push_str(" |");
    line.extend(chunk.iter().map(|&b| {
        if b.is_ascii_graphic() || b == b' ' {
            char::from(b)
        } else {
            '.'
        }
    }));
    line.push('|');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(591_000), "0.591ms");
        assert_eq!(duration(203_080_380), "203.1ms");
        assert_eq!(duration(1_330_000_000), "1.33s");
        assert_eq!(bytes(75), "75 B");
        assert_eq!(bytes(70_202), "68.6K");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(utc(Timestamp(0)), "1970-01-01 00:00:00.000");
        assert_eq!(
            utc(Timestamp(1_795_321_477_837_033_300)),
            "2026-11-22 04:24:37.837"
        );
        assert_eq!(
            hexdump_line(0, b"hi"),
            format!("00000000  68 69 {:<43} |hi|", "")
        );
        let full = hexdump_line(0x10, b"0123456789\x00\x7f\xff ab");
        assert_eq!(
            full,
            "00000010  30 31 32 33 34 35 36 37  38 39 00 7f ff 20 61 62  |0123456789... ab|"
        );
        assert_eq!(full.len(), hexdump_width(16));
        assert_eq!(hexdump_line(0, b"hi").len(), hexdump_width(2));
    }
}
