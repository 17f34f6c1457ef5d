//! Live capture, and every other place h2scope maps memory the OS shares with it: the
//! crate's only `unsafe` code lives here (the crate denies it elsewhere), each block with a
//! `// SAFETY:` comment.
//!
//! - `ring`: Linux AF_PACKET with a TPACKET_V3 ring (live capture);
//! - [`map_file`]: capture files mapped read-only, so packets are sliced, not copied.
#![allow(unsafe_code)]

#[cfg(target_os = "linux")]
mod ring;

#[cfg(target_os = "linux")]
pub use ring::*;

use memmap2::Mmap;
use std::fs::File;
use std::io;

/// Maps a capture file read-only.
pub fn map_file(file: &File) -> io::Result<Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the mapped file may change while we hold the
    // map, and Rust's `&[u8]` promises the bytes do not. We never write through the map and
    // check every length against the map's length (fixed when mapped) before reading, so
    // bytes changed by another writer are just more hostile input, and bytes appended later
    // are simply not seen. What we cannot guard against: if the file is truncated while
    // mapped, touching a page past its new end raises SIGBUS and kills the process. Every
    // mmap-based reader has this trade-off; a capture that may be truncated under us (log
    // rotation) should be read as a stream ("-").
    unsafe { Mmap::map(file) }
}

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    // Async-signal-safe: one atomic store.
    STOP.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM set a flag instead of killing the process, so a capture can stop
/// cleanly and flush everything; returns the flag.
#[cfg(unix)]
pub fn stop_on_signals() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only performs an atomic store (async-signal-safe);
        // `on_stop_signal` has the C ABI and signature `signal` expects.
        unsafe {
            libc::signal(sig, on_stop_signal as *const () as libc::sighandler_t);
        }
    }
    &STOP
}
