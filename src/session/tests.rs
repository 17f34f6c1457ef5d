//! Connection-level behaviour on hand-built byte streams: detection paths, role settling,
//! stream classification and anomalies.

use super::*;
use crate::http2::frame::PREFACE;
use crate::http2::hpack::Text;
use crate::reassembly::CloseReason;

/// A header block of literal fields without indexing, new names (RFC 7541 §6.2.2):
/// decodable by any HPACK decoder with no table state.
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        b.push(0x00);
        b.push(n.len() as u8);
        b.extend_from_slice(n.as_bytes());
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 1;
const END_HEADERS: u8 = 4;

/// A body that keeps what the session hands it, to check the hook's contract: it takes
/// every stream but those of content-type `text/plain`.
#[derive(Debug, Default)]
struct Seen {
    content_type: Option<Vec<u8>>,
    /// DATA per role, a gap as one `?` per byte lost.
    data: [Vec<u8>; 2],
    finished: Option<Timestamp>,
}

impl StreamBody for Seen {
    type Config = ();

    fn open(_: &(), content_type: Option<&[u8]>, _first: &[u8]) -> Option<Self> {
        (content_type != Some(b"text/plain")).then(|| Seen {
            content_type: content_type.map(<[u8]>::to_vec),
            ..Seen::default()
        })
    }
    fn data(&mut self, from: Role, data: &[u8], _: Timestamp) {
        self.data[from.index()].extend_from_slice(data);
    }
    fn lost(&mut self, from: Role, len: u64, _: Timestamp) {
        self.data[from.index()].extend(std::iter::repeat_n(b'?', len as usize));
    }
    fn finish(&mut self, ts: Timestamp) {
        assert!(self.finished.is_none(), "finished twice");
        self.finished = Some(ts);
    }
    fn swap_roles(&mut self) {
        self.data.swap(0, 1);
    }
}

type Stream = super::Stream<Seen>;

#[derive(Default)]
struct Got {
    streams: Vec<(ConnectionInfo, Stream)>,
    conns: Vec<ConnectionRecord>,
}

impl H2Sink for Got {
    type Body = Seen;

    fn stream(&mut self, conn: &ConnectionInfo, stream: Stream) {
        self.streams.push((conn.clone(), stream));
    }
    fn connection(&mut self, conn: ConnectionRecord) {
        self.conns.push(conn);
    }
}

fn stats(client: SocketAddr, server: SocketAddr) -> ConnStats {
    ConnStats {
        reason: CloseReason::Fin,
        ..ConnStats::new(client, server, true, Timestamp(0))
    }
}

/// Runs a connection over (direction as reassembly saw it, bytes) pieces.
fn run(handshake: bool, client: &str, server: &str, pieces: &[(Dir, Vec<u8>)]) -> Got {
    let (c, s): (SocketAddr, SocketAddr) = (client.parse().unwrap(), server.parse().unwrap());
    let mut conn = Connection::new(Config::default(), 0, c, s, handshake);
    let mut got = Got::default();
    for (i, (dir, bytes)) in pieces.iter().enumerate() {
        conn.data(*dir, Timestamp(i as i64), i as u64 + 1, bytes, &mut got);
    }
    conn.close(&stats(c, s), &mut got);
    got
}

fn text(f: &HeaderField) -> (String, String) {
    let t = |t: &Text| match t {
        Text::Known(b) => String::from_utf8_lossy(b).into_owned(),
        Text::Unknown => "?".into(),
    };
    (t(&f.name), t(&f.value))
}

fn request_path(s: &Stream) -> Option<String> {
    Stream::field(&s.request_headers, ":path").map(|v| String::from_utf8_lossy(v).into_owned())
}

const C2S: Dir = Dir::ClientToServer;
const S2C: Dir = Dir::ServerToClient;

