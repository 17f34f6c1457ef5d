//! Who sent it: the client or the server of a connection, by its role in HTTP/2 (not by
//! whichever side TCP happened to see first).

/// A connection's client or server.
///
/// Ordered client first, as per-role arrays are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    /// Both roles, in the order of their [`index`](Role::index).
    pub const BOTH: [Role; 2] = [Role::Client, Role::Server];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    /// The other side.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }

    /// Where this role's entry is in a per-role array (`[client, server]`).
    pub fn index(self) -> usize {
        match self {
            Role::Client => 0,
            Role::Server => 1,
        }
    }

    /// This role's item of a per-role pair (no index to check).
    pub fn of<T>(self, pair: &[T; 2]) -> &T {
        let [c, s] = pair;
        match self {
            Role::Client => c,
            Role::Server => s,
        }
    }

    /// This role's item of a per-role pair, to change.
    pub fn of_mut<T>(self, pair: &mut [T; 2]) -> &mut T {
        let [c, s] = pair;
        match self {
            Role::Client => c,
            Role::Server => s,
        }
    }
}
