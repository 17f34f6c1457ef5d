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
    /// Capture live from an interface (Linux AF_PACKET; needs CAP_NET_RAW) and decode as
    /// packets arrive.
    #[command(after_help = h2scope::tui::keys::help_text())]
    Sniff(SniffArgs),
    /// Browse a capture in the terminal: backends and how the calls spread over them, each
    /// call's timeline, headers, frames and decoded gRPC messages.
    #[command(after_help = h2scope::tui::keys::help_text())]
    Open(OpenArgs),
}

#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// The capture: pcap or pcapng, optionally gzip-compressed; `-` reads standard input.
    pub file: PathBuf,

    /// A response header or trailer in which servers name themselves (for example
    /// `x-backend` or `hostname`); its value labels the backend.
    #[arg(long, value_name = "NAME")]
    pub backend_header: Option<String>,

    #[command(flatten)]
    pub schemas: SchemaArgs,

    #[command(flatten)]
    pub filter: FilterArg,

    /// Completed calls kept in the terminal UI (and as many ended connections); older ones
    /// are evicted, still counted in the backends. 0, the default, keeps every call: memory
    /// then grows with the capture (about 3 GB for 1 GB of gRPC with its messages).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_calls: usize,

    // Last: its help heading applies to the arguments after it.
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, clap::Args)]
pub struct SniffArgs {
    /// The interface to capture on (for example `lo` or `eth0`).
    #[arg(short, long, value_name = "IFACE")]
    pub interface: String,

    /// Also save every captured packet to this pcapng file (nanosecond timestamps).
    #[arg(short = 'w', long, value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Write the full JSON document to this file when the capture stops.
    #[arg(long, value_name = "FILE", conflicts_with = "ndjson")]
    pub export: Option<PathBuf>,

    /// Write one JSON object per line on stdout as each stream completes.
    #[arg(long)]
    pub ndjson: bool,

    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Stop after this many packets.
    #[arg(long, value_name = "PACKETS")]
    pub count: Option<u64>,

    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: u32,

    /// Capture traffic not addressed to this host too.
    #[arg(long)]
    pub promiscuous: bool,

    /// A response header or trailer in which servers name themselves.
    #[arg(long, value_name = "NAME")]
    pub backend_header: Option<String>,

    /// Leave gRPC message bodies out of the output (sizes and times stay).
    #[arg(long)]
    pub no_messages: bool,

    /// How to capture: `afpacket` (Linux's AF_PACKET ring, the default on Linux) or `pcap`
    /// (libpcap, in builds with the `libpcap` feature; -f then takes the whole tcpdump
    /// syntax, compiled by libpcap).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub capture_backend: Option<CaptureBackend>,

    /// Completed calls kept in the terminal UI and in the --export document (and as many
    /// ended connections); older ones are evicted, still counted in the backends. 0 keeps
    /// everything. NDJSON keeps none.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub keep_calls: usize,

    #[command(flatten)]
    pub schemas: SchemaArgs,

    #[command(flatten)]
    pub filter: FilterArg,

    // Last: its help heading applies to the arguments after it.
    #[command(flatten)]
    pub limits: LimitArgs,
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

    /// Leave gRPC message bodies out of the output (sizes and times stay).
    #[arg(long)]
    pub no_messages: bool,

    #[command(flatten)]
    pub schemas: SchemaArgs,

    #[command(flatten)]
    pub filter: FilterArg,

    /// Threads: 1 decodes everything on one; 2 (the default when two cores are available)
    /// turns finished streams into JSON on a second thread. The output is the same.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    // Last: its help heading applies to the arguments after it.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// A live-capture backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CaptureBackend {
    Afpacket,
    Pcap,
}

/// Which packets are decoded (open, export and sniff take the same filter).
#[derive(Debug, Default, clap::Args)]
pub struct FilterArg {
    /// Decode only packets matching this capture filter (the common pcap-filter subset:
    /// `tcp`, `udp`, `ip`, `ip6`, `host`, `net`, `port`, `portrange`, `src`/`dst`,
    /// `and`/`or`/`not`, parentheses), for example `tcp port 50051`.
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub text: Option<String>,
}

/// Where gRPC message schemas come from.
#[derive(Debug, Default, clap::Args)]
pub struct SchemaArgs {
    /// A directory of .proto files, compiled at start-up (no protoc needed); with no
    /// --proto, every .proto under it is loaded. Repeatable; imports resolve across all.
    #[arg(long, value_name = "DIR")]
    pub proto_path: Vec<PathBuf>,

    /// A .proto file to load, relative to a --proto-path. Repeatable.
    #[arg(long, value_name = "FILE", requires = "proto_path")]
    pub proto: Vec<PathBuf>,

    /// A FileDescriptorSet, as written by `protoc --descriptor_set_out --include_imports`
    /// or `buf build -o`. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub descriptor_set: Vec<PathBuf>,
}

/// Bounds on what a capture can make h2scope hold (the README's "Limits" lists what is
/// reported when each is hit). Sizes take K, M, G (or KiB, MiB, GiB: units of 1024).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Live TCP connections kept at once; beyond it the least recently active are evicted.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_connections: usize,

    /// Bytes buffered behind a hole in one TCP direction before the hole is reported as a gap.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = size)]
    pub max_buffered_per_direction: usize,

    /// Largest non-DATA HTTP/2 frame held for decoding; larger ones are skipped and reported.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = size)]
    pub max_frame_size: usize,

    /// Largest header block (HEADERS + CONTINUATION) and decoded header list; larger ones are
    /// dropped and reported.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = size)]
    pub max_header_block: usize,

    /// Open HTTP/2 streams per connection; beyond it the oldest is reported incomplete.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_streams: usize,

    /// Largest gRPC message body kept; a larger one is reported and its body skipped.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = size)]
    pub max_message_size: usize,

    /// Largest size a compressed gRPC message may inflate to; past it the message is shown
    /// compressed, with the error.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = size)]
    pub max_decompressed_size: usize,

    /// Largest HPACK dynamic table a peer may ask for (SETTINGS_HEADER_TABLE_SIZE and size
    /// updates); a larger size update is reported and the table's entries become unknown.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = table_size)]
    pub max_hpack_table_size: u32,
}

fn table_size(text: &str) -> Result<u32, String> {
    let n = h2scope::limits::parse_size(text).map_err(|e| e.to_string())?;
    u32::try_from(n).map_err(|_| format!("{text}: HPACK table sizes are at most 4GiB - 1"))
}

fn size(text: &str) -> Result<usize, h2scope::limits::SizeError> {
    h2scope::limits::parse_size(text)
}

impl LimitArgs {
    pub fn to_limits(&self) -> h2scope::limits::Limits {
        h2scope::limits::Limits {
            max_connections: self.max_connections,
            max_buffered_per_direction: self.max_buffered_per_direction,
            max_frame_size: self.max_frame_size,
            max_header_block: self.max_header_block,
            max_streams: self.max_streams,
            max_message_size: self.max_message_size,
            max_decompressed_size: self.max_decompressed_size,
            max_hpack_table_size: self.max_hpack_table_size,
        }
    }
}
