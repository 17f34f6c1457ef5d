//! pcapng files (draft-ietf-opsawg-pcapng): a sequence of sections, each a Section Header Block
//! followed by interface descriptions, packets and other blocks, in the section's byte order.
//!
//! Interpreted: SHB (§4.1), IDB (§4.2: if_name, if_tsresol, if_tsoffset), EPB (§4.3), SPB
//! (§4.4), the obsolete Packet Block (Appendix A), DSB (§4.7), and opt_comment on SHB, IDB, EPB,
//! PB and DSB. Skipped silently: NRB, ISB and custom blocks. Any other type is skipped with a
//! [`Notice::UnknownBlock`].
//!
//! Damage policy: a block whose framing is impossible (length not a multiple of 4 or under 12,
//! leading and trailing lengths that differ, a packet longer than its block, a bad byte-order
//! magic) ends the file with `Malformed`, because nothing after it can be trusted to start on a
//! block boundary. Damage *inside* a well-framed block that only affects informational fields
//! (an option list running past its block) ends that option list, nothing more.
//!
//! Lengths are checked before every fixed-field read; `unwrap_or(0)` on those reads only keeps
//! a broken check from panicking.

use super::bytes::Endian;
use super::file::{CaptureError, MAX_RECORD_LEN, PacketPlan, Plan};
use super::input::Input;
use super::{LinkType, Notice, Timestamp};
use std::collections::VecDeque;

pub(super) const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const NRB: u32 = 4;
const ISB: u32 = 5;
const EPB: u32 = 6;
const DSB: u32 = 0x0A;
const CUSTOM: u32 = 0x0000_0BAD;
const CUSTOM_NO_COPY: u32 = 0x4000_0BAD;

const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// Type, total length, trailing total length.
const BLOCK_OVERHEAD: usize = 12;
/// More interfaces than any real capture (the largest seen have a few hundred); an IDB flood is
/// a hostile file, and the interface table must stay bounded.
pub(super) const MAX_INTERFACES: usize = 65_536;
/// Interface names are short ("eth0", "\Device\NPF_{GUID}"); longer ones are cut.
const MAX_NAME_LEN: usize = 256;
/// Comments queued per block: a block full of empty comments would otherwise turn 16 MiB of
/// input into millions of queued notices.
const MAX_COMMENTS_PER_BLOCK: usize = 64;

/// §4.2: "if_tsresol ... If the option is not present, a resolution of 10^-6 is assumed".
const DEFAULT_TSRESOL: u8 = 6;

#[derive(Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    tsresol: u8,
    tsoffset: i64,
}

pub(super) struct PcapNgParser {
    endian: Endian,
    /// The current section's interfaces, by id (reset by every SHB).
    interfaces: Vec<Interface>,
    /// For Simple Packet Blocks, which carry no timestamp.
    last_ts: Timestamp,
}

/// What one well-framed block turned out to be.
enum Outcome {
    Packet(PacketPlan),
    Consumed,
}

impl PcapNgParser {
    pub(super) fn new() -> Self {
        PcapNgParser {
            // Replaced by the first SHB's byte order before any other block is read.
            endian: Endian::Little,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
        }
    }

