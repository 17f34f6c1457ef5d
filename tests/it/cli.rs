//! The command line on bad and unusual inputs: one clear line on stderr, a non-zero exit,
//! nothing on stdout when nothing could be read; stdin, gzip and cut-short files read as
//! the same capture.

use crate::support;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fixture(name: &str) -> PathBuf {
    support::root().join("fixtures").join(name)
}

/// Runs `h2scope export` on `path` and returns (exit code, stdout, stderr).
fn export_raw(path: &str) -> (i32, String, String) {
    let out = support::h2scope(&["export", path]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_error(path: &str, expect: &str) {
    let (code, stdout, stderr) = export_raw(path);
    assert_eq!(code, 2, "exit code for {path}: stderr {stderr}");
    assert!(stdout.is_empty(), "nothing on stdout for {path}: {stdout}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(expect),
        "{path}: expected {expect:?} in {stderr:?}"
    );
}

#[test]
fn missing_file_is_one_clear_line() {
    assert_one_line_error("/nonexistent/capture.pcap", "/nonexistent/capture.pcap");
}

#[test]
fn directory_empty_and_random_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    assert_one_line_error(&d, "director");

    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    assert_one_line_error(empty.to_str().unwrap(), "empty");

    let random = dir.path().join("random.pcap");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&random, bytes).unwrap();
    assert_one_line_error(random.to_str().unwrap(), "not a pcap or pcapng capture");
}

fn connections(doc: &Value) -> &Value {
    &doc["connections"]
}

