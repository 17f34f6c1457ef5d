//! The one policy for captured text on its way to a terminal: which characters are never
//! written raw, and how every writer (JSON, the terminal UI, error lines) writes them instead.
//!
//! A capture is hostile, and its text (paths, header values, `grpc-message`, GOAWAY debug
//! data, decoded strings, file and interface names) reaches terminals: `export` prints it,
//! `cat` shows an `-o` file later, the UI draws it, error lines quote it.
//!
//! # The characters
//! - C0 controls U+0000..U+001F and DEL U+007F: ESC opens the sequences that recolour the
//!   screen, retitle the window (OSC), move the cursor, or on some terminals do worse;
//! - C1 controls U+0080..U+009F: U+009B is a one-character CSI on some terminals;
//! - bidirectional formatting, which reorders what follows it on screen ("Trojan Source",
//!   CVE-2021-42574): U+061C ARABIC LETTER MARK, U+200E/U+200F (LRM, RLM), U+202A..U+202E
//!   (LRE, RLE, PDF, LRO, RLO), U+2066..U+2069 (LRI, RLI, FSI, PDI);
//! - invisible characters that hide or join text: U+200B..U+200D (zero-width space and
//!   joiners), U+2060 WORD JOINER, U+FEFF (BOM), and the line and paragraph separators
//!   U+2028/U+2029.
//!
//! [`is_escaped`] is that list; everything else here reads it.
//!
//! # Two renderings
//! - JSON ([`write_json`]): `\uXXXX` (C0 keeps JSON's short forms `\n`, `\t`, ...), the same
//!   string to any JSON reader. Besides the policy only `"` and `\` are escaped, so for text
//!   without policy characters the output is byte for byte serde_json's (which leaves DEL,
//!   C1 and the rest of the list raw: JSON allows them).
//! - The eye ([`visible`], the UI and stderr): `\x1b` for C0 and DEL (`\t`, `\n`, `\r` by
//!   name), `\u{202e}` for the others, `\xff` for a byte that is not UTF-8. A backslash stays
//!   itself: these escapes are for reading, not a reversible encoding.
//!
//! The schema-less protobuf reader (`grpc::raw`) reads the same list with [`find`] to tell
//! text from bytes, counting only its controls as a sign of bytes.
//!
//! # Finding them fast
//! The JSON writer sees every string of every record, so the check is by bytes. Besides the
//! one-byte controls, every character of the list begins with one of four lead bytes
//! (`LEADS`: C2 for C1, D8 for U+061C, E2 for U+200B..U+2069, EF for U+FEFF), so a table
//! marking those (and, for JSON, `"` and `\`) clears ASCII and most other text at one lookup
//! a byte, or a word of eight bytes a step; only a marked byte gets a closer look.

/// Whether `c` is never written raw (the list in the module doc).
pub fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x061c                  // ARABIC LETTER MARK
            | 0x200b..=0x200f       // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | 0x2028..=0x202e       // line and paragraph separators, LRE, RLE, PDF, LRO, RLO
            | 0x2060                // WORD JOINER
            | 0x2066..=0x2069       // LRI, RLI, FSI, PDI
            | 0xfeff                // BOM / ZWNBSP
        )
}

/// The first UTF-8 byte of every character of the list that is not one byte long (a test
/// holds this to [`is_escaped`] over every character).
const LEADS: [u8; 4] = [0xc2, 0xd8, 0xe2, 0xef];

/// Per byte: whether it may begin a character of the list (`json`: or is `"` or `\`).
const fn marks(json: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[0x7f] = true;
    let mut l = 0;
    while l < LEADS.len() {
        t[LEADS[l] as usize] = true;
        l += 1;
    }
    if json {
        t[b'"' as usize] = true;
        t[b'\\' as usize] = true;
    }
    t
}

static MARK: [bool; 256] = marks(false);
static MARK_JSON: [bool; 256] = marks(true);

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A word with the high bit set in (at least) the lowest byte of `x` equal to `b`, zero if
/// none is: the classic has-zero-byte test, exact in whether it reports any.
#[inline]
fn bytes_equal(x: u64, b: u8) -> u64 {
    let y = x ^ (ONES * b as u64);
    y.wrapping_sub(ONES) & !y & HIGHS
}

/// The one-byte marks of a word: C0 controls (the has-less-than test) and DEL, and for JSON
/// `"` and `\`.
#[inline]
fn ascii_marks<const JSON: bool>(x: u64) -> u64 {
    let mut m = (x.wrapping_sub(ONES * 0x20) & !x & HIGHS) | bytes_equal(x, 0x7f);
    if JSON {
        m |= bytes_equal(x, b'"') | bytes_equal(x, b'\\');
    }
    m
}

