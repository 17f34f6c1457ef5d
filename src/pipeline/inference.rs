//! Pooled evidence for inferring the methods of calls whose `:path` the capture missed.

use crate::grpc::GrpcStream;
use crate::reassembly::ConnId;
use std::collections::HashMap;

use super::Fast;

/// Evidence for inferring methods, shared by the calls of a connection whose `:path` is the
/// same unknown dynamic-table entry (encoders such as grpcio index `:path` once per
/// connection and refer to it ever after, so a capture joined mid-connection sees none).
/// One discriminating message (a field only one candidate type has) then settles every
/// call of that method. Bounded: a few bodies per direction per key, a few thousand keys;
/// a connection's evidence is dropped when it ends ([`forget`](Self::forget)).
#[derive(Debug, Default)]
pub struct InferencePool {
    /// By connection, then by the unknown entries: a connection's keys go in one step.
    by_conn: HashMap<ConnId, HashMap<Vec<u64>, Evidence, Fast>, Fast>,
    keys: usize,
}

/// Message bodies of the calls under one key: requests, responses.
type Evidence = [Vec<Vec<u8>>; 2];

/// A connection and the unknown entries its request headers referred to.
pub type PoolKey = (ConnId, Vec<u64>);

const MAX_POOLED_BODIES: usize = 32;
const MAX_POOL_KEYS: usize = 4096;
const NO_BODIES: &[Vec<u8>] = &[];

impl InferencePool {
    /// The key of a call whose `:path` was not readable because of unknown table entries.
    pub fn key(conn: ConnId, s: &GrpcStream) -> Option<PoolKey> {
        let headers = s.request_headers.as_ref()?;
        if s.body.is_none() || GrpcStream::field(&s.request_headers, ":path").is_some() {
            return None;
        }
        let mut entries: Vec<u64> = headers.iter().filter_map(|f| f.unknown_entry).collect();
        entries.sort_unstable();
        entries.dedup();
        (!entries.is_empty()).then_some((conn, entries))
    }

    /// Adds a call's complete, uncompressed message bodies to its key's evidence.
    pub fn add(&mut self, key: &PoolKey, s: &GrpcStream) {
        let Some(g) = s.body.as_ref() else {
            return;
        };
        let conn = self.by_conn.entry(key.0).or_default();
        let pooled = match conn.get_mut(&key.1) {
            Some(p) => p,
            None if self.keys >= MAX_POOL_KEYS => return,
            None => {
                self.keys += 1;
                conn.entry(key.1.clone()).or_default()
            }
        };
        for (d, frames) in g.frames.iter().enumerate() {
            for f in frames {
                if pooled[d].len() >= MAX_POOLED_BODIES {
                    break;
                }
                if f.is_complete() && !f.compressed && !f.body.is_empty() {
                    pooled[d].push(f.body.clone());
                }
            }
        }
    }

    pub fn evidence(&self, key: Option<&PoolKey>) -> [&[Vec<u8>]; 2] {
        match key.and_then(|(conn, entries)| self.by_conn.get(conn)?.get(entries)) {
            Some([a, b]) => [a.as_slice(), b.as_slice()],
            None => [NO_BODIES, NO_BODIES],
        }
    }

    /// Drops the evidence of a connection that has ended: no call can join its keys now
    /// (a key names its connection).
    pub fn forget(&mut self, conn: ConnId) {
        if let Some(keys) = self.by_conn.remove(&conn) {
            self.keys -= keys.len();
        }
    }
}