fn client_start(path: &str) -> Vec<u8> {
    let mut b = PREFACE.to_vec();
    b.extend(frame(SETTINGS, 0, 0, &[]));
    b.extend(frame(
        HEADERS,
        END_STREAM | END_HEADERS,
        1,
        &block(&[(":method", "GET"), (":scheme", "http"), (":path", path)]),
    ));
    b
}

fn server_reply(stream: u32, body: &[u8]) -> Vec<u8> {
    let mut b = frame(SETTINGS, 0, 0, &[]);
    b.extend(frame(
        HEADERS,
        END_HEADERS,
        stream,
        &block(&[(":status", "200")]),
    ));
    b.extend(frame(DATA, END_STREAM, stream, body));
    b
}

#[test]
fn prior_knowledge() {
    let got = run(
        true,
        "10.0.0.1:40000",
        "10.0.0.2:80",
        &[(C2S, client_start("/a")), (S2C, server_reply(1, b"hi"))],
    );
    let c = &got.conns[0];
    assert_eq!(c.protocol, Protocol::Http2);
    assert!(!c.joined_mid_connection);
    assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
    let (_, s) = &got.streams[0];
    assert_eq!(request_path(s).as_deref(), Some("/a"));
    assert_eq!(s.status(), Some(200));
    assert_eq!(s.bytes, [0, 2]);
    assert!(s.is_complete());
}

#[test]
fn preface_from_the_side_guessed_as_server_swaps_roles() {
    // No handshake; the client's port is the lower one, so the port guess was wrong.
    let got = run(
        false,
        "10.0.0.2:50051",
        "10.0.0.1:80",
        &[(S2C, client_start("/b")), (C2S, server_reply(1, b"ok"))],
    );
    let c = &got.conns[0];
    assert_eq!(c.info.client, "10.0.0.1:80".parse().unwrap());
    assert_eq!(c.info.server, "10.0.0.2:50051".parse().unwrap());
    let (info, s) = &got.streams[0];
    assert_eq!(info.server, "10.0.0.2:50051".parse().unwrap());
    assert_eq!(request_path(s).as_deref(), Some("/b"));
    assert_eq!(s.bytes, [0, 2]);
}

#[test]
fn h2c_upgrade_makes_the_request_stream_1() {
    let req = b"GET /up HTTP/1.1\r\nHost: example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nAccept: */*\r\n\r\n".to_vec();
    let mut client = req.clone();
    client.extend_from_slice(PREFACE);
    client.extend(frame(SETTINGS, 0, 0, &[]));
    let mut server =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
    server.extend(server_reply(1, b"hello"));
    // Split the client's bytes inside the preface to exercise the wait for it.
    let (a, b) = client.split_at(req.len() + 10);
    let got = run(
        true,
        "10.0.0.1:40000",
        "10.0.0.2:80",
        &[(C2S, a.to_vec()), (S2C, server), (C2S, b.to_vec())],
    );
    let c = &got.conns[0];
    assert_eq!(c.protocol, Protocol::Http2);
    assert!(c.h2c_upgrade);
    assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
    let (_, s) = &got.streams[0];
    assert_eq!(s.id, 1);
    let fields: Vec<_> = s
        .request_headers
        .as_ref()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(fields[0], (":method".into(), "GET".into()));
    assert!(fields.contains(&(":authority".into(), "example".into())));
    assert!(fields.contains(&(":path".into(), "/up".into())));
    assert!(fields.contains(&("accept".into(), "*/*".into())));
    assert!(
        !fields
            .iter()
            .any(|(n, _)| n == "upgrade" || n == "http2-settings")
    );
    assert_eq!(s.bytes, [0, 5]);
    assert!(s.is_complete());
}

