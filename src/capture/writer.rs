//! Writes captured packets as pcapng (for `sniff -w`): a Section Header Block, one Interface
//! Description Block with nanosecond timestamps (`if_tsresol` = 9), then one Enhanced Packet
//! Block per packet, in the machine's byte order as the format allows (the SHB's magic says
//! which), so h2scope, tshark and every pcapng reader read it back.

use super::{LinkType, Packet};
use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Pads a length to a multiple of 4 (pcapng blocks and options are 32-bit aligned).
fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

pub struct PcapngWriter<W: Write> {
    out: W,
    snaplen: u32,
    packets: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a file with one interface of `link_type`, named `interface`.
    pub fn new(mut out: W, link_type: LinkType, snaplen: u32, interface: &str) -> io::Result<Self> {
        // Section Header Block: magic, length, byte-order magic, version 1.0, section
        // length unknown (-1), no options.
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&SHB.to_ne_bytes());
        shb.extend_from_slice(&28u32.to_ne_bytes());
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
        shb.extend_from_slice(&1u16.to_ne_bytes());
        shb.extend_from_slice(&0u16.to_ne_bytes());
        shb.extend_from_slice(&(-1i64).to_ne_bytes());
        shb.extend_from_slice(&28u32.to_ne_bytes());
        out.write_all(&shb)?;

        // Interface Description Block with if_name (2), if_tsresol (9) = 9: nanoseconds.
        let name = interface.as_bytes();
        let mut opts = Vec::new();
        opts.extend_from_slice(&2u16.to_ne_bytes());
        opts.extend_from_slice(&(name.len() as u16).to_ne_bytes());
        opts.extend_from_slice(name);
        opts.resize(pad4(opts.len()), 0);
        opts.extend_from_slice(&9u16.to_ne_bytes());
        opts.extend_from_slice(&1u16.to_ne_bytes());
        opts.extend_from_slice(&[9, 0, 0, 0]);
        opts.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        let len = (20 + opts.len()) as u32;
        let mut idb = Vec::with_capacity(len as usize);
        idb.extend_from_slice(&IDB.to_ne_bytes());
        idb.extend_from_slice(&len.to_ne_bytes());
        idb.extend_from_slice(&(link_type.0 as u16).to_ne_bytes());
        idb.extend_from_slice(&0u16.to_ne_bytes());
        idb.extend_from_slice(&snaplen.to_ne_bytes());
        idb.extend_from_slice(&opts);
        idb.extend_from_slice(&len.to_ne_bytes());
        out.write_all(&idb)?;
        Ok(PcapngWriter {
            out,
            snaplen,
            packets: 0,
        })
    }

    /// Appends one packet (its captured bytes, at most the snaplen, and its wire length).
    pub fn write_packet(&mut self, p: &Packet<'_>) -> io::Result<()> {
        let data = p.data.get(..self.snaplen as usize).unwrap_or(p.data);
        let len = (32 + pad4(data.len())) as u32;
        let ts = p.ts.0.max(0) as u64;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&EPB.to_ne_bytes());
        head[4..8].copy_from_slice(&len.to_ne_bytes());
        head[8..12].copy_from_slice(&0u32.to_ne_bytes());
        head[12..16].copy_from_slice(&((ts >> 32) as u32).to_ne_bytes());
        head[16..20].copy_from_slice(&(ts as u32).to_ne_bytes());
        head[20..24].copy_from_slice(&(data.len() as u32).to_ne_bytes());
        head[24..28].copy_from_slice(&p.orig_len.max(data.len() as u32).to_ne_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(
            [0u8; 3]
                .get(..pad4(data.len()) - data.len())
                .unwrap_or_default(),
        )?;
        self.out.write_all(&len.to_ne_bytes())?;
        self.packets += 1;
        Ok(())
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureReader, FileFormat, Notice, Record, Timestamp};

    #[test]
    fn what_is_written_reads_back() {
        let mut w = PcapngWriter::new(Vec::new(), LinkType::ETHERNET, 65_535, "lo").unwrap();
        let frames: [&[u8]; 3] = [b"abc", b"", b"0123456789abcdef01"];
        for (i, f) in frames.iter().enumerate() {
            w.write_packet(&Packet {
                ts: Timestamp(1_700_000_000_123_456_789 + i as i64),
                interface: 0,
                link_type: LinkType::ETHERNET,
                data: f,
                orig_len: f.len() as u32 + 10,
            })
            .unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut r = CaptureReader::from_bytes(bytes).unwrap();
        assert_eq!(r.format(), FileFormat::PcapNg);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            match rec {
                Record::Packet(p) => got.push((p.ts.0, p.data.to_vec(), p.orig_len, p.link_type)),
                Record::Notice(Notice::Interface {
                    name, link_type, ..
                }) => {
                    assert_eq!(name.as_deref(), Some("lo"));
                    assert_eq!(link_type, LinkType::ETHERNET);
                }
                Record::Notice(n) => panic!("unexpected {n:?}"),
            }
        }
        assert_eq!(got.len(), 3);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(
                got[i].0,
                1_700_000_000_123_456_789 + i as i64,
                "nanoseconds kept"
            );
            assert_eq!(got[i].1, *f);
            assert_eq!(got[i].2, f.len() as u32 + 10);
        }
        tshark_reads(&r_bytes(frames));
    }

    fn r_bytes(frames: [&[u8]; 3]) -> Vec<u8> {
        let mut w = PcapngWriter::new(Vec::new(), LinkType::ETHERNET, 65_535, "lo").unwrap();
        for f in frames {
            let p = Packet {
                ts: Timestamp(1_700_000_000_000_000_001),
                interface: 0,
                link_type: LinkType::ETHERNET,
                data: f,
                orig_len: f.len() as u32,
            };
            w.write_packet(&p).unwrap();
        }
        w.finish().unwrap()
    }

    /// tshark reads the file too (skipped when it is not installed).
    fn tshark_reads(bytes: &[u8]) {
        let dir = std::env::temp_dir().join(format!("h2scope-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("w.pcapng");
        std::fs::write(&file, bytes).unwrap();
        let out = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(&file)
            .args([
                "-T",
                "fields",
                "-e",
                "frame.cap_len",
                "-e",
                "frame.time_epoch",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let Ok(out) = out else {
            eprintln!("SKIPPED: tshark not installed");
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let lens: Vec<&str> = text
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(lens, ["3", "0", "18"]);
        assert!(text.contains("1700000000.000000001"), "{text}");
    }
}
