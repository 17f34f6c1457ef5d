//! Live gRPC on loopback: `h2scope sniff -i lo` with descriptors sees every call a real
//! HTTP/2 client (`h2`) makes to two gRPC backends (`h2` servers speaking gRPC's framing,
//! status trailers and protobuf messages, encoded here by hand, not by our decoder), with
//! the backend, method, status and decoded messages, and nothing outside the filter.

use crate::sniff::{KillTmux, can_sniff, runtime_and_listeners, serve_h2};
use crate::support;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

const PATH: &str = "/h2scope.demo.v1.Inventory/GetItem";

/// A protobuf length-delimited field (wire type 2), for field numbers below 16.
fn field_bytes(out: &mut Vec<u8>, field: u8, value: &[u8]) {
    out.push(field << 3 | 2);
    out.push(u8::try_from(value.len()).expect("short test strings"));
    out.extend_from_slice(value);
}

/// `GetItemRequest { id }`.
fn request(id: &str) -> Vec<u8> {
    let mut m = Vec::new();
    field_bytes(&mut m, 1, id.as_bytes());
    m
}

/// `Item { id, name, quantity }` (quantity is an int64 below 128: one varint byte).
fn item(id: &str, name: &str, quantity: u8) -> Vec<u8> {
    let mut m = Vec::new();
    field_bytes(&mut m, 1, id.as_bytes());
    field_bytes(&mut m, 2, name.as_bytes());
    m.push(3 << 3);
    m.push(quantity & 0x7f);
    m
}

/// One gRPC message: the uncompressed flag, the big-endian length, the bytes.
fn framed(message: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + message.len());
    b.put_u8(0);
    b.put_u32(u32::try_from(message.len()).unwrap());
    b.put_slice(message);
    b.freeze()
}

/// The message in a whole request body (one message, uncompressed).
fn unframe(body: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(body.get(1..5)?.try_into().ok()?) as usize;
    body.get(5..5 + len)
}

/// The id in a `GetItemRequest` made by [`request`].
fn request_id(message: &[u8]) -> Option<String> {
    (message.first() == Some(&0x0a))
        .then(|| String::from_utf8(message.get(2..)?.to_vec()).ok())
        .flatten()
}

/// A gRPC server: `GetItem` answers `Item { id, name: <backend>, quantity: n }` for
/// `item-n`, and NOT_FOUND (no message, `grpc-message` in the trailers) for `missing`.
async fn serve(listener: tokio::net::TcpListener, name: &'static str) {
    serve_h2(listener, move |req, mut respond| async move {
        let mut body = req.into_body();
        let mut bytes = Vec::new();
        while let Some(Ok(d)) = body.data().await {
            let _ = body.flow_control().release_capacity(d.len());
            bytes.extend_from_slice(&d);
        }
        let id = unframe(&bytes).and_then(request_id).unwrap_or_default();
        let resp = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .header("x-backend", name)
            .body(())
            .unwrap();
        let Ok(mut send) = respond.send_response(resp, false) else {
            return;
        };
        let mut trailers = http::HeaderMap::new();
        match id.strip_prefix("item-").and_then(|n| n.parse::<u8>().ok()) {
            Some(n) => {
                let _ = send.send_data(framed(&item(&id, name, n)), false);
                trailers.insert("grpc-status", "0".parse().unwrap());
            }
            None => {
                trailers.insert("grpc-status", "5".parse().unwrap());
                trailers.insert("grpc-message", "no such item".parse().unwrap());
            }
        }
        let _ = send.send_trailers(trailers);
    })
    .await
}

