//! A finished stream's gRPC call, decoded: framing, trailers, compression and schemas.

use crate::grpc::GrpcStream;
use crate::grpc::call::{Call, CallInput, decode_call};
use crate::grpc::{FrameKind, parse_web_trailers};
use crate::http2::hpack::Text;
use std::borrow::Cow;

/// The gRPC call a stream carried, decoded as `options` say (schemas, bodies, JSON as text
/// or trees); `None` for other streams. `pooled` is evidence from calls that share its
/// unknown `:path` (see [`InferencePool`](super::InferencePool)).
pub fn grpc_call(
    s: &mut GrpcStream,
    options: &super::Options,
    pooled: [&[Vec<u8>]; 2],
) -> Option<Call> {
    let complete = s.is_complete();
    // Mutable for the message bodies, which move into the call (see `CallInput::request`).
    let g = s.body.as_mut()?;
    // Borrowed from the header lists (copies of every trailer were a few percent of an
    // export without bodies); gRPC-Web's trailers, parsed from the body, are owned.
    type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, [u8]>)>;
    fn text(list: &Option<Vec<crate::http2::hpack::HeaderField>>) -> Pairs<'_> {
        list.iter()
            .flatten()
            .filter_map(|f| match (&f.name, &f.value) {
                (Text::Known(n), Text::Known(v)) => {
                    // Valid text checked first: from_utf8_lossy's own check is slower.
                    let name = match std::str::from_utf8(n) {
                        Ok(text) => Cow::Borrowed(text),
                        Err(_) => String::from_utf8_lossy(n),
                    };
                    Some((name, Cow::Borrowed(v.as_slice())))
                }
                _ => None,
            })
            .collect()
    }
    // Trailers, or for a trailers-only response (RFC 9113 §8.1, gRPC's "Trailers-Only")
    // the response headers; gRPC-Web carries them in the body.
    let mut trailers = text(&s.trailers);
    if trailers.is_empty() && GrpcStream::field(&s.response_headers, "grpc-status").is_some() {
        trailers = text(&s.response_headers);
    }
    for f in g.frames[1]
        .iter()
        .filter(|f| f.kind == FrameKind::WebTrailers)
    {
        trailers.extend(
            parse_web_trailers(&f.body)
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v))),
        );
    }
    let [request, response] = &mut g.frames;
    let mut input = CallInput {
        path: GrpcStream::field(&s.request_headers, ":path")
            .and_then(|p| std::str::from_utf8(p).ok()),
        kind: g.kind.clone(),
        request_encoding: GrpcStream::field(&s.request_headers, "grpc-encoding"),
        response_encoding: GrpcStream::field(&s.response_headers, "grpc-encoding"),
        trailers: trailers
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect(),
        request,
        response,
        bodies_dropped: g.bodies_dropped,
        reset: s
            .reset
            .map(|(from, e)| (e.0, from == crate::role::Role::Client)),
        complete,
        no_bodies: options.no_messages,
        max_decompressed: g.max_decompressed,
        pooled,
        json_text: options.json_text,
    };
    Some(decode_call(&mut input, &options.descriptors))
}
