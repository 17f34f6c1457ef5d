//! Tokens of the pcap-filter(7) language, as libpcap's `scanner.l` cuts them.
//!
//! A word is a run of `[A-Za-z0-9._:-]`; it is then classified like flex's longest match
//! would: a number (`80`, `0x50`, `0120` octal), a dotted IPv4 address of 2 to 4 parts, an
//! IPv6 address (anything with a colon), a keyword, or another identifier (a host, port or
//! network name, which h2scope does not look up). Keywords are lower case, as in libpcap.

use super::FilterError;
use std::net::Ipv6Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// A keyword or an identifier.
    Word(&'a str),
    Num(u32),
    /// A dotted IPv4 address of 2 to 4 parts (not yet validated).
    Hid(&'a str),
    Hid6(Ipv6Addr),
    LParen,
    RParen,
    Not,
    And,
    Or,
    Slash,
    /// Anything else (`[`, `&`, `>=`, ...): outside the subset.
    Other(&'a str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset in the filter text.
    pub start: usize,
    pub text: &'a str,
}

/// 1-based column (in characters) of a byte offset.
pub(super) fn column(src: &str, byte: usize) -> usize {
    src.get(..byte)
        .map_or(src.chars().count(), |s| s.chars().count())
        + 1
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')
}

/// Two-character operators first, so `&&` is not `&` `&`.
const OPERATORS: &[&str] = &[
    "&&", "||", ">=", "<=", "!=", "==", "<<", ">>", "(", ")", "!", "/", "+", "-", "*", "%", ":",
    "[", "]", "<", ">", "&", "|", "^", "=",
];

/// The tokens up to the first lexical error, and that error. The parser reports it only if
/// it gets that far: an error earlier in the text is more useful (`ether host 0:1:2:3:4:5`
/// is about `ether`).
pub(super) fn lex(src: &str) -> (Vec<Token<'_>>, Option<FilterError>) {
    let mut tokens = Vec::new();
    let error = lex_into(src, &mut tokens).err();
    (tokens, error)
}

fn lex_into<'a>(src: &'a str, tokens: &mut Vec<Token<'a>>) -> Result<(), FilterError> {
    let bytes = src.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        if b.is_ascii_alphanumeric() || b == b':' {
            while bytes.get(i).is_some_and(|&b| is_word_byte(b)) {
                i += 1;
            }
            let text = src.get(start..i).unwrap_or_default();
            tokens.push(Token {
                tok: classify(src, start, text)?,
                start,
                text,
            });
            continue;
        }
        let rest = src.get(start..).unwrap_or_default();
        if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            i += op.len();
            let tok = match *op {
                "&&" => Tok::And,
                "||" => Tok::Or,
                "(" => Tok::LParen,
                ")" => Tok::RParen,
                "!" => Tok::Not,
                "/" => Tok::Slash,
                other => Tok::Other(other),
            };
            tokens.push(Token {
                tok,
                start,
                text: op,
            });
            continue;
        }
        // Any other character (non-ASCII included): report it whole.
        let ch = rest.chars().next().map_or(1, char::len_utf8);
        let text = src.get(start..start + ch).unwrap_or_default();
        return Err(FilterError::Unsupported {
            column: column(src, start),
            text: text.to_owned(),
            hint: super::SUPPORTED,
        });
    }
    Ok(())
}

fn classify<'a>(src: &str, start: usize, text: &'a str) -> Result<Tok<'a>, FilterError> {
    if text.contains(':') {
        return match text.parse::<Ipv6Addr>() {
            Ok(addr) => Ok(Tok::Hid6(addr)),
            Err(_) if looks_like_mac(text) => Err(FilterError::Unsupported {
                column: column(src, start),
                text: text.to_owned(),
                hint: "Ethernet addresses are not supported; h2scope filters on IP addresses and ports",
            }),
            Err(_) => Err(FilterError::Invalid {
                column: column(src, start),
                message: format!("{text:?} is not an IPv6 address"),
            }),
        };
    }
    if is_number(text) {
        return number(text)
            .map(Tok::Num)
            .map_err(|message| FilterError::Invalid {
                column: column(src, start),
                message,
            });
    }
    let parts: Vec<&str> = text.split('.').collect();
    if (2..=4).contains(&parts.len()) && parts.iter().all(|p| is_number(p)) {
        return Ok(Tok::Hid(text));
    }
    Ok(Tok::Word(text))
}

