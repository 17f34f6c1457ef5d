//! TCP connections in `h2scope export` agree with tshark's `-z conv,tcp` on every capture:
//! the same conversations, and per direction the same frame and byte counts.

use crate::support::{self, tshark};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One of our connections, as the export reports it.
struct Ours {
    client: SocketAddr,
    server: SocketAddr,
    start: f64,
    packets: [u64; 2],
    wire: [u64; 2],
}

fn ours(doc: &Value) -> Vec<Ours> {
    doc["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            let t = &c["tcp"];
            let n = |v: &Value| v.as_u64().expect("count");
            Ours {
                client: c["client"].as_str().unwrap().parse().unwrap(),
                server: c["server"].as_str().unwrap().parse().unwrap(),
                start: c["start"].as_f64().unwrap(),
                packets: [n(&t["packets_client"]), n(&t["packets_server"])],
                wire: [n(&t["wire_bytes_client"]), n(&t["wire_bytes_server"])],
            }
        })
        .collect()
}

/// Compares one capture's export with tshark's conversation table (the text of
/// `tshark -q -z conv,tcp`); returns the disagreements.
pub fn compare(file: &Path, stats_text: &str) -> Vec<String> {
    let mut rows = tshark::conv_tcp(stats_text);
    let doc = support::export(file);
    let mut ours = ours(&doc);
    let mut problems = Vec::new();
    if rows.len() != ours.len() {
        problems.push(format!(
            "{} connections, tshark has {}",
            ours.len(),
            rows.len()
        ));
    }
    // Pair conversations on the same 4-tuple (port reuse) in order of start.
    rows.sort_by(|x, y| x.rel_start.total_cmp(&y.rel_start));
    ours.sort_by(|x, y| x.start.total_cmp(&y.start));
    let mut used = vec![false; ours.len()];
    for row in &rows {
        let found = ours.iter().enumerate().find(|(i, o)| {
            !used[*i]
                && ((o.client == row.a && o.server == row.b)
                    || (o.client == row.b && o.server == row.a))
        });
        let Some((i, o)) = found else {
            problems.push(format!("no connection {} <-> {}", row.a, row.b));
            continue;
        };
        used[i] = true;
        // tshark's "->" column counts frames from A to B.
        let (a_to_b, b_to_a) = if o.client == row.a { (0, 1) } else { (1, 0) };
        let ok = o.packets[a_to_b] == row.frames_a_to_b
            && o.packets[b_to_a] == row.frames_b_to_a
            && row.bytes_a_to_b.matches(o.wire[a_to_b])
            && row.bytes_b_to_a.matches(o.wire[b_to_a]);
        if !ok {
            problems.push(format!(
                "{} <-> {}: ours A->B {} frames {} bytes, B->A {} frames {} bytes; \
                 tshark A->B {} frames {:?}, B->A {} frames {:?}",
                row.a,
                row.b,
                o.packets[a_to_b],
                o.wire[a_to_b],
                o.packets[b_to_a],
                o.wire[b_to_a],
                row.frames_a_to_b,
                row.bytes_a_to_b,
                row.frames_b_to_a,
                row.bytes_b_to_a
            ));
        }
    }
    problems
}

fn check_all(pairs: Vec<(PathBuf, PathBuf)>) {
    assert!(!pairs.is_empty(), "no captures found");
    let mut failures = Vec::new();
    for (file, stats) in &pairs {
        let text = std::fs::read_to_string(stats)
            .unwrap_or_else(|e| panic!("reference {}: {e}", stats.display()));
        for p in compare(file, &text) {
            failures.push(format!("{}: {p}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements with tshark over {} captures:\n{}",
        failures.len(),
        pairs.len(),
        failures.join("\n")
    );
}

#[test]
fn external_captures_match_tshark_conversations() {
    let Some(dir) = support::external_captures() else {
        return;
    };
    let pairs = support::capture_files(&dir)
        .into_iter()
        .map(|f| {
            let stats = tshark::external_reference(&dir, &f, "stats.txt");
            (f, stats)
        })
        .collect();
    check_all(pairs);
}

#[test]
fn fixtures_match_tshark_conversations() {
    let dir = support::root().join("fixtures");
    let pairs = support::capture_files(&dir)
        .into_iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let stats = dir.join("tshark").join(format!("{name}.stats.txt"));
            (f, stats)
        })
        .collect();
    check_all(pairs);
}

/// With tshark installed, its live output on every fixture agrees with ours too (this also
/// catches checked-in references that went stale when a fixture was regenerated).
#[test]
fn fixtures_match_live_tshark() {
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: tshark not installed (bash .ci/run installs it)");
        return;
    }
    let dir = support::root().join("fixtures");
    let mut failures = Vec::new();
    for file in support::capture_files(&dir) {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&file)
            .args(["-q", "-z", "conv,tcp"])
            .output()
            .expect("run tshark");
        assert!(out.status.success(), "tshark failed on {}", file.display());
        let text = String::from_utf8_lossy(&out.stdout);
        for p in compare(&file, &text) {
            failures.push(format!("{}: {p}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
