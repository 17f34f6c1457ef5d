//! `docs/json.md` and the real output say the same: every documented object has exactly
//! the documented fields, and every object in the output is documented.

use crate::support;
use serde_json::Value;
use std::collections::BTreeSet;

/// Field names per documented object path, from docs/json.md: a section is a heading
/// ``## `path` `` followed by a table whose first column names the fields.
fn documented() -> Vec<(String, BTreeSet<String>)> {
    let text = std::fs::read_to_string(support::root().join("docs/json.md")).unwrap();
    let mut sections: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.starts_with('`') && h.ends_with('`');
            if inside {
                sections.push((h.trim_matches('`').to_string(), BTreeSet::new()));
            }
            continue;
        }
        let (true, Some(row)) = (inside, line.strip_prefix('|')) else {
            continue;
        };
        let cell = row.split('|').next().unwrap_or("");
        if cell.contains("---") || cell.trim() == "field" {
            continue;
        }
        let names = cell
            .split(',')
            .filter_map(|n| n.trim().strip_prefix('`')?.strip_suffix('`'))
            .map(str::to_string);
        sections.last_mut().unwrap().1.extend(names);
    }
    sections
}

/// Every value at `path` (`a.b[].c`), `[]` meaning each element of an array.
fn at<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut values = vec![doc];
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, each) = match part.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (part, false),
        };
        values = values
            .into_iter()
            .flat_map(|v| {
                let v = &v[name];
                if each {
                    v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
                } else {
                    vec![v]
                }
            })
            .filter(|v| !v.is_null())
            .collect();
    }
    values
}

fn check(doc: &Value, sections: &[(String, BTreeSet<String>)], must_exist: &[&str]) {
    for (path, fields) in sections {
        let objects = at(doc, path);
        if objects.is_empty() {
            assert!(
                !must_exist.contains(&path.as_str()),
                "no `{path}` in the output to check"
            );
            continue;
        }
        for obj in objects {
            let actual: BTreeSet<String> = obj
                .as_object()
                .unwrap_or_else(|| panic!("`{path}` is not an object"))
                .keys()
                .cloned()
                .collect();
            assert_eq!(
                &actual, fields,
                "docs/json.md and the output differ for `{path}`"
            );
        }
    }
}

#[test]
fn docs_json_md_matches_the_output() {
    let mut sections = documented();
    assert!(sections.len() >= 19, "sections found: {sections:?}");
    // "`response_messages[]` has the same fields" as request_messages[].
    for (from, to) in [
        (
            "streams[].grpc.request_messages[]",
            "streams[].grpc.response_messages[]",
        ),
        (
            "streams[].grpc.request_messages[].raw",
            "streams[].grpc.response_messages[].raw",
        ),
    ] {
        let fields = sections
            .iter()
            .find(|(p, _)| p == from)
            .expect(from)
            .1
            .clone();
        sections.push((to.to_string(), fields));
    }
    // "connections[].frames[] has the same fields" as streams[].frames[].
    let frames = sections
        .iter()
        .find(|(p, _)| p == "streams[].frames[]")
        .expect("streams[].frames[] documented")
        .1
        .clone();
    sections.push(("connections[].frames[]".to_string(), frames));
    // "connections[].anomalies[] has the same fields" as streams[].anomalies[].
    let anomaly = sections
        .iter()
        .find(|(p, _)| p == "streams[].anomalies[]")
        .expect("streams[].anomalies[] documented")
        .1
        .clone();
    sections.push(("connections[].anomalies[]".to_string(), anomaly));

    let capture = support::root().join("fixtures/h2c-nghttp-lo.pcap");
    let doc = support::export_with(&capture, &["--frames"]);
    check(
        &doc,
        &sections,
        &[
            "",
            "capture",
            "connections[]",
            "streams[]",
            "backends[]",
            "streams[].frames[]",
        ],
    );

    // The gRPC objects, on the gRPC fixture decoded through its protos.
    let grpc = support::root().join("fixtures/grpc-roundrobin.pcapng");
    let protos = support::root().join("fixtures/protos");
    let doc = support::export_with(
        &grpc,
        &["--frames", "--proto-path", protos.to_str().unwrap()],
    );
    check(
        &doc,
        &sections,
        &[
            "streams[].grpc",
            "streams[].grpc.request_messages[]",
            "backends[].latency_ms",
        ],
    );
    let raw = support::export_with(&grpc, &["--frames"]);
    check(&raw, &sections, &["streams[].grpc.request_messages[].raw"]);

    // Anomaly objects, on the gRPC fixture with one packet in ten dropped (gaps, lost DATA,
    // resynchronisations): no clean fixture has any.
    let damaged = support::damage::Capture::read(&grpc).damage(support::damage::Damage {
        drop: 0.1,
        duplicate: 0.0,
        reorder: 0.0,
        truncate: 0.0,
        // A seed whose losses fall inside DATA frames too, for stream anomalies.
        seed: 8,
    });
    let dir = tempfile::tempdir().unwrap();
    let lossy = dir.path().join("lossy.pcap");
    std::fs::write(&lossy, damaged.capture.write()).unwrap();
    let doc = support::export_with(&lossy, &["--frames"]);
    check(
        &doc,
        &sections,
        &["connections[].anomalies[]", "streams[].anomalies[]"],
    );

    // Without --frames, the same objects lack only `frames`.
    let plain = support::export(&capture);
    assert!(at(&plain, "streams[].frames").is_empty());
    assert!(at(&plain, "connections[].frames").is_empty());
}