    pub(super) fn plan(
        &mut self,
        input: &mut Input,
        pending: &mut VecDeque<Notice>,
    ) -> Result<Plan, CaptureError> {
        let offset = input.position();
        let head = input.fill(BLOCK_OVERHEAD)?;
        if head.is_empty() {
            return Ok(Plan::End);
        }
        // The SHB's type is a palindrome, so it reads the same in either byte order; its
        // byte-order magic then gives the order of its own length and of the whole section.
        let block_type = self.endian.u32(head, 0).unwrap_or(0);
        if head.len() < BLOCK_OVERHEAD {
            let needed = match self.endian.u32(head, 4) {
                Some(len) if block_type != SHB => {
                    (len as usize).clamp(BLOCK_OVERHEAD, MAX_RECORD_LEN)
                }
                _ => BLOCK_OVERHEAD,
            };
            return Ok(Plan::truncated(offset, needed, head.len()));
        }
        let endian = if block_type == SHB {
            match head.get(8..12) {
                Some([0x4D, 0x3C, 0x2B, 0x1A]) => Endian::Little,
                Some([0x1A, 0x2B, 0x3C, 0x4D]) => Endian::Big,
                _ => {
                    return Err(malformed(
                        offset + 8,
                        format!(
                            "section header byte-order magic is {:08x}, not {BYTE_ORDER_MAGIC:08x} (§4.1)",
                            Endian::Big.u32(head, 8).unwrap_or(0)
                        ),
                    ));
                }
            }
        } else {
            self.endian
        };
        let total = endian.u32(head, 4).unwrap_or(0);
        if total as usize > MAX_RECORD_LEN {
            return Err(CaptureError::RecordTooLarge {
                offset,
                len: total.into(),
                limit: MAX_RECORD_LEN as u64,
            });
        }
        // §3.1: "Block Total Length: total size of this block ... multiple of 4".
        if (total as usize) < BLOCK_OVERHEAD || total % 4 != 0 {
            return Err(malformed(
                offset,
                format!(
                    "block type {block_type:#x} has length {total}, not a multiple of 4 of at least 12 (§3.1)"
                ),
            ));
        }
        let total = total as usize;
        let block = input.fill(total)?;
        if block.len() < total {
            return Ok(Plan::truncated(offset, total, block.len()));
        }
        let trailer = endian.u32(block, total - 4).unwrap_or(0);
        if trailer as usize != total {
            return Err(malformed(
                offset,
                format!(
                    "block type {block_type:#x} has length {total} at its start but {trailer} at its end (§3.1)"
                ),
            ));
        }
        let body = block.get(8..total - 4).unwrap_or_default();
        match self.block(offset, block_type, endian, total, body, pending)? {
            Outcome::Packet(plan) => Ok(Plan::Packet(plan)),
            Outcome::Consumed => {
                input.take(total);
                Ok(Plan::Again)
            }
        }
    }