#[test]
fn connect_tunnel_carries_http2() {
    let mut client = b"CONNECT backend:6233 HTTP/1.1\r\nHost: backend:6233\r\n\r\n".to_vec();
    client.extend(client_start("/t"));
    let mut server = b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec();
    server.extend(server_reply(1, b"x"));
    let got = run(
        true,
        "10.0.0.1:40000",
        "10.0.0.2:8888",
        &[(C2S, client), (S2C, server)],
    );
    let c = &got.conns[0];
    assert_eq!(c.protocol, Protocol::Http2);
    assert_eq!(c.tunnel.as_deref(), Some("backend:6233"));
    assert_eq!(request_path(&got.streams[0].1).as_deref(), Some("/t"));
}

#[test]
fn plain_http1_and_unknown_are_skipped() {
    let got = run(
        true,
        "10.0.0.1:40000",
        "10.0.0.2:80",
        &[
            (C2S, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
            (
                S2C,
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ),
        ],
    );
    assert_eq!(got.conns[0].protocol, Protocol::Http1);
    assert!(got.streams.is_empty());
    let got = run(
        true,
        "10.0.0.1:40000",
        "10.0.0.2:22",
        &[(S2C, b"SSH-2.0-OpenSSH_9.2\r\n".to_vec())],
    );
    assert_eq!(got.conns[0].protocol, Protocol::Unknown);
}

#[test]
fn tls_is_reported_not_decoded() {
    // A minimal ClientHello with SNI "svc.example".
    let sni = b"svc.example";
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&((sni.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(sni);
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&[0; 32]);
    hello.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    hello.extend_from_slice(&ext);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    hs.extend_from_slice(&hello);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    let got = run(true, "10.0.0.1:40000", "10.0.0.2:443", &[(C2S, rec)]);
    let c = &got.conns[0];
    assert_eq!(c.protocol, Protocol::Tls);
    assert_eq!(c.tls.as_ref().unwrap().sni.as_deref(), Some("svc.example"));
}

#[test]
fn mid_connection_request_headers_settle_the_roles() {
    // Joined mid-connection, no preface; the port guess names the wrong server. The
    // request block (from the side guessed as server) settles it.
    let req = frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        7,
        &block(&[(":method", "POST"), (":path", "/svc/M")]),
    );
    let resp = frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        7,
        &block(&[(":status", "200")]),
    );
    let got = run(
        false,
        "10.0.0.2:50051",
        "10.0.0.1:80",
        &[(S2C, req), (C2S, resp)],
    );
    let c = &got.conns[0];
    assert!(c.joined_mid_connection);
    assert_eq!(c.info.server, "10.0.0.2:50051".parse().unwrap());
    let (_, s) = &got.streams[0];
    assert_eq!(s.id, 7);
    assert_eq!(request_path(s).as_deref(), Some("/svc/M"));
    assert_eq!(s.status(), Some(200));
}

#[test]
fn interrupted_header_block_is_an_anomaly() {
    let mut client = PREFACE.to_vec();
    client.extend(frame(HEADERS, 0, 1, &block(&[(":method", "GET")])));
    client.extend(frame(SETTINGS, 0, 0, &[]));
    client.extend(frame(
        CONTINUATION,
        END_HEADERS,
        1,
        &block(&[(":path", "/")]),
    ));
    let got = run(true, "10.0.0.1:40000", "10.0.0.2:80", &[(C2S, client)]);
    let c = &got.conns[0];
    assert!(
        c.anomalies.iter().any(
            |a| a.kind == crate::anomaly::AnomalyKind::HeaderBlockInterrupted
                && a.text.contains("interrupted the header block")
                && a.stream_id == Some(1)
                && a.from == Some(crate::anomaly::Role::Client)
        ),
        "{:?}",
        c.anomalies
    );
}

#[test]
fn continuation_completes_a_block() {
    let whole = block(&[(":method", "GET"), (":scheme", "http"), (":path", "/long")]);
    let (a, b) = whole.split_at(9);
    let mut client = PREFACE.to_vec();
    client.extend(frame(HEADERS, END_STREAM, 1, a));
    client.extend(frame(CONTINUATION, END_HEADERS, 1, b));
    let got = run(
        true,
        "10.0.0.1:40000",
        "10.0.0.2:80",
        &[(C2S, client), (S2C, server_reply(1, b""))],
    );
    let (_, s) = &got.streams[0];
    assert_eq!(request_path(s).as_deref(), Some("/long"));
    assert!(
        got.conns[0].anomalies.is_empty(),
        "{:?}",
        got.conns[0].anomalies
    );
}

