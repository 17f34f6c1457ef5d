//! The schema side: a descriptor pool built at start-up from descriptor sets and `.proto`
//! files, and the lookups the decoder needs (`:path` -> method -> message types).
//!
//! # Contract
//! - Google's well-known types (`google/protobuf/*.proto`) are always in the pool, and so are
//!   `google/rpc/status.proto`, `google/rpc/error_details.proto` and `google/rpc/code.proto`
//!   (embedded in the binary), so that `grpc-status-details-bin` decodes with no user schema.
//! - Files are keyed by name, and the first file loaded under a name wins: a later file with
//!   the same name is skipped, not compared (prost-reflect's rule). A trimmed copy of
//!   `google/protobuf/timestamp.proto` in a proto path therefore never replaces the full one.
//! - `.proto` files are compiled in-process by protox (no `protoc`). Imports resolve against
//!   files already in the pool first (so a `--proto` may import what a `--descriptor-set`
//!   brought), then the proto paths in order, then protox's bundled Google files.
//! - Every error is one line naming what is wrong and where: `dir/file.proto:12:5: message`
//!   for a `.proto` problem (line and column 1-based), `path: ...` for a descriptor set. A
//!   failed load leaves the pool as it was.
//! - Loading is the only I/O in the gRPC layer, and happens once, at start-up. Input files are
//!   the user's own (not capture data), but are still bounded: a descriptor set is read only up
//!   to [`MAX_DESCRIPTOR_SET`] bytes, and a proto path walk stops at [`MAX_PROTO_FILES`] files
//!   and [`MAX_WALK_DEPTH`] levels.

use miette::Diagnostic;
use prost::Message;
use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor, prost_types};
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The largest descriptor set file read.
pub const MAX_DESCRIPTOR_SET: u64 = 256 << 20;
/// The most `.proto` files collected from the proto paths when no `--proto` is named.
pub const MAX_PROTO_FILES: usize = 10_000;
/// How deep the walk of a proto path goes.
pub const MAX_WALK_DEPTH: usize = 32;

