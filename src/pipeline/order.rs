//! The order streams opened in: a document lists streams in that order, and writes each
//! once every stream opened before it is done.

use super::Fast;
use crate::reassembly::ConnId;

/// Places streams in the order they opened, and knows the first place still open.
#[derive(Default)]
pub struct OpenOrder {
    next: u64,
    /// Open streams' places by connection and stream id.
    places: std::collections::HashMap<(ConnId, u32), u64, Fast>,
    /// The same places, in order.
    open: std::collections::BTreeSet<u64>,
}

impl OpenOrder {
    pub fn opened(&mut self, conn: ConnId, id: u32) {
        let place = self.next;
        self.next += 1;
        if let Some(old) = self.places.insert((conn, id), place) {
            self.open.remove(&old);
        }
        self.open.insert(place);
    }

    /// The place of a stream that completed (the next one if it was never opened).
    pub fn done(&mut self, conn: ConnId, id: u32) -> u64 {
        match self.places.remove(&(conn, id)) {
            Some(place) => {
                self.open.remove(&place);
                place
            }
            None => {
                self.next += 1;
                self.next - 1
            }
        }
    }

    pub fn first_open(&self) -> u64 {
        self.open.first().copied().unwrap_or(u64::MAX)
    }
}
