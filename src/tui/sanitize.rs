//! Captured text made inert for the terminal.
//!
//! Everything the UI shows that came off the wire (header names and values, paths, gRPC
//! messages, status messages, decoded strings) goes through [`sanitize`] on its way to a
//! widget. Control characters are the attack: an ESC in a header value could recolour the
//! screen, retitle the window (OSC), move the cursor or, on some terminals, do worse. ratatui
//! already drops C0/C1 controls and zero-width characters when it fills the buffer, but
//! silently: we show them instead, escaped, so the user sees what the peer sent.
//!
//! Escaped, never passed through:
//! - C0 controls U+0000..U+001F and DEL U+007F: `\x1b`, with `\t`, `\n`, `\r` by name;
//! - C1 controls U+0080..U+009F (U+009B is a one-character CSI): `\u{9b}`;
//! - bidirectional formatting (U+061C, U+200E/F, U+202A..U+202E, U+2066..U+2069), which
//!   reorders what follows ("Trojan Source"): `\u{202e}`;
//! - other zero-width format characters that hide text (U+200B..U+200D, U+2060, U+FEFF);
//! - bytes that are not UTF-8: `\xff`;
//! - the backslash itself stays a plain backslash (the escapes are for the eye, not a
//!   reversible encoding).

/// Returns `input` (bytes or text) as a string safe to hand to the terminal.
pub fn sanitize(input: &(impl AsRef<[u8]> + ?Sized)) -> String {
    let mut bytes = input.as_ref();
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                push_str(&mut out, s);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // `valid_up_to` guarantees `good` is UTF-8.
                push_str(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len()).min(rest.len());
                for b in &rest[..bad] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn push_str(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
}

/// Characters that control how text is shown rather than being shown.
fn is_hidden(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f            // C1 controls
        | 0x061c               // ARABIC LETTER MARK
        | 0x200b..=0x200f      // zero-width space/joiners, LRM, RLM
        | 0x2028 | 0x2029      // line and paragraph separators
        | 0x202a..=0x202e      // LRE, RLE, PDF, LRO, RLO
        | 0x2060               // WORD JOINER
        | 0x2066..=0x2069      // LRI, RLI, FSI, PDI
        | 0xfeff               // BOM / ZWNBSP
    )
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(
            sanitize("/h2scope.demo.v1.Inventory/GetItem"),
            "/h2scope.demo.v1.Inventory/GetItem"
        );
        assert_eq!(sanitize("ünïcödé ✓ 日本"), "ünïcödé ✓ 日本");
    }

    #[test]
    fn csi_and_osc_are_shown_escaped() {
        assert_eq!(sanitize("\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(sanitize("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
        assert_eq!(sanitize("a\tb\r\nc\x7f"), "a\\tb\\r\\nc\\x7f");
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(sanitize("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(sanitize("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(sanitize("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn invalid_utf8_bytes_are_shown_as_hex() {
        assert_eq!(sanitize(&b"ok\xff\xfe!"[..]), "ok\\xff\\xfe!");
        // A raw C1 byte is not UTF-8 either.
        assert_eq!(sanitize(&b"\x9b2J"[..]), "\\x9b2J");
        // Cut short at the end.
        assert_eq!(sanitize(&b"caf\xc3"[..]), "caf\\xc3");
    }
}
