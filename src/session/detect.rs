//! Protocol detection from the first bytes of a direction: the HTTP/2 preface, HTTP/1.x
//! (with the `Upgrade: h2c` dance), TLS (with SNI and ALPN where visible), or unknown.
//!
//! Detection needs no configuration and no port numbers: tshark 4.0 needs `-d` for HTTP/2
//! on most ports, we must not. Each function looks at a prefix of one direction and answers
//! `NeedMore` until the prefix is long enough to decide.

use crate::http2::frame::PREFACE;

/// The longest prefix detection buffers before deciding "unknown".
pub const MAX_HEAD: usize = 64 * 1024;

/// What the start of one direction looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    NeedMore,
    /// The client connection preface (RFC 9113 §3.4).
    Preface,
    /// An HTTP/1.x request whose head is complete.
    Http1Request(Http1Request),
    /// An HTTP/1.x response head, complete: status code and head length.
    Http1Response {
        status: u16,
        head_len: usize,
    },
    Tls(TlsHello),
    Other,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Http1Request {
    pub method: String,
    pub target: String,
    /// Header fields in wire order, names lower-cased.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Length of the head, up to and including the blank line.
    pub head_len: usize,
    /// `Content-Length` of the body, when given.
    pub content_length: Option<u64>,
}

impl Http1Request {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// RFC 7540 §3.2 (kept by RFC 9113 for h2c's remaining users): `Upgrade: h2c`.
    pub fn wants_h2c(&self) -> bool {
        self.header("upgrade").is_some_and(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"h2c"))
        })
    }
}

/// What a TLS hello says in the clear.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsHello {
    pub client: bool,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
}

/// Classifies the start of a direction.
pub fn classify(head: &[u8]) -> Start {
    if head.is_empty() {
        return Start::NeedMore;
    }
    if head.starts_with(PREFACE) {
        return Start::Preface;
    }
    if PREFACE.starts_with(head) {
        return Start::NeedMore;
    }
    if head.first() == Some(&0x16) {
        return match tls_hello(head) {
            Some(Some(hello)) => Start::Tls(hello),
            Some(None) => Start::NeedMore,
            None => Start::Other,
        };
    }
    if head.starts_with(b"HTTP/1.") {
        return http1_response(head);
    }
    if looks_like_request_line(head) {
        return http1_request(head);
    }
    Start::Other
}

fn head_end(head: &[u8]) -> Option<usize> {
    head.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

/// A request line starts with an upper-case token and a space (RFC 9112 §3).
fn looks_like_request_line(head: &[u8]) -> bool {
    let token_len = head.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match head.get(token_len) {
        Some(b' ') => (1..=16).contains(&token_len),
        None => token_len == head.len() && token_len <= 16,
        _ => false,
    }
}

fn http1_request(head: &[u8]) -> Start {
    let Some(end) = head_end(head) else {
        return if head.len() >= MAX_HEAD {
            Start::Other
        } else {
            Start::NeedMore
        };
    };
    // `end` is past a "\r\n\r\n" found in `head`: the head without it.
    let Some(head) = end.checked_sub(4).and_then(|n| head.get(..n)) else {
        return Start::Other;
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let Some(first) = lines.next() else {
        return Start::Other;
    };
    let mut parts = first.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Start::Other;
    };
    if !version.starts_with(b"HTTP/1.") {
        return Start::Other;
    }
    let mut req = Http1Request {
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        head_len: end,
        ..Http1Request::default()
    };
    for line in lines {
        let mut halves = line.splitn(2, |&b| b == b':');
        let (Some(name), Some(value)) = (halves.next(), halves.next()) else {
            continue;
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let value = value.trim_ascii().to_vec();
        if name == "content-length" {
            req.content_length = std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.parse().ok());
        }
        req.headers.push((name, value));
    }
    Start::Http1Request(req)
}

fn http1_response(head: &[u8]) -> Start {
    let Some(end) = head_end(head) else {
        return if head.len() >= MAX_HEAD {
            Start::Other
        } else {
            Start::NeedMore
        };
    };
    // "HTTP/1.1 101 Switching Protocols"
    let status = head
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok());
    match status {
        Some(status) => Start::Http1Response {
            status,
            head_len: end,
        },
        None => Start::Other,
    }
}

