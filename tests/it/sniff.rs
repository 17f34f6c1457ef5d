//! Live capture with the real binary: `h2scope sniff -i lo` sees real HTTP/2 calls between
//! an `h2` client and two `h2` servers on loopback (as root; CI runs as root), with the
//! right backend, path and status; `-w` saves a pcapng that decodes to the same calls; the
//! terminal UI shows them live in a real pseudo-terminal (tmux) and pauses; and without
//! CAP_NET_RAW the error says what is needed.

use crate::support;
use bytes::Bytes;
use h2scope::capture::live::Backend;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

fn can_capture() -> bool {
    // CAP_NET_RAW is bit 13 of the effective set (root has it unless it was dropped).
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("CapEff:"))
                .and_then(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
                .is_some_and(|caps| caps & (1 << 13) != 0)
        })
        .unwrap_or(false)
}

/// Whether this build has a live backend (`Backend::BUILT` follows the library's cfgs);
/// when not, says so.
fn has_backend() -> bool {
    let built = Backend::default_built().is_some();
    if !built {
        eprintln!("SKIPPED: this build has no live-capture backend");
    }
    built
}

/// Whether this test can capture live: a live backend and CAP_NET_RAW; when not, says why.
pub(crate) fn can_sniff() -> bool {
    if !has_backend() {
        return false;
    }
    if !can_capture() {
        eprintln!("SKIPPED: live capture needs CAP_NET_RAW (CI runs as root)");
        return false;
    }
    true
}

/// An `h2` server on `listener`: every request of every connection goes to `handle`, on a
/// task of its own.
pub(crate) async fn serve_h2<F, Fut>(listener: tokio::net::TcpListener, handle: F)
where
    F: Fn(http::Request<h2::RecvStream>, h2::server::SendResponse<Bytes>) -> Fut
        + Copy
        + Send
        + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    while let Ok((sock, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(mut conn) = h2::server::handshake(sock).await else {
                return;
            };
            while let Some(Ok((req, respond))) = conn.accept().await {
                tokio::spawn(handle(req, respond));
            }
        });
    }
}

/// A runtime for test servers and clients, and `n` listeners on loopback with their ports.
pub(crate) fn runtime_and_listeners(
    n: usize,
) -> (
    tokio::runtime::Runtime,
    Vec<tokio::net::TcpListener>,
    Vec<u16>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listeners: Vec<_> = (0..n)
        .map(|_| {
            rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap()
        })
        .collect();
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    (rt, listeners, ports)
}

/// Kills the tmux server on this socket when dropped, whatever the test did.
pub(crate) struct KillTmux<'a>(pub(crate) &'a std::path::Path);

impl Drop for KillTmux<'_> {
    fn drop(&mut self) {
        crate::tui::tmux(self.0, &["kill-server"]);
    }
}

async fn serve(listener: tokio::net::TcpListener, name: &'static str) {
    serve_h2(listener, move |req, mut respond| async move {
        let path = req.uri().path().to_string();
        let status = if path == "/missing" { 404 } else { 200 };
        let resp = http::Response::builder()
            .status(status)
            .header("x-backend", name)
            .body(())
            .unwrap();
        let mut send = respond.send_response(resp, false).unwrap();
        let _ = send.send_data(Bytes::from(format!("{name}{path}")), true);
    })
    .await
}

/// Makes requests numbered `calls` to each backend over one connection per backend: call 1
/// is `/missing` (a 404), the others `/call/PORT/N`.
async fn client_range(ports: [u16; 2], calls: std::ops::Range<usize>) {
    for port in ports {
        let sock = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (mut send, conn) = h2::client::handshake(sock).await.unwrap();
        let driver = tokio::spawn(conn);
        for i in calls.clone() {
            let path = if i == 1 {
                "/missing".to_string()
            } else {
                format!("/call/{port}/{i}")
            };
            let req = http::Request::get(format!("http://127.0.0.1:{port}{path}"))
                .body(())
                .unwrap();
            send = send.ready().await.unwrap();
            let (resp, _) = send.send_request(req, true).unwrap();
            let mut body = resp.await.unwrap().into_body();
            while let Some(d) = body.data().await {
                let _ = body.flow_control().release_capacity(d.unwrap().len());
            }
        }
        drop(send);
        driver.abort();
    }
}

#[test]
fn sniff_sees_live_calls_and_saves_them() {
    sees_live_calls_and_saves_them(&[]);
}