/// Calls `GetItem` on each backend over one connection: `item-1` .. `item-n` (not 0: proto3
/// JSON leaves a zero quantity out), then `missing`. Returns the statuses the client read from the trailers.
async fn client(ports: [u16; 2], n: u8) -> Vec<(u16, String, String)> {
    let mut seen = Vec::new();
    for port in ports {
        let sock = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (mut send, conn) = h2::client::handshake(sock).await.unwrap();
        let driver = tokio::spawn(conn);
        let ids = (1..=n)
            .map(|i| format!("item-{i}"))
            .chain(["missing".into()]);
        for id in ids {
            let req = http::Request::post(format!("http://127.0.0.1:{port}{PATH}"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(())
                .unwrap();
            send = send.ready().await.unwrap();
            let (resp, mut body_out) = send.send_request(req, false).unwrap();
            body_out.send_data(framed(&request(&id)), true).unwrap();
            let mut body = resp.await.unwrap().into_body();
            while let Some(d) = body.data().await {
                let _ = body.flow_control().release_capacity(d.unwrap().len());
            }
            let trailers = body.trailers().await.unwrap().unwrap_or_default();
            let status = trailers
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            seen.push((port, id, status));
        }
        drop(send);
        driver.abort();
    }
    seen
}

#[test]
fn sniff_decodes_live_grpc_calls_with_their_backend_method_status_and_messages() {
    if !can_sniff() {
        return;
    }
    // Two gRPC backends, and a third one outside the filter.
    let (rt, listeners, port) = runtime_and_listeners(3);
    let (ports, outside) = ([port[0], port[1]], port[2]);
    for (l, name) in listeners.into_iter().zip(["pod-a", "pod-b", "pod-c"]) {
        rt.spawn(serve(l, name));
    }
    let protos = support::root().join("fixtures/protos");
    let filter = format!("tcp port {} or tcp port {}", ports[0], ports[1]);
    let child = Command::new(env!("CARGO_BIN_EXE_h2scope"))
        .args(["sniff", "-i", "lo", "--ndjson", "--duration", "4"])
        .args([
            "-f",
            &filter,
            "--backend-header",
            "x-backend",
            "--proto-path",
        ])
        .arg(&protos)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let made = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            let mine = client(ports, 3).await;
            // Calls the filter keeps out.
            client([outside, outside], 1).await;
            mine
        })
        .await
        .expect("calls finished")
    });
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What the client saw: three OK calls and one NOT_FOUND per backend.
    assert_eq!(made.len(), 8);
    assert!(
        made.iter()
            .all(|(_, id, s)| s == if id == "missing" { "5" } else { "0" })
    );

    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let streams: Vec<&Value> = lines.iter().filter(|v| v["type"] == "stream").collect();
    // Nothing outside the filter: every stream and backend is one of ours.
    for s in &streams {
        let server = s["server"].as_str().unwrap();
        assert!(
            ports.iter().any(|p| server == format!("127.0.0.1:{p}")),
            "{server} is outside the filter"
        );
    }
    assert_eq!(streams.len(), made.len(), "every call seen once");
    for (port, id, _) in &made {
        let name = if *port == ports[0] { "pod-a" } else { "pod-b" };
        let call = streams
            .iter()
            .find(|s| {
                s["server"] == format!("127.0.0.1:{port}")
                    && s["grpc"]["request_messages"][0]["json"]["id"] == id.as_str()
            })
            .unwrap_or_else(|| panic!("no stream for {id} on {port}"));
        let g = &call["grpc"];
        assert_eq!(call["path"], PATH);
        assert_eq!(g["service"], "h2scope.demo.v1.Inventory", "{g}");
        assert_eq!(g["method"], "GetItem");
        assert_eq!(g["inferred"], false);
        assert_eq!(g["request_messages"][0]["json"], json!({ "id": id }));
        match id.strip_prefix("item-") {
            Some(n) => {
                assert_eq!(
                    (g["status"].clone(), g["status_name"].clone()),
                    (json!(0), json!("OK"))
                );
                assert_eq!(
                    g["response_messages"][0]["json"],
                    json!({ "id": id, "name": name, "quantity": n })
                );
            }
            None => {
                assert_eq!(g["status"], 5);
                assert_eq!(g["status_name"], "NOT_FOUND");
                assert_eq!(g["message"], "no such item");
                assert_eq!(g["response_messages"], json!([]));
            }
        }
    }
    for (port, name) in ports.iter().zip(["pod-a", "pod-b"]) {
        let backend = lines
            .iter()
            .find(|v| v["type"] == "backend" && v["server"] == format!("127.0.0.1:{port}"))
            .unwrap_or_else(|| panic!("no backend line for {port}"));
        assert_eq!(backend["label"], name);
        assert_eq!(backend["streams"], 4);
    }
    assert_eq!(lines.iter().filter(|v| v["type"] == "backend").count(), 2);
}

/// The live terminal UI (`sudo h2scope sniff -i lo -f 'tcp port ...'` in a real
/// pseudo-terminal) shows the gRPC calls as they happen: each with its method, status and
/// the backend that served it, and the backends panel counting them.
#[test]
fn sniff_terminal_ui_shows_live_grpc_calls_and_their_backends() {
    use crate::tui::{tmux_dir, tmux_session, wait_for};
    if !can_sniff() {
        return;
    }
    let Some((_dir, sock)) = tmux_dir() else {
        return;
    };
    let (rt, listeners, port) = runtime_and_listeners(2);
    let ports = [port[0], port[1]];
    for (l, name) in listeners.into_iter().zip(["pod-a", "pod-b"]) {
        rt.spawn(serve(l, name));
    }
    let script = format!(
        "'{bin}' sniff -i lo -f 'tcp port {a} or tcp port {b}' --backend-header x-backend \
         --proto-path '{protos}'; sleep 60",
        bin = env!("CARGO_BIN_EXE_h2scope"),
        a = ports[0],
        b = ports[1],
        protos = support::root().join("fixtures/protos").display(),
    );
    tmux_session(&sock, 160, 45, &script);
    let _kill = KillTmux(&sock);
    wait_for(&sock, "● capturing");

    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), client(ports, 2))
            .await
            .expect("calls finished")
    });
    let pane = wait_for(&sock, "Calls 6/6");
    let rows: Vec<&str> = pane
        .lines()
        .filter(|l| l.contains("Inventory/GetItem"))
        .collect();
    assert_eq!(rows.len(), 6, "{pane}");
    for name in ["pod-a", "pod-b"] {
        let mine: Vec<&&str> = rows.iter().filter(|r| r.contains(name)).collect();
        assert_eq!(mine.len(), 3, "{pane}");
        assert_eq!(
            mine.iter().filter(|r| r.contains(" OK ")).count(),
            2,
            "{pane}"
        );
        assert_eq!(
            mine.iter().filter(|r| r.contains("NOT_FOUND")).count(),
            1,
            "{pane}"
        );
    }
    // The backends panel: both backends, three calls each.
    for port in ports {
        let line = pane
            .lines()
            .find(|l| l.contains(&format!("127.0.0.1:{port}")))
            .unwrap_or_else(|| panic!("no backend row for {port}: {pane}"));
        assert!(line.contains(" 3 "), "{line}");
    }
}
