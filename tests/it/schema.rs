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
