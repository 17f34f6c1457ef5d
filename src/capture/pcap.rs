//! Classic libpcap files (draft-ietf-opsawg-pcap): a 24-byte file header, then records of a
//! 16-byte header followed by the captured bytes.
//!
//! Lengths are checked before every header read; the `unwrap_or(0)` on those reads only keeps a
//! broken check from panicking.

use super::bytes::Endian;
use super::file::{CaptureError, MAX_RECORD_LEN, PacketPlan, Plan};
use super::input::Input;
use super::{LinkType, Notice, Timestamp};
use std::collections::VecDeque;

pub(super) const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

pub(super) struct PcapParser {
    endian: Endian,
    nanos: bool,
    /// Set once the file header has been read.
    link_type: Option<LinkType>,
}

impl PcapParser {
    pub(super) fn new(endian: Endian, nanos: bool) -> Self {
        PcapParser {
            endian,
            nanos,
            link_type: None,
        }
    }

    pub(super) fn plan(
        &mut self,
        input: &mut Input,
        pending: &mut VecDeque<Notice>,
    ) -> Result<Plan, CaptureError> {
        let e = self.endian;
        let offset = input.position();
        let Some(link_type) = self.link_type else {
            let head = input.fill(FILE_HEADER_LEN)?;
            if head.len() < FILE_HEADER_LEN {
                return Ok(Plan::truncated(offset, FILE_HEADER_LEN, head.len()));
            }
            // The header's snaplen is reported but never trusted as a bound: writers put
            // anything there (0, 2^32-1), and records are bounded by MAX_RECORD_LEN instead.
            let snaplen = e.u32(head, 16).unwrap_or(0);
            // §4: the low 16 bits are the LinkType; the upper bits carry FCS information (an
            // 'f' flag and the FCS length), which we leave in the packet bytes.
            let link_type = LinkType(e.u32(head, 20).unwrap_or(0) & 0xFFFF);
            input.take(FILE_HEADER_LEN);
            self.link_type = Some(link_type);
            pending.push_back(Notice::Interface {
                id: 0,
                link_type,
                snaplen,
                name: None,
            });
            return Ok(Plan::Again);
        };

        let head = input.fill(RECORD_HEADER_LEN)?;
        if head.is_empty() {
            return Ok(Plan::End);
        }
        if head.len() < RECORD_HEADER_LEN {
            return Ok(Plan::truncated(offset, RECORD_HEADER_LEN, head.len()));
        }
        let secs = e.u32(head, 0).unwrap_or(0);
        let frac = e.u32(head, 4).unwrap_or(0);
        let incl_len = e.u32(head, 8).unwrap_or(0);
        let orig_len = e.u32(head, 12).unwrap_or(0);
        // No real capture has a record this large; a header claiming one is garbage, and we
        // would rather say so than buffer megabytes of it.
        if u64::from(incl_len) > MAX_RECORD_LEN as u64 {
            return Err(CaptureError::RecordTooLarge {
                offset,
                len: incl_len.into(),
                limit: MAX_RECORD_LEN as u64,
            });
        }
        let data_len = incl_len as usize;
        let total = RECORD_HEADER_LEN + data_len;
        let record = input.fill(total)?;
        if record.len() < total {
            return Ok(Plan::truncated(offset, total, record.len()));
        }
        // incl_len > orig_len violates the format but happens (buggy writers); the captured
        // bytes are still the record's bytes, so we keep them.
        Ok(Plan::Packet(PacketPlan {
            block_len: total,
            data_at: RECORD_HEADER_LEN,
            data_len,
            ts: timestamp(secs, frac, self.nanos),
            interface: 0,
            link_type,
            orig_len,
        }))
    }
}

