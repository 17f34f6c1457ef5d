//! The terminal UI: snapshots of the screens on ratatui's `TestBackend`, driven by a fixture
//! capture read synchronously and scripted keys; captured escape sequences rendered inert;
//! and the real binary in a real pseudo-terminal (tmux).

use crate::support;
use crate::support::pcap::{Chunk, connection};
use h2scope::capture::CaptureReader;
use h2scope::grpc::Descriptors;
use h2scope::tui::App;
use h2scope::tui::event::{self, Script};
use h2scope::tui::feed::{self, FeedOptions};
use h2scope::tui::model::Model;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::Event;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    support::root().join("fixtures").join(name)
}

fn descriptors() -> Descriptors {
    let mut d = Descriptors::empty();
    d.add_protos(&[fixture("protos")], &[]).unwrap();
    d
}

/// An app over a whole capture, read synchronously (no threads, no clock).
fn app_for(reader: CaptureReader, source: &str, label: Option<&str>, w: u16, h: u16) -> App {
    let options = FeedOptions {
        descriptors: descriptors(),
        ..FeedOptions::default()
    };
    let mut app = App::new(Model::new(source, label), w, h);
    feed::feed(reader, &options, |u| {
        app.update(u);
        true
    });
    app
}

fn app(name: &str, w: u16, h: u16) -> App {
    let reader = CaptureReader::open(&fixture(name)).unwrap();
    app_for(reader, &format!("fixtures/{name}"), Some("x-backend"), w, h)
}

/// Presses `keys` (see `event::keys`) and renders the screen as text.
fn screen(app: &mut App, keys: &str) -> String {
    let mut term = Terminal::new(TestBackend::new(app.view.width, app.view.height)).unwrap();
    for k in event::keys(keys) {
        app.handle(&Event::Key(k));
    }
    app.draw(&mut term).unwrap();
    term.backend().to_string()
}

#[test]
fn first_screen_shows_the_spread_at_80x24() {
    let mut a = app("grpc-roundrobin.pcapng", 80, 24);
    let s = screen(&mut a, "");
    assert!(s.contains("even spread over 3 backends"), "{s}");
    insta::assert_snapshot!("first_screen_80x24", s);
}

#[test]
fn first_screen_on_a_large_terminal_has_more_columns_and_a_preview() {
    let mut a = app("grpc-roundrobin.pcapng", 160, 48);
    let s = screen(&mut a, "");
    assert!(s.contains("Client") && s.contains("Timeline"), "{s}");
    insta::assert_snapshot!("first_screen_160x48", s);
}

#[test]
fn one_backend_capture_warns() {
    let mut a = app("grpc-one-backend.pcapng", 100, 30);
    let s = screen(&mut a, "");
    assert!(
        s.contains("all 14 calls on one backend, over 1 connection"),
        "{s}"
    );
    insta::assert_snapshot!("one_backend", s);
}

#[test]
fn enter_on_a_backend_filters_to_its_calls() {
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    // Tab to the backends panel, down to the second, Enter.
    let s = screen(&mut a, "<tab>j<enter>");
    assert_eq!(a.view.visible.len(), 8);
    let server = a.view.backend_filter.unwrap();
    assert!(
        a.view
            .visible
            .iter()
            .all(|&i| a.model.call(i).unwrap().rec.server == server)
    );
    insta::assert_snapshot!("backend_selected", s);
    // Esc clears the filter; it does not quit.
    screen(&mut a, "<esc>");
    assert_eq!(a.view.visible.len(), 24);
    assert!(!a.view.quit);
}

