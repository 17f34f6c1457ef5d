//! What the engine needs of a live packet source, whichever backend provides it: the
//! AF_PACKET ring (Linux, the default) or libpcap (the `libpcap` feature); and their
//! errors and counters.

use super::Backend;
use crate::capture::{LinkType, Packet};
use crate::filter::{BpfError, FilterError};
use std::io;
use std::time::Duration;

/// A live capture, read packet by packet.
pub trait LiveSource {
    /// The next packet, waiting at most about `timeout`; `Ok(None)` when none came.
    fn next_packet(&mut self, timeout: Duration) -> Result<Option<Packet<'_>>, LiveError>;
    /// The link type of every packet.
    fn link_type(&self) -> LinkType;
    /// Packets received and dropped so far.
    fn stats(&mut self) -> LiveStats;
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// This build has no live-capture backend: not Linux, and no `libpcap` feature.
    #[error("live capture needs Linux or the libpcap feature")]
    Unsupported,
    /// A backend this build does not have was asked for.
    #[error("this build has no {0:?} live-capture backend")]
    NotBuilt(Backend),
    /// The filter is outside the subset the AF_PACKET backend compiles.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The AF_PACKET backend cannot compile the filter for the interface.
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(
        "capturing on {interface} needs CAP_NET_RAW: run as root, or give the binary the \
         capability with `setcap cap_net_raw,cap_net_admin=eip $(command -v h2scope)`"
    )]
    PermissionDenied { interface: String },
    #[error("no interface named {name:?}; the interfaces are: {}", available.join(", "))]
    NoSuchInterface {
        name: String,
        available: Vec<String>,
    },
    #[error("live capture on {interface}: {what}: {source}")]
    Io {
        interface: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("live capture: the ring is inconsistent ({0})")]
    Ring(&'static str),
    /// libpcap said no (the `libpcap` backend), in its own words.
    #[error("live capture on {interface} (libpcap): {message}")]
    Pcap { interface: String, message: String },
    /// The `libpcap` backend's filter compiler rejected the expression.
    #[error("libpcap cannot compile the filter {filter:?}: {message}")]
    PcapFilter { filter: String, message: String },
}

/// Counters the kernel (or libpcap) keeps for the capture: packets it queued, and packets
/// it dropped because the reader was behind (its buffer was full).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub received: u64,
    pub dropped: u64,
}
