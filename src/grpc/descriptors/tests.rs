use super::*;
use std::fs;

/// The shared captures directory (`$H2SCOPE_EXTERNAL_CAPTURES`, default `../shared/captures`
/// beside the crate), or `None` after printing why the test is skipped.
fn captures(test: &str) -> Option<PathBuf> {
    let root = std::env::var_os("H2SCOPE_EXTERNAL_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"));
    if root.is_dir() {
        Some(root)
    } else {
        println!(
            "SKIPPED: {test}: external captures not found at {} (set H2SCOPE_EXTERNAL_CAPTURES)",
            root.display()
        );
        None
    }
}

#[test]
fn empty_has_well_known_and_status_types() {
    let d = Descriptors::empty();
    for name in [
        "google.protobuf.Timestamp",
        "google.protobuf.Any",
        "google.protobuf.Struct",
        "google.protobuf.FileDescriptorSet",
        "google.rpc.Status",
        "google.rpc.ErrorInfo",
        "google.rpc.BadRequest.FieldViolation",
        ".google.rpc.RetryInfo",
    ] {
        assert!(d.message(name).is_some(), "{name}");
    }
    assert!(d.pool().get_enum_by_name("google.rpc.Code").is_some());
    assert_eq!(d.methods().count(), 0);
    assert!(d.method("/x.Y/Z").is_none());
}

#[test]
fn wireshark_protos_with_a_trimmed_timestamp_in_a_second_proto_path() {
    let Some(root) = captures("wireshark_protos") else {
        return;
    };
    let base = root.join("wireshark-test-protos");
    let mut d = Descriptors::empty();
    d.add_protos(
        &[
            base.join("user_defined_types"),
            base.join("well_know_types"),
        ],
        &[],
    )
    .unwrap();
    let m = d.method("/tutorial.PersonSearchService/Search").unwrap();
    assert_eq!(m.input.full_name(), "tutorial.PersonSearchRequest");
    assert_eq!(m.output.full_name(), "tutorial.Person");
    assert!(!m.client_streaming && m.server_streaming);
    assert_eq!(m.path, "/tutorial.PersonSearchService/Search");
    assert_eq!(
        (m.service.as_str(), m.method.as_str()),
        ("tutorial.PersonSearchService", "Search")
    );

    let m = d.method("/greet.Greeter/SayHello").unwrap();
    assert_eq!(m.input.full_name(), "greet.HelloRequest");
    assert_eq!(m.output.full_name(), "greet.HelloReply");
    assert!(!m.client_streaming && !m.server_streaming);
    assert!(
        d.method("greet.Greeter/SayHellos")
            .unwrap()
            .server_streaming
    );
    assert!(d.method("/greet.Greeter/Nope").is_none());

    // The full Timestamp (loaded first) is the one in the pool, not Wireshark's trimmed copy.
    let person = d.message("tutorial.Person").unwrap();
    let ts = person.get_field_by_name("last_updated").unwrap();
    assert_eq!(
        ts.kind().as_message().unwrap().full_name(),
        "google.protobuf.Timestamp"
    );
    let ts_file = d
        .pool()
        .get_file_by_name("google/protobuf/timestamp.proto")
        .unwrap();
    assert!(
        ts_file.file_descriptor_proto().options.is_some(),
        "the full file has options"
    );

    // Named files work the same, relative to a proto path.
    let mut d = Descriptors::empty();
    d.add_protos(
        &[
            base.join("user_defined_types"),
            base.join("well_know_types"),
        ],
        &[PathBuf::from("person_search_service.proto")],
    )
    .unwrap();
    assert!(d.method("/tutorial.PersonSearchService/Search").is_some());
    assert!(d.method("/greet.Greeter/SayHello").is_none());
}

#[test]
fn deepflow_and_helloworld_protos() {
    let Some(root) = captures("deepflow_and_helloworld_protos") else {
        return;
    };
    let mut d = Descriptors::empty();
    d.add_protos(&[root.join("deepflow/protos")], &[]).unwrap();
    d.add_protos(
        &[root.join("grpcdump-rmedvedev")],
        &[PathBuf::from("helloworld.proto")],
    )
    .unwrap();
    let m = d.method("/agent.Synchronizer/Sync").unwrap();
    assert_eq!(m.input.full_name(), "agent.SyncRequest");
    assert_eq!(m.output.full_name(), "agent.SyncResponse");
    let m = d.method("/agent.Synchronizer/RemoteExecute").unwrap();
    assert!(m.client_streaming && m.server_streaming);
    let m = d.method("/helloworld.Greeter/SayHello").unwrap();
    assert_eq!(m.input.full_name(), "helloworld.HelloRequest");
    assert!(d.method("/hipstershop.CartService/GetCart").is_some());
    let names: Vec<String> = d.methods().map(|m| m.path).collect();
    assert!(names.contains(&"/agent.Debug/DebugAgentCache".to_string()));
    assert!(names.len() > 20, "{names:?}");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\";\npackage p;\n\nmessage M {\n  string name = 1\n  int32 id = 2;\n}\n",
    )
    .unwrap();
    let mut d = Descriptors::empty();
    let e = d.add_protos(&[dir.path().to_owned()], &[]).unwrap_err();
    let msg = e.to_string();
    let want = format!("{}:6:3: ", dir.path().join("bad.proto").display());
    assert!(msg.starts_with(&want), "{msg}");
    assert!(msg.contains("expected ';'"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(d.message("p.M").is_none(), "the pool is unchanged");
}

#[test]
fn semantic_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("undef.proto"),
        "syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing m = 1;\n}\n",
    )
    .unwrap();
    let mut d = Descriptors::empty();
    let e = d
        .add_protos(&[dir.path().to_owned()], &[PathBuf::from("undef.proto")])
        .unwrap_err();
    let msg = e.to_string();
    let want = format!("{}:4:3: ", dir.path().join("undef.proto").display());
    assert!(msg.starts_with(&want), "{msg}");
    assert!(msg.contains("Missing"), "{msg}");
}

