//! gRPC calls in the export agree with what the real peers did: every call of the grpcio
//! fixtures, as their generator recorded it (`fixtures/*.expected.json`), with the method,
//! backend, status, metadata, and every request and response message decoded through the
//! fixture's .proto files.

use crate::support;
use serde_json::Value;
use std::collections::BTreeMap;

/// The stream whose request carries `x-request-id: id`.
fn stream_by_request_id<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc["streams"].as_array()?.iter().find(|s| {
        s["request_headers"]
            .as_array()
            .is_some_and(|h| h.iter().any(|f| f[0] == "x-request-id" && f[1] == id))
    })
}

fn contains_all(list: &Value, expected: &Value, what: &str, call: &str) {
    let list = list.as_array().cloned().unwrap_or_default();
    for pair in expected.as_array().unwrap() {
        assert!(
            list.iter().any(|f| f[0] == pair[0] && f[1] == pair[1]),
            "{call}: {what} lacks {pair}; has {list:?}"
        );
    }
}

fn messages(v: &Value) -> Vec<Value> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["json"].clone())
        .collect()
}

fn check(capture: &str) {
    let root = support::root().join("fixtures");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(format!("{capture}.expected.json"))).unwrap(),
    )
    .unwrap();
    let file = root.join(format!("{capture}.pcapng"));
    let protos = root.join("protos");
    let doc = support::export_with(
        &file,
        &[
            "--proto-path",
            protos.to_str().unwrap(),
            "--backend-header",
            "x-backend",
        ],
    );
    let calls = expected["calls"].as_array().unwrap();
    let mut per_backend: BTreeMap<String, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for call in calls {
        let id = call["request_metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == "x-request-id")
            .map(|p| p[1].as_str().unwrap().to_string())
            .expect("every generated call has an x-request-id");
        let s = stream_by_request_id(&doc, &id).unwrap_or_else(|| panic!("{id}: no stream"));
        let g = &s["grpc"];
        assert!(!g.is_null(), "{id}: not recognised as gRPC");
        assert_eq!(s["path"], call["method"], "{id}");
        let port = s["server"].as_str().unwrap().rsplit(':').next().unwrap();
        assert_eq!(port, call["backend_port"].to_string(), "{id}: backend");
        assert_eq!(g["status_name"], call["status"]["code"], "{id}: status");
        assert_eq!(
            g["status"], call["status"]["code_number"],
            "{id}: status code"
        );
        let msg = call["status"]["message"].as_str().unwrap();
        // For deadlines and cancellations grpcio reports its own local wording ("Stream
        // removed (Deadline Exceeded)"); the wire carries the server's text.
        let local = matches!(
            call["status"]["code"].as_str(),
            Some("DEADLINE_EXCEEDED" | "CANCELLED")
        );
        if !msg.is_empty() && !local {
            assert_eq!(g["message"], msg, "{id}: grpc-message, percent-decoded");
        }
        assert_eq!(
            messages(&g["request_messages"]),
            call["requests"].as_array().unwrap().clone(),
            "{id}: requests"
        );
        // A call cancelled or timed out may have had responses in flight that the client
        // never read; every response the client did read must be there, in order.
        let got = messages(&g["response_messages"]);
        let want = call["responses"].as_array().unwrap();
        assert!(
            got.len() >= want.len() && got[..want.len()] == want[..],
            "{id}: responses\n got {got:?}\nwant {want:?}"
        );
        for m in g["request_messages"]
            .as_array()
            .unwrap()
            .iter()
            .chain(g["response_messages"].as_array().unwrap())
        {
            assert!(m["error"].is_null(), "{id}: message error {}", m["error"]);
        }
        if call["request_compression"] == "gzip" {
            assert_eq!(g["encoding"], "gzip", "{id}");
            assert!(
                g["request_messages"][0]["compressed"] == true,
                "{id}: compressed flag"
            );
        }
        contains_all(
            &s["request_headers"],
            &call["request_metadata"],
            "request metadata",
            &id,
        );
        contains_all(
            &s["response_headers"],
            &call["initial_metadata"],
            "initial metadata",
            &id,
        );
        let trailers = if s["trailers"].is_null() {
            &s["response_headers"]
        } else {
            &s["trailers"]
        };
        contains_all(
            trailers,
            &call["trailing_metadata"],
            "trailing metadata",
            &id,
        );

        let b = per_backend
            .entry(s["server"].as_str().unwrap().to_string())
            .or_default();
        b.0 += 1;
        *b.1.entry(call["status"]["code"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    // Nothing else was decoded as gRPC, and the backends count exactly these calls.
    let grpc_streams = doc["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["grpc"].is_null())
        .count();
    assert_eq!(grpc_streams, calls.len());
    for b in doc["backends"].as_array().unwrap() {
        let (n, statuses) = &per_backend[b["server"].as_str().unwrap()];
        assert_eq!(b["grpc_calls"], *n);
        let got: BTreeMap<String, u64> = serde_json::from_value(b["grpc_status"].clone()).unwrap();
        assert_eq!(&got, statuses, "{}", b["server"]);
        assert!(
            b["latency_ms"]["p50"].as_f64().unwrap() <= b["latency_ms"]["max"].as_f64().unwrap()
        );
        assert!(b["label"].as_str().unwrap().starts_with("backend-"));
    }
}

#[test]
fn round_robin_calls_match_what_grpcio_sent() {
    check("grpc-roundrobin");
}

#[test]
fn one_backend_calls_match_what_grpcio_sent() {
    check("grpc-one-backend");
}

/// Without schemas every message is still there, schema-less with its raw bytes.
#[test]
fn without_protos_every_message_is_kept_schema_less() {
    let file = support::root().join("fixtures/grpc-roundrobin.pcapng");
    let doc = support::export(&file);
    let mut n = 0;
    for s in doc["streams"].as_array().unwrap() {
        for m in s["grpc"]["request_messages"]
            .as_array()
            .unwrap()
            .iter()
            .chain(s["grpc"]["response_messages"].as_array().unwrap())
        {
            n += 1;
            assert!(m["json"].is_null());
            assert!(m["raw"]["base64"].is_string(), "{m}");
        }
    }
    assert!(n > 24);
    let quiet = support::export_with(&file, &["--no-messages"]);
    for s in quiet["streams"].as_array().unwrap() {
        for m in s["grpc"]["response_messages"].as_array().unwrap() {
            assert!(m["raw"].is_null() && m["json"].is_null());
            assert!(m["size"].as_u64().is_some());
            // Bodies left out on request are not reported as bodies lost to the cap.
            assert!(m["error"].is_null(), "{m}");
        }
    }
}

/// A bad .proto stops the run with one line naming the file and line.
#[test]
fn a_bad_proto_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\";\nmessage M {\n  int32 x = 1\n}\n",
    )
    .unwrap();
    let file = support::root().join("fixtures/grpc-roundrobin.pcapng");
    let out = support::h2scope(&[
        "export",
        file.to_str().unwrap(),
        "--proto-path",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("bad.proto:4"), "{err}");
}

/// The .proto directories for an external capture's source, as its SOURCES.md names them.
fn external_protos(captures: &std::path::Path, rel: &str) -> Vec<std::path::PathBuf> {
    let dirs: &[&str] = match rel.split('/').next().unwrap_or("") {
        "wireshark-wiki" => &[
            "wireshark-test-protos/user_defined_types",
            "wireshark-test-protos/well_know_types",
        ],
        "deepflow" => &["deepflow/protos"],
        "grpcdump-rmedvedev" => &["grpcdump-rmedvedev"],
        _ => &[],
    };
    dirs.iter().map(|d| captures.join(d)).collect()
}

/// proto field name to its proto3 JSON name (lowerCamelCase).
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// tshark's decoded scalar fields, as (JSON name, value) in our representation. Skipped,
/// because proto3 JSON shows them differently by design: enums (tshark gives the number, JSON
/// the name), default values (JSON omits them), and the `seconds`/`nanos` of well-known
/// Timestamp/Duration (JSON gives an RFC 3339 string).
fn tshark_leaves(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            if let (Some(name), Some(Value::Object(tree)), Some(kind)) = (
                o.get("protobuf.field.name").and_then(Value::as_str),
                o.get("protobuf.field.value_tree"),
                o.get("protobuf.field.type").and_then(Value::as_str),
            ) {
                for (k, val) in tree {
                    let Some(val) = val.as_str() else { continue };
                    let val = match (k.as_str(), val) {
                        ("protobuf.field.value.bool", "1") => "true".to_string(),
                        ("protobuf.field.value.bool", _) => "false".to_string(),
                        _ => val.to_string(),
                    };
                    let default = matches!(val.as_str(), "0" | "" | "false");
                    if kind == "14" || default || name == "seconds" || name == "nanos" {
                        continue;
                    }
                    out.push((camel(name), val));
                }
            }
            for x in o.values() {
                tshark_leaves(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| tshark_leaves(x, out)),
        _ => {}
    }
}

/// Our decoded scalar fields, as (key, value as text).
fn our_leaves(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => o.iter().for_each(|(k, x)| our_leaves(x, k, out)),
        Value::Array(a) => a.iter().for_each(|x| our_leaves(x, key, out)),
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Number(n) => out.push((key.to_string(), n.to_string())),
        Value::Bool(b) => out.push((key.to_string(), b.to_string())),
        Value::Null => {}
    }
}

/// Every field tshark's protobuf decoding shows (its `*.grpc.json` references, made with the
/// capture's .proto files) is in our decoded messages with the same value.
#[test]
fn external_grpc_messages_agree_with_tshark_protobuf() {
    let Some(dir) = support::external_captures() else {
        return;
    };
    let mut compared = 0;
    for file in support::capture_files(&dir) {
        let rel = file
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let reference = crate::support::tshark::external_reference(&dir, &file, "grpc.json");
        let Ok(text) = std::fs::read_to_string(&reference) else {
            continue;
        };
        let protos = external_protos(&dir, &rel);
        // No schema (tshark shows "<UNKNOWN> Message Type" too), TLS we do not decrypt, or
        // gRPC-Web over HTTP/1.1 (h2scope decodes HTTP/2).
        if protos.is_empty() || rel.contains("_tls") || rel.contains("-http1-") {
            continue;
        }
        let tshark: Value = serde_json::from_str(&text).unwrap();
        let mut theirs = Vec::new();
        tshark_leaves(&tshark, &mut theirs);
        let mut args: Vec<String> = Vec::new();
        for p in &protos {
            args.push("--proto-path".into());
            args.push(p.to_string_lossy().into_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let doc = support::export_with(&file, &args);
        let mut ours = Vec::new();
        for s in doc["streams"].as_array().unwrap() {
            let g = &s["grpc"];
            for m in g["request_messages"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(g["response_messages"].as_array().into_iter().flatten())
            {
                our_leaves(&m["json"], "", &mut ours);
            }
        }
        for leaf in &theirs {
            let Some(i) = ours.iter().position(|o| o == leaf) else {
                panic!("{rel}: tshark decodes {leaf:?}, we do not");
            };
            ours.swap_remove(i);
            compared += 1;
        }
    }
    // The corpus holds 199 such fields today; fewer means a capture was silently skipped.
    assert!(compared >= 199, "only {compared} fields compared");
}

/// A capture that starts after the call's HEADERS (no `:path`, no content-type): with the
/// protos loaded, the method is inferred from the messages alone and they decode.
#[test]
fn a_call_joined_mid_way_is_inferred_from_its_messages() {
    let Some(dir) = support::external_captures() else {
        return;
    };
    let file =
        dir.join("wireshark-wiki/grpc_person_search_protobuf_with_image-missing_headers.pcapng");
    let user = dir.join("wireshark-test-protos/user_defined_types");
    let wkt = dir.join("wireshark-test-protos/well_know_types");
    let doc = support::export_with(
        &file,
        &[
            "--proto-path",
            user.to_str().unwrap(),
            "--proto-path",
            wkt.to_str().unwrap(),
        ],
    );
    let g = &doc["streams"][0]["grpc"];
    assert_eq!(g["inferred"], true);
    assert_eq!(g["service"], "tutorial.PersonSearchService");
    assert_eq!(g["method"], "Search");
    let people: Vec<&str> = g["response_messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["json"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(people, ["Jason", "Lily"]);
    assert!(
        g["response_messages"][1]["json"]["portraitImage"]
            .as_str()
            .unwrap()
            .starts_with("iVBORw0KGgo")
    );
    // Without protos nothing is guessed, and the messages are still there, schema-less.
    let bare = support::export(&file);
    assert_eq!(bare["streams"][0]["grpc"]["inferred"], false);
    assert_eq!(
        bare["streams"][0]["grpc"]["response_messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// Pooled inference: on a connection joined after grpcio put `:path` in its HPACK table,
/// every later call refers to it by an unknown index. Alone, a GetItem request `{id}` parses
/// as ListItemsRequest too (field 1 is a string in both); one call asking by `name` (a
/// string where ListItemsRequest has an int32) settles the method for every call that
/// shares the same unknown `:path` entry.
#[test]
fn calls_sharing_an_unknown_path_pool_their_evidence() {
    use h2scope::capture::{CaptureReader, Record};
    use h2scope::net::{Parsed, parse_packet};
    let root = support::root().join("fixtures");
    let file = root.join("grpc-roundrobin.pcapng");
    let protos = root.join("protos");
    let with_protos = ["--proto-path", protos.to_str().unwrap()];
    let full = support::export_with(&file, &with_protos);
    let cut_at = stream_by_request_id(&full, "call-0003").unwrap()["start"]
        .as_f64()
        .unwrap();

    // Drop the backend-3 connection's packets before call 3 began: its handshake, its
    // HPACK insertions and its first call are never seen.
    let mut reader = CaptureReader::open(&file).unwrap();
    let mut w = support::pcap::PcapWriter::new();
    while let Some(rec) = reader.next_record().unwrap() {
        let Record::Packet(p) = rec else { continue };
        if let Ok(Parsed::Tcp(seg)) = parse_packet(p.link_type, p.data) {
            let backend3 = seg.src.port() == 50053 || seg.dst.port() == 50053;
            if backend3 && p.ts.as_secs_f64() < cut_at {
                continue;
            }
        }
        w.packet(p.ts.0, p.data);
    }
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, w.finish()).unwrap();

    let doc = support::export_with(&cut, &with_protos);
    // The held calls go out in their places: the compact document, written as the capture
    // is read, lists the streams as the pretty one (sorted at the end) does, on one thread
    // and on two.
    let order = |d: &Value| -> Vec<(u64, u64)> {
        let all = d["streams"].as_array().unwrap();
        let pair = |s: &Value| {
            (
                s["connection"].as_u64().unwrap(),
                s["stream_id"].as_u64().unwrap(),
            )
        };
        all.iter().map(pair).collect()
    };
    let pretty = support::export_with(&cut, &[with_protos[0], with_protos[1], "--pretty"]);
    let one = support::export_with(&cut, &[with_protos[0], with_protos[1], "-j1"]);
    assert_eq!(order(&doc), order(&pretty));
    assert_eq!(order(&one), order(&pretty));
    for id in ["call-0005", "call-0008", "call-0011", "call-0023"] {
        let s = stream_by_request_id(&doc, id).unwrap_or_else(|| panic!("{id}"));
        assert!(s["path"].is_null(), "{id}: :path is unknowable");
        assert_eq!(s["grpc"]["method"], "GetItem", "{id}");
        assert_eq!(s["grpc"]["inferred"], true, "{id}");
        assert!(s["grpc"]["request_messages"][0]["json"].is_object(), "{id}");
    }
    // Alone, without the others' evidence, a `{id}` call is ambiguous and not guessed.
    let ndjson = support::h2scope(&[
        "export",
        cut.to_str().unwrap(),
        "--ndjson",
        "--proto-path",
        protos.to_str().unwrap(),
    ]);
    let first = String::from_utf8(ndjson.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "stream" && v["request_headers"].to_string().contains("call-0005"))
        .unwrap();
    assert_eq!(
        first["grpc"]["inferred"], false,
        "decided before the evidence arrived"
    );
    assert!(first["grpc"]["method"].is_null());
}
