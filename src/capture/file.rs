//! Placeholder, replaced by the real pcap/pcapng reader.
use super::Record;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap { nanos: bool, big_endian: bool },
    PcapNg,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct CaptureReader {}

impl CaptureReader {
    pub fn open(_path: &Path) -> Result<Self, CaptureError> {
        Err(CaptureError::Io(std::io::Error::other("not implemented")))
    }
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, CaptureError> {
        Ok(None)
    }
}

impl CaptureReader {
    pub fn format(&self) -> FileFormat {
        FileFormat::PcapNg
    }
    pub fn gzipped(&self) -> bool {
        false
    }
}
