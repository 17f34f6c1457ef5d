//! The bounds a user may raise, in one place: what a capture can make h2scope hold.
//!
//! Every layer keeps its own bound (its `Config` or constant) and reports hitting it as data;
//! this struct gathers the ones worth a flag, with the layers' own defaults, and hands each
//! layer its part ([`Limits::reassembly`], [`Limits::session`]). The README's "Limits"
//! section lists them with their flags and what is reported when one is hit; fixed bounds
//! (hard caps against absurd values, such as the 16 MiB capture record or the 10,000
//! fields of a header block) stay constants in their modules.

use crate::grpc::{CallConfig, DEFAULT_DECOMPRESS_CAP, DEFAULT_MAX_MESSAGE};
use crate::http2::frame::DecoderLimits;
use crate::reassembly;
use crate::session;

/// The raisable bounds; `Default` is what h2scope uses without flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Live TCP connections; beyond it the least recently active are evicted.
    pub max_connections: usize,
    /// Bytes held behind a hole in one TCP direction before the hole becomes a gap.
    pub max_buffered_per_direction: usize,
    /// Non-DATA HTTP/2 frames larger than this are skipped (DATA is streamed, never held).
    pub max_frame_size: usize,
    /// A header block (HEADERS or PUSH_PROMISE with its CONTINUATIONs), and the header list it
    /// decodes to, larger than this is dropped.
    pub max_header_block: usize,
    /// Open streams per connection; beyond it the oldest is reported incomplete.
    pub max_streams: usize,
    /// gRPC messages declaring more bytes than this have their body skipped.
    pub max_message_size: usize,
    /// Compressed gRPC messages inflating past this are shown compressed.
    pub max_decompressed_size: usize,
    /// The most an HPACK dynamic table may hold; larger size updates are errors.
    pub max_hpack_table_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        let reassembly = reassembly::Config::default();
        let session = session::Config::<CallConfig>::default();
        Limits {
            max_connections: reassembly.max_connections,
            max_buffered_per_direction: reassembly.max_buffered_per_direction,
            max_frame_size: DecoderLimits::default().max_buffered_frame,
            max_header_block: session.max_header_block,
            max_streams: session.max_open_streams,
            max_message_size: DEFAULT_MAX_MESSAGE,
            max_decompressed_size: DEFAULT_DECOMPRESS_CAP,
            max_hpack_table_size: session.max_hpack_table,
        }
    }
}

impl Limits {
    /// The reassembly configuration with these bounds (other settings at their defaults).
    pub fn reassembly(&self) -> reassembly::Config {
        reassembly::Config {
            // At least one connection: zero would evict every connection at its first packet.
            max_connections: self.max_connections.max(1),
            max_buffered_per_direction: self.max_buffered_per_direction,
            ..reassembly::Config::default()
        }
    }

    /// The HTTP/2 configuration with these bounds, gRPC's included.
    pub fn session(
        &self,
        record_frames: bool,
        keep_message_bodies: bool,
    ) -> session::Config<CallConfig> {
        session::Config {
            record_frames,
            max_header_block: self.max_header_block,
            max_open_streams: self.max_streams.max(1),
            frame_limits: DecoderLimits {
                max_buffered_frame: self.max_frame_size,
                ..DecoderLimits::default()
            },
            max_hpack_table: self.max_hpack_table_size,
            body: CallConfig {
                keep_bodies: keep_message_bodies,
                max_message: self.max_message_size,
                max_decompressed: self.max_decompressed_size,
            },
            ..session::Config::default()
        }
    }
}

/// A size that [`parse_size`] could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a size: {0:?} (a number of bytes, optionally with K, M, G, KiB, MiB or GiB)")]
pub struct SizeError(pub String);

/// A byte count: `1048576`, `512K`/`512KiB` (units of 1024), `16M`/`16MiB`, `1G`/`1GiB`;
/// case-insensitive, an optional space and `B`, `KB`/`MB`/`GB` alike (binary, as these are
/// buffer sizes). Overflow is an error, not a wrap.
pub fn parse_size(text: &str) -> Result<usize, SizeError> {
    let bad = || SizeError(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    let n: usize = digits.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    n.checked_mul(1usize << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        for (text, n) in [
            ("0", 0),
            ("1048576", 1 << 20),
            ("1_000", 1000),
            ("512K", 512 << 10),
            ("512 KiB", 512 << 10),
            ("16MiB", 16 << 20),
            ("16mb", 16 << 20),
            ("1G", 1 << 30),
            ("4gib", 4 << 30),
            ("7b", 7),
        ] {
            assert_eq!(parse_size(text), Ok(n), "{text}");
        }
        for text in [
            "",
            "MiB",
            "-1",
            "1.5M",
            "12T",
            "1 M B",
            "99999999999999999999G",
        ] {
            assert!(parse_size(text).is_err(), "{text}");
        }
    }

    #[test]
    fn defaults_are_the_layers_own() {
        let l = Limits::default();
        assert_eq!(
            l.reassembly().max_connections,
            reassembly::Config::default().max_connections
        );
        let c = l.session(false, true);
        let d = session::Config::<CallConfig>::default();
        assert_eq!(
            (c.max_header_block, c.max_open_streams, c.body.max_message),
            (d.max_header_block, d.max_open_streams, d.body.max_message)
        );
        assert_eq!(c.frame_limits, d.frame_limits);
        assert_eq!(l.max_frame_size, 1 << 20);
        assert_eq!(l.max_decompressed_size, 16 << 20);
    }
}