/// The `google/rpc` files every pool has, as (name, source).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "google/rpc/status.proto",
        include_str!("proto/google/rpc/status.proto"),
    ),
    (
        "google/rpc/error_details.proto",
        include_str!("proto/google/rpc/error_details.proto"),
    ),
    (
        "google/rpc/code.proto",
        include_str!("proto/google/rpc/code.proto"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    #[error("{}: cannot read: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: is over the {MAX_DESCRIPTOR_SET}-byte limit for a descriptor set", .path.display())]
    TooLarge { path: PathBuf },
    #[error("{}: not a FileDescriptorSet{hint}: {reason}", .path.display())]
    NotDescriptorSet {
        path: PathBuf,
        reason: String,
        hint: &'static str,
    },
    #[error("{}: invalid descriptor set: {detail}", .path.display())]
    InvalidSet { path: PathBuf, detail: String },
    #[error("proto path {}: {reason}", .path.display())]
    ProtoPath { path: PathBuf, reason: String },
    /// A `.proto` that does not compile: `file.proto:line:col: message`.
    #[error("{0}")]
    Compile(String),
}

/// A method as the decoder needs it.
#[derive(Clone, Debug)]
pub struct MethodInfo {
    /// The HTTP/2 `:path`: `/package.Service/Method`.
    pub path: String,
    /// `package.Service`.
    pub service: String,
    /// `Method`.
    pub method: String,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

impl MethodInfo {
    fn new(m: &MethodDescriptor) -> Self {
        let service = m.parent_service().full_name().to_string();
        MethodInfo {
            path: format!("/{service}/{}", m.name()),
            service,
            method: m.name().to_string(),
            input: m.input(),
            output: m.output(),
            client_streaming: m.is_client_streaming(),
            server_streaming: m.is_server_streaming(),
        }
    }
}

/// The schemas known for decoding. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Descriptors {
    pool: DescriptorPool,
}

impl Default for Descriptors {
    fn default() -> Self {
        Descriptors::empty()
    }
}

/// An in-memory resolver for the embedded files.
struct Embedded;

impl FileResolver for Embedded {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match EMBEDDED.iter().find(|(n, _)| *n == name) {
            Some((n, src)) => File::from_source(n, src),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Files already in a pool, offered to protox as imports.
struct PoolFiles(DescriptorPool);

impl FileResolver for PoolFiles {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.get_file_by_name(name) {
            Some(f) => Ok(File::from_file_descriptor_proto(
                f.file_descriptor_proto().clone(),
            )),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

fn base_pool() -> &'static DescriptorPool {
    static BASE: OnceLock<DescriptorPool> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut pool = DescriptorPool::global();
        let mut resolver = ChainFileResolver::new();
        resolver.add(Embedded);
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        let names = EMBEDDED.iter().map(|(n, _)| *n);
        // Our own files, tested to compile: a failure would only mean a pool with the
        // well-known types alone, never a panic.
        if compiler.open_files(names).is_ok() {
            let _ = pool.add_file_descriptor_set(compiler.file_descriptor_set());
        }
        pool
    })
}

impl Descriptors {
    /// Well-known types and the `google/rpc` status types only.
    pub fn empty() -> Self {
        Descriptors {
            pool: base_pool().clone(),
        }
    }

    /// The underlying pool, for callers that need more than the lookups here.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// Adds a `FileDescriptorSet` file, as written by `protoc --descriptor_set_out
    /// --include_imports` or `buf build -o`. Imports must be in the set or already loaded.
    pub fn add_descriptor_set(&mut self, path: &Path) -> Result<(), DescriptorError> {
        let bytes = read_bounded(path)?;
        let set = prost_types::FileDescriptorSet::decode(bytes.as_slice()).map_err(|e| {
            DescriptorError::NotDescriptorSet {
                path: path.to_owned(),
                reason: e.to_string(),
                hint: looks_like_source(&bytes),
            }
        })?;
        // Many inputs decode as an empty set (an empty file, text that happens to parse):
        // a set without one named file is not what the user meant.
        if set.file.is_empty() || set.file.iter().any(|f| f.name().is_empty()) {
            return Err(DescriptorError::NotDescriptorSet {
                path: path.to_owned(),
                reason: "it holds no named file descriptors".into(),
                hint: looks_like_source(&bytes),
            });
        }
        // Decoding from the bytes (not from `set`) keeps custom options.
        let mut pool = self.pool.clone();
        pool.decode_file_descriptor_set(bytes.as_slice())
            .map_err(|e| DescriptorError::InvalidSet {
                path: path.to_owned(),
                detail: render_reflect(&e),
            })?;
        self.pool = pool;
        Ok(())
    }

    /// Compiles `.proto` files with protox: `protos` (each relative to a proto path, or a path
    /// under one), or every `.proto` under `proto_paths` when `protos` is empty. With no proto
    /// path, the current directory is one (as with `protoc`).
    pub fn add_protos(
        &mut self,
        proto_paths: &[PathBuf],
        protos: &[PathBuf],
    ) -> Result<(), DescriptorError> {
        let dot = [PathBuf::from(".")];
        let proto_paths = if proto_paths.is_empty() {
            &dot[..]
        } else {
            proto_paths
        };
        for p in proto_paths {
            if !p.is_dir() {
                return Err(DescriptorError::ProtoPath {
                    path: p.clone(),
                    reason: "not a directory".into(),
                });
            }
        }
        let files: Vec<PathBuf> = if protos.is_empty() {
            let mut names = BTreeSet::new();
            for p in proto_paths {
                for name in walk_protos(p)? {
                    // Files the pool has (the well-known types, typically copied into
                    // proto trees) are imports, not new files.
                    if self.pool.get_file_by_name(&name).is_none() {
                        names.insert(name);
                    }
                }
            }
            names.into_iter().map(PathBuf::from).collect()
        } else {
            protos.to_vec()
        };
        if files.is_empty() {
            return Ok(());
        }

        let mut resolver = ChainFileResolver::new();
        resolver.add(PoolFiles(self.pool.clone()));
        for p in proto_paths {
            resolver.add(IncludeFileResolver::new(p.clone()));
        }
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        compiler
            .open_files(&files)
            .map_err(|e| DescriptorError::Compile(render_protox(&e, proto_paths)))?;
        let mut pool = self.pool.clone();
        pool.add_file_descriptor_set(compiler.file_descriptor_set())
            .map_err(|e| DescriptorError::Compile(render_reflect(&e)))?;
        self.pool = pool;
        Ok(())
    }

    /// The method for an HTTP/2 `:path` (`/package.Service/Method`; the leading slash may be
    /// missing).
    /// No service of the user's: nothing to decode or infer with.
    pub fn is_empty(&self) -> bool {
        self.methods().next().is_none()
    }

    pub fn method(&self, path: &str) -> Option<MethodInfo> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let (service, method) = path.rsplit_once('/')?;
        let service = self.pool.get_service_by_name(service)?;
        let m = service.methods().find(|m| m.name() == method)?;
        Some(MethodInfo::new(&m))
    }

    /// Every method of every service in the pool.
    pub fn methods(&self) -> impl Iterator<Item = MethodInfo> + '_ {
        self.pool
            .services()
            .flat_map(|s| s.methods().map(|m| MethodInfo::new(&m)).collect::<Vec<_>>())
    }

    /// A message type by full name (`package.Message`, no leading dot).
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.pool
            .get_message_by_name(full_name.strip_prefix('.').unwrap_or(full_name))
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, DescriptorError> {
    let read_err = |source| DescriptorError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_DESCRIPTOR_SET + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_DESCRIPTOR_SET {
        return Err(DescriptorError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// A hint when a "descriptor set" is really `.proto` source or other text.
fn looks_like_source(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(4096)];
    let text = std::str::from_utf8(head).is_ok_and(|s| !s.is_empty());
    let words = [
        &b"syntax"[..],
        b"package",
        b"message",
        b"import",
        b"service",
    ];
    if text && words.iter().any(|w| head.windows(w.len()).any(|x| x == *w)) {
        " (it looks like .proto source: pass it with --proto)"
    } else {
        ""
    }
}

/// Relative names (with `/`) of every `.proto` file under `root`, sorted. Symlinked
/// directories are not followed (they can loop).
fn walk_protos(root: &Path) -> Result<Vec<String>, DescriptorError> {
    let err = |reason: String| DescriptorError::ProtoPath {
        path: root.to_owned(),
        reason,
    };
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| err(format!("{}: {e}", dir.display())))?;
            let path = entry.path();
            let ty = entry
                .file_type()
                .map_err(|e| err(format!("{}: {e}", path.display())))?;
            if ty.is_dir() {
                if depth + 1 < MAX_WALK_DEPTH {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "proto") || !path.is_file() {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| err(format!("{}: file name is not UTF-8", path.display())))?
                .join("/");
            out.push(name);
            if out.len() > MAX_PROTO_FILES {
                return Err(err(format!(
                    "more than {MAX_PROTO_FILES} .proto files: name the ones to load with --proto"
                )));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `file:line:col` of a diagnostic's first label, 1-based, when it has source and a label.
fn location(d: &dyn Diagnostic) -> Option<(usize, usize)> {
    let src = d.source_code()?;
    let label = d.labels()?.next()?;
    let span = src.read_span(label.inner(), 0, 0).ok()?;
    Some((span.line() + 1, span.column() + 1))
}

/// Where a protox file name is on disk, for the message: the first proto path that has it.
fn display_name(name: &str, proto_paths: &[PathBuf]) -> String {
    proto_paths
        .iter()
        .map(|p| p.join(name))
        .find(|p| p.is_file())
        .map_or_else(|| name.to_string(), |p| p.display().to_string())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `dir/file.proto:12:5: message (and N more errors)`.
fn render_protox(e: &protox::Error, proto_paths: &[PathBuf]) -> String {
    let mut msg = one_line(&e.to_string());
    if let Some(label) = e
        .labels()
        .and_then(|mut l| l.next())
        .and_then(|l| l.label().map(str::to_string))
    {
        // "found here" adds nothing; labels like "expected ';'" do.
        if !label.ends_with(" here") && !msg.contains(&label) {
            msg = format!("{msg} ({label})");
        }
    }
    let more = e.related().map_or(0, Iterator::count);
    if more > 0 {
        msg = format!("{msg} (and {more} more errors)");
    }
    match (e.file(), location(e)) {
        (Some(f), Some((line, col))) => {
            format!("{}:{line}:{col}: {msg}", display_name(f, proto_paths))
        }
        (Some(f), None) => format!("{}: {msg}", display_name(f, proto_paths)),
        (None, _) => {
            let paths: Vec<String> = proto_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            format!("{msg} (proto paths: {})", paths.join(", "))
        }
    }
}

/// A prost-reflect error: `file:line:col: message` when it knows the place.
fn render_reflect(e: &prost_reflect::DescriptorError) -> String {
    let msg = one_line(&e.to_string());
    match (e.file(), e.line(), e.column()) {
        (Some(f), Some(l), Some(c)) => format!("{f}:{}:{}: {msg}", l + 1, c + 1),
        (Some(f), _, _) => format!("{f}: {msg}"),
        _ => msg,
    }
}

#[cfg(test)]
mod tests;
