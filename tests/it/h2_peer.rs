//! A real HTTP/2 peer: the `h2` crate's client and server talk over an in-memory pipe,
//! every byte they write is recorded, written as a pcap, and decoded by the real binary.
//! The export must say what the peers did: stream ids, headers, bodies, trailers, resets,
//! settings, pings and the backend label.

use crate::support::{self, pcap};
use bytes::Bytes;
use serde_json::Value;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

const T0: i64 = 1_700_000_000_000_000_000;
const UPLOAD: usize = 70_000;

/// Records what one side writes, with a clock that advances 10 µs per write.
struct Recorder {
    inner: DuplexStream,
    from_client: bool,
    log: Arc<Mutex<Vec<pcap::Chunk>>>,
    clock: Arc<AtomicI64>,
}

impl AsyncRead for Recorder {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            let ts = self.clock.fetch_add(10_000, Ordering::SeqCst);
            self.log.lock().unwrap().push(pcap::Chunk {
                from_client: self.from_client,
                ts_nanos: ts,
                data: buf[..n].to_vec(),
            });
        }
        poll
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn serve(io: Recorder) {
    let mut conn = h2::server::Builder::new()
        .max_concurrent_streams(77)
        .handshake::<_, Bytes>(io)
        .await
        .expect("server handshake");
    let mut served = 0;
    while let Some(req) = conn.accept().await {
        served += 1;
        if served == 3 {
            // Drain like a real server going away: GOAWAY, then close once streams end.
            conn.graceful_shutdown();
        }
        let (req, mut respond) = req.expect("request");
        tokio::spawn(async move {
            let (parts, mut body) = req.into_parts();
            match parts.uri.path() {
                "/hello" => {
                    let resp = http::Response::builder()
                        .status(200)
                        .header("x-backend", "pod-a")
                        .body(())
                        .unwrap();
                    let mut send = respond.send_response(resp, false).unwrap();
                    send.send_data(Bytes::from_static(b"hello world"), true)
                        .unwrap();
                }
                "/upload" => {
                    let mut n = 0;
                    while let Some(chunk) = body.data().await {
                        let chunk = chunk.unwrap();
                        n += chunk.len();
                        body.flow_control().release_capacity(chunk.len()).unwrap();
                    }
                    let trailers = body.trailers().await.unwrap().expect("request trailers");
                    assert_eq!(trailers["x-checksum"], "abc");
                    let resp = http::Response::builder().status(201).body(()).unwrap();
                    let mut send = respond.send_response(resp, false).unwrap();
                    send.send_data(Bytes::from(format!("got {n}")), false)
                        .unwrap();
                    let mut t = http::HeaderMap::new();
                    t.insert("grpc-status", "0".parse().unwrap());
                    send.send_trailers(t).unwrap();
                }
                _ => respond.send_reset(h2::Reason::REFUSED_STREAM),
            }
        });
    }
}

async fn client(io: Recorder) {
    let (mut send, conn) = h2::client::Builder::new()
        .initial_window_size(123_456)
        .handshake::<_, Bytes>(io)
        .await
        .expect("client handshake");
    let mut conn = conn;
    let mut ping_pong = conn.ping_pong().expect("ping pong");
    let driver = tokio::spawn(conn);

    let req = http::Request::get("http://example.test/hello")
        .body(())
        .unwrap();
    let (resp, _) = send.send_request(req, true).unwrap();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    while let Some(d) = body.data().await {
        body.flow_control()
            .release_capacity(d.unwrap().len())
            .unwrap();
    }

    ping_pong.ping(h2::Ping::opaque()).await.expect("pong");

    send = send.ready().await.unwrap();
    let req = http::Request::post("http://example.test/upload")
        .header("content-type", "application/octet-stream")
        .body(())
        .unwrap();
    let (resp, mut stream) = send.send_request(req, false).unwrap();
    let mut left = UPLOAD;
    while left > 0 {
        stream.reserve_capacity(left);
        let cap = std::future::poll_fn(|cx| stream.poll_capacity(cx))
            .await
            .unwrap()
            .unwrap();
        let n = cap.min(left);
        stream.send_data(Bytes::from(vec![b'x'; n]), false).unwrap();
        left -= n;
    }
    let mut t = http::HeaderMap::new();
    t.insert("x-checksum", "abc".parse().unwrap());
    stream.send_trailers(t).unwrap();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), 201);
    let mut body = resp.into_body();
    while let Some(d) = body.data().await {
        body.flow_control()
            .release_capacity(d.unwrap().len())
            .unwrap();
    }
    let _ = body.trailers().await;

    send = send.ready().await.unwrap();
    let req = http::Request::get("http://example.test/refused")
        .body(())
        .unwrap();
    let (resp, _) = send.send_request(req, true).unwrap();
    assert!(resp.await.is_err(), "the server refuses /refused");

    drop(send);
    drop(ping_pong);
    let _ = driver.await;
}