/// Seconds are unsigned (files reach 2106); the fraction is not range-checked (a fraction of
/// a second or more is invalid but harmless) and the sum cannot overflow an i64.
fn timestamp(secs: u32, frac: u32, nanos: bool) -> Timestamp {
    let frac_ns = if nanos {
        i64::from(frac)
    } else {
        i64::from(frac) * 1_000
    };
    Timestamp(
        i64::from(secs)
            .saturating_mul(1_000_000_000)
            .saturating_add(frac_ns),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Item, PcapFile, packet, read_all};
    use super::*;
    use crate::capture::file::CaptureReader;

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn both_byte_orders_micro_and_nano() {
        for endian in [Endian::Little, Endian::Big] {
            for nanos in [false, true] {
                let mut f = PcapFile::new(endian, nanos, 1, 65535);
                f.record(1_700_000_000, 123_456, b"abc", 3);
                f.record(1_700_000_001, 999, b"defg", 60);
                let reader = CaptureReader::from_bytes(f.bytes.clone()).unwrap();
                assert_eq!(
                    reader.format(),
                    crate::capture::FileFormat::Pcap {
                        nanos,
                        big_endian: endian == Endian::Big
                    }
                );
                let unit = if nanos { 1 } else { 1_000 };
                assert_eq!(
                    read_all(&f.bytes),
                    vec![
                        Item::Notice(Notice::Interface {
                            id: 0,
                            link_type: LinkType::ETHERNET,
                            snaplen: 65535,
                            name: None
                        }),
                        packet(1_700_000_000 * SEC + 123_456 * unit, 0, 1, b"abc", 3),
                        packet(1_700_000_001 * SEC + 999 * unit, 0, 1, b"defg", 60),
                    ]
                );
            }
        }
    }

    #[test]
    fn fcs_bits_are_masked_from_the_link_type() {
        // f flag (bit 28) and an FCS length of 2 in the top bits, link type NULL.
        let f = PcapFile::new(Endian::Little, false, 0x1000_0000 | (2 << 29), 262144);
        let items = read_all(&f.bytes);
        assert_eq!(
            items,
            vec![Item::Notice(Notice::Interface {
                id: 0,
                link_type: LinkType::NULL,
                snaplen: 262144,
                name: None
            })]
        );
    }

    #[test]
    fn absurd_snaplen_and_incl_len_over_orig_len_still_read() {
        let mut f = PcapFile::new(Endian::Big, false, 101, u32::MAX);
        f.record(5, 0, &[0x45; 40], 20);
        let items = read_all(&f.bytes);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], packet(5 * SEC, 0, 101, &[0x45; 40], 20));
    }

    #[test]
    fn record_longer_than_the_file_is_a_truncation_notice() {
        let mut f = PcapFile::new(Endian::Little, false, 1, 65535);
        f.record(1, 0, b"ok", 2);
        let cut_at = f.bytes.len() as u64;
        f.raw_header(2, 0, 1000, 1000);
        f.bytes.extend_from_slice(&[0; 10]);
        let items = read_all(&f.bytes);
        assert_eq!(
            items[2..],
            [Item::Notice(Notice::TruncatedRecord {
                offset: cut_at,
                needed: 1016,
                available: 26
            })]
        );
    }

    #[test]
    fn oversized_record_is_an_error_after_the_good_ones() {
        let mut f = PcapFile::new(Endian::Little, true, 1, 65535);
        f.record(1, 0, b"ok", 2);
        let at = f.bytes.len() as u64;
        f.raw_header(2, 0, 0x7fff_ffff, 100);
        f.bytes.extend_from_slice(&[0; 64]);
        let items = read_all(&f.bytes);
        assert_eq!(items.len(), 3);
        assert_eq!(items[1], packet(SEC, 0, 1, b"ok", 2));
        let Item::Error(msg) = &items[2] else {
            panic!("expected an error, got {:?}", items[2])
        };
        assert!(msg.contains(&format!("byte {at}")), "{msg}");
        // And the error is the typed one.
        let mut r = CaptureReader::from_bytes(f.bytes.clone()).unwrap();
        r.next_record().unwrap();
        r.next_record().unwrap();
        assert!(matches!(
            r.next_record(),
            Err(CaptureError::RecordTooLarge { offset, len: 0x7fff_ffff, .. }) if offset == at
        ));
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn header_cut_short() {
        let f = PcapFile::new(Endian::Little, false, 1, 65535);
        let items = read_all(&f.bytes[..10]);
        assert_eq!(
            items,
            vec![Item::Notice(Notice::TruncatedRecord {
                offset: 0,
                needed: 24,
                available: 10
            })]
        );
    }

    #[test]
    fn timestamps_saturate_never_overflow() {
        assert_eq!(
            timestamp(u32::MAX, u32::MAX, false).0,
            4_294_967_295 * SEC + 4_294_967_295_000
        );
        assert_eq!(timestamp(0, 7, true).0, 7);
    }
}