#[test]
fn stdin_reads_like_the_file() {
    let path = fixture("h2c-nghttp-lo.pcap");
    let by_path = support::export(&path);
    let mut child = Command::new(env!("CARGO_BIN_EXE_h2scope"))
        .args(["export", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(&path).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let by_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(connections(&by_stdin), connections(&by_path));
    assert_eq!(by_stdin["capture"]["source"], "-");
}

/// `h2scope export x | head -c 1000`: the closed pipe ends the run quietly and soon, on one
/// thread and on two (where the output travels between threads before it is written).
#[test]
fn a_closed_output_ends_the_export_quietly() {
    use std::io::Read;
    let path = fixture("grpc-roundrobin.pcapng");
    for threads in ["-j1", "-j2"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_h2scope"))
            .args(["export", threads, "--frames", path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut head = [0u8; 1000];
        stdout.read_exact(&mut head).unwrap();
        drop(stdout);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{threads}: still running a minute after its output closed");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{threads}: {status:?}, stderr: {stderr}");
        assert_eq!(stderr, "", "{threads}");
        assert!(head.starts_with(b"{\"streams\":["), "{threads}");
    }
}

#[test]
fn gzipped_capture_reads_like_the_plain_one() {
    let path = fixture("h2c-nghttp-lo.pcap");
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("capture.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&path).unwrap()).unwrap();
    enc.finish().unwrap();
    let plain = support::export(&path);
    let zipped = support::export(&gz);
    assert_eq!(zipped["capture"]["gzipped"], true);
    assert_eq!(plain["capture"]["gzipped"], false);
    assert_eq!(connections(&zipped), connections(&plain));
}

#[test]
fn capture_cut_short_keeps_what_came_before() {
    let path = fixture("h2c-nghttp-lo.pcap");
    let data = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    // Cut inside the last record (a capture interrupted while writing).
    std::fs::write(&cut, &data[..data.len() - 7]).unwrap();
    let full = support::export(&path);
    let doc = support::export(&cut);
    let kinds: Vec<&str> = doc["capture"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"truncated_record"), "anomalies: {kinds:?}");
    assert_eq!(
        doc["capture"]["packets"].as_u64().unwrap() + 1,
        full["capture"]["packets"].as_u64().unwrap()
    );
    assert_eq!(
        connections(&doc).as_array().unwrap().len(),
        connections(&full).as_array().unwrap().len()
    );
}

/// `-f` keeps only the packets the filter matches and counts the others.
#[test]
fn a_capture_filter_keeps_one_backend() {
    let path = fixture("grpc-roundrobin.pcapng");
    let doc = support::export_with(&path, &["-f", "tcp port 50052"]);
    let servers: Vec<&str> = doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["127.0.0.1:50052"]);
    assert_eq!(doc["streams"].as_array().unwrap().len(), 8);
    assert!(doc["capture"]["filtered_out"].as_u64().unwrap() > 0);
    let none = support::export_with(&path, &["-f", "not tcp"]);
    assert!(none["connections"].as_array().unwrap().is_empty());
}

#[test]
fn unsupported_filter_syntax_is_one_clear_error() {
    let path = fixture("grpc-roundrobin.pcapng");
    let out = support::h2scope(&[
        "export",
        path.to_str().unwrap(),
        "-f",
        "ether host 00:11:22:33:44:55",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("ether") && err.contains("column"), "{err}");
}

/// The README's "Limits" table stays true to the binary: every flag it names is one that
/// `export`, `open` and `sniff` take, and every `--max-*` flag of `export` is in the table.
#[test]
fn the_readme_limits_table_matches_the_flags() {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Limits\n")
        .nth(1)
        .expect("a Limits section in the README");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| bound"))
        .collect();
    assert!(rows.len() >= 10, "{} rows", rows.len());
    let mut documented = Vec::new();
    for row in &rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 4, "bound | default | flag | when hit: {row}");
        assert!(!cells[1].is_empty() && !cells[3].is_empty(), "{row}");
        match cells[2] {
            "none" => {}
            flag => {
                let flag = flag.trim_matches('`');
                assert!(flag.starts_with("--max-"), "{row}");
                documented.push(flag.to_string());
            }
        }
    }
    for command in ["export", "open", "sniff"] {
        let out = support::h2scope(&[command, "--help"]);
        assert!(out.status.success(), "{command} --help");
        let help = String::from_utf8(out.stdout).unwrap();
        for flag in &documented {
            assert!(
                help.contains(&format!("{flag} <")),
                "{command} --help lacks {flag}"
            );
        }
        if command == "export" {
            for word in help.split_whitespace() {
                if word.starts_with("--max-") {
                    assert!(
                        documented.iter().any(|f| f == word),
                        "{word} is not in the README's Limits table"
                    );
                }
            }
        }
    }
}

/// `-j1` and `-j2` are the same export byte for byte: the second thread only moves the
/// streams-to-JSON work, in the same order (`export/threaded.rs`).
#[test]
fn one_thread_and_two_threads_write_the_same_bytes() {
    let protos = support::root().join("fixtures/protos");
    let protos = protos.to_str().unwrap();
    for name in [
        "grpc-roundrobin.pcapng",
        "grpc-one-backend.pcapng",
        "h2c-nghttp-lo.pcap",
        "h2c-mid-connection.pcap",
        "curl-h2c-upgrade.pcap",
    ] {
        let path = fixture(name);
        let path = path.to_str().unwrap();
        for mode in [
            &[][..],
            &["--no-messages"],
            &["--frames"],
            &["--ndjson"],
            &["--pretty"],
            &["--proto-path", protos],
            &["--ndjson", "--proto-path", protos],
        ] {
            let run = |j: &str| {
                let mut args = vec!["export", j];
                args.extend_from_slice(mode);
                args.push(path);
                let out = support::h2scope(&args);
                assert!(out.status.success(), "{name} {mode:?} {j}");
                out.stdout
            };
            let one = run("-j1");
            assert!(!one.is_empty());
            assert!(one == run("-j2"), "{name} {mode:?}: -j1 and -j2 differ");
        }
    }
}

/// serde_json's pretty layout of compact JSON text: a newline and two spaces per level after
/// `[`, `{` and `,`, `": "` after keys, and `[]` / `{}` when empty. Only the layout changes:
/// string contents and numbers are copied as they are.
fn pretty_layout(compact: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compact.len() * 2);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    let mut bytes = compact.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'[' | b'{' => {
                out.push(b);
                if matches!(bytes.peek(), Some(b']' | b'}')) {
                    out.extend(bytes.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
    out
}

/// The compact document (records written by `export/compact.rs` as streams complete) is
/// the document serde_json writes with `--pretty`, but for layout: the same strings,
/// escapes and numbers, on every fixture and external capture.
#[test]
fn the_compact_writer_writes_what_serde_json_writes() {
    let protos = support::root().join("fixtures/protos");
    let protos = protos.to_str().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(support::root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "gz")
        })
        .collect();
    if let Some(dir) = support::external_captures() {
        files.extend(support::capture_files(&dir));
    }
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for path in &files {
        let path = path.to_str().unwrap();
        for mode in [&["--frames"][..], &["--proto-path", protos]] {
            let run = |extra: &[&str]| {
                let mut args = vec!["export", "-j1"];
                args.extend_from_slice(mode);
                args.extend_from_slice(extra);
                args.push(path);
                let out = support::h2scope(&args);
                // Damaged captures exit 1 with everything read before the damage.
                assert!(out.status.code().is_some_and(|c| c <= 1), "{path} {mode:?}");
                out.stdout
            };
            let (compact, pretty) = (run(&[]), run(&["--pretty"]));
            if compact.is_empty() {
                continue;
            }
            assert!(
                pretty_layout(&compact) == pretty,
                "{path} {mode:?}: the compact and pretty documents differ beyond layout"
            );
        }
    }
}

/// `open --help` and `sniff --help` list every key of the one key table, as the help screen
/// does (the screen is checked by the `tui::help` snapshot).
#[test]
fn open_and_sniff_help_list_every_key() {
    for cmd in ["open", "sniff"] {
        let out = support::h2scope(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        let text = String::from_utf8(out.stdout).unwrap();
        for table in [h2scope::tui::keys::KEYS, h2scope::tui::keys::FILTER_KEYS] {
            for b in table {
                let line = format!("  {:<19}{}", b.keys, b.what);
                assert!(text.contains(&line), "{cmd} --help lacks {line:?}:\n{text}");
            }
        }
    }
}

/// The README's layout and the crate doc's module list name every module in `src/`, and
/// nothing that is not there.
#[test]
fn the_module_maps_match_src() {
    let root = support::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let layout = readme
        .split("## Layout")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("a Layout section with a text block");
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
        let shown = if name.ends_with(".rs") {
            format!("src/{name}")
        } else {
            format!("src/{name}/")
        };
        assert!(layout.contains(&shown), "README's layout lacks {shown}");
        if !["lib", "main", "cli"].contains(&module.as_str()) {
            assert!(
                lib.contains(&format!("pub mod {module};")),
                "src/{name} is no module of the crate"
            );
            assert!(
                lib.contains(&format!("//! - [`{module}`]")),
                "the crate doc's module list lacks {module}"
            );
        }
        modules.push(module);
    }
    for line in layout.lines() {
        if let Some(path) = line.strip_prefix("src/") {
            let name = path.split([' ', '/', '.']).next().unwrap();
            assert!(
                modules.iter().any(|m| m == name),
                "README names src/{name}, not in src/"
            );
        }
    }
}