/// Whether any of the eight bytes of `x` is marked (see [`marks`]). Exact in what it reports,
/// so a clean word is never checked again byte by byte.
#[inline]
fn word_marked<const JSON: bool>(x: u64) -> bool {
    let leads = LEADS.iter().fold(0, |m, &l| m | bytes_equal(x, l));
    (ascii_marks::<JSON>(x) | leads) != 0
}

/// Where the first marked byte at or after `from` is. Eight bytes at a time; the last few
/// are checked as one word padded with a clean byte, so short strings (most header names
/// and values) take one or two word checks.
#[inline]
fn next_marked<const JSON: bool>(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(word) = bytes.get(from..from.saturating_add(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if word_marked::<JSON>(u64::from_le_bytes(w)) {
            break;
        }
        from += 8;
    }
    let rest = bytes.get(from..)?;
    if rest.len() < 8 {
        let mut w = [b'a'; 8];
        w.get_mut(..rest.len())?.copy_from_slice(rest);
        if !word_marked::<JSON>(u64::from_le_bytes(w)) {
            return None;
        }
    }
    let table = if JSON { &MARK_JSON } else { &MARK };
    rest.iter()
        .position(|&b| table[b as usize])
        .map(|i| from + i)
}

/// Whether a character of the list can begin with `lead`, `second` (a lead byte of `LEADS`
/// and the byte after it): C1 controls are C2 80..C2 9F, U+061C is D8 9C, U+200B..U+2069
/// are E2 80 and E2 81, U+FEFF is EF BB. A superset, held to [`is_escaped`] by a test; it
/// spares the decoding of the common characters behind the same lead bytes (an en dash, a
/// check mark, NBSP, Arabic letters).
#[inline]
fn may_be_listed(lead: u8, second: u8) -> bool {
    match lead {
        0xc2 => second <= 0x9f,
        0xd8 => second == 0x9c,
        0xe2 => second <= 0x81,
        0xef => second == 0xbb,
        _ => true,
    }
}

/// What to escape at byte `i` of `s`, a marked byte (so a character boundary): a marked
/// ASCII byte always is (C0, DEL, and for JSON `"` and `\`); after a lead byte, the
/// character if it is on the list.
#[inline]
fn marked_char(s: &str, i: usize) -> Option<char> {
    let b = s.as_bytes();
    let lead = *b.get(i)?;
    if lead < 0x80 {
        return Some(lead as char);
    }
    if !may_be_listed(lead, *b.get(i + 1)?) {
        return None;
    }
    let c = s.get(i..)?.chars().next()?;
    is_escaped(c).then_some(c)
}

/// The first character of the list in `s` at or after byte `from`, with its byte offset.
pub fn find(s: &str, mut from: usize) -> Option<(usize, char)> {
    loop {
        let i = next_marked::<false>(s.as_bytes(), from)?;
        if let Some(c) = marked_char(s, i) {
            return Some((i, c));
        }
        // Continuation bytes are never marked: the scan goes on after the lead byte.
        from = i + 1;
    }
}

/// Whether any byte is marked for JSON. Branch-free over the whole string, so the compiler
/// vectorizes it (16 or 32 bytes a step): most strings are clean and are then copied whole.
#[inline]
fn any_marked_json(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20)
            | (b == b'"')
            | (b == b'\\')
            | (b == 0x7f)
            | (b == LEADS[0])
            | (b == LEADS[1])
            | (b == LEADS[2])
            | (b == LEADS[3])
    })
}