/// The same calls over libpcap, with a filter outside our own compiler's subset (`len`),
/// which libpcap compiles.
#[test]
fn sniff_over_libpcap_sees_the_same_calls() {
    let filter = ["-f", "tcp and len > 0"];
    // Our own compiler (AF_PACKET's) says no to it, naming the part.
    if Backend::AfPacket.is_built() {
        let out = support::h2scope(&["sniff", "-i", "lo", "--ndjson", filter[0], filter[1]]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("len"));
    }
    if !cfg!(feature = "libpcap") {
        eprintln!(
            "SKIPPED: built without the libpcap feature (CI runs it with --features libpcap)"
        );
        return;
    }
    sees_live_calls_and_saves_them(&["--capture-backend", "pcap", filter[0], filter[1]]);
}

fn sees_live_calls_and_saves_them(extra: &[&str]) {
    if !can_sniff() {
        return;
    }
    let (rt, ports) = backends();

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("live.pcapng");
    let child = Command::new(env!("CARGO_BIN_EXE_h2scope"))
        .args([
            "sniff",
            "-i",
            "lo",
            "--ndjson",
            "--duration",
            "4",
            "--backend-header",
            "x-backend",
            "-w",
        ])
        .arg(&saved)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let the capture start, then make the calls.
    std::thread::sleep(Duration::from_millis(800));
    let started = std::time::Instant::now();
    calls(&rt, ports, 0..4);
    let out = child.wait_with_output().unwrap();
    // --duration 4 ends it on time even when nothing more passes the filter.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let ours = |v: &Value| {
        v["server"]
            .as_str()
            .and_then(|s| s.rsplit(':').next())
            .and_then(|p| p.parse::<u16>().ok())
            .is_some_and(|p| ports.contains(&p))
    };
    let streams: Vec<&Value> = lines
        .iter()
        .filter(|v| v["type"] == "stream" && ours(v))
        .collect();
    assert_eq!(streams.len(), 8, "every call seen once");
    for (port, name) in ports.iter().zip(["pod-a", "pod-b"]) {
        let mine: Vec<&&Value> = streams
            .iter()
            .filter(|s| s["server"] == format!("127.0.0.1:{port}"))
            .collect();
        assert_eq!(mine.len(), 4, "{name}");
        let missing = mine.iter().find(|s| s["path"] == "/missing").unwrap();
        assert_eq!(missing["status"], 404);
        assert!(mine.iter().filter(|s| s["status"] == 200).count() == 3);
        assert!(
            mine.iter()
                .all(|s| s["response_bytes"].as_u64().unwrap() > 0)
        );
        let backend = lines
            .iter()
            .find(|v| v["type"] == "backend" && v["server"] == format!("127.0.0.1:{port}"))
            .unwrap();
        assert_eq!(backend["label"], name);
        assert_eq!(backend["streams"], 4);
    }
    let capture = lines.last().unwrap();
    assert_eq!(capture["type"], "capture");
    assert_eq!(capture["format"], "live");
    assert!(capture["kernel_drops"].as_u64().is_some());

    // The saved pcapng decodes to the same calls.
    let doc = support::export_with(&saved, &["--backend-header", "x-backend"]);
    assert_eq!(
        calls_to(&doc, ports),
        call_keys(streams.iter().copied(), ports)
    );
}

