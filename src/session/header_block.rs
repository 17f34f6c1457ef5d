//! Header blocks: a HEADERS or PUSH_PROMISE frame and its CONTINUATIONs gathered into one
//! block (RFC 9113 §4.3, §6.10), decoded by the sending side's HPACK context (RFC 7541),
//! and filed on their stream.
//!
//! Each side has its own HPACK context: a block must be decoded, in order, even when it is
//! dropped or its stream is gone, or the dynamic table goes wrong for every later block.
//! When a block cannot be decoded (too large, lost, interrupted) the context is marked out
//! of sync, so that later references to entries it may have changed are reported unknown.

use super::{Config, Connection, H2Sink, StreamBody};
use crate::anomaly::AnomalyKind;
use crate::capture::Timestamp;
use crate::http2::frame::{FrameHeader, FrameType};
use crate::http2::hpack::{self, HeaderField};
use crate::role::Role;

/// Upper bound assumed for a dynamic table whose SETTINGS_HEADER_TABLE_SIZE was not seen.
const MID_CONNECTION_TABLE_BOUND: u32 = 65_536;

/// One side's header-block state.
pub(super) struct Blocks {
    pub(super) hpack: hpack::Decoder,
    /// A block whose END_HEADERS has not come yet.
    pub(super) pending: Option<PendingBlock>,
}

impl Blocks {
    pub(super) fn new<C>(config: &Config<C>, mid_connection: bool) -> Self {
        Blocks {
            hpack: hpack_decoder(config, mid_connection),
            pending: None,
        }
    }

    /// Frames were lost or unreadable: a block among them may have changed the table, and
    /// the block being gathered cannot be completed.
    pub(super) fn lose_sync(&mut self) {
        self.hpack.lose_sync();
        self.pending = None;
    }
}

/// An HPACK decoder for one side, bounded by `config`. Joined mid-connection, it starts
/// with a table it has not seen.
pub(super) fn hpack_decoder<C>(config: &Config<C>, mid_connection: bool) -> hpack::Decoder {
    let mut hpack = if mid_connection {
        hpack::Decoder::new_mid_connection()
    } else {
        hpack::Decoder::new()
    };
    // The decoded header list is bounded like the block that carries it: raising one
    // without the other would only move where a large block is refused.
    hpack.set_max_header_list_size(config.max_header_block);
    hpack.set_table_size_cap(config.max_hpack_table);
    if mid_connection {
        // The SETTINGS that sized the table were not seen: assume a generous bound so the
        // decoder never concludes too early that the unknown entries are gone.
        hpack.set_max_table_size_setting(MID_CONNECTION_TABLE_BOUND);
    }
    hpack
}

/// A header block being gathered across CONTINUATION frames.
pub(super) struct PendingBlock {
    stream_id: u32,
    /// HEADERS (with its END_STREAM) or PUSH_PROMISE (with the promised id).
    end_stream: bool,
    promised: Option<u32>,
    fragments: Vec<u8>,
    oversized: bool,
}