/// Runs the peers and returns the recorded bytes, in the order they were written.
fn record() -> Vec<pcap::Chunk> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let clock = Arc::new(AtomicI64::new(T0));
    let (c, s) = tokio::io::duplex(1 << 20);
    let c = Recorder {
        inner: c,
        from_client: true,
        log: log.clone(),
        clock: clock.clone(),
    };
    let s = Recorder {
        inner: s,
        from_client: false,
        log: log.clone(),
        clock,
    };
    rt.block_on(async {
        let server = tokio::spawn(serve(s));
        tokio::time::timeout(std::time::Duration::from_secs(20), client(c))
            .await
            .expect("client finished in time");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    });
    log.lock().unwrap().clone()
}

fn header<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|h| h[0] == name)
        .map(|h| &h[1])
}

fn stream<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path)
        .unwrap_or_else(|| panic!("no stream for {path}"))
}

#[test]
fn h2_peers_are_decoded_as_they_spoke() {
    let chunks = record();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h2-peer.pcap");
    let client = "10.0.0.1:40000".parse().unwrap();
    let server = "10.0.0.2:8080".parse().unwrap();
    std::fs::write(&file, pcap::connection(client, server, &chunks, 1400)).unwrap();

    let doc = support::export_with(&file, &["--frames", "--backend-header", "X-Backend"]);
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    assert_eq!(c["protocol"], "http2");
    assert_eq!(c["joined_mid_connection"], false);
    assert_eq!(c["client"], "10.0.0.1:40000");
    assert_eq!(c["streams"], 3);
    assert_eq!(c["settings"]["client"]["INITIAL_WINDOW_SIZE"], 123_456);
    assert_eq!(c["settings"]["server"]["MAX_CONCURRENT_STREAMS"], 77);
    // The client's ping_pong PING, and the one h2 sends with its graceful GOAWAY
    // (RFC 9113 §6.8); each answered.
    let pings = c["pings"].as_array().unwrap();
    let from: Vec<&str> = pings.iter().map(|p| p["from"].as_str().unwrap()).collect();
    assert_eq!(from, vec!["client", "server"]);
    for p in pings {
        assert!(p["rtt_ms"].as_f64().is_some(), "PING answered: {p}");
    }
    assert!(
        c["anomalies"].as_array().unwrap().is_empty(),
        "{}",
        c["anomalies"]
    );

    let hello = stream(&doc, "/hello");
    assert_eq!(hello["stream_id"], 1);
    assert_eq!(hello["method"], "GET");
    assert_eq!(hello["authority"], "example.test");
    assert_eq!(hello["scheme"], "http");
    assert_eq!(hello["status"], 200);
    assert_eq!(
        header(&hello["response_headers"], "x-backend").unwrap(),
        "pod-a"
    );
    assert_eq!(hello["response_bytes"], 11);
    assert_eq!(hello["request_bytes"], 0);
    assert_eq!(hello["complete"], true);
    assert!(hello["reset"].is_null());

    let upload = stream(&doc, "/upload");
    assert_eq!(upload["stream_id"], 3);
    assert_eq!(upload["method"], "POST");
    assert_eq!(upload["request_bytes"], UPLOAD);
    assert_eq!(
        header(&upload["request_trailers"], "x-checksum").unwrap(),
        "abc"
    );
    assert_eq!(upload["status"], 201);
    assert_eq!(upload["response_bytes"], format!("got {UPLOAD}").len());
    assert_eq!(header(&upload["trailers"], "grpc-status").unwrap(), "0");
    let data_bytes: u64 = upload["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == "DATA" && f["from"] == "client")
        .map(|f| f["length"].as_u64().unwrap())
        .sum();
    assert_eq!(
        data_bytes, UPLOAD as u64,
        "DATA frames carry the whole upload"
    );

    let refused = stream(&doc, "/refused");
    assert_eq!(refused["stream_id"], 5);
    assert_eq!(refused["reset"]["from"], "server");
    assert_eq!(refused["reset"]["error_code"], "REFUSED_STREAM");

    let backends = doc["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 1);
    assert_eq!(backends[0]["server"], "10.0.0.2:8080");
    assert_eq!(backends[0]["streams"], 3);
    assert_eq!(backends[0]["connections"], 1);
    assert_eq!(backends[0]["label"], "pod-a");
}

/// The same traffic cut into 1-byte segments: frames split across any number of segments.
#[test]
fn h2_peers_decode_the_same_in_tiny_segments() {
    let chunks = record();
    let dir = tempfile::tempdir().unwrap();
    let client = "10.0.0.1:40000".parse().unwrap();
    let server = "10.0.0.2:8080".parse().unwrap();
    let big = dir.path().join("big.pcap");
    let tiny = dir.path().join("tiny.pcap");
    std::fs::write(&big, pcap::connection(client, server, &chunks, 65_000)).unwrap();
    // 7-byte segments keep the file small while splitting every frame header.
    std::fs::write(&tiny, pcap::connection(client, server, &chunks, 7)).unwrap();
    let a = support::export(&big);
    let b = support::export(&tiny);
    let strip = |doc: &Value| -> Vec<Value> {
        doc["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                for k in ["start", "end", "duration_ms"] {
                    s[k] = Value::Null;
                }
                s
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
}
