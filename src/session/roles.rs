//! Roles: which TCP direction the client sends in. The one place where reassembly's [`Dir`]
//! becomes a [`Role`]; everything else in the session keeps its state by role.
//!
//! Reassembly guesses the client from the handshake, or else from the ports. The HTTP/2
//! preface, an HTTP/1.1 request, a TLS ClientHello or (joined mid-connection) the first
//! request or response header block settle it; when the guess was wrong, everything kept
//! per role is swapped at once ([`Connection::swap_roles`]) and the mapping turns round.

use super::{Connection, StreamBody};
use crate::http2::hpack::{HeaderField, Text};
use crate::reassembly::{ConnStats, Dir};
use crate::role::Role;

/// How reassembly's directions map to roles.
#[derive(Clone, Copy, Debug)]
pub(super) struct Roles {
    /// The TCP direction the client sends in.
    client_sends: Dir,
    /// Settled for certain (preface, handshake, HTTP/1 request, first headers): no later
    /// header block may swap them.
    pub(super) certain: bool,
}

impl Roles {
    /// Reassembly's guess, taken as certain when it saw the TCP handshake.
    pub(super) fn new(certain: bool) -> Self {
        Roles {
            client_sends: Dir::ClientToServer,
            certain,
        }
    }

    /// The role that sends in TCP direction `d`.
    pub(super) fn of(self, d: Dir) -> Role {
        if d == self.client_sends {
            Role::Client
        } else {
            Role::Server
        }
    }

    /// Reassembly guessed the roles the wrong way round.
    pub(super) fn swapped(self) -> bool {
        self.client_sends != Dir::ClientToServer
    }

    /// Turns reassembly's TCP counters (kept by its own guess) to the roles.
    pub(super) fn orient(self, t: &mut ConnStats) {
        if !self.swapped() {
            return;
        }
        std::mem::swap(&mut t.client, &mut t.server);
        t.packets.swap(0, 1);
        t.wire_bytes.swap(0, 1);
        t.payload_bytes.swap(0, 1);
        t.gaps.swap(0, 1);
        t.gap_bytes.swap(0, 1);
        t.retransmissions.swap(0, 1);
        t.out_of_order.swap(0, 1);
    }
}

impl<B: StreamBody> Connection<B> {
    /// The roles were guessed wrong: swap everything kept per role.
    pub(super) fn swap_roles(&mut self) {
        self.roles.client_sends = self.roles.client_sends.reverse();
        self.sides.swap(0, 1);
        std::mem::swap(&mut self.info.client, &mut self.info.server);
        for s in self.streams.open_mut() {
            s.swap_roles();
        }
        for f in &mut self.frames {
            f.from = f.from.peer();
        }
        for p in &mut self.pings {
            p.from = p.from.peer();
        }
        for g in &mut self.goaways {
            g.from = g.from.peer();
        }
    }

    /// A header block from side `r`, decoded: while the roles are uncertain (joined
    /// mid-connection), the first block that names a request or a response settles them.
    /// Returns the role of its sender, corrected.
    pub(super) fn settle_roles(&mut self, r: Role, fields: &[HeaderField]) -> Role {
        if self.roles.certain {
            return r;
        }
        let Some(from) = block_role(fields) else {
            return r;
        };
        self.roles.certain = true;
        if from != r {
            self.swap_roles();
        }
        from
    }
}

/// Who sent a header block: a request's (`:method`, `:path`) says the client, a response's
/// (`:status`) the server; `None` when its pseudo-headers are unknown.
fn block_role(fields: &[HeaderField]) -> Option<Role> {
    fields.iter().find_map(|f| match &f.name {
        Text::Known(n) if n.as_slice() == b":method" || n.as_slice() == b":path" => {
            Some(Role::Client)
        }
        Text::Known(n) if n.as_slice() == b":status" => Some(Role::Server),
        _ => None,
    })
}