impl<B: StreamBody> Connection<B> {
    /// HEADERS or PUSH_PROMISE (with the stream it promises) from side `r`.
    pub(super) fn begin_block<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        fragment: &[u8],
        promised: Option<u32>,
        sink: &mut S,
    ) {
        let max = self.config.max_header_block;
        let oversized = fragment.len() > max;
        let mut block = PendingBlock {
            stream_id: header.stream_id,
            end_stream: promised.is_none() && header.end_stream(),
            promised,
            fragments: Vec::new(),
            oversized,
        };
        if header.end_headers() {
            // The whole block in one frame (the usual case): decoded where it lies.
            self.decode_block(r, ts, block, fragment, sink);
        } else {
            if !oversized {
                block.fragments = fragment.to_vec();
            }
            self.side_mut(r).blocks.pending = Some(block);
        }
    }

    /// CONTINUATION from side `r`: more of the pending block, which its END_HEADERS
    /// completes. Past `max_header_block` only the size is followed, and the block is
    /// reported, not decoded.
    pub(super) fn continuation<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        header: &FrameHeader,
        fragment: &[u8],
        sink: &mut S,
    ) {
        let max = self.config.max_header_block;
        let Some(p) = self.side_mut(r).blocks.pending.as_mut() else {
            return self.stream_anomaly(
                AnomalyKind::OrphanContinuation,
                r,
                header.stream_id,
                format!(
                    "CONTINUATION on stream {} without a header block (RFC 9113 §6.10)",
                    header.stream_id
                ),
            );
        };
        if p.fragments.len() + fragment.len() > max {
            p.oversized = true;
            p.fragments = Vec::new();
        } else if !p.oversized {
            p.fragments.extend_from_slice(fragment);
        }
        if header.end_headers() {
            self.end_block(r, ts, sink);
        }
    }

    /// The last CONTINUATION arrived: decode the block it completes.
    fn end_block<S: H2Sink<Body = B>>(&mut self, r: Role, ts: Timestamp, sink: &mut S) {
        let Some(mut block) = self.side_mut(r).blocks.pending.take() else {
            return;
        };
        let fragments = std::mem::take(&mut block.fragments);
        self.decode_block(r, ts, block, &fragments, sink);
    }

    /// RFC 9113 §6.10: between a header block's first frame and its END_HEADERS, only
    /// CONTINUATION frames of the same stream may come.
    pub(super) fn interrupts_block(&mut self, r: Role, header: &FrameHeader) {
        let blocks = &mut self.side_mut(r).blocks;
        if let Some(p) = &blocks.pending
            && (header.kind != FrameType::Continuation || header.stream_id != p.stream_id)
        {
            let id = p.stream_id;
            blocks.lose_sync();
            self.stream_anomaly(AnomalyKind::HeaderBlockInterrupted, r, id, format!(
                        "{} frame on stream {} interrupted the header block of stream {id} (RFC 9113 §6.10)",
                        header.kind.name(),
                        header.stream_id
                    ));
        }
    }

    /// The connection ended inside a block of side `r`.
    pub(super) fn unterminated_block(&mut self, r: Role) {
        if let Some(p) = self.side_mut(r).blocks.pending.take() {
            self.stream_anomaly(
                AnomalyKind::UnterminatedHeaderBlock,
                r,
                p.stream_id,
                format!(
                    "the header block of stream {} never ended (no END_HEADERS)",
                    p.stream_id
                ),
            );
        }
    }

    /// A complete header block (`bytes`, unless oversized): decode it and file it on its
    /// stream.
    fn decode_block<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        block: PendingBlock,
        bytes: &[u8],
        sink: &mut S,
    ) {
        let mut decoded = std::mem::take(&mut self.decoded);
        let hpack = &mut self.side_mut(r).blocks.hpack;
        if block.oversized {
            hpack.lose_sync();
            self.stream_anomaly(
                AnomalyKind::HeaderBlockOversized,
                r,
                block.stream_id,
                format!(
                    "header block on stream {} larger than {} bytes: dropped",
                    block.stream_id, self.config.max_header_block
                ),
            );
        } else if let Err(e) = hpack.decode(bytes, &mut decoded) {
            self.stream_anomaly(
                AnomalyKind::HpackError,
                r,
                block.stream_id,
                format!(
                    "HPACK error in the {}'s header block on stream {}: {e}",
                    r.as_str(),
                    block.stream_id
                ),
            );
        }
        // Moved into a list of exactly their number (mem::take would hand over the
        // scratch's capacity and leave nothing to reuse).
        #[allow(clippy::drain_collect)]
        let fields: Vec<HeaderField> = decoded.drain(..).collect();
        // A rare long list is not kept per connection.
        if decoded.capacity() <= 64 {
            self.decoded = decoded;
        }
        let r = self.settle_roles(r, &fields);
        self.file_block(r, ts, block, fields, sink);
    }

    fn file_block<S: H2Sink<Body = B>>(
        &mut self,
        r: Role,
        ts: Timestamp,
        block: PendingBlock,
        fields: Vec<HeaderField>,
        sink: &mut S,
    ) {
        match block.promised {
            Some(promised) => {
                // RFC 9113 §8.4: the promise carries the pushed request's headers, and
                // stands for a request the client will not send.
                if let Some(s) = self.stream_mut(promised, ts, sink) {
                    s.promised_by = Some(block.stream_id);
                    s.request_headers = Some(fields);
                    *Role::Client.of_mut(&mut s.ended) = true;
                }
            }
            None => {
                let packet = self.packet;
                if let Some(s) = self.stream_mut(block.stream_id, ts, sink) {
                    s.headers(r, fields, block.end_stream, packet);
                }
                self.maybe_finish(block.stream_id, sink);
            }
        }
    }
}