#[test]
fn text_and_prefix_filters() {
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    let s = screen(&mut a, "/listitems");
    assert_eq!(a.view.visible.len(), 5);
    insta::assert_snapshot!("filter_typing", s);
    let s = screen(&mut a, "<enter>");
    assert!(!a.view.editing);
    insta::assert_snapshot!("filter_text", s);
    // Errors only, then errors of one backend.
    screen(&mut a, "c/grpc:!ok<enter>");
    assert_eq!(a.view.visible.len(), 6);
    screen(&mut a, "c/grpc:!ok backend:50053<enter>");
    assert_eq!(a.view.visible.len(), 2);
    screen(&mut a, "c/grpc:not_found<enter>");
    assert_eq!(a.view.visible.len(), 1);
    screen(&mut a, "c/status:2<enter>");
    assert_eq!(a.view.visible.len(), 24);
    // Esc while typing restores the filter before.
    screen(&mut a, "/xyz<esc>");
    assert_eq!(a.view.filter_text, "status:2");
}

#[test]
fn sort_cycles_and_reverses() {
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    // time -> backend -> method -> status -> duration, reversed: the slowest first.
    let s = screen(&mut a, "ssssS");
    let first = a.model.call(a.view.visible[0]).unwrap();
    assert!(first.duration_ns() > 200_000_000, "{s}");
    insta::assert_snapshot!("sorted_by_duration_desc", s);
}

#[test]
fn open_a_call_shows_timeline_and_detail() {
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    // The 13th call by time is a server-streaming ListItems with 5 responses.
    let s = screen(&mut a, "jjjjjjjjjjjj<enter>");
    assert!(s.contains("Timeline") && s.contains("ListItems"), "{s}");
    insta::assert_snapshot!("call_headers", s);
    let s = screen(&mut a, "3");
    insta::assert_snapshot!("call_frames", s);
    // The timeline's cursor walks the events and says what is under it.
    let s = screen(&mut a, "<tab>llll");
    assert!(s.contains("▲ at"), "{s}");
    insta::assert_snapshot!("call_timeline_cursor", s);
}

#[test]
fn open_a_message() {
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    let s = screen(&mut a, "jjjjjjjjjjjj<enter>2");
    assert!(s.contains("→ request #0"), "{s}");
    insta::assert_snapshot!("call_messages", s);
    // The tab scrolls by message: the next one heads the pane, the earlier one is above.
    let s = screen(&mut a, "j");
    let rows: Vec<&str> = s.lines().collect();
    let at = rows.iter().position(|r| r.contains("← response #0"));
    assert!(at.is_some_and(|i| rows[i - 1].contains("Headers")), "{s}");
    assert!(!s.contains("→ request #0"), "{s}");
    let s = screen(&mut a, "<enter>");
    assert!(s.contains("Message"), "{s}");
    insta::assert_snapshot!("message", s);
    // The message's text is made once and kept while it is scrolled; another message (or
    // width) replaces it.
    let open = a.view.open.unwrap();
    assert_eq!(a.view.message_text.key(), Some((open, 1, 98)));
    screen(&mut a, "jk");
    assert_eq!(a.view.message_text.key(), Some((open, 1, 98)));
    let next = screen(&mut a, "<right>");
    assert_eq!(a.view.message_text.key(), Some((open, 2, 98)));
    assert!(next.contains("3 of "), "{next}");
    // Back twice: the call, then the calls.
    screen(&mut a, "<esc><esc>");
    assert_eq!(a.view.screen, h2scope::tui::app::Screen::Main);
}

#[test]
fn schema_less_message_shows_fields_and_hex() {
    // Without descriptors the messages are read schema-less.
    let reader = CaptureReader::open(&fixture("grpc-roundrobin.pcapng")).unwrap();
    let mut a = App::new(Model::new("x", None), 100, 30);
    feed::feed(reader, &FeedOptions::default(), |u| {
        a.update(u);
        true
    });
    let s = screen(&mut a, "<enter>2<enter>");
    assert!(
        s.contains("Schema-less reading") && s.contains("Bytes (7):"),
        "{s}"
    );
    insta::assert_snapshot!("message_schema_less", s);
}