/// Parses a TLS ClientHello or ServerHello from the first record(s).
/// `None`: not TLS. `Some(None)`: TLS, but the hello is not complete yet.
fn tls_hello(head: &[u8]) -> Option<Option<TlsHello>> {
    // RFC 8446 §5.1: ContentType handshake(22), legacy_record_version 0x03xx, length.
    match head.get(1) {
        None => return Some(None),
        Some(3) => {}
        Some(_) => return None,
    }
    if head.get(2).is_some_and(|&m| m > 4) {
        return None;
    }
    let Some(&[hi, lo]) = head.get(3..5) else {
        return Some(None);
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len == 0 || len > (1 << 14) + 2048 {
        return None;
    }
    let Some(body) = head.get(5..5 + len) else {
        return Some(None);
    };
    // A hello larger than one record is rare; what the first record holds is enough to
    // say "TLS", and SNI/ALPN are reported when they fit in it.
    let msg_type = *body.first()?;
    let mut hello = TlsHello {
        client: msg_type == 1,
        ..TlsHello::default()
    };
    if msg_type != 1 && msg_type != 2 {
        return Some(Some(hello));
    }
    let _ = parse_hello(body, &mut hello);
    Some(Some(hello))
}

/// Reads SNI and ALPN from a hello's extensions; `None` where the bytes run out.
fn parse_hello(body: &[u8], hello: &mut TlsHello) -> Option<()> {
    let mut r = Reader(body.get(4..)?);
    r.take(2)?; // legacy_version
    r.take(32)?; // random
    let sid = usize::from(r.u8()?);
    r.take(sid)?;
    if hello.client {
        let suites = usize::from(r.u16()?);
        r.take(suites)?;
        let comp = usize::from(r.u8()?);
        r.take(comp)?;
    } else {
        r.take(2)?; // cipher_suite
        r.take(1)?; // compression_method
    }
    let ext_len = usize::from(r.u16()?);
    let mut ext = Reader(r.take(ext_len)?);
    while let (Some(kind), Some(len)) = (ext.u16(), ext.u16()) {
        let mut data = Reader(ext.take(usize::from(len))?);
        match kind {
            // server_name (RFC 6066 §3): list of (type, name); type 0 is host_name.
            0 if hello.client => {
                let list = usize::from(data.u16()?);
                let mut list = Reader(data.take(list)?);
                while let Some(t) = list.u8() {
                    let n = usize::from(list.u16()?);
                    let name = list.take(n)?;
                    if t == 0 {
                        hello.sni = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            // application_layer_protocol_negotiation (RFC 7301 §3.1).
            16 => {
                let list = usize::from(data.u16()?);
                let mut list = Reader(data.take(list)?);
                while let Some(n) = list.u8() {
                    let proto = list.take(usize::from(n))?;
                    hello.alpn.push(String::from_utf8_lossy(proto).into_owned());
                }
            }
            _ => {}
        }
    }
    Some(())
}

/// A bounds-checked cursor.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = self.0.split_at_checked(n)?;
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let (&[hi, lo], rest) = self.0.split_first_chunk()?;
        self.0 = rest;
        Some(u16::from_be_bytes([hi, lo]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preface_and_its_prefixes() {
        assert_eq!(classify(PREFACE), Start::Preface);
        assert_eq!(classify(&PREFACE[..10]), Start::NeedMore);
        let mut more = PREFACE.to_vec();
        more.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        assert_eq!(classify(&more), Start::Preface);
    }

    const UPGRADE: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";

    #[test]
    fn http1_upgrade_request() {
        let Start::Http1Request(req) = classify(UPGRADE) else {
            panic!("not a request");
        };
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/index.html");
        assert!(req.wants_h2c());
        assert_eq!(req.header("host"), Some(&b"example.com"[..]));
        assert_eq!(req.head_len, UPGRADE.len());
        assert_eq!(classify(&UPGRADE[..20]), Start::NeedMore);
    }

    #[test]
    fn http1_switching_protocols() {
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00";
        assert_eq!(
            classify(resp),
            Start::Http1Response {
                status: 101,
                head_len: resp.len() - 2
            }
        );
    }

    /// A ClientHello with SNI "example.com" and ALPN h2, http/1.1 (built by hand).
    fn client_hello() -> Vec<u8> {
        let mut ext = Vec::new();
        let sni = b"example.com";
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&((sni.len() + 5) as u16).to_be_bytes());
        ext.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        ext.extend_from_slice(sni);
        let alpn: &[&[u8]] = &[b"h2", b"http/1.1"];
        let list: Vec<u8> = alpn
            .iter()
            .flat_map(|p| std::iter::once(p.len() as u8).chain(p.iter().copied()))
            .collect();
        ext.extend_from_slice(&[0, 16]);
        ext.extend_from_slice(&((list.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
        ext.extend_from_slice(&list);
        let mut hello = vec![3, 3];
        hello.extend_from_slice(&[7; 32]);
        hello.push(0); // session id
        hello.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
        hello.extend_from_slice(&[1, 0]); // null compression
        hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        hello.extend_from_slice(&ext);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(hello.len() as u16).to_be_bytes());
        hs.extend_from_slice(&hello);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn tls_client_hello_sni_and_alpn() {
        let rec = client_hello();
        let Start::Tls(h) = classify(&rec) else {
            panic!("not TLS");
        };
        assert!(h.client);
        assert_eq!(h.sni.as_deref(), Some("example.com"));
        assert_eq!(h.alpn, vec!["h2", "http/1.1"]);
        // Every prefix is "need more" or TLS, never a panic or a wrong guess.
        for n in 1..rec.len() {
            assert!(
                matches!(classify(&rec[..n]), Start::NeedMore | Start::Tls(_)),
                "{n}"
            );
        }
    }

    #[test]
    fn other_bytes() {
        assert_eq!(
            classify(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00"),
            Start::Other
        );
        assert_eq!(classify(b"SSH-2.0-OpenSSH_9.2\r\n"), Start::Other);
        assert_eq!(classify(b"get / http/1.1\r\n\r\n"), Start::Other);
    }
}