#[test]
fn settling_the_roles_turns_earlier_records_round() {
    // Joined mid-connection, and reassembly took the server for the client: the server's
    // PING comes first, the client's request only then proves who is who.
    let (c, s): (SocketAddr, SocketAddr) = (
        "10.0.0.2:50051".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    let config = Config {
        record_frames: true,
        ..Config::default()
    };
    let mut conn = Connection::new(config, 0, c, s, false);
    let mut got = Got::default();
    let request = block(&[(":method", "GET"), (":path", "/r")]);
    let ping = frame(PING, 0, 0, &[7; 8]);
    conn.data(C2S, Timestamp(1), 1, &ping, &mut got);
    let headers = frame(HEADERS, END_HEADERS | END_STREAM, 1, &request);
    conn.data(S2C, Timestamp(2), 2, &headers, &mut got);
    let mut tcp = stats(c, s);
    tcp.packets = [1, 2];
    conn.close(&tcp, &mut got);
    let rec = &got.conns[0];
    assert!(rec.joined_mid_connection);
    assert_eq!((rec.info.client, rec.info.server), (s, c));
    assert_eq!(rec.pings[0].from, Role::Server);
    assert_eq!(rec.frames[0].from, Role::Server);
    assert_eq!((rec.tcp.client, rec.tcp.packets), (s, [2, 1]));
    let (_, st) = &got.streams[0];
    assert_eq!(request_path(st).as_deref(), Some("/r"));
    assert_eq!(st.frames[0].from, Role::Client);
    assert_eq!(st.ended, [true, false]);
}

#[test]
fn data_goes_to_the_body_by_role_and_turns_with_the_roles() {
    // Joined mid-connection, the port guess wrong: the server's DATA on stream 1 comes
    // first (a body opens without a content-type), then the client's request on stream 3
    // settles the roles, then the client's DATA on stream 1. The server's last DATA frame
    // declares 6 bytes and a gap takes the last 4.
    let (c, s): (SocketAddr, SocketAddr) = (
        "10.0.0.2:50051".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    );
    let mut conn = Connection::new(Config::default(), 0, c, s, false);
    let mut got = Got::default();
    conn.data(C2S, Timestamp(1), 1, &frame(DATA, 0, 1, b"resp"), &mut got);
    let request = block(&[
        (":method", "POST"),
        (":path", "/p"),
        ("content-type", "text/plain"),
    ]);
    let mut client = frame(HEADERS, END_HEADERS, 3, &request);
    client.extend(frame(DATA, END_STREAM, 3, b"text"));
    client.extend(frame(DATA, END_STREAM, 1, b"req"));
    conn.data(S2C, Timestamp(2), 2, &client, &mut got);
    let partial = frame(DATA, END_STREAM, 1, b"onse!!");
    conn.data(
        C2S,
        Timestamp(3),
        3,
        &partial[..partial.len() - 4],
        &mut got,
    );
    conn.gap(C2S, Timestamp(4), 4, 4, &mut got);
    conn.close(&stats(c, s), &mut got);
    let stream = |id| &got.streams.iter().find(|(_, s)| s.id == id).unwrap().1;
    let one = stream(1).body.as_ref().unwrap();
    assert_eq!(one.content_type, None);
    assert_eq!(one.data, [b"req".to_vec(), b"respon????".to_vec()]);
    assert_eq!(one.finished, Some(Timestamp(4)));
    let three = stream(3);
    assert!(three.body.is_none() && three.declined);
    assert_eq!(three.bytes, [4, 0]);
}