    /// Interpret one well-framed block. Validates everything before queueing any notice, so an
    /// error never leaves notices of the failed block behind.
    fn block(
        &mut self,
        offset: u64,
        block_type: u32,
        endian: Endian,
        total: usize,
        body: &[u8],
        pending: &mut VecDeque<Notice>,
    ) -> Result<Outcome, CaptureError> {
        let e = endian;
        let too_short = |name: &str, min: usize| {
            malformed(
                offset,
                format!(
                    "{name} block of {total} bytes is shorter than its {} fixed bytes",
                    min + BLOCK_OVERHEAD
                ),
            )
        };
        match block_type {
            SHB => {
                // Byte-order magic, major, minor, section length (ignored: -1 is allowed and
                // we read sections sequentially anyway), then options.
                if body.len() < 16 {
                    return Err(too_short("section header", 16));
                }
                let major = e.u16(body, 4).unwrap_or(0);
                let minor = e.u16(body, 6).unwrap_or(0);
                // §4.1: a change of major version means a format we cannot read.
                if major != 1 {
                    return Err(malformed(
                        offset,
                        format!("unsupported pcapng version {major}.{minor}"),
                    ));
                }
                self.endian = endian;
                self.interfaces.clear();
                push_comments(pending, offset, e, body.get(16..).unwrap_or_default());
                Ok(Outcome::Consumed)
            }
            IDB => {
                if body.len() < 8 {
                    return Err(too_short("interface description", 8));
                }
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Err(malformed(
                        offset,
                        format!("more than {MAX_INTERFACES} interfaces in one section"),
                    ));
                }
                let mut iface = Interface {
                    link_type: LinkType(e.u16(body, 0).unwrap_or(0).into()),
                    snaplen: e.u32(body, 4).unwrap_or(0),
                    tsresol: DEFAULT_TSRESOL,
                    tsoffset: 0,
                };
                let mut name = None;
                let opts = body.get(8..).unwrap_or_default();
                for (code, value) in options(e, opts) {
                    match code {
                        IF_NAME => name = Some(bounded_text(value, MAX_NAME_LEN)),
                        IF_TSRESOL => {
                            if let Some(&r) = value.first() {
                                iface.tsresol = r;
                            }
                        }
                        IF_TSOFFSET => {
                            if let Some(secs) = e.i64(value, 0) {
                                iface.tsoffset = secs;
                            }
                        }
                        _ => {}
                    }
                }
                let id = self.interfaces.len() as u32;
                self.interfaces.push(iface);
                pending.push_back(Notice::Interface {
                    id,
                    link_type: iface.link_type,
                    snaplen: iface.snaplen,
                    name,
                });
                push_comments(pending, offset, e, opts);
                Ok(Outcome::Consumed)
            }
            EPB | PB => {
                // EPB: interface u32; PB: interface u16 + drops count u16. Then timestamp
                // (high, low), captured length, original length, data padded to 32 bits, options.
                let name = if block_type == EPB {
                    "enhanced packet"
                } else {
                    "packet"
                };
                if body.len() < 20 {
                    return Err(too_short(name, 20));
                }
                let interface = if block_type == EPB {
                    e.u32(body, 0).unwrap_or(0)
                } else {
                    e.u16(body, 0).unwrap_or(0).into()
                };
                let ticks = (u64::from(e.u32(body, 4).unwrap_or(0)) << 32)
                    | u64::from(e.u32(body, 8).unwrap_or(0));
                let caplen = e.u32(body, 12).unwrap_or(0) as usize;
                let orig_len = e.u32(body, 16).unwrap_or(0);
                let room = body.len() - 20;
                if caplen > room {
                    return Err(malformed(
                        offset,
                        format!(
                            "{name} block claims {caplen} captured bytes but has room for {room}"
                        ),
                    ));
                }
                let Some(iface) = self.interfaces.get(interface as usize).copied() else {
                    pending.push_back(Notice::UnknownInterface { offset, interface });
                    return Ok(Outcome::Consumed);
                };
                let ts = to_timestamp(ticks, iface.tsresol, iface.tsoffset);
                self.last_ts = ts;
                let opts_at = 20usize.saturating_add(caplen.next_multiple_of(4));
                push_comments(pending, offset, e, body.get(opts_at..).unwrap_or_default());
                Ok(Outcome::Packet(PacketPlan {
                    block_len: total,
                    data_at: 8 + 20,
                    data_len: caplen,
                    ts,
                    interface,
                    link_type: iface.link_type,
                    orig_len,
                }))
            }
            SPB => {
                if body.len() < 4 {
                    return Err(too_short("simple packet", 4));
                }
                let orig_len = e.u32(body, 0).unwrap_or(0);
                let Some(iface) = self.interfaces.first().copied() else {
                    pending.push_back(Notice::UnknownInterface {
                        offset,
                        interface: 0,
                    });
                    return Ok(Outcome::Consumed);
                };
                // §4.4: the captured length is the smallest of the original length, the
                // interface's snaplen (0 means none) and the room in the block (which includes
                // the padding, hence the minimum).
                let mut caplen = (orig_len as usize).min(body.len() - 4);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                // An SPB has no timestamp: reuse the previous packet's.
                Ok(Outcome::Packet(PacketPlan {
                    block_len: total,
                    data_at: 8 + 4,
                    data_len: caplen,
                    ts: self.last_ts,
                    interface: 0,
                    link_type: iface.link_type,
                    orig_len,
                }))
            }
            DSB => {
                if body.len() < 8 {
                    return Err(too_short("decryption secrets", 8));
                }
                let secrets_type = e.u32(body, 0).unwrap_or(0);
                let len = e.u32(body, 4).unwrap_or(0) as usize;
                let Some(data) = body.get(8..).and_then(|rest| rest.get(..len)) else {
                    return Err(malformed(
                        offset,
                        format!(
                            "decryption secrets block claims {len} bytes of secrets but has room for {}",
                            body.len() - 8
                        ),
                    ));
                };
                pending.push_back(Notice::DecryptionSecrets {
                    secrets_type,
                    data: data.to_vec(),
                });
                let opts_at = 8usize.saturating_add(len.next_multiple_of(4));
                push_comments(pending, offset, e, body.get(opts_at..).unwrap_or_default());
                Ok(Outcome::Consumed)
            }
            NRB | ISB | CUSTOM | CUSTOM_NO_COPY => Ok(Outcome::Consumed),
            _ => {
                pending.push_back(Notice::UnknownBlock { offset, block_type });
                Ok(Outcome::Consumed)
            }
        }
    }
}