#[test]
fn help_overlay_and_resize() {
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    let s = screen(&mut a, "?");
    assert!(s.contains("h2scope keys"));
    insta::assert_snapshot!("help", s);
    // Any key closes the help, and does nothing else.
    screen(&mut a, "q");
    assert!(!a.view.help && !a.view.quit);
    // A small terminal still draws; a resize back is clean.
    a.view.width = 40;
    a.view.height = 10;
    let small = screen(&mut a, "");
    assert_eq!(small.lines().count(), 10);
    a.view.width = 100;
    a.view.height = 30;
    screen(&mut a, "");
}

#[test]
fn mouse_scroll_and_click() {
    use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut a = app("grpc-roundrobin.pcapng", 100, 30);
    screen(&mut a, "");
    let mouse = |kind, column, row| {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // Wheel over the calls table moves the selection.
    a.handle(&mouse(MouseEventKind::ScrollDown, 20, 15));
    a.handle(&mouse(MouseEventKind::ScrollDown, 20, 15));
    assert_eq!(a.view.calls_sel, 2);
    // Click the third backend row (header 2 lines, border, table header).
    a.handle(&mouse(MouseEventKind::Down(MouseButton::Left), 5, 6));
    assert_eq!(a.view.backend_sel, 2);
    // Clicking it again selects its calls.
    a.handle(&mouse(MouseEventKind::Down(MouseButton::Left), 5, 6));
    assert!(a.view.backend_filter.is_some());
    assert_eq!(a.view.visible.len(), 8);
}

/// The round-robin fixture's updates (decoded through its protos), waiting in a channel as
/// the reader thread leaves them.
fn roundrobin_updates() -> std::sync::mpsc::Receiver<feed::Update> {
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = CaptureReader::open(&fixture("grpc-roundrobin.pcapng")).unwrap();
    let options = FeedOptions {
        descriptors: descriptors(),
        ..FeedOptions::default()
    };
    feed::feed(reader, &options, |u| tx.send(u).is_ok());
    rx
}

#[test]
fn run_loop_over_a_channel_and_a_script() {
    // The same loop as the real terminal, over TestBackend, with updates from a channel
    // (as the reader thread sends them) and keys from a script.
    let mut app =
        App::new(Model::new("rr", Some("x-backend")), 100, 30).with_updates(roundrobin_updates());
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    app.run(&mut term, &mut Script::keys("jj<enter>2q"))
        .unwrap();
    assert!(app.view.quit);
    assert_eq!(app.model.kept_calls(), 24);
    let s = term.backend().to_string();
    assert!(s.contains("Messages") && s.contains("request #0"), "{s}");
    // Decoded through the schema (the feed keeps decoded messages as text; the view makes
    // their tree), not read schema-less.
    assert!(
        s.contains(r#""id": "sku-2""#) && s.contains(r#""color": "blue","#),
        "{s}"
    );
    assert!(!s.contains("schema-less"), "{s}");
}

/// TestBackend counting the frames drawn (ratatui flushes once per draw).
struct CountingBackend {
    inner: TestBackend,
    draws: usize,
}

impl ratatui::backend::Backend for CountingBackend {
    type Error = <TestBackend as ratatui::backend::Backend>::Error;
    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ratatui::backend::ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.draws += 1;
        self.inner.flush()
    }
}

/// Keys that are "pending" from the start, as keys pressed while a capture loads.
struct KeysWaiting(Script);

impl event::EventSource for KeysWaiting {
    fn next(&mut self, timeout: Duration) -> std::io::Result<Option<Event>> {
        self.0.next(timeout)
    }
    fn pending(&mut self) -> bool {
        true
    }
}

#[test]
fn a_key_pressed_while_loading_is_answered_before_the_rest_loads_in_one_draw() {
    let mut app =
        App::new(Model::new("rr", Some("x-backend")), 100, 30).with_updates(roundrobin_updates());
    let backend = CountingBackend {
        inner: TestBackend::new(100, 30),
        draws: 0,
    };
    let mut term = Terminal::new(backend).unwrap();
    app.run(&mut term, &mut KeysWaiting(Script::keys("jq")))
        .unwrap();
    assert!(app.view.quit);
    // The first drain stopped after one update to answer `j`: the drain's changes and the
    // key's are shown by one draw, not two.
    assert_eq!(term.backend().draws, 1);
    assert_eq!(app.view.calls_sel, 1);
}

// ---- hostile captured text ----

/// A header block of literal fields without indexing, new names (RFC 7541 §6.2.2).
fn block(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        assert!(n.len() < 127 && v.len() < 127);
        b.push(0x00);
        b.push(n.len() as u8);
        b.extend_from_slice(n);
        b.push(v.len() as u8);
        b.extend_from_slice(v);
    }
    b
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One gRPC call whose path, header values, status message and message body carry CSI, OSC,
/// C1 and bidi sequences, and bytes that are not UTF-8.
fn hostile_capture() -> Vec<u8> {
    let (hdrs, data, settings) = (1u8, 0u8, 4u8);
    let (end_stream, end_headers) = (1u8, 4u8);
    let mut client = PREFACE.to_vec();
    client.extend(frame(settings, 0, 0, &[]));
    client.extend(frame(
        hdrs,
        end_headers,
        1,
        &block(&[
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", b"/evil.Svc/\x1b[2JWipe"),
            (b":authority", b"x"),
            (b"content-type", b"application/grpc"),
            (b"x-title", b"\x1b]0;pwned\x07"),
            (b"x-c1", "\u{9b}31m".as_bytes()),
            (b"x-bidi", "abc\u{202e}fed".as_bytes()),
            (b"x-bytes", b"\xff\x1b[1m"),
        ]),
    ));
    // Field 1, a string with a bidi override: read schema-less, as a string.
    let text = "\u{202e}gnirts".as_bytes();
    let mut body = vec![0x0a, text.len() as u8];
    body.extend_from_slice(text);
    let mut msg = vec![0u8];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes());
    msg.extend_from_slice(&body);
    client.extend(frame(data, end_stream, 1, &msg));
    let mut server = frame(settings, 0, 0, &[]);
    server.extend(frame(
        hdrs,
        end_headers,
        1,
        &block(&[
            (b":status", b"200"),
            (b"content-type", b"application/grpc"),
            (b"x-backend", b"\x1b[31mred-backend"),
        ]),
    ));
    server.extend(frame(
        hdrs,
        end_headers | end_stream,
        1,
        &block(&[
            (b"grpc-status", b"2"),
            (b"grpc-message", "\u{202e}oops\x1b[0m".as_bytes()),
        ]),
    ));
    let t = 1_700_000_000_000_000_000i64;
    connection(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:50051".parse().unwrap(),
        &[
            Chunk {
                from_client: true,
                ts_nanos: t,
                data: client,
            },
            Chunk {
                from_client: false,
                ts_nanos: t + 1_000_000,
                data: server,
            },
        ],
        1400,
    )
}

/// Characters that must never reach a terminal cell: controls, bidirectional formatting and
/// invisible characters (the list of `src/text.rs`, written out again here).
pub(crate) fn dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060 | 0x2066..=0x2069 | 0xfeff)
}

