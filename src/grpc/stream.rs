//! The gRPC side of an HTTP/2 stream: recognising a call and deframing its DATA as it
//! arrives, one deframer per direction (decoding through descriptors happens later, when
//! the stream is reported).
//!
//! A stream is a gRPC call when its `content-type` starts with `application/grpc`. When the
//! capture missed the headers (joined mid-connection), a stream whose first DATA bytes are a
//! plausible gRPC prefix (flag 0 or 1, length within bounds) is taken for one, flagged as
//! guessed (`kind: None`).

use crate::capture::Timestamp;
use crate::grpc::{ContentKind, Deframer, Framed, WebTextDecoder, content_kind};
use crate::reassembly::Dir;

/// Messages per direction whose bodies are kept; later ones keep their size and time only.
const MAX_BODIES: usize = 1024;

/// A guessed gRPC prefix must declare at most this much: real calls outside this range
/// are rare, and random bytes often declare gigabytes.
const MAX_GUESSED_LEN: u32 = 4 << 20;

#[derive(Debug)]
pub struct StreamGrpc {
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

impl StreamGrpc {
    /// `sizes`: the largest message body kept, and the largest it may decompress to.
    pub fn new(kind: Option<ContentKind>, keep_bodies: bool, sizes: (usize, usize)) -> Self {
        let (max_message, max_decompressed) = sizes;
        let web = kind.as_ref().is_some_and(ContentKind::is_web);
        let text = kind.as_ref().is_some_and(ContentKind::is_text);
        StreamGrpc {
            kind,
            deframers: [
                Deframer::new(max_message).web(web).keep_bodies(keep_bodies),
                Deframer::new(max_message).web(web).keep_bodies(keep_bodies),
            ],
            text: [
                text.then(WebTextDecoder::new),
                text.then(WebTextDecoder::new),
            ],
            frames: [Vec::new(), Vec::new()],
            bodies_dropped: [0; 2],
            max_decompressed,
            keep_bodies,
            scratch: Vec::new(),
            out: Vec::new(),
        }
    }

    /// DATA payload bytes of one direction.
    pub fn data(&mut self, dir: Dir, data: &[u8], ts: Timestamp) {
        let d = dir.index();
        match self.text[d].as_mut() {
            Some(t) => {
                self.scratch.clear();
                t.push(data, &mut self.scratch);
                self.deframers[d].push(&self.scratch, ts, &mut self.out);
            }
            None => self.deframers[d].push(data, ts, &mut self.out),
        }
        self.collect(d);
    }

    /// DATA bytes of one direction lost in a TCP gap.
    pub fn lost(&mut self, dir: Dir, len: u64, ts: Timestamp) {
        let d = dir.index();
        // Base64 text hides how many message bytes were lost: say "unknown".
        let len = if self.text[d].is_some() {
            u64::MAX
        } else {
            len
        };
        self.deframers[d].lost(len, ts, &mut self.out);
        self.collect(d);
    }

    /// The stream ended: a message cut short is reported, not lost.
    pub fn finish(&mut self, ts: Timestamp) {
        for d in 0..2 {
            if let Some(t) = self.text[d].as_mut() {
                self.scratch.clear();
                t.finish(&mut self.scratch);
                self.deframers[d].push(&self.scratch, ts, &mut self.out);
            }
            self.deframers[d].finish(ts, &mut self.out);
            self.collect(d);
        }
    }

    fn collect(&mut self, d: usize) {
        for mut f in self.out.drain(..) {
            if !self.keep_bodies {
                // --no-messages: bodies are left out by request, which is no loss to report.
                f.body = Vec::new();
            } else if self.frames[d].len() >= MAX_BODIES {
                if f.captured > 0 {
                    self.bodies_dropped[d] += 1;
                }
                f.body = Vec::new();
            }
            if self.frames[d].len() < MAX_BODIES * 64 {
                self.frames[d].push(f);
            }
        }
    }

    pub fn swap_directions(&mut self) {
        self.deframers.swap(0, 1);
        self.text.swap(0, 1);
        self.frames.swap(0, 1);
        self.bodies_dropped.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::DEFAULT_MAX_MESSAGE;

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
        let mut g = StreamGrpc::new(None, true, (DEFAULT_MAX_MESSAGE, 16 << 20));
        let stream = [0u8, 0, 0, 0, 2, b'h', b'i', 0, 0, 0, 0, 0];
        for chunk in stream.chunks(3) {
            g.data(Dir::ClientToServer, chunk, Timestamp(1));
        }
        g.finish(Timestamp(2));
        assert_eq!(g.frames[0].len(), 2);
        assert_eq!(g.frames[0][0].body, b"hi");
        assert!(g.frames[0][1].body.is_empty());
        assert!(g.frames[1].is_empty());
    }
}
