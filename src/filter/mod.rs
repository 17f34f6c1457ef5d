//! The capture-filter language: the common subset of pcap-filter(7), parsed once, evaluated
//! in user space for files and compiled to classic BPF for the kernel (`SO_ATTACH_FILTER` on
//! an AF_PACKET socket).
//!
//! It knows frames only by their link type ([`LinkType`]) and bytes: `engine` applies it to
//! file packets and `capture::live` attaches its programs, never the other way round (only
//! the tests read fixture captures through `capture`).
//!
//! # The subset
//! ```text
//! tcp  udp  icmp  ip  ip6                       protocols
//! [ip|ip6] [src|dst] host ADDR                  IPv4 or IPv6 address
//! [ip|ip6] [src|dst] net CIDR                   10.0.0.0/8, 10.1 (= 10.1.0.0/16), fd00::/8,
//!                                               10.0.0.0 mask 255.0.0.0
//! [tcp|udp] [src|dst] port N                    0..=65535
//! [tcp|udp] [src|dst] portrange A-B
//! src ADDR, dst ADDR                            `host` may be left out after src/dst
//! src or dst ..., src and dst ...               both directions / both must match
//! not !   and &&   or ||   ( )
//! ```
//! As in libpcap: `not` binds tightest; `and` and `or` have *equal* precedence and associate
//! left to right (`a or b and c` is `(a or b) and c`); a bare value after `and`/`or` repeats
//! the last primitive's qualifiers (`port 80 or 443`, `host ::1 and not ::2`). Anything else
//! (`ether`, `vlan`, `tcp[13] & 2 != 0`, `greater`, host or port names...) is a
//! [`FilterError`] naming the part and its column.
//!
//! # Semantics: libpcap's BPF, byte for byte
//! [`Filter::matches`] gives the verdict the BPF program libpcap 1.10 compiles would give
//! for the same frame, and [`Filter::compile_bpf`] emits a program that gives that verdict
//! too (tests check both against each other and against tcpdump's own programs):
//! - `ip`/`ip6` are the link layer's protocol field (the EtherType at 12 on Ethernet). A
//!   VLAN-tagged frame is neither (no `vlan` keyword, so no tag skipping). Note that on a
//!   live Linux socket the NIC or the kernel usually strips the tag before the filter runs.
//! - `tcp`/`udp`: the IPv4 protocol, or the IPv6 next header, or an IPv6 fragment header
//!   right after the fixed header whose next header matches. `icmp` is IPv4 only.
//! - `port`/`portrange` without `tcp`/`udp` match TCP, UDP and SCTP. On IPv4 only unfragmented
//!   packets and first fragments match, with the header length taken from IHL (whatever it
//!   says); on IPv6 only the fixed header's next header is looked at: no extension header
//!   walk, so a port behind a hop-by-hop or fragment header does not match.
//! - `host`/`net` with an IPv4 address also match the sender and target protocol addresses
//!   of ARP and RARP packets (libpcap's default, dropped by `ip host`).
//! - A read past the captured end (a frame cut by the snaplen or malformed) rejects the whole
//!   packet, even under `not`, as in BPF. Operands are read left to right with short-circuit.
//!   libpcap's optimizer may drop or reorder some reads, so on such truncated frames the
//!   verdicts can differ from tcpdump's in rare cases; on whole headers they cannot.
//!
//! Link types: ETHERNET, LINUX_SLL, LINUX_SLL2, RAW (101, 12, 14), IPV4, IPV6, NULL and LOOP,
//! both for evaluation and for BPF. NULL/LOOP accept every BSD value of AF_INET6 (10, 24, 28,
//! 30) and NULL both byte orders, where libpcap takes only its own host's value and the
//! file's byte order. Frames of other link types match only the empty filter.
//! [`Filter::compile_bpf_dgram`] targets AF_PACKET `SOCK_DGRAM` sockets (what libpcap uses
//! for the `any` device): the packet starts at the network header there and the protocol
//! comes from `skb->protocol`.
//!
//! Parsing, evaluation and compilation never panic and are bounded: nesting deeper than
//! [`MAX_DEPTH`] is an error, and a program longer than [`BPF_MAXINSNS`] is an error.

// Panic-freedom is checked, not hoped for (tests may index their own data).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod ast;
mod bpf;
#[cfg(test)]
pub(crate) mod bpf_interp;
mod eval;
mod ir;
mod lexer;
mod link;
mod parser;
#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

pub use bpf::{BPF_MAXINSNS, SockFilter, format_program};
pub use parser::MAX_DEPTH;