/// `c` as a JSON escape: serde_json's short forms (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`), else `\uXXXX` in lowercase hex (a surrogate pair beyond the BMP).
pub fn write_json_escape(out: &mut Vec<u8>, c: char) {
    let short = match c {
        '"' => b'"',
        '\\' => b'\\',
        '\u{8}' => b'b',
        '\u{c}' => b'f',
        '\n' => b'n',
        '\r' => b'r',
        '\t' => b't',
        _ => 0,
    };
    if short != 0 {
        out.extend_from_slice(&[b'\\', short]);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for unit in c.encode_utf16(&mut [0u16; 2]) {
        let u = *unit as usize;
        out.extend_from_slice(&[
            b'\\',
            b'u',
            HEX[u >> 12],
            HEX[(u >> 8) & 0xf],
            HEX[(u >> 4) & 0xf],
            HEX[u & 0xf],
        ]);
    }
}

/// `s` as a JSON string, quotes included: `"` and `\` escaped as JSON needs, and every
/// character of the list as [`write_json_escape`] writes it.
pub fn write_json(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Short strings (most names and values) by table, long ones by the vectorized check.
    let clean = if bytes.len() < 32 {
        bytes.iter().all(|&b| !MARK_JSON[b as usize])
    } else {
        !any_marked_json(bytes)
    };
    if clean {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    while let Some(i) = next_marked::<true>(bytes, start) {
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        // A marked byte that begins no character to escape (the E2 of an en dash) is copied,
        // and the scan goes on after it: continuation bytes are never marked.
        start = i + 1;
        match marked_char(s, i) {
            Some(c) => {
                write_json_escape(out, c);
                start = i + c.len_utf8();
            }
            None => out.extend_from_slice(bytes.get(i..start).unwrap_or_default()),
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Whether `bytes` are ASCII with nothing to escape, eight bytes a step (the last few as one
/// word padded with a clean byte). In an ASCII word only the one-byte marks can occur, so the
/// lead-byte tests are left out: this runs for nearly every header name and value.
#[inline]
fn plain_ascii(bytes: &[u8]) -> bool {
    let plain = |w: [u8; 8]| {
        let x = u64::from_le_bytes(w);
        x & HIGHS == 0 && ascii_marks::<true>(x) == 0
    };
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if !plain(w) {
            return false;
        }
    }
    let rest = words.remainder();
    let mut w = [b'a'; 8];
    if let Some(head) = w.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    plain(w)
}

/// `bytes` as a JSON string when they are UTF-8 (what [`write_json`] writes for them), else
/// nothing, and false. ASCII without anything to escape (most header names and values) is
/// checked eight bytes a step and copied; anything else is validated, then escaped.
pub fn write_json_utf8(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    if plain_ascii(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return true;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            write_json(out, text);
            true
        }
        Err(_) => false,
    }
}

/// `input` (bytes or text) as a string for the eye: safe to hand to a terminal, every
/// character of the list shown escaped (see the module doc), and bytes that are not UTF-8
/// as `\xff`.
pub fn visible(input: &(impl AsRef<[u8]> + ?Sized)) -> String {
    let mut bytes = input.as_ref();
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                push_visible(&mut out, s);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // `valid_up_to` guarantees `good` is UTF-8.
                push_visible(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len()).min(rest.len());
                let (bad, after) = rest.split_at(bad);
                for b in bad {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                bytes = after;
            }
        }
    }
}

fn push_visible(out: &mut String, s: &str) {
    let mut start = 0;
    while let Some((i, c)) = find(s, start) {
        out.push_str(s.get(start..i).unwrap_or_default());
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every character of the list, by brute force over all of Unicode.
    fn listed() -> Vec<char> {
        (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|&c| is_escaped(c))
            .collect()
    }

    #[test]
    fn the_lead_and_second_bytes_are_those_of_the_list() {
        let mut leads = std::collections::BTreeSet::new();
        for c in listed() {
            let mut buf = [0u8; 4];
            let first = c.encode_utf8(&mut buf).as_bytes()[0];
            assert!(
                MARK[first as usize],
                "{c:?} begins with {first:#x}, unmarked"
            );
            if c.len_utf8() > 1 {
                leads.insert(first);
                assert!(may_be_listed(first, buf[1]), "{c:?} filtered out");
            }
            // The JSON escape needs no surrogates: four hex digits.
            assert!((c as u32) < 0x10000);
        }
        assert_eq!(leads.into_iter().collect::<Vec<_>>(), LEADS);
    }

    #[test]
    fn the_list_is_the_documented_one() {
        let want: Vec<u32> = (0..0x20)
            .chain(0x7f..0xa0)
            .chain([0x061c])
            .chain(0x200b..=0x200f)
            .chain(0x2028..=0x202e)
            .chain([0x2060])
            .chain(0x2066..=0x2069)
            .chain([0xfeff])
            .collect();
        let got: Vec<u32> = listed().into_iter().map(|c| c as u32).collect();
        assert_eq!(got, want);
    }

    fn json(s: &str) -> String {
        let mut out = Vec::new();
        write_json(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_escapes_the_list_and_only_the_list() {
        assert_eq!(json("plain"), r#""plain""#);
        assert_eq!(json("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            json("\x1b[31m\t\n\r\u{8}\u{c}\u{0}"),
            r#""\u001b[31m\t\n\r\b\f\u0000""#
        );
        assert_eq!(
            json("\u{7f}\u{80}\u{9b}\u{9f}\u{a0}"),
            "\"\\u007f\\u0080\\u009b\\u009f\u{a0}\""
        );
        assert_eq!(
            json("abc\u{202e}fed\u{2066}x\u{2069}\u{200f}\u{61c}\u{feff}"),
            r#""abc\u202efed\u2066x\u2069\u200f\u061c\ufeff""#
        );
        // Neighbours of the list, sharing its lead bytes, pass: en dash, quotes, euro,
        // Arabic letters, the replacement character.
        let near = "\u{2013}\u{201c}\u{20ac}\u{2061}\u{202f}\u{627}\u{61b}\u{fffd}\u{feff}";
        assert_eq!(
            json(near),
            "\"\u{2013}\u{201c}\u{20ac}\u{2061}\u{202f}\u{627}\u{61b}\u{fffd}\\ufeff\""
        );
    }

    #[test]
    fn json_text_takes_utf8_only() {
        let mut out = Vec::new();
        assert!(!write_json_utf8(&mut out, b"ok\xff"));
        assert!(out.is_empty());
        assert!(write_json_utf8(&mut out, "\u{202e}".as_bytes()));
        assert_eq!(out, b"\"\\u202e\"");
    }

    #[test]
    fn plain_text_is_visible_unchanged() {
        assert_eq!(
            visible("/h2scope.demo.v1.Inventory/GetItem"),
            "/h2scope.demo.v1.Inventory/GetItem"
        );
        assert_eq!(visible("ünïcödé ✓ 日本 – “x” €"), "ünïcödé ✓ 日本 – “x” €");
    }

    #[test]
    fn csi_and_osc_are_visible_escaped() {
        assert_eq!(visible("\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(visible("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
        assert_eq!(visible("a\tb\r\nc\x7f"), "a\\tb\\r\\nc\\x7f");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_visible_escaped() {
        assert_eq!(visible("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(visible("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(visible("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(
            visible("\u{200b}\u{2028}\u{feff}"),
            "\\u{200b}\\u{2028}\\u{feff}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_visible_as_hex() {
        assert_eq!(visible(&b"ok\xff\xfe!"[..]), "ok\\xff\\xfe!");
        // A raw C1 byte is not UTF-8 either.
        assert_eq!(visible(&b"\x9b2J"[..]), "\\x9b2J");
        // Cut short at the end.
        assert_eq!(visible(&b"caf\xc3"[..]), "caf\\xc3");
    }

    /// What the byte-level writers must agree with: the list read char by char.
    fn json_by_chars(s: &str) -> String {
        let mut out = vec![b'"'];
        for c in s.chars() {
            if is_escaped(c) || c == '"' || c == '\\' {
                write_json_escape(&mut out, c);
            } else {
                out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
            }
        }
        out.push(b'"');
        String::from_utf8(out).unwrap()
    }

    /// Strings dense in the bytes that matter: the list, its neighbours, JSON's specials.
    fn tricky() -> impl Strategy<Value = String> {
        let chars = prop_oneof![
            Just('a'),
            Just('"'),
            Just('\\'),
            Just('\u{0}'),
            Just('\u{1b}'),
            Just('\u{7f}'),
            Just('\u{80}'),
            Just('\u{9b}'),
            Just('\u{a0}'),
            Just('\u{e9}'),
            Just('\u{61c}'),
            Just('\u{627}'),
            Just('\u{200b}'),
            Just('\u{200f}'),
            Just('\u{2010}'),
            Just('\u{2028}'),
            Just('\u{202e}'),
            Just('\u{202f}'),
            Just('\u{2060}'),
            Just('\u{2066}'),
            Just('\u{2069}'),
            Just('\u{206a}'),
            Just('\u{feff}'),
            Just('\u{fffd}'),
            Just('\u{1f600}'),
        ];
        proptest::collection::vec(chars, 0..48).prop_map(|v| v.into_iter().collect())
    }

    fn round_trips_inert(s: &str) -> Result<(), TestCaseError> {
        let text = json(s);
        let back: String = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, s);
        prop_assert!(
            !text.chars().any(is_escaped),
            "a listed character in {:?}",
            text
        );
        prop_assert_eq!(&text, &json_by_chars(s));
        let mut utf8 = Vec::new();
        prop_assert!(write_json_utf8(&mut utf8, s.as_bytes()));
        prop_assert_eq!(utf8, text.into_bytes());
        // The eye's rendering holds none of the list either.
        prop_assert!(!visible(s).chars().any(is_escaped));
        Ok(())
    }

    proptest! {
        #[test]
        fn json_round_trips_and_is_inert(s in any::<String>()) {
            round_trips_inert(&s)?;
        }

        #[test]
        fn json_round_trips_and_is_inert_on_tricky_text(s in tricky()) {
            round_trips_inert(&s)?;
        }

        #[test]
        fn visible_never_holds_the_list_whatever_the_bytes(b in any::<Vec<u8>>()) {
            prop_assert!(!visible(&b).chars().any(is_escaped));
        }
    }
}