fn looks_like_mac(text: &str) -> bool {
    let groups: Vec<&str> = text.split(':').collect();
    groups.len() == 6
        && groups
            .iter()
            .all(|g| (1..=2).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// libpcap's `N`: decimal digits, or `0x`/`0X` and hex digits.
fn is_number(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
    } else {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
    }
}

/// libpcap's `stou`: hex after `0x`, octal after a leading `0`, else decimal; 32 bits.
fn number(s: &str) -> Result<u32, String> {
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        if s.bytes().any(|b| b > b'7') {
            return Err(format!("number {s} contains non-octal digit"));
        }
        (s, 8)
    } else {
        (s, 10)
    };
    u32::from_str_radix(digits, radix).map_err(|_| format!("number {s} overflows 32 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok<'_>> {
        let (tokens, error) = lex(src);
        assert_eq!(error, None);
        tokens.into_iter().map(|t| t.tok).collect()
    }

    fn err(src: &str) -> FilterError {
        lex(src).1.unwrap()
    }

    #[test]
    fn words_numbers_addresses_operators() {
        assert_eq!(
            toks("tcp port 80&&!(host 10.0.0.1||net fe80::/10)"),
            vec![
                Tok::Word("tcp"),
                Tok::Word("port"),
                Tok::Num(80),
                Tok::And,
                Tok::Not,
                Tok::LParen,
                Tok::Word("host"),
                Tok::Hid("10.0.0.1"),
                Tok::Or,
                Tok::Word("net"),
                Tok::Hid6("fe80::".parse().unwrap()),
                Tok::Slash,
                Tok::Num(10),
                Tok::RParen,
            ]
        );
        assert_eq!(
            toks("0x50 0120 0"),
            vec![Tok::Num(80), Tok::Num(80), Tok::Num(0)]
        );
        assert_eq!(
            toks("80-90 10.1 1.2.3.4.5 ::ffff:1.2.3.4"),
            vec![
                Tok::Word("80-90"),
                Tok::Hid("10.1"),
                Tok::Word("1.2.3.4.5"),
                Tok::Hid6("::ffff:1.2.3.4".parse().unwrap()),
            ]
        );
        assert_eq!(
            toks("tcp[13] >= 2"),
            vec![
                Tok::Word("tcp"),
                Tok::Other("["),
                Tok::Num(13),
                Tok::Other("]"),
                Tok::Other(">="),
                Tok::Num(2),
            ]
        );
    }

    #[test]
    fn positions_are_columns_in_characters() {
        let (t, e) = lex("tcp é");
        assert_eq!(t.len(), 1, "the tokens before the error are kept");
        assert_eq!(
            e.unwrap().to_string().split(':').next().unwrap(),
            "unsupported in filter at column 5"
        );
        let t = lex("tcp").0;
        assert_eq!((t[0].start, column("tcp", t[0].start)), (0, 1));
        assert_eq!(column("é tcp", 3), 3);
    }

    #[test]
    fn bad_numbers_and_addresses() {
        let e = err("port 080");
        assert_eq!(
            e.to_string(),
            "invalid filter at column 6: number 080 contains non-octal digit"
        );
        let e = err("port 4294967296");
        assert_eq!(
            e.to_string(),
            "invalid filter at column 6: number 4294967296 overflows 32 bits"
        );
        let e = err("host 1:2:3");
        assert_eq!(
            e.to_string(),
            "invalid filter at column 6: \"1:2:3\" is not an IPv6 address"
        );
        assert!(matches!(
            err("ether host 00:11:22:33:44:55"),
            FilterError::Unsupported { column: 12, .. }
        ));
    }
}