use crate::net::LinkType;
use std::fmt;
use std::str::FromStr;

/// What the subset is, for error messages.
pub(crate) const SUPPORTED: &str = "h2scope supports: tcp, udp, icmp, ip, ip6, host, net, port, \
                                    portrange, src, dst, and, or, not, parentheses";

/// A filter expression that could not be parsed. Columns count characters from 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Valid pcap-filter syntax (or a character) outside h2scope's subset.
    #[error("unsupported in filter at column {column}: {text:?} ({hint})")]
    Unsupported {
        column: usize,
        text: String,
        hint: &'static str,
    },
    #[error("syntax error in filter at column {column}: {message}")]
    Syntax { column: usize, message: String },
    /// A value that cannot be right: a port above 65535, bits set outside a netmask...
    #[error("invalid filter at column {column}: {message}")]
    Invalid { column: usize, message: String },
    #[error("filter nested too deeply at column {column} (at most {max} levels)")]
    TooDeep { column: usize, max: u32 },
}

impl FilterError {
    /// The 1-based column the error points at.
    pub fn column(&self) -> usize {
        match self {
            FilterError::Unsupported { column, .. }
            | FilterError::Syntax { column, .. }
            | FilterError::Invalid { column, .. }
            | FilterError::TooDeep { column, .. } => *column,
        }
    }
}

/// A filter that cannot be compiled to BPF.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BpfError {
    #[error(
        "no BPF filter for link type {0}: h2scope compiles filters for ETHERNET, LINUX_SLL, \
         LINUX_SLL2, RAW, IPV4, IPV6, NULL and LOOP"
    )]
    UnsupportedLinkType(LinkType),
    #[error(
        "the filter needs {instructions} BPF instructions, more than the kernel's limit of {max}"
    )]
    TooLong { instructions: usize, max: usize },
    #[error("a snaplen of 0 would cut every matching packet to nothing")]
    ZeroSnaplen,
}

/// A parsed capture filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    expr: ast::Expr,
}

impl Filter {
    /// Parses a pcap-filter(7) expression of the subset. The empty (or blank) expression
    /// matches every packet.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        parser::parse(text).map(|expr| Filter { expr })
    }

    /// Whether this filter accepts everything (the empty expression).
    pub fn is_match_all(&self) -> bool {
        self.expr == ast::Expr::Any
    }

    /// Whether the kernel's BPF program for `link_type` would accept `frame` (the captured
    /// bytes, link header first). Frames of a link type the filter cannot read match only
    /// the empty filter.
    pub fn matches(&self, link_type: LinkType, frame: &[u8]) -> bool {
        if self.is_match_all() {
            return true;
        }
        match link::Link::of(link_type) {
            Some(link) => eval::matches(
                &self.expr,
                link,
                eval::Frame {
                    data: frame,
                    protocol: 0,
                },
            ),
            None => false,
        }
    }

    /// The classic BPF program for packets of `link_type`, returning `snaplen` for a match
    /// and 0 otherwise; what `SO_ATTACH_FILTER` takes on an AF_PACKET `SOCK_RAW` socket
    /// (Ethernet on `lo` and real NICs).
    pub fn compile_bpf(
        &self,
        link_type: LinkType,
        snaplen: u32,
    ) -> Result<Vec<SockFilter>, BpfError> {
        let link = link::Link::of(link_type).ok_or(BpfError::UnsupportedLinkType(link_type))?;
        self.compile(link, snaplen)
    }

    /// The classic BPF program for an AF_PACKET `SOCK_DGRAM` socket ("cooked" capture, the
    /// `any` device): the kernel runs it on the packet from its network header, with the
    /// EtherType from `skb->protocol`. Gives the verdict [`Filter::matches`] gives for the
    /// LINUX_SLL/LINUX_SLL2 frame that libpcap would write for the packet.
    pub fn compile_bpf_dgram(&self, snaplen: u32) -> Result<Vec<SockFilter>, BpfError> {
        self.compile(link::Link::Dgram, snaplen)
    }

    fn compile(&self, link: link::Link, snaplen: u32) -> Result<Vec<SockFilter>, BpfError> {
        if snaplen == 0 {
            return Err(BpfError::ZeroSnaplen);
        }
        let cond = ir::lower(&self.expr, link);
        bpf::compile(&cond, snaplen).map_err(|instructions| BpfError::TooLong {
            instructions,
            max: BPF_MAXINSNS,
        })
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

/// A canonical form of the expression, which parses back to the same filter.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}