/// Every screen of `capture` (calls, a call, its messages, a message, backends, help) drawn
/// on a `TestBackend`, as text, after checking that no cell holds a `dangerous` character.
pub(crate) fn every_screen_inert(capture: Vec<u8>, source: &str, label: Option<&str>) -> String {
    let reader = CaptureReader::from_bytes(capture).unwrap();
    let mut a = app_for(reader, source, label, 120, 40);
    assert_eq!(a.model.kept_calls(), 1);
    let mut seen = String::new();
    for keys in ["", "<enter>", "2", "<enter>", "<esc>3", "<esc><esc>?"] {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        for k in event::keys(keys) {
            a.handle(&Event::Key(k));
        }
        a.draw(&mut term).unwrap();
        for cell in term.backend().buffer().content() {
            assert!(
                !cell.symbol().chars().any(dangerous),
                "a dangerous character reached the buffer after {keys:?}: {:?}",
                cell.symbol()
            );
        }
        seen.push_str(&term.backend().to_string());
    }
    seen
}

#[test]
fn escape_sequences_in_captured_text_are_rendered_inert() {
    let seen = every_screen_inert(hostile_capture(), "evil\x1b[31m.pcap", Some("x-backend"));
    for shown in [
        r"evil\x1b[31m.pcap",
        r"/evil.Svc/\x1b[2JWipe",
        r"\x1b]0;pwned\x07",
        r"\u{9b}31m",
        r"abc\u{202e}fed",
        r"\xff\x1b[1m",
        r"\x1b[31mred-backend",
        r"\u{202e}oops\x1b[0m",
        r"\u{202e}gnirts",
    ] {
        assert!(
            seen.contains(shown),
            "{shown} not shown escaped in:\n{seen}"
        );
    }
}