fn malformed(offset: u64, what: String) -> CaptureError {
    CaptureError::Malformed { offset, what }
}

/// §3.5: options are (code u16, length u16, value padded to 32 bits), ended by opt_endofopt
/// or by the end of the block. An option running past the block ends the list: options are
/// informational, so a damaged list loses only itself. Each step consumes at least 4 bytes,
/// so the walk is bounded by the block size.
fn options(e: Endian, mut rest: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let code = e.u16(rest, 0)?;
        let len = usize::from(e.u16(rest, 2)?);
        if code == OPT_ENDOFOPT {
            return None;
        }
        let value = rest.get(4..4 + len)?;
        rest = rest.get(4 + len.next_multiple_of(4)..).unwrap_or_default();
        Some((code, value))
    })
}

fn push_comments(pending: &mut VecDeque<Notice>, offset: u64, e: Endian, opts: &[u8]) {
    let comments = options(e, opts).filter(|&(code, _)| code == OPT_COMMENT);
    for (_, value) in comments.take(MAX_COMMENTS_PER_BLOCK) {
        pending.push_back(Notice::Comment {
            offset,
            text: bounded_text(value, usize::MAX),
        });
    }
}

/// UTF-8 (as the spec requires; invalid bytes are replaced), without the NUL terminators some
/// writers add, cut to `max` bytes on a character boundary.
fn bounded_text(value: &[u8], max: usize) -> String {
    let end = value
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let mut text = String::from_utf8_lossy(value.get(..end).unwrap_or_default()).into_owned();
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// §4.2 if_tsresol: "If the Most Significant Bit is equal to zero, the remaining bits indicates
/// the resolution of the timestamp as a negative power of 10 ... If the Most Significant Bit is
/// equal to one, the remaining bits indicates the resolution as negative power of 2".
/// if_tsoffset is in seconds and added to every timestamp. Exact for 10^-k with k <= 9 (a
/// multiplication); finer decimal resolutions divide; binary ones use 128-bit arithmetic (ticks
/// < 2^64 times 10^9 < 2^30 fits). The result saturates at the limits of `Timestamp`.
fn to_timestamp(ticks: u64, tsresol: u8, tsoffset: i64) -> Timestamp {
    let ticks = u128::from(ticks);
    let exp = u32::from(tsresol & 0x7F);
    let nanos: u128 = if tsresol & 0x80 == 0 {
        if exp <= 9 {
            ticks * 10u128.pow(9 - exp)
        } else {
            // 10^(exp-9) overflows u128 only beyond any tick count anyway: the result is 0.
            10u128.checked_pow(exp - 9).map_or(0, |div| ticks / div)
        }
    } else {
        (ticks * 1_000_000_000) >> exp
    };
    // nanos < 2^94 and tsoffset * 10^9 < 2^93 in magnitude: the i128 sum cannot overflow.
    let total = nanos as i128 + i128::from(tsoffset) * 1_000_000_000;
    Timestamp(total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Item, NgFile, packet, read_all};
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn iface_notice(id: u32, link: u32, snaplen: u32, name: Option<&str>) -> Item {
        Item::Notice(Notice::Interface {
            id,
            link_type: LinkType(link),
            snaplen,
            name: name.map(str::to_owned),
        })
    }

    #[test]
    fn timestamp_resolutions() {
        // Default microseconds.
        assert_eq!(to_timestamp(1_500_000, 6, 0).0, 1_500_000_000);
        for k in 0..=9u8 {
            assert_eq!(to_timestamp(3, k, 0).0, 3 * 10i64.pow(9 - u32::from(k)));
        }
        // Picoseconds divide.
        assert_eq!(to_timestamp(1_234_567, 12, 0).0, 1_234);
        // Absurd decimal exponents give 0, not a panic.
        assert_eq!(to_timestamp(u64::MAX, 127, 0).0, 0);
        assert_eq!(to_timestamp(u64::MAX, 48, 0).0, 0);
        // 2^-20: 2^20 ticks is one second; half a second exactly.
        assert_eq!(to_timestamp(1 << 20, 0x80 | 20, 0).0, SEC);
        assert_eq!(to_timestamp(1 << 19, 0x80 | 20, 0).0, SEC / 2);
        assert_eq!(to_timestamp(u64::MAX, 0x80 | 127, 0).0, 0);
        assert_eq!(to_timestamp(5, 0x80, 0).0, 5 * SEC);
        // Offsets in seconds, both signs, saturating.
        assert_eq!(to_timestamp(0, 9, 10).0, 10 * SEC);
        assert_eq!(to_timestamp(0, 9, -10).0, -10 * SEC);
        assert_eq!(to_timestamp(u64::MAX, 0, 0).0, i64::MAX);
        assert_eq!(to_timestamp(u64::MAX, 0x80, i64::MAX).0, i64::MAX);
        assert_eq!(to_timestamp(0, 6, i64::MIN).0, i64::MIN);
    }

    #[test]
    fn two_interfaces_with_their_own_link_type_resolution_and_offset() {
        let e = Endian::Little;
        let mut f = NgFile::new();
        f.shb(e, &[]);
        f.idb(e, 1, 0, &[(IF_NAME, b"eth0\0"), (IF_TSRESOL, &[9])]);
        let offset = 1_000i64.to_le_bytes();
        f.idb(
            e,
            0,
            1500,
            &[(IF_TSRESOL, &[0x80 | 20]), (IF_TSOFFSET, &offset)],
        );
        f.epb(e, 0, 1_700_000_000_123_456_789, b"first", 5, &[]);
        f.epb(e, 1, 3 << 19, b"second", 6, &[]);
        assert_eq!(
            read_all(&f.bytes),
            vec![
                iface_notice(0, 1, 0, Some("eth0")),
                iface_notice(1, 0, 1500, None),
                packet(1_700_000_000_123_456_789, 0, 1, b"first", 5),
                packet(1_000 * SEC + 3 * SEC / 2, 1, 0, b"second", 6),
            ]
        );
    }

    #[test]
    fn sections_change_byte_order_and_reset_interfaces() {
        let mut f = NgFile::new();
        f.shb(Endian::Big, &[(OPT_COMMENT, b"big endian section")]);
        f.idb(Endian::Big, 1, 65535, &[]);
        f.epb(Endian::Big, 0, 2_000_000, b"be", 2, &[]);
        let second = f.bytes.len() as u64;
        f.shb(Endian::Little, &[]);
        let orphan = f.bytes.len() as u64;
        f.epb(Endian::Little, 0, 1, b"lost", 4, &[]);
        f.idb(Endian::Little, 101, 0, &[]);
        f.epb(Endian::Little, 0, 3_000_000, b"le", 2, &[]);
        let items = read_all(&f.bytes);
        assert_eq!(
            items,
            vec![
                Item::Notice(Notice::Comment {
                    offset: 0,
                    text: "big endian section".into()
                }),
                iface_notice(0, 1, 65535, None),
                packet(2 * SEC, 0, 1, b"be", 2),
                Item::Notice(Notice::UnknownInterface {
                    offset: orphan,
                    interface: 0
                }),
                iface_notice(0, 101, 0, None),
                packet(3 * SEC, 0, 101, b"le", 2),
            ]
        );
        assert!(second > 0);
    }

    #[test]
    fn simple_and_obsolete_packet_blocks() {
        let e = Endian::Big;
        let mut f = NgFile::new();
        f.shb(e, &[]);
        f.idb(e, 1, 4, &[]);
        // SPB before any timestamped packet: time 0; snaplen 4 cuts the 6 bytes.
        f.spb(e, 6, b"abcdef");
        f.pb(e, 0, 7_000_000, b"pb", 9, &[(OPT_COMMENT, b"old")]);
        // Then the SPB reuses the PB's time; original length 2 < block room (padding).
        f.spb(e, 2, b"xy");
        let pb_offset = (28 + 20 + 24) as u64;
        assert_eq!(
            read_all(&f.bytes),
            vec![
                iface_notice(0, 1, 4, None),
                packet(0, 0, 1, b"abcd", 6),
                packet(7 * SEC, 0, 1, b"pb", 9),
                Item::Notice(Notice::Comment {
                    offset: pb_offset,
                    text: "old".into()
                }),
                packet(7 * SEC, 0, 1, b"xy", 2),
            ]
        );
    }

    #[test]
    fn comments_follow_their_packet_and_secrets_are_kept() {
        let e = Endian::Little;
        let mut f = NgFile::new();
        f.shb(e, &[(OPT_COMMENT, b"capture"), (OPT_COMMENT, b"second")]);
        f.idb(e, 1, 0, &[]);
        let dsb = f.bytes.len() as u64;
        f.dsb(
            e,
            0x544c_534b,
            b"CLIENT_RANDOM x y\n",
            &[(OPT_COMMENT, b"keys")],
        );
        let epb = f.bytes.len() as u64;
        f.epb(e, 0, 0, b"p", 1, &[(OPT_COMMENT, b"look here")]);
        assert_eq!(
            read_all(&f.bytes),
            vec![
                Item::Notice(Notice::Comment {
                    offset: 0,
                    text: "capture".into()
                }),
                Item::Notice(Notice::Comment {
                    offset: 0,
                    text: "second".into()
                }),
                iface_notice(0, 1, 0, None),
                Item::Notice(Notice::DecryptionSecrets {
                    secrets_type: 0x544c_534b,
                    data: b"CLIENT_RANDOM x y\n".to_vec()
                }),
                Item::Notice(Notice::Comment {
                    offset: dsb,
                    text: "keys".into()
                }),
                packet(0, 0, 1, b"p", 1),
                Item::Notice(Notice::Comment {
                    offset: epb,
                    text: "look here".into()
                }),
            ]
        );
    }

    #[test]
    fn unknown_blocks_are_noticed_known_ones_skipped() {
        let e = Endian::Little;
        let mut f = NgFile::new();
        f.shb(e, &[]);
        f.idb(e, 1, 0, &[]);
        f.block(e, NRB, &[0, 0, 0, 0]);
        f.block(e, ISB, &[0; 12]);
        f.block(e, CUSTOM, &[0x7f, 0, 0, 0, 1, 2, 3]);
        let unknown = f.bytes.len() as u64;
        f.block(e, 0x1234_5678, b"whatever");
        f.epb(e, 0, 0, b"after", 5, &[]);
        assert_eq!(
            read_all(&f.bytes),
            vec![
                iface_notice(0, 1, 0, None),
                Item::Notice(Notice::UnknownBlock {
                    offset: unknown,
                    block_type: 0x1234_5678
                }),
                packet(0, 0, 1, b"after", 5),
            ]
        );
    }

    /// A file with one good packet, then `tail`; returns what the reader made of `tail`.
    fn after_good_packet(tail: impl FnOnce(&mut NgFile)) -> (u64, Vec<Item>) {
        let e = Endian::Little;
        let mut f = NgFile::new();
        f.shb(e, &[]);
        f.idb(e, 1, 0, &[]);
        f.epb(e, 0, 0, b"good", 4, &[]);
        let at = f.bytes.len() as u64;
        tail(&mut f);
        let items = read_all(&f.bytes);
        assert_eq!(items[1], packet(0, 0, 1, b"good", 4), "{items:?}");
        (at, items[2..].to_vec())
    }

    fn expect_error(items: &[Item], needle: &str) {
        match items {
            [Item::Error(msg)] => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
            other => panic!("expected one error containing {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn framing_damage_is_an_error_after_the_good_records() {
        let e = Endian::Little;
        // Trailing length differs.
        let (at, items) = after_good_packet(|f| {
            f.epb(e, 0, 0, b"bad", 3, &[]);
            let n = f.bytes.len();
            f.bytes[n - 4] ^= 0x40;
        });
        expect_error(&items, &format!("byte {at}: "));
        expect_error(&items, "at its end");
        // Absurd block length.
        let (_, items) = after_good_packet(|f| {
            f.raw(e, &[EPB, 0xFFFF_FFF0, 0, 0]);
        });
        expect_error(&items, "limit");
        // Not a multiple of 4, and under 12.
        let (_, items) = after_good_packet(|f| f.raw(e, &[EPB, 33, 0, 0, 0, 0, 0, 0, 0, 33]));
        expect_error(&items, "multiple of 4");
        let (_, items) = after_good_packet(|f| f.raw(e, &[EPB, 8, 8]));
        expect_error(&items, "multiple of 4");
        // Captured length beyond the block.
        let (_, items) = after_good_packet(|f| f.raw(e, &[EPB, 32, 0, 0, 0, 100, 100, 32]));
        expect_error(&items, "room for 0");
        // Bad byte-order magic in a later section header.
        let (_, items) = after_good_packet(|f| f.raw(e, &[SHB, 28, 0xdead_beef, 1, 0, 0, 28]));
        expect_error(&items, "byte-order magic");
        // Unsupported major version.
        let (_, items) = after_good_packet(|f| f.raw(e, &[SHB, 28, BYTE_ORDER_MAGIC, 2, 0, 0, 28]));
        expect_error(&items, "version 2.0");
        // Secrets longer than their block.
        let (_, items) = after_good_packet(|f| f.raw(e, &[DSB, 24, 1, 9, 0, 24]));
        expect_error(&items, "room for 4");
    }

    #[test]
    fn option_damage_loses_only_the_options() {
        let e = Endian::Little;
        let mut f = NgFile::new();
        f.shb(e, &[]);
        // IDB whose option list claims a 100-byte if_name in an 8-byte tail.
        f.raw(e, &[IDB, 28, 1, 0, (100 << 16) | u32::from(IF_NAME), 0, 28]);
        f.epb(e, 0, 1, b"x", 1, &[]);
        assert_eq!(
            read_all(&f.bytes),
            vec![iface_notice(0, 1, 0, None), packet(1_000, 0, 1, b"x", 1)]
        );
    }

    #[test]
    fn text_options_are_bounded() {
        assert_eq!(bounded_text(b"abc\0\0", 10), "abc");
        assert_eq!(bounded_text("héllo".as_bytes(), 2), "h");
        assert_eq!(bounded_text(&[0xff, b'a'], 10), "\u{fffd}a");
        let e = Endian::Little;
        let mut f = NgFile::new();
        let many: Vec<(u16, &[u8])> = vec![(OPT_COMMENT, b""); 1000];
        f.shb(e, &many);
        assert_eq!(read_all(&f.bytes).len(), MAX_COMMENTS_PER_BLOCK);
    }

    #[test]
    fn interface_flood_is_refused() {
        let e = Endian::Little;
        let mut f = NgFile::new();
        f.shb(e, &[]);
        for _ in 0..=MAX_INTERFACES {
            f.idb(e, 1, 0, &[]);
        }
        let items = read_all(&f.bytes);
        assert_eq!(items.len(), MAX_INTERFACES + 1);
        expect_error(&items[MAX_INTERFACES..], "more than 65536 interfaces");
    }
}
