//! Helpers shared by the integration tests: where the captures are, how to run the real
//! binary, and how to read tshark's reference outputs.
#![allow(dead_code)]

pub mod damage;
pub mod pcap;
pub mod tshark;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The external captures (`../shared/captures`, or `$H2SCOPE_EXTERNAL_CAPTURES`).
/// When the variable is set the directory must exist (CI sets it); otherwise a missing
/// directory skips the caller's test with a message saying so.
pub fn external_captures() -> Option<PathBuf> {
    match std::env::var_os("H2SCOPE_EXTERNAL_CAPTURES") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.is_dir(),
                "H2SCOPE_EXTERNAL_CAPTURES={} is not a directory",
                dir.display()
            );
            Some(dir)
        }
        None => {
            let dir = root().join("../shared/captures");
            if dir.is_dir() {
                Some(dir)
            } else {
                eprintln!(
                    "SKIPPED: external captures not found at {} (set H2SCOPE_EXTERNAL_CAPTURES)",
                    dir.display()
                );
                None
            }
        }
    }
}

/// Capture files under `dir`: everything but documentation, protos, descriptor sets,
/// reference outputs and scripts.
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    const NOT_CAPTURES: &[&str] = &[
        "md", "proto", "txt", "tsv", "json", "desc", "py", "sh", "toml", "rs",
    ];
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                if name != "tshark" && name != "protos" && name != "gen" {
                    stack.push(p);
                }
            } else if !p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| NOT_CAPTURES.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs the real `h2scope` binary.
pub fn h2scope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_h2scope"))
        .args(args)
        .output()
        .expect("run h2scope")
}

/// `h2scope export FILE`, which must succeed; returns the parsed document.
pub fn export(file: &Path) -> Value {
    let out = h2scope(&["export", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "h2scope export {} failed ({}): {}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("h2scope export {}: invalid JSON: {e}", file.display()))
}

/// `h2scope export FILE ARGS...`, which must succeed; returns the parsed document.
pub fn export_with(file: &Path, args: &[&str]) -> Value {
    let mut all = vec!["export", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = h2scope(&all);
    assert!(
        out.status.success(),
        "h2scope {all:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("h2scope {all:?}: invalid JSON: {e}"))
}