// ---- the real binary in a real terminal ----

pub(crate) fn tmux(sock: &Path, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .arg("-S")
        .arg(sock)
        .args(args)
        .output()
        .expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts a detached tmux session `ui` of `width` x `height` running `script` in `sh`.
pub(crate) fn tmux_session(sock: &Path, width: u16, height: u16, script: &str) {
    let (w, h) = (width.to_string(), height.to_string());
    tmux(
        sock,
        &[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "ui",
            "-x",
            &w,
            "-y",
            &h,
            "sh",
            "-c",
            script,
        ],
    );
}

/// Waits until the pane shows `text`.
pub(crate) fn wait_for(sock: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pane = tmux(sock, &["capture-pane", "-p", "-t", "ui"]);
        if pane.contains(text) {
            return pane;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {text:?}; the pane shows:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A temporary directory with the path of a tmux socket in it; `None`, said on stderr,
/// when tmux is not installed.
pub(crate) fn tmux_dir() -> Option<(tempfile::TempDir, PathBuf)> {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("tmux.sock");
    Some((dir, sock))
}

#[test]
fn real_binary_in_a_pseudo_terminal_opens_navigates_and_quits_cleanly() {
    let Some((dir, sock)) = tmux_dir() else {
        return;
    };
    let done = dir.path().join("done");
    let script = format!(
        "'{bin}' open --backend-header x-backend --proto-path '{protos}' '{capture}'; \
         echo \"exit=$?\" > '{done}.tmp'; stty -a >> '{done}.tmp'; mv '{done}.tmp' '{done}'; \
         sleep 60",
        bin = env!("CARGO_BIN_EXE_h2scope"),
        protos = fixture("protos").display(),
        capture = fixture("grpc-roundrobin.pcapng").display(),
        done = done.display(),
    );
    tmux_session(&sock, 100, 30, &script);
    let first = wait_for(&sock, "Calls 24/24");
    assert!(first.contains("even spread over 3 backends"), "{first}");
    assert_eq!(
        tmux(&sock, &["display", "-p", "-t", "ui", "#{alternate_on}"]).trim(),
        "1"
    );
    for (keys, expect) in [
        (&["j", "j", "Enter"][..], "Timeline"),
        (&["2"][..], "→ request #0"),
        (&["Escape"][..], "Calls 24/24"),
        (&["/", "C", "h", "a", "t", "Enter"][..], "Calls 2/24"),
        (&["?"][..], "h2scope keys"),
        (&["q"][..], "Calls 2/24"),
    ] {
        let mut args = vec!["send-keys", "-t", "ui"];
        args.extend_from_slice(keys);
        tmux(&sock, &args);
        wait_for(&sock, expect);
    }
    tmux(&sock, &["send-keys", "-t", "ui", "q"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done.exists() {
        assert!(Instant::now() < deadline, "h2scope did not exit on q");
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = std::fs::read_to_string(&done).unwrap();
    let alternate = tmux(&sock, &["display", "-p", "-t", "ui", "#{alternate_on}"]);
    let mouse = tmux(&sock, &["display", "-p", "-t", "ui", "#{mouse_any_flag}"]);
    let cursor = tmux(&sock, &["display", "-p", "-t", "ui", "#{cursor_flag}"]);
    let pane = tmux(&sock, &["capture-pane", "-p", "-t", "ui"]);
    tmux(&sock, &["kill-server"]);
    assert!(report.starts_with("exit=0"), "{report}");
    // Raw mode is off again: the line discipline echoes and edits lines.
    assert!(
        report.contains(" icanon") && report.contains(" echo ") && !report.contains("-icanon"),
        "{report}"
    );
    assert_eq!(alternate.trim(), "0", "still in the alternate screen");
    assert_eq!(mouse.trim(), "0", "mouse reporting left on");
    assert_eq!(cursor.trim(), "1", "cursor left hidden");
    assert!(
        !pane.contains("Backends"),
        "the UI is still on screen:\n{pane}"
    );
}

#[test]
fn open_keep_calls_keeps_the_newest_calls_and_says_so() {
    let Some((_dir, sock)) = tmux_dir() else {
        return;
    };
    let script = format!(
        "'{bin}' open --keep-calls 10 '{capture}'; sleep 60",
        bin = env!("CARGO_BIN_EXE_h2scope"),
        capture = fixture("grpc-roundrobin.pcapng").display(),
    );
    tmux_session(&sock, 100, 30, &script);
    // 24 calls in the capture: the newest 10 stay listed, the backends count all 24.
    let pane = wait_for(&sock, "14 evicted, newest 10 kept");
    tmux(&sock, &["send-keys", "-t", "ui", "q"]);
    tmux(&sock, &["kill-server"]);
    assert!(pane.contains("Calls 10/10"), "{pane}");
    let backends: Vec<&str> = pane
        .lines()
        .filter(|l| l.contains("│127.0.0.1:5005"))
        .collect();
    assert_eq!(backends.len(), 3, "{pane}");
    for row in backends {
        let calls = row.split_whitespace().nth(1);
        assert_eq!(calls, Some("8"), "{row}");
    }
}

#[test]
fn open_without_a_terminal_says_so_and_draws_nothing() {
    let out = support::h2scope(&["open", fixture("grpc-roundrobin.pcapng").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("not") && err.contains("h2scope export"),
        "{err}"
    );
}

#[test]
fn calls_merged_batch_by_batch_match_a_full_sort() {
    use h2scope::tui::app::Action;
    use h2scope::tui::feed::Update;
    let reader = CaptureReader::open(&fixture("grpc-roundrobin.pcapng")).unwrap();
    let mut updates = Vec::new();
    feed::feed(reader, &FeedOptions::default(), |u| {
        updates.push(u);
        true
    });
    for sort_presses in 0..7 {
        // One call per update, sorted (and reversed) before any arrives...
        let mut live = App::new(Model::new("x", Some("x-backend")), 100, 30);
        for _ in 0..sort_presses {
            live.action(Action::CycleSort);
        }
        live.action(Action::ReverseSort);
        for u in updates.clone() {
            match u {
                Update::Records(rs) => {
                    for r in rs {
                        live.update(Update::Records(vec![r]));
                    }
                }
                other => live.update(other),
            }
        }
        // ...is the order of sorting once at the end.
        let mut whole = App::new(Model::new("x", Some("x-backend")), 100, 30);
        for u in updates.clone() {
            whole.update(u);
        }
        for _ in 0..sort_presses {
            whole.action(Action::CycleSort);
        }
        whole.action(Action::ReverseSort);
        assert_eq!(
            live.view.visible, whole.view.visible,
            "sort {:?}",
            live.view.sort
        );
        assert_eq!(live.view.visible.len(), 24);
    }
}

// ---- live capture (the model driven as `sniff` drives it; no capture needed) ----

/// The round-robin fixture's updates as a live capture sends them: one call per batch,
/// progress without a total and with the kernel's drop count.
fn live_updates() -> Vec<h2scope::tui::feed::Update> {
    use h2scope::tui::feed::Update;
    let reader = CaptureReader::open(&fixture("grpc-roundrobin.pcapng")).unwrap();
    let options = FeedOptions {
        descriptors: descriptors(),
        ..FeedOptions::default()
    };
    let mut out = Vec::new();
    feed::feed(reader, &options, |u| {
        match u {
            Update::Records(rs) => out.extend(rs.into_iter().map(|r| Update::Records(vec![r]))),
            Update::Progress(mut p) => {
                p.total = None;
                p.done = 0;
                p.kernel_drops = Some(3);
                out.push(Update::Progress(p));
            }
            // A live capture is still running.
            Update::Finished { .. } => {}
        }
        true
    });
    out
}

fn live_app() -> App {
    let mut a = App::new(Model::new("live:lo", Some("x-backend")).live(), 100, 30);
    a.view.following = true;
    a
}

fn calls_in(u: &h2scope::tui::feed::Update) -> usize {
    match u {
        h2scope::tui::feed::Update::Records(rs) => rs
            .iter()
            .filter(|r| matches!(r, feed::Record::Call(_)))
            .count(),
        _ => 0,
    }
}

#[test]
fn live_header_shows_capture_counters_and_following_keeps_the_newest_call() {
    let updates = live_updates();
    let mut a = live_app();
    let mut seen = 0;
    for u in updates.iter().cloned() {
        seen += calls_in(&u);
        a.update(u);
        if seen > 0 {
            // The newest call (the last to arrive) is selected after every batch.
            assert_eq!(a.view.selected(), Some(seen - 1));
        }
    }
    assert_eq!(seen, 24);
    let s = screen(&mut a, "");
    assert!(s.contains("● capturing"), "{s}");
    assert!(
        s.contains("packets captured") && s.contains("3 dropped by the kernel"),
        "{s}"
    );
    assert!(s.contains("following"), "{s}");
    insta::assert_snapshot!("live_following", s);
    // Moving up stops following: new calls no longer move the selection. The newest call
    // (by arrival) need not be the last row in time order: calls arrive as they are reported.
    let row = a.view.visible.iter().position(|&i| i == 23).unwrap();
    assert!(row >= 2, "{row}");
    let two_up = a.view.visible[row - 2];
    let s = screen(&mut a, "kk");
    assert!(!a.view.following && !s.contains("following"), "{s}");
    assert_eq!(a.view.selected(), Some(two_up));
    // `f` follows again, at once.
    screen(&mut a, "f");
    assert!(a.view.following);
    assert_eq!(a.view.selected(), Some(23));
}

#[test]
fn live_pause_freezes_calls_and_backends_until_resumed() {
    let updates = live_updates();
    let half = updates.len() / 2;
    let mut a = live_app();
    for u in updates[..half].iter().cloned() {
        a.update(u);
    }
    let before = a.model.kept_calls();
    let backends_before = a.model.backends.clone();
    assert!(before > 0 && before < 24);
    screen(&mut a, "p");
    let mut waiting = 0;
    for u in updates[half..].iter().cloned() {
        if let h2scope::tui::feed::Update::Records(r) = &u {
            waiting += r.len();
        }
        a.update(u);
    }
    // Nothing new reached the calls or the backends; the capture counters moved on.
    assert_eq!(a.model.kept_calls(), before);
    assert_eq!(a.model.backends, backends_before);
    assert_eq!(a.view.pending, waiting);
    let s = screen(&mut a, "");
    assert!(
        s.contains(&format!("PAUSED · {waiting} updates pending")),
        "{s}"
    );
    insta::assert_snapshot!("live_paused", s);
    // Resume: everything that waited is applied, in order, and following picks the newest.
    let s = screen(&mut a, "p");
    assert_eq!(a.model.kept_calls(), 24);
    assert_eq!(a.view.pending, 0);
    assert!(!s.contains("PAUSED"), "{s}");
    assert_eq!(a.view.selected(), Some(23));
}

#[test]
fn keep_calls_evicts_the_oldest_but_the_backends_count_them_all() {
    use h2scope::tui::feed::{Record, Update};
    const ROUNDS: u64 = 40;
    const KEEP: usize = 50;
    let updates = live_updates();
    let mut a = App::new(
        Model::new("live:lo", Some("x-backend"))
            .live()
            .with_keep_calls(Some(KEEP)),
        100,
        30,
    );
    a.view.following = true;
    // The fixture again and again, each round on new connections (as hours of traffic).
    for round in 0..ROUNDS {
        for u in updates.iter().cloned() {
            let u = match u {
                Update::Records(rs) => Update::Records(
                    rs.into_iter()
                        .map(|r| match r {
                            Record::Call(mut c) => {
                                c.conn += round * 1000;
                                Record::Call(c)
                            }
                            Record::Connection(mut c) => {
                                c.info.id += round * 1000;
                                Record::Connection(c)
                            }
                        })
                        .collect(),
                ),
                other => other,
            };
            a.update(u);
            // Memory stays bounded: never more calls kept than the window, nor ended
            // connections beyond those of kept calls and the window.
            assert!(a.model.kept_calls() <= KEEP);
            assert!(a.model.connections.len() <= KEEP + 3);
            assert!(a.view.visible.len() <= KEEP);
            assert!(a.model.by_conn.values().map(Vec::len).sum::<usize>() <= KEEP);
        }
    }
    let total = 24 * ROUNDS as usize;
    assert_eq!(a.model.total_calls(), total);
    assert_eq!(a.model.kept_calls(), KEEP);
    assert_eq!(a.model.evicted, total - KEEP);
    // The backends still count every call, error and connection.
    assert_eq!(a.model.total_backend_calls(), total as u64);
    for b in &a.model.backends {
        assert_eq!(b.calls, 8 * ROUNDS, "{}", b.server);
        assert_eq!(b.errors, 2 * ROUNDS, "{}", b.server);
        assert_eq!(b.connections(), ROUNDS, "{}", b.server);
        assert!(b.p50.is_some() && b.p99.is_some());
    }
    assert_eq!(a.model.total_connections(), 3 * ROUNDS);
    // The newest call is the one selected, and the list holds only kept calls.
    assert_eq!(a.view.selected(), Some(total - 1));
    assert!(a.view.visible.iter().all(|&i| a.model.call(i).is_some()));
    let s = screen(&mut a, "");
    assert!(s.contains("910 evicted, newest 50 kept"), "{s}");
    assert!(
        s.contains("960 streams") && s.contains("120 connections"),
        "{s}"
    );
    insta::assert_snapshot!("live_evicted", s);
}

#[test]
fn an_open_call_that_leaves_the_window_closes_its_screen() {
    let updates = live_updates();
    let mut a = App::new(Model::new("x", None).with_keep_calls(Some(3)), 100, 30);
    let mut it = updates.into_iter();
    for u in it.by_ref() {
        a.update(u);
        if a.model.kept_calls() == 3 {
            break;
        }
    }
    screen(&mut a, "g<enter>");
    assert_eq!(a.view.screen, h2scope::tui::app::Screen::Call);
    for u in it {
        a.update(u);
    }
    assert_eq!(a.view.screen, h2scope::tui::app::Screen::Main);
    assert_eq!(a.view.open, None);
    screen(&mut a, "");
}

#[test]
fn a_long_pause_holds_at_most_the_window() {
    let updates = live_updates();
    let mut a = App::new(
        Model::new("x", None).live().with_keep_calls(Some(4)),
        100,
        30,
    );
    screen(&mut a, "p");
    for u in updates {
        a.update(u);
        assert!(a.view.pending <= 4, "{}", a.view.pending);
    }
    // What did not fit reached the model (which keeps its window).
    assert!(a.model.total_calls() >= 20);
    assert!(a.model.kept_calls() <= 4);
    screen(&mut a, "p");
    assert_eq!(a.model.total_calls(), 24);
}