#[test]
fn sniff_without_cap_net_raw_says_what_is_needed() {
    if !can_capture() {
        eprintln!("SKIPPED: needs root to drop CAP_NET_RAW from");
        return;
    }
    // Every backend this build has says the same.
    for backend in Backend::BUILT {
        let backend = match backend {
            Backend::AfPacket => "afpacket",
            Backend::Pcap => "pcap",
        };
        // setpriv (util-linux) drops the capability from the bounding set before exec.
        let out = Command::new("setpriv")
            .args(["--bounding-set", "-net_raw", "--inh-caps", "-net_raw"])
            .arg(env!("CARGO_BIN_EXE_h2scope"))
            .args(["sniff", "-i", "lo", "--ndjson", "--duration", "1"])
            .args(["--capture-backend", backend])
            .output();
        let Ok(out) = out else {
            eprintln!("SKIPPED: setpriv not installed");
            return;
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{backend}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{backend}: {err}");
        assert!(
            err.contains("CAP_NET_RAW") && err.contains("setcap"),
            "{backend}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn sniff_on_a_missing_interface_lists_the_real_ones() {
    if !has_backend() {
        return;
    }
    let out = support::h2scope(&["sniff", "-i", "no-such-if0", "--ndjson"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-if0") && err.contains("lo"), "{err}");
}

/// A build with no live backend (not Linux, no `libpcap` feature) says so, and exits 2.
#[test]
fn sniff_without_a_live_backend_says_what_it_needs() {
    if Backend::default_built().is_some() {
        eprintln!("SKIPPED: this build has a live-capture backend");
        return;
    }
    let out = support::h2scope(&["sniff", "-i", "lo", "--ndjson"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("live capture needs Linux or the libpcap feature"),
        "{err}"
    );
}

/// Two backends on loopback (`pod-a`, `pod-b`) and a runtime to make calls with.
fn backends() -> (tokio::runtime::Runtime, [u16; 2]) {
    let (rt, listeners, ports) = runtime_and_listeners(2);
    for (l, name) in listeners.into_iter().zip(["pod-a", "pod-b"]) {
        rt.spawn(serve(l, name));
    }
    (rt, [ports[0], ports[1]])
}

fn calls(rt: &tokio::runtime::Runtime, ports: [u16; 2], range: std::ops::Range<usize>) {
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), client_range(ports, range))
            .await
            .expect("calls finished")
    });
}

/// The number in "PAUSED · N updates pending", when the header shows it.
fn pending(pane: &str) -> Option<usize> {
    let rest = pane.split("PAUSED · ").nth(1)?;
    rest.split_whitespace()
        .next()?
        .replace(',', "")
        .parse()
        .ok()
}

#[test]
fn sniff_terminal_ui_shows_live_calls_and_pauses() {
    use crate::tui::{tmux, tmux_dir, tmux_session, wait_for};
    if !can_sniff() {
        return;
    }
    let Some((dir, sock)) = tmux_dir() else {
        return;
    };
    let (rt, ports) = backends();
    let done = dir.path().join("done");
    let saved = dir.path().join("ui.pcapng");
    let script = format!(
        "'{bin}' sniff -i lo -f 'tcp port {a} or tcp port {b}' --backend-header x-backend \
         -w '{saved}'; echo \"exit=$?\" > '{done}.tmp'; mv '{done}.tmp' '{done}'; sleep 60",
        bin = env!("CARGO_BIN_EXE_h2scope"),
        a = ports[0],
        b = ports[1],
        saved = saved.display(),
        done = done.display(),
    );
    tmux_session(&sock, 160, 45, &script);
    // Whatever happens below, the tmux server goes away with the test.
    let _kill = KillTmux(&sock);
    wait_for(&sock, "● capturing");

    // Three calls to each backend appear, each with the backend that served it.
    calls(&rt, ports, 0..3);
    let pane = wait_for(&sock, "Calls 6/6");
    for (port, name) in ports.iter().zip(["pod-a", "pod-b"]) {
        let rows: Vec<&str> = pane
            .lines()
            .filter(|l| l.contains(&format!("/call/{port}/")))
            .collect();
        assert_eq!(rows.len(), 2, "{pane}");
        assert!(rows.iter().all(|r| r.contains(name)), "{pane}");
    }
    assert_eq!(pane.matches("/missing").count(), 2, "{pane}");
    assert!(pane.contains("following"), "{pane}");
    assert!(pane.contains("dropped by the kernel"), "{pane}");

    // Paused: more calls are captured but wait, counted, until resumed.
    tmux(&sock, &["send-keys", "-t", "ui", "p"]);
    wait_for(&sock, "PAUSED");
    calls(&rt, ports, 10..12);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let paused = loop {
        let pane = tmux(&sock, &["capture-pane", "-p", "-t", "ui"]);
        if pending(&pane).is_some_and(|n| n >= 4) {
            break pane;
        }
        assert!(std::time::Instant::now() < deadline, "{pane}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(paused.contains("Calls 6/6"), "{paused}");
    assert!(
        !paused.contains("/10 ") && !paused.contains("/11 "),
        "{paused}"
    );
    tmux(&sock, &["send-keys", "-t", "ui", "p"]);
    let resumed = wait_for(&sock, "Calls 10/10");
    assert!(!resumed.contains("PAUSED"), "{resumed}");
    assert!(
        resumed.contains(&format!("/call/{}/11", ports[1])),
        "{resumed}"
    );

    // q stops the capture cleanly: exit 0 and a complete pcapng with every call.
    tmux(&sock, &["send-keys", "-t", "ui", "q"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "h2scope did not exit on q"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = std::fs::read_to_string(&done).unwrap();
    assert!(report.starts_with("exit=0"), "{report}");
    let doc = support::export_with(&saved, &["--backend-header", "x-backend"]);
    assert_eq!(doc["streams"].as_array().unwrap().len(), 10, "{doc}");
}

#[test]
fn export_window_keeps_the_newest_streams_and_counts_the_rest_in_backends() {
    use h2scope::capture::CaptureReader;
    use h2scope::export;
    let file = support::root().join("fixtures/grpc-roundrobin.pcapng");
    let run = |keep: Option<usize>| -> Value {
        let options = export::Options {
            keep_streams: keep,
            backend_header: Some("x-backend".into()),
            ..export::Options::default()
        };
        let mut out = Vec::new();
        let (written, error) = export::export(
            "rr",
            CaptureReader::open(&file).unwrap(),
            &options,
            false,
            false,
            &mut out,
        );
        written.unwrap();
        assert!(error.is_none());
        serde_json::from_slice(&out).unwrap()
    };
    let all = run(None);
    let window = run(Some(5));
    assert_eq!(all["streams"].as_array().unwrap().len(), 24);
    assert_eq!(all["capture"]["streams_beyond_window"], 0);
    let kept = window["streams"].as_array().unwrap();
    assert_eq!(kept.len(), 5);
    assert_eq!(window["capture"]["streams_beyond_window"], 19);
    // The window holds the last five to complete; they are whole.
    for s in kept {
        assert!(all["streams"].as_array().unwrap().contains(s), "{s}");
    }
    // Three connections, a window of five: all kept.
    assert_eq!(window["connections"].as_array().unwrap().len(), 3);
    assert_eq!(window["capture"]["connections_beyond_window"], 0);
    // The aggregates count every stream.
    assert_eq!(window["backends"], all["backends"]);
}

/// The streams that went to `ports`, as (server, path, status), sorted.
fn call_keys<'a>(
    streams: impl IntoIterator<Item = &'a Value>,
    ports: [u16; 2],
) -> Vec<(String, String, u64)> {
    let mut v: Vec<(String, String, u64)> = streams
        .into_iter()
        .filter(|s| {
            let server = s["server"].as_str().unwrap_or("");
            ports.iter().any(|p| server == format!("127.0.0.1:{p}"))
        })
        .map(|s| {
            (
                s["server"].as_str().unwrap().into(),
                s["path"].as_str().unwrap().into(),
                s["status"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The calls of an export document that went to `ports`.
fn calls_to(doc: &Value, ports: [u16; 2]) -> Vec<(String, String, u64)> {
    call_keys(doc["streams"].as_array().unwrap(), ports)
}

#[test]
fn sigint_during_export_leaves_a_complete_document_and_a_valid_pcapng() {
    if !can_sniff() {
        return;
    }
    let (rt, ports) = backends();
    let dir = tempfile::tempdir().unwrap();
    let doc_path = dir.path().join("live.json");
    let saved = dir.path().join("live.pcapng");
    let filter = format!("tcp port {} or tcp port {}", ports[0], ports[1]);
    // No --duration: only the signal stops it (the timeout below guards the test).
    let mut child = Command::new(env!("CARGO_BIN_EXE_h2scope"))
        .args([
            "sniff",
            "-i",
            "lo",
            "-f",
            &filter,
            "--backend-header",
            "x-backend",
        ])
        .arg("--export")
        .arg(&doc_path)
        .arg("-w")
        .arg(&saved)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    calls(&rt, ports, 0..5);
    // The last packets (FIN, final ACKs) are on the wire; the signal comes right after.
    std::thread::sleep(Duration::from_millis(100));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("sniff did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status}: {err}");

    // One complete JSON document with every call made before the signal.
    let text = std::fs::read_to_string(&doc_path).unwrap();
    let doc: Value = serde_json::from_str(&text).expect("a complete JSON document");
    assert_eq!(doc["capture"]["format"], "live");
    assert!(doc["capture"]["error"].is_null(), "{}", doc["capture"]);
    let live = calls_to(&doc, ports);
    assert_eq!(live.len(), 10, "{live:?}");
    for port in ports {
        let server = format!("127.0.0.1:{port}");
        let mine: Vec<_> = live.iter().filter(|c| c.0 == server).collect();
        assert_eq!(mine.len(), 5);
        assert!(mine.iter().any(|c| c.1 == "/missing" && c.2 == 404));
        assert_eq!(mine.iter().filter(|c| c.2 == 200).count(), 4);
    }
    let backends = doc["backends"].as_array().unwrap();
    assert_eq!(
        backends.len(),
        2,
        "nothing outside the filter: {backends:?}"
    );

    // The pcapng written alongside is whole: h2scope reads it to its end, same calls.
    let out = support::h2scope(&["export", saved.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_file: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        from_file["capture"]["anomalies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(calls_to(&from_file, ports), live);
}
