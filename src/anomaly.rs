//! Typed protocol anomalies: what went wrong on a connection or stream, who sent it and
//! where, as data a script can filter (`kind`) beside the text a person reads.
//!
//! Every anomaly the HTTP/2 session layer reports has one [`AnomalyKind`], a stable
//! snake_case code written in the JSON and listed in `docs/json.md` (a test holds the two
//! lists together). Capture-level damage (snaplen, fragments, pcapng blocks) is tallied by
//! kind in the engine instead: it can happen millions of times and is not tied to one
//! connection.
//!
//! This module is a leaf: the layers that find anomalies and the writers that show them
//! all depend on it, and it depends on nothing of theirs.

pub use crate::role::Role;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// How much an anomaly matters to the reader, as Wireshark's Expert Information grades
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something the capture lacks (lost bytes, a mid-connection start): the decode is
    /// partial there, not wrong.
    Note,
    /// A peer broke a SHOULD or stretched a limit; decoding went on normally.
    Warning,
    /// A peer broke a MUST of RFC 9113 / RFC 7541, or h2scope had to drop what it could not
    /// read.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Declares [`AnomalyKind`] with its code and severity in one list, so the enum, its
/// codes and [`AnomalyKind::ALL`] cannot drift apart.
macro_rules! kinds {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal, $severity:ident;)*) => {
        /// What kind of trouble an [`Anomaly`] reports. The codes are stable: scripts match
        /// on them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum AnomalyKind {
            $($(#[doc = $doc])* $name,)*
        }

        impl AnomalyKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AnomalyKind] = &[$(AnomalyKind::$name,)*];

            /// The stable snake_case code the JSON carries.
            pub fn code(self) -> &'static str {
                match self {
                    $(AnomalyKind::$name => $code,)*
                }
            }

            pub fn severity(self) -> Severity {
                match self {
                    $(AnomalyKind::$name => Severity::$severity,)*
                }
            }
        }
    };
}

kinds! {
    /// Bytes of one direction were never captured (a TCP gap) while HTTP/2 was decoded.
    TcpGap = "tcp_gap", Note;
    /// Part of a DATA frame's payload fell in a gap; the frame's boundaries are known.
    DataLost = "data_lost", Note;
    /// A frame whose header was read but whose payload fell (partly) in a gap.
    FrameLost = "frame_lost", Note;
    /// Bytes skipped while looking for a frame boundary (after a gap, or joined
    /// mid-connection).
    ResyncSkipped = "resync_skipped", Note;
    /// A direction's bytes end inside a frame (the capture or connection stopped there).
    TruncatedFrame = "truncated_frame", Note;
    /// A header block never finished: no END_HEADERS before the connection ended.
    UnterminatedHeaderBlock = "unterminated_header_block", Note;
    /// After `101 Switching Protocols` the client did not send the connection preface
    /// (RFC 9113 §3.2).
    MissingPreface = "missing_preface", Error;
    /// A frame whose payload breaks its type's rules (RFC 9113 §6).
    MalformedFrame = "malformed_frame", Error;
    /// A frame larger than h2scope buffers (`--max-frame-size`); skipped.
    FrameOversized = "frame_oversized", Error;
    /// A frame type sent on a stream it may not use: DATA/HEADERS/... on stream 0,
    /// SETTINGS/PING/GOAWAY on another (RFC 9113 §6, RFC 8336 §2, RFC 9218 §7.1).
    WrongStream = "wrong_stream", Error;
    /// A frame other than the CONTINUATION of the same stream arrived inside a header
    /// block (RFC 9113 §6.10).
    HeaderBlockInterrupted = "header_block_interrupted", Error;
    /// A CONTINUATION frame with no header block to continue (RFC 9113 §6.10).
    OrphanContinuation = "orphan_continuation", Error;
    /// A header block larger than `--max-header-block`; dropped.
    HeaderBlockOversized = "header_block_oversized", Error;
    /// A header block HPACK could not decode (RFC 7541).
    HpackError = "hpack_error", Error;
    /// A third header block from the client, or one after the trailers (RFC 9113 §8.1).
    ExtraHeaderBlock = "extra_header_block", Error;
    /// DATA beyond the connection's flow-control window (RFC 9113 §6.9).
    ConnectionWindowExceeded = "connection_window_exceeded", Error;
    /// DATA beyond a stream's flow-control window (RFC 9113 §6.9).
    StreamWindowExceeded = "stream_window_exceeded", Error;
    /// A WINDOW_UPDATE with an increment of 0 (RFC 9113 §6.9).
    ZeroWindowIncrement = "zero_window_increment", Error;
    /// A SETTINGS value out of its range (RFC 9113 §6.5.2).
    InvalidSetting = "invalid_setting", Error;
    /// A PING ACK that answers no PING the other side sent.
    UnmatchedPingAck = "unmatched_ping_ack", Warning;
    /// More open streams than `--max-streams`: the oldest was reported incomplete.
    TooManyStreams = "too_many_streams", Warning;
}

/// One anomaly: its kind, who sent what caused it, where, and the text for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The sender of the bytes at fault, when one side is.
    pub from: Option<Role>,
    /// The capture's packet number (from 1) being decoded when it was found; 0 when no
    /// packet was (the end of the capture).
    pub packet: u64,
    /// The HTTP/2 stream it concerns, when one does.
    pub stream_id: Option<u32>,
    pub text: String,
}

impl Anomaly {
    /// An anomaly of `kind` with its text; [`by`](Anomaly::by) and [`on`](Anomaly::on)
    /// add the sender and the stream, and the layer that files it sets the packet.
    pub fn new(kind: AnomalyKind, text: impl Into<String>) -> Self {
        Anomaly {
            kind,
            from: None,
            packet: 0,
            stream_id: None,
            text: text.into(),
        }
    }

    /// Sent by `role`.
    pub fn by(mut self, role: Role) -> Self {
        self.from = Some(role);
        self
    }

    /// About stream `id`.
    pub fn on(mut self, id: u32) -> Self {
        self.stream_id = Some(id);
        self
    }
}

impl Serialize for Anomaly {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Anomaly", 5)?;
        st.serialize_field("kind", self.kind.code())?;
        st.serialize_field("from", &self.from.map(Role::as_str))?;
        st.serialize_field("packet", &self.packet)?;
        st.serialize_field("stream_id", &self.stream_id)?;
        st.serialize_field("text", &self.text)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for k in AnomalyKind::ALL {
            let c = k.code();
            assert!(seen.insert(c), "{c} twice");
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c} is not snake_case"
            );
        }
    }

    #[test]
    fn serializes_all_five_members() {
        let a = Anomaly {
            kind: AnomalyKind::TcpGap,
            from: Some(Role::Server),
            packet: 7,
            stream_id: None,
            text: "12 bytes from the server never captured".into(),
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"kind":"tcp_gap","from":"server","packet":7,"stream_id":null,"text":"12 bytes from the server never captured"}"#
        );
    }
}
