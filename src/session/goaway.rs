//! GOAWAY (RFC 9113 §6.8): each one kept, with who sent it, the last stream it says was
//! processed, its error code and the start of its debug data.

use super::{Connection, GoawayRecord, StreamBody};
use crate::capture::Timestamp;
use crate::http2::frame::ErrorCode;
use crate::role::Role;

/// GOAWAYs kept per connection (a peer may send any number).
const MAX_GOAWAYS: usize = 1024;
/// Debug data kept per GOAWAY: enough for the text implementations put there.
const MAX_DEBUG_DATA: usize = 1024;

impl<B: StreamBody> Connection<B> {
    /// A GOAWAY from side `r`.
    pub(super) fn goaway(
        &mut self,
        r: Role,
        ts: Timestamp,
        last_stream_id: u32,
        error_code: ErrorCode,
        debug_data: &[u8],
    ) {
        if self.goaways.len() < MAX_GOAWAYS {
            self.goaways.push(GoawayRecord {
                ts,
                from: r,
                last_stream_id,
                error_code,
                debug_data: debug_data
                    .get(..MAX_DEBUG_DATA)
                    .unwrap_or(debug_data)
                    .to_vec(),
            });
        }
    }
}
