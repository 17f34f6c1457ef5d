//! The gRPC side of an HTTP/2 stream: recognising a call and deframing its DATA as it
//! arrives, one deframer per role (decoding through descriptors happens later, when the
//! stream is reported). [`CallBody`] is the session's [`StreamBody`]: the session hands it
//! a stream's DATA and knows nothing of gRPC.
//!
//! A stream is a gRPC call when its `content-type` starts with `application/grpc`. When the
//! capture missed the headers (joined mid-connection), a stream whose first DATA bytes are a
//! plausible gRPC prefix (flag 0 or 1, length within bounds) is taken for one, flagged as
//! guessed (`kind: None`).

// Tests may index their own fixtures.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use super::{
    ContentKind, DEFAULT_DECOMPRESS_CAP, DEFAULT_MAX_MESSAGE, Deframer, Framed, WebTextDecoder,
    content_kind,
};
use crate::capture::Timestamp;
use crate::role::Role;
use crate::session::{self, StreamBody};

/// An HTTP/2 stream whose DATA went to gRPC deframing.
pub type GrpcStream = session::Stream<CallBody>;

/// An HTTP/2 connection whose streams' DATA goes to gRPC deframing.
pub type GrpcConnection = session::Connection<CallBody>;

/// Messages per direction whose bodies are kept; later ones keep their size and time only.
const MAX_BODIES: usize = 1024;

/// A guessed gRPC prefix must declare at most this much: real calls outside this range
/// are rare, and random bytes often declare gigabytes.
const MAX_GUESSED_LEN: u32 = 4 << 20;

/// The limits and options of [`CallBody`] (the session's `Config::body`).
#[derive(Clone, Debug)]
pub struct CallConfig {
    /// Keep message bodies (off for `--no-messages`: sizes and times stay).
    pub keep_bodies: bool,
    /// Messages declaring more bytes than this are reported and their bodies skipped.
    pub max_message: usize,
    /// A compressed message inflating past this is reported, shown compressed.
    pub max_decompressed: usize,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            keep_bodies: true,
            max_message: DEFAULT_MAX_MESSAGE,
            max_decompressed: DEFAULT_DECOMPRESS_CAP,
        }
    }
}

/// The gRPC call a stream carries: its messages as deframed so far, per role (index by
/// [`Role::index`]).
#[derive(Debug)]
pub struct CallBody {
    /// What the content-type said; `None` when recognised by framing alone.
    pub kind: Option<ContentKind>,
    deframers: [Deframer; 2],
    text: [Option<WebTextDecoder>; 2],
    pub frames: [Vec<Framed>; 2],
    pub bodies_dropped: [u64; 2],
    /// The cap on a message's decompressed size, for when the call is decoded.
    pub max_decompressed: usize,
    keep_bodies: bool,
    scratch: Vec<u8>,
    out: Vec<Framed>,
}

/// Whether a stream is gRPC, judged from its content-type or, failing that, its first bytes.
pub enum Verdict {
    Grpc(Option<ContentKind>),
    NotGrpc,
}

/// Decides from a content-type (request or response) when one is known, else from the first
/// DATA bytes of either direction.
pub fn judge(content_type: Option<&[u8]>, first_data: &[u8]) -> Verdict {
    match content_type {
        Some(ct) => match content_kind(ct) {
            Some(k) => Verdict::Grpc(Some(k)),
            None => Verdict::NotGrpc,
        },
        None => match first_data {
            [flag @ (0 | 1), a, b, c, d, ..] => {
                let len = u32::from_be_bytes([*a, *b, *c, *d]);
                if len <= MAX_GUESSED_LEN && (*flag == 0 || len > 0) {
                    Verdict::Grpc(None)
                } else {
                    Verdict::NotGrpc
                }
            }
            _ => Verdict::NotGrpc,
        },
    }
}

