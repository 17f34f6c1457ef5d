//! PING (RFC 9113 §6.7): each PING kept with the time its ACK came, which gives the
//! connection's round-trip times as seen from the capture point.

use super::{Connection, PingRecord, StreamBody};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::capture::Timestamp;
use crate::role::Role;

/// PINGs kept per connection; an ACK past the bound is not reported unmatched.
const MAX_PINGS: usize = 1024;

impl<B: StreamBody> Connection<B> {
    /// A PING, or its ACK, from side `r`.
    pub(super) fn ping(&mut self, r: Role, ts: Timestamp, ack: bool, payload: [u8; 8]) {
        if !ack {
            if self.pings.len() < MAX_PINGS {
                self.pings.push(PingRecord {
                    from: r,
                    payload,
                    sent: ts,
                    acked: None,
                });
            }
            return;
        }
        // The ACK answers the oldest unanswered PING from the other side with this payload.
        match self
            .pings
            .iter_mut()
            .find(|p| p.from != r && p.payload == payload && p.acked.is_none())
        {
            Some(p) => p.acked = Some(ts),
            None => {
                // Joined mid-connection, the PING may have come before the capture.
                if self.pings.len() < MAX_PINGS && !self.mid {
                    self.anomaly(
                        Anomaly::new(
                            AnomalyKind::UnmatchedPingAck,
                            "PING ACK without a matching PING",
                        )
                        .by(r),
                    );
                }
            }
        }
    }
}
