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