#[test]
fn missing_import_and_missing_files_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("imp.proto"),
        "syntax = \"proto3\";\nimport \"nowhere/gone.proto\";\n",
    )
    .unwrap();
    let mut d = Descriptors::empty();
    let msg = d
        .add_protos(&[dir.path().to_owned()], &[])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("imp.proto:2:"), "{msg}");
    assert!(msg.contains("nowhere/gone.proto"), "{msg}");

    let msg = d
        .add_protos(&[dir.path().to_owned()], &[PathBuf::from("absent.proto")])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("absent.proto"), "{msg}");
    assert!(msg.contains("(proto paths: "), "{msg}");

    let msg = d
        .add_protos(&[dir.path().join("no-such-dir")], &[])
        .unwrap_err()
        .to_string();
    assert!(msg.ends_with("no-such-dir: not a directory"), "{msg}");
}

#[test]
fn descriptor_set_built_with_protox_loads() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("svc.proto"),
        "syntax = \"proto3\";\npackage s;\nimport \"google/protobuf/empty.proto\";\n\
         message Req { string q = 1; }\n\
         service Svc { rpc Ask(Req) returns (google.protobuf.Empty); rpc Chat(stream Req) returns (stream Req); }\n",
    )
    .unwrap();
    let set = protox::compile(["svc.proto"], [dir.path()]).unwrap();
    let path = dir.path().join("svc.binpb");
    fs::write(&path, set.encode_to_vec()).unwrap();

    let mut d = Descriptors::empty();
    d.add_descriptor_set(&path).unwrap();
    let m = d.method("/s.Svc/Ask").unwrap();
    assert_eq!(m.input.full_name(), "s.Req");
    assert_eq!(m.output.full_name(), "google.protobuf.Empty");
    let m = d.method("/s.Svc/Chat").unwrap();
    assert!(m.client_streaming && m.server_streaming);
    // Loading the same set again is harmless (same file names are skipped).
    d.add_descriptor_set(&path).unwrap();
    assert_eq!(d.methods().count(), 2);

    // A later .proto can import what the descriptor set brought.
    fs::remove_file(dir.path().join("svc.proto")).unwrap();
    fs::write(
        dir.path().join("more.proto"),
        "syntax = \"proto3\";\npackage m;\nimport \"svc.proto\";\nmessage Wrap { s.Req req = 1; }\n",
    )
    .unwrap();
    d.add_protos(&[dir.path().to_owned()], &[]).unwrap();
    assert!(d.message("m.Wrap").is_some());
}

#[test]
fn files_that_are_not_descriptor_sets_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("looks.proto");
    fs::write(&proto, "syntax = \"proto3\";\npackage p;\nmessage M {}\n").unwrap();
    let msg = Descriptors::empty()
        .add_descriptor_set(&proto)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!("{}: not a FileDescriptorSet", proto.display())),
        "{msg}"
    );
    assert!(msg.contains("looks like .proto source"), "{msg}");
    assert!(!msg.contains('\n'));

    for (name, bytes) in [
        ("empty.bin", &b""[..]),
        ("junk.bin", &[0xff, 0xff, 0xff, 0xff][..]),
        ("png.bin", &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..]),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let e = Descriptors::empty().add_descriptor_set(&path).unwrap_err();
        assert!(
            matches!(e, DescriptorError::NotDescriptorSet { .. }),
            "{name}: {e}"
        );
        assert!(
            e.to_string().starts_with(&path.display().to_string()),
            "{e}"
        );
    }

    let missing = dir.path().join("missing.binpb");
    let e = Descriptors::empty()
        .add_descriptor_set(&missing)
        .unwrap_err();
    assert!(matches!(e, DescriptorError::Read { .. }), "{e}");

    // A set whose imports are missing (protoc without --include_imports).
    fs::write(
        dir.path().join("a.proto"),
        "syntax = \"proto3\";\npackage a;\nmessage A {}\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("b.proto"),
        "syntax = \"proto3\";\npackage b;\nimport \"a.proto\";\nmessage B { a.A a = 1; }\n",
    )
    .unwrap();
    let mut c = protox::Compiler::new([dir.path()]).unwrap();
    c.open_file("b.proto").unwrap();
    let path = dir.path().join("b.binpb");
    fs::write(&path, c.encode_file_descriptor_set()).unwrap();
    let e = Descriptors::empty().add_descriptor_set(&path).unwrap_err();
    assert!(matches!(e, DescriptorError::InvalidSet { .. }), "{e}");
    assert!(e.to_string().contains("a.proto"), "{e}");
}