#[test]
fn ndjson_records_are_the_documented_objects() {
    let capture = support::root().join("fixtures/h2c-nghttp-lo.pcap");
    let out = support::h2scope(&["export", capture.to_str().unwrap(), "--ndjson"]);
    assert!(out.status.success());
    let sections = documented();
    // Without --frames, records have every documented field but `frames`.
    let fields = |p: &str| {
        let mut f = sections.iter().find(|(q, _)| q == p).unwrap().1.clone();
        f.remove("frames");
        f
    };
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kinds = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON object per line");
        let kind = v["type"].as_str().expect("type").to_string();
        let path = match kind.as_str() {
            "stream" => "streams[]",
            "connection" => "connections[]",
            "backend" => "backends[]",
            "capture" => "capture",
            k => panic!("unknown record type {k}"),
        };
        let keys: BTreeSet<String> = v
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "type")
            .cloned()
            .collect();
        assert_eq!(keys, fields(path), "{kind} record");
        kinds.push(kind);
    }
    assert_eq!(kinds.last().map(String::as_str), Some("capture"));
    assert!(kinds.iter().any(|k| k == "stream"));
    // The same streams as the document.
    let doc = support::export(&capture);
    let streams = kinds.iter().filter(|k| *k == "stream").count();
    assert_eq!(streams, doc["streams"].as_array().unwrap().len());
}

/// The rows of the table under the heading `## {heading}`: each row's cells, trimmed.
fn table_under(heading: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(support::root().join("docs/json.md")).unwrap();
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h == heading;
            continue;
        }
        if let (true, Some(row)) = (inside, line.strip_prefix('|')) {
            let cells: Vec<String> = row.split('|').map(|c| c.trim().to_string()).collect();
            if !cells[0].contains("---") && cells[0] != "kind" {
                rows.push(cells);
            }
        }
    }
    rows
}

#[test]
fn anomaly_kinds_are_the_documented_ones() {
    use h2scope::anomaly::AnomalyKind;
    let documented: Vec<(String, String)> = table_under("Anomaly kinds")
        .into_iter()
        .map(|r| (r[0].trim_matches('`').to_string(), r[1].clone()))
        .collect();
    let actual: Vec<(String, String)> = AnomalyKind::ALL
        .iter()
        .map(|k| (k.code().to_string(), k.severity().as_str().to_string()))
        .collect();
    assert_eq!(
        documented, actual,
        "docs/json.md's Anomaly kinds and src/anomaly.rs differ"
    );
}

#[test]
fn capture_anomaly_kinds_are_the_documented_ones() {
    use h2scope::engine::CaptureAnomalyKind;
    let text = std::fs::read_to_string(support::root().join("docs/json.md")).unwrap();
    // The paragraph that starts "Kinds:" in the `capture.anomalies[]` section names each
    // kind in backticks, first thing in its clause.
    let section = text
        .split("## `capture.anomalies[]`")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap();
    let para = section.split("Kinds:").nth(1).unwrap();
    let documented: Vec<&str> = para
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let actual: Vec<&str> = CaptureAnomalyKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(documented, actual);
}
