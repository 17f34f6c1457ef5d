//! The hook for what a stream's DATA carries: the session frames, counts and orders DATA,
//! and hands its payload to a [`StreamBody`] without knowing what it is (gRPC, for
//! h2scope: `grpc::CallBody`).
//!
//! Contract, for one stream:
//! - [`open`](StreamBody::open) is asked once, at the first non-empty DATA chunk from
//!   either side, with the stream's content-type (request, else response) when a header
//!   block named one. `None` declines the stream: it is not asked again.
//! - Then, from that chunk on, every DATA payload chunk goes to
//!   [`data`](StreamBody::data) and every byte lost in a TCP gap to
//!   [`lost`](StreamBody::lost), per sending [`Role`], in capture order.
//! - [`swap_roles`](StreamBody::swap_roles) when the session finds it guessed the roles
//!   the wrong way round (whatever was fed before came under the wrong role).
//! - [`finish`](StreamBody::finish) once, just before the stream is reported.
//!
//! The body is a type parameter of [`Connection`](super::Connection),
//! [`Stream`](super::Stream) and [`Config`](super::Config) (its options), named by
//! [`H2Sink::Body`](super::H2Sink::Body), rather than a `Box<dyn StreamBody>`: the DATA
//! path runs for every payload byte of a capture, and with a generic parameter each chunk
//! is a direct call the compiler may inline into the frame decoder's loop, where a trait
//! object would cost an indirect call per chunk, a box per stream and a factory object to
//! open one. The binary has one body type, so nothing is compiled twice; callers name it
//! through aliases (`grpc::GrpcStream`, `grpc::GrpcConnection`), and the session's own
//! tests plug in a body of their own.

use crate::capture::Timestamp;
use crate::role::Role;

/// What observes the DATA of a stream (the order of calls is in the [module doc](self)).
pub trait StreamBody: Sized {
    /// The body's limits and options, kept in [`Config::body`](super::Config::body) and
    /// handed to [`open`](StreamBody::open).
    type Config: Clone + std::fmt::Debug;

    /// The body for a stream whose content-type is `content_type` (when known) and whose
    /// first DATA bytes are `first` (not empty; they are then fed to
    /// [`data`](StreamBody::data) as usual), or `None` when the stream is not one.
    fn open(config: &Self::Config, content_type: Option<&[u8]>, first: &[u8]) -> Option<Self>;

    /// DATA payload bytes (padding excluded) sent by `from`, captured at `ts`.
    fn data(&mut self, from: Role, data: &[u8], ts: Timestamp);

    /// `len` DATA payload bytes sent by `from` fell in a TCP gap, noticed at `ts`.
    fn lost(&mut self, from: Role, len: u64, ts: Timestamp);

    /// The stream ends (complete, pushed out by the open-stream cap, or at the end of the
    /// connection) at `ts`, its last frame's time.
    fn finish(&mut self, ts: Timestamp);

    /// The roles were guessed wrong: swap everything kept per role.
    fn swap_roles(&mut self);
}
