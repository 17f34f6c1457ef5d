//! Live capture through libpcap (the `libpcap` feature, `sniff --capture-backend pcap`):
//! the platforms libpcap supports, and libpcap's own filter compiler, so `-f` takes the
//! whole tcpdump syntax. The `pcap` crate wraps libpcap's C API; our one unsafe call is
//! `poll(2)` on its descriptor.
//!
//! Timestamps are libpcap's default microseconds (nanosecond precision is not available
//! everywhere, and a silent fallback would misread them). The capture is non-blocking in
//! immediate mode and we wait with `poll` ourselves: libpcap's read timeout does not end a
//! read on Linux while no packet passes the filter, and the engine must come back every
//! tick to stop on time. On Linux libpcap leaves out loopback's outgoing copies itself.

use super::source::{LiveError, LiveSource, LiveStats};
use crate::capture::{LinkType, Packet, Timestamp};
use std::time::Duration;

/// libpcap's own read timeout (platforms that buffer need one); reads do not block.
const READ_TIMEOUT_MS: i32 = 50;

/// A live capture opened through libpcap.
pub struct PcapCapture {
    interface: String,
    cap: pcap::Capture<pcap::Active>,
    link_type: LinkType,
    /// The last read found nothing: wait on the descriptor before the next.
    idle: bool,
}

impl PcapCapture {
    /// Opens `interface`, keeping `snaplen` bytes of each packet, with `filter` (tcpdump
    /// syntax) compiled by libpcap and attached in the kernel where it can be.
    pub fn open(
        interface: &str,
        snaplen: u32,
        promiscuous: bool,
        filter: Option<&str>,
    ) -> Result<Self, LiveError> {
        let error = |e: pcap::Error| to_live_error(interface, e);
        let devices = pcap::Device::list().map_err(error)?;
        if !devices.iter().any(|d| d.name == interface) {
            let mut available: Vec<String> = devices.into_iter().map(|d| d.name).collect();
            available.sort();
            return Err(LiveError::NoSuchInterface {
                name: interface.to_string(),
                available,
            });
        }
        let mut cap = pcap::Capture::from_device(interface)
            .map_err(error)?
            .snaplen(i32::try_from(snaplen).unwrap_or(i32::MAX))
            .promisc(promiscuous)
            .immediate_mode(true)
            .timeout(READ_TIMEOUT_MS)
            .open()
            .map_err(error)?;
        if let Some(f) = filter {
            cap.filter(f, true).map_err(|e| LiveError::PcapFilter {
                filter: f.to_string(),
                message: e.to_string(),
            })?;
        }
        let cap = cap.setnonblock().map_err(error)?;
        let link_type = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
        Ok(PcapCapture {
            interface: interface.to_string(),
            cap,
            link_type,
            idle: false,
        })
    }
}

/// libpcap's errors are text: permission problems become the one clear message.
fn to_live_error(interface: &str, e: pcap::Error) -> LiveError {
    let message = e.to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        return LiveError::PermissionDenied {
            interface: interface.to_string(),
        };
    }
    LiveError::Pcap {
        interface: interface.to_string(),
        message,
    }
}

impl LiveSource for PcapCapture {
    fn next_packet(&mut self, timeout: Duration) -> Result<Option<Packet<'_>>, LiveError> {
        if self.idle {
            // Waiting only after an empty read: packets libpcap already holds are read at
            // once, and a quiet interface costs one wakeup per `timeout`.
            let mut pfd = libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(&self.cap),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd, count 1; the descriptor is libpcap's and stays open
            // while `self.cap` lives. An error (EINTR) is just an early return.
            unsafe { libc::poll(&mut pfd, 1, ms) };
        }
        match self.cap.next_packet() {
            Ok(p) => {
                self.idle = false;
                // time_t and suseconds_t are i64 on Linux, narrower elsewhere.
                #[allow(clippy::useless_conversion)]
                let ts = i64::from(p.header.ts.tv_sec)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(p.header.ts.tv_usec).saturating_mul(1_000));
                Ok(Some(Packet {
                    ts: Timestamp(ts),
                    interface: 0,
                    link_type: self.link_type,
                    data: p.data,
                    orig_len: p.header.len,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                self.idle = true;
                Ok(None)
            }
            Err(e) => Err(to_live_error(&self.interface, e)),
        }
    }

    fn link_type(&self) -> LinkType {
        self.link_type
    }

    fn stats(&mut self) -> LiveStats {
        // libpcap's counters are cumulative (and 32-bit).
        self.cap
            .stats()
            .map_or(LiveStats::default(), |s| LiveStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped) + u64::from(s.if_dropped),
            })
    }
}
