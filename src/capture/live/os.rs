//! The OS calls every build makes, on any Unix: capture files mapped read-only (packets are
//! sliced from the map, not copied, and the pages already read are given back), and SIGINT
//! and SIGTERM turned into a flag so a capture stops cleanly. Here because they are
//! `unsafe`, which the crate allows only in `capture::live`.

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

/// Drops `map[from..to]` from the process's resident set, `from` and `to` rounded down to
/// [`RELEASE_ALIGN`]. The pages stay in the page cache; touching them again maps them back.
/// A capture is read once, front to back: releasing what is behind keeps the RSS of a
/// multi-gigabyte file flat instead of growing to the file's size.
#[cfg(unix)]
pub fn release_mapped(map: &Mmap, from: usize, to: usize) -> io::Result<()> {
    let from = from - from % RELEASE_ALIGN;
    let to = to.min(map.len());
    let to = to - to % RELEASE_ALIGN;
    if to <= from {
        return Ok(());
    }
    // SAFETY: memmap2 marks MADV_DONTNEED unchecked because on a private or writable mapping
    // it discards data: later reads see the file again, or zeros. `map_file` maps the file
    // shared and read-only (`Mmap::map`: PROT_READ, MAP_SHARED), whose pages *are* the page
    // cache's: after DONTNEED a read maps the same page-cache page back, so every byte reads
    // as before (and a file changed by another writer reads the same with or without it,
    // the trade-off `map_file` already describes). Both ends are multiples of
    // RELEASE_ALIGN, hence of the page size, and within the map.
    unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from) }
}

/// [`release_mapped`] works in whole units of this size: a multiple of every page size
/// Linux uses (4 KiB to 64 KiB).
pub const RELEASE_ALIGN: usize = 1 << 20;
