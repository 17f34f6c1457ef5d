//! Command-line interface: clap types whose doc comments are the help text.
//!
//! Only `main.rs` sees these; it turns them into library calls.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// HTTP/2 and gRPC traffic inspector: which backend served each call, from a plain capture.
#[derive(Debug, Parser)]
#[command(name = "h2scope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode a capture file and print a JSON document: connections, HTTP/2 streams and backends.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The capture: pcap or pcapng, optionally gzip-compressed; `-` reads standard input.
    pub file: PathBuf,

    /// Write the document to this file instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Indent the JSON for reading.
    #[arg(long, conflicts_with = "ndjson")]
    pub pretty: bool,

    /// List every HTTP/2 frame of each stream and connection.
    #[arg(long)]
    pub frames: bool,

    /// Write one JSON object per line as each stream completes, then connections, backends
    /// and the capture summary (memory stays flat, output starts at once).
    #[arg(long)]
    pub ndjson: bool,

    /// A response header or trailer in which servers name themselves (for example
    /// `x-backend` or `hostname`); its value labels the backend.
    #[arg(long, value_name = "NAME")]
    pub backend_header: Option<String>,

    /// Bytes buffered behind a hole in one TCP direction before the hole is reported as a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_buffered_per_direction: usize,

    /// Live TCP connections kept at once; beyond it the least recently active are evicted.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_connections: usize,
}