impl CallBody {
    pub fn new(kind: Option<ContentKind>, config: &CallConfig) -> Self {
        let web = kind.as_ref().is_some_and(ContentKind::is_web);
        let text = kind.as_ref().is_some_and(ContentKind::is_text);
        let deframer = || {
            Deframer::new(config.max_message)
                .web(web)
                .keep_bodies(config.keep_bodies)
        };
        CallBody {
            kind,
            deframers: [deframer(), deframer()],
            text: [
                text.then(WebTextDecoder::new),
                text.then(WebTextDecoder::new),
            ],
            frames: [Vec::new(), Vec::new()],
            bodies_dropped: [0; 2],
            max_decompressed: config.max_decompressed,
            keep_bodies: config.keep_bodies,
            scratch: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Files the messages `from`'s deframer completed.
    fn collect(&mut self, from: Role) {
        let frames = from.of_mut(&mut self.frames);
        let dropped = from.of_mut(&mut self.bodies_dropped);
        for mut f in self.out.drain(..) {
            if !self.keep_bodies {
                // --no-messages: bodies are left out by request, which is no loss to report.
                f.body = Vec::new();
            } else if frames.len() >= MAX_BODIES {
                if f.captured > 0 {
                    *dropped += 1;
                }
                f.body = Vec::new();
            }
            if frames.len() < MAX_BODIES * 64 {
                frames.push(f);
            }
        }
    }
}

impl StreamBody for CallBody {
    type Config = CallConfig;

    fn open(config: &CallConfig, content_type: Option<&[u8]>, first: &[u8]) -> Option<Self> {
        match judge(content_type, first) {
            Verdict::Grpc(kind) => Some(CallBody::new(kind, config)),
            Verdict::NotGrpc => None,
        }
    }

    fn data(&mut self, from: Role, data: &[u8], ts: Timestamp) {
        let deframer = from.of_mut(&mut self.deframers);
        match from.of_mut(&mut self.text) {
            Some(t) => {
                self.scratch.clear();
                t.push(data, &mut self.scratch);
                deframer.push(&self.scratch, ts, &mut self.out);
            }
            None => deframer.push(data, ts, &mut self.out),
        }
        self.collect(from);
    }

    fn lost(&mut self, from: Role, len: u64, ts: Timestamp) {
        // Base64 text hides how many message bytes were lost: say "unknown".
        let len = if from.of(&self.text).is_some() {
            u64::MAX
        } else {
            len
        };
        from.of_mut(&mut self.deframers)
            .lost(len, ts, &mut self.out);
        self.collect(from);
    }

    /// A message cut short is reported, not lost.
    fn finish(&mut self, ts: Timestamp) {
        for r in Role::BOTH {
            let deframer = r.of_mut(&mut self.deframers);
            if let Some(t) = r.of_mut(&mut self.text) {
                self.scratch.clear();
                t.finish(&mut self.scratch);
                deframer.push(&self.scratch, ts, &mut self.out);
            }
            deframer.finish(ts, &mut self.out);
            self.collect(r);
        }
    }

    fn swap_roles(&mut self) {
        self.deframers.swap(0, 1);
        self.text.swap(0, 1);
        self.frames.swap(0, 1);
        self.bodies_dropped.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_decides_when_known() {
        assert!(matches!(
            judge(Some(b"application/grpc"), b""),
            Verdict::Grpc(Some(_))
        ));
        assert!(matches!(
            judge(Some(b"text/html"), &[0, 0, 0, 0, 1]),
            Verdict::NotGrpc
        ));
    }

    #[test]
    fn framing_decides_without_headers() {
        assert!(matches!(
            judge(None, &[0, 0, 0, 0, 7, 1]),
            Verdict::Grpc(None)
        ));
        assert!(matches!(judge(None, b"<html>"), Verdict::NotGrpc));
        assert!(matches!(judge(None, &[0, 0xff, 0, 0, 0]), Verdict::NotGrpc));
        assert!(matches!(judge(None, &[0, 0]), Verdict::NotGrpc));
    }

    #[test]
    fn messages_split_anyhow_are_collected() {
        let mut g = CallBody::new(None, &CallConfig::default());
        let stream = [0u8, 0, 0, 0, 2, b'h', b'i', 0, 0, 0, 0, 0];
        for chunk in stream.chunks(3) {
            g.data(Role::Client, chunk, Timestamp(1));
        }
        g.finish(Timestamp(2));
        assert_eq!(g.frames[0].len(), 2);
        assert_eq!(g.frames[0][0].body, b"hi");
        assert!(g.frames[0][1].body.is_empty());
        assert!(g.frames[1].is_empty());
    }
}
