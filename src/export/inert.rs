//! JSON output made inert for a terminal, whatever the capture put in its strings.
//!
//! serde_json escapes the C0 controls (U+0000..U+001F) in strings, so an ESC from a header
//! value is already `\u001b`. It writes DEL (U+007F) and the C1 controls (U+0080..U+009F,
//! where U+009B is a one-character CSI that some terminals act on) as they are. This writer
//! rewrites those as `\u007f` and `\u0080`..`\u009f`: in JSON text such bytes only occur
//! inside strings (every structural character is printable ASCII), and the escape is the
//! same string to any JSON reader, so the document is unchanged in meaning. C1 characters
//! are the UTF-8 pairs C2 80..C2 9F; a pair split between two writes is joined by holding
//! the C2 back.
//!
//! Only serde_json's text needs it (`--pretty`, and the documents `sniff` holds): the
//! compact outputs are written by `compact_json`, which escapes these itself, and also the
//! text policy's bidi and invisible characters (`crate::text`), which this filter does not.

use std::io::{self, Write};

/// Passes bytes through to `inner`, escaping DEL and C1 controls (see the module doc).
pub struct TerminalSafe<W: Write> {
    inner: W,
    /// A C2 byte ended the last write; its continuation decides what it was.
    pending_c2: bool,
}

impl<W: Write> TerminalSafe<W> {
    pub fn new(inner: W) -> Self {
        TerminalSafe {
            inner,
            pending_c2: false,
        }
    }

    fn escape(&mut self, c: u8) -> io::Result<()> {
        write!(self.inner, "\\u{:04x}", c)
    }

    /// Writes a held C2 as it was (its continuation was no C1 control).
    fn release(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.pending_c2) {
            self.inner.write_all(&[0xc2])?;
        }
        Ok(())
    }
}

impl<W: Write> Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        if self.pending_c2 {
            match rest.first() {
                Some(&c @ 0x80..=0x9f) => {
                    self.pending_c2 = false;
                    self.escape(c)?;
                    rest = rest.get(1..).unwrap_or_default();
                }
                Some(_) => self.release()?,
                None => return Ok(0),
            }
        }
        // memchr2 scans 16-32 bytes at a time: this writer sees every byte of the output.
        while let Some(at) = memchr::memchr2(0x7f, 0xc2, rest) {
            let (clean, tail) = rest.split_at(at);
            self.inner.write_all(clean)?;
            match tail {
                [0x7f, more @ ..] => {
                    self.escape(0x7f)?;
                    rest = more;
                }
                [0xc2, c @ 0x80..=0x9f, more @ ..] => {
                    self.escape(*c)?;
                    rest = more;
                }
                [0xc2] => {
                    self.pending_c2 = true;
                    rest = &[];
                }
                [first, more @ ..] => {
                    self.inner.write_all(&[*first])?;
                    rest = more;
                }
                [] => rest = &[],
            }
        }
        self.inner.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A flush ends a piece of output (a line, the document): nothing follows a held C2
        // that could make it a control, so it goes out as it was.
        self.release()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for TerminalSafe<W> {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = TerminalSafe::new(&mut out);
            for p in pieces {
                w.write_all(p).unwrap();
            }
            w.flush().unwrap();
        }
        out
    }

    #[test]
    fn del_and_c1_are_escaped_the_rest_passes() {
        let json = "[\"a\u{7f}b\u{9b}31m\u{85}é€\u{a0}\"]";
        let out = through(&[json.as_bytes()]);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "[\"a\\u007fb\\u009b31m\\u0085é€\u{a0}\"]"
        );
        let back: Vec<String> = serde_json::from_slice(&out).unwrap();
        let orig: Vec<String> = serde_json::from_str(json).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn a_pair_split_between_writes_is_still_seen() {
        let s = "x\u{9b}y\u{a9}z".as_bytes();
        let whole = through(&[s]);
        for cut in 0..=s.len() {
            assert_eq!(through(&[&s[..cut], &s[cut..]]), whole, "cut at {cut}");
        }
        // Byte by byte, too.
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(through(&bytes), whole);
    }
}
