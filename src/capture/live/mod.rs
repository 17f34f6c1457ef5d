//! Live capture, the platform layer: which backends this build has, and the one place that
//! picks one and opens it ([`open`]). The rest of the crate sees only [`LiveSource`], so
//! file reading, export and the UI build on any Unix.
//!
//! | platform | backends | default |
//! | --- | --- | --- |
//! | Linux | `ring`: AF_PACKET with a TPACKET_V3 ring; `libpcap` with the feature | `ring` |
//! | other Unix | `libpcap` with the feature, else none ([`LiveError::Unsupported`]) | `libpcap` |
//!
//! `ring` filters with [`crate::filter`] compiled to classic BPF; `libpcap` (the `pcap`
//! crate) compiles the whole tcpdump syntax itself and needs no unsafe code of ours.
//!
//! This module also holds every other place h2scope maps memory the OS shares with it, and
//! the stop signals (`os`: [`map_file`], [`release_mapped`], [`stop_on_signals`]): the
//! crate's only `unsafe` code lives here (the crate denies it elsewhere), each block with a
//! `// SAFETY:` comment.
//!
//! `--cfg h2scope_no_af_packet` leaves `ring` out on Linux too. No other target's standard
//! library can be installed where h2scope is built, so CI checks with it that nothing
//! outside this module reaches for the Linux-only backend.
#![allow(unsafe_code)]

#[cfg(feature = "libpcap")]
mod libpcap;
mod os;
#[cfg(all(target_os = "linux", not(h2scope_no_af_packet)))]
mod ring;
mod source;

#[cfg(feature = "libpcap")]
pub use libpcap::PcapCapture;
pub use os::{RELEASE_ALIGN, map_file};
#[cfg(unix)]
pub use os::{release_mapped, stop_on_signals};
#[cfg(all(target_os = "linux", not(h2scope_no_af_packet)))]
pub use ring::*;
pub use source::{LiveError, LiveSource, LiveStats};

/// A live-capture backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Linux's AF_PACKET socket with a memory-mapped ring.
    AfPacket,
    /// libpcap (the `libpcap` feature).
    Pcap,
}

impl Backend {
    /// The backends this build has, the default first.
    pub const BUILT: &'static [Backend] = &[
        #[cfg(all(target_os = "linux", not(h2scope_no_af_packet)))]
        Backend::AfPacket,
        #[cfg(feature = "libpcap")]
        Backend::Pcap,
    ];

    /// The backend used when none is asked for: AF_PACKET where it is built, else libpcap;
    /// `None` when this build cannot capture.
    pub fn default_built() -> Option<Backend> {
        Self::BUILT.first().copied()
    }

    pub fn is_built(self) -> bool {
        Self::BUILT.contains(&self)
    }
}

/// What to capture, whichever backend captures it.
#[derive(Clone, Copy, Debug)]
pub struct LiveOptions<'a> {
    pub interface: &'a str,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// Capture traffic not addressed to this host too.
    pub promiscuous: bool,
    /// A pcap-filter(7) expression: [`crate::filter`]'s subset for AF_PACKET, the whole
    /// syntax for libpcap (which compiles it).
    pub filter: Option<&'a str>,
}

/// Opens a live capture with `backend`, or with [`Backend::default_built`] when `None`.
pub fn open(
    backend: Option<Backend>,
    options: &LiveOptions<'_>,
) -> Result<Box<dyn LiveSource + Send>, LiveError> {
    let Some(default) = Backend::default_built() else {
        // No backend to hand `options` to.
        let _ = options;
        return Err(LiveError::Unsupported);
    };
    match backend.unwrap_or(default) {
        #[cfg(all(target_os = "linux", not(h2scope_no_af_packet)))]
        Backend::AfPacket => Ok(Box::new(open_ring(options)?)),
        #[cfg(feature = "libpcap")]
        Backend::Pcap => Ok(Box::new(PcapCapture::open(
            options.interface,
            options.snaplen,
            options.promiscuous,
            options.filter,
        )?)),
        // A backend this build lacks (unreachable when it has both).
        #[allow(unreachable_patterns)]
        missing => Err(LiveError::NotBuilt(missing)),
    }
}

/// The AF_PACKET ring, with the filter compiled to classic BPF by [`crate::filter`].
#[cfg(all(target_os = "linux", not(h2scope_no_af_packet)))]
fn open_ring(options: &LiveOptions<'_>) -> Result<LiveCapture, LiveError> {
    let filter = options
        .filter
        .map(crate::filter::Filter::parse)
        .transpose()?;
    // The link type is known once the interface is: compile for it, then attach.
    let link_type = LiveCapture::link_type_of_interface(options.interface);
    let bpf = filter
        .map(|f| f.compile_bpf(link_type, options.snaplen))
        .transpose()?;
    LiveCapture::open(&LiveConfig {
        interface: options.interface.to_string(),
        snaplen: options.snaplen,
        promiscuous: options.promiscuous,
        filter: bpf,
        ..LiveConfig::default()
    })
}
