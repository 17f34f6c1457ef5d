//! The parsed filter: primitives with every qualifier resolved, combined by `not`, `and`, `or`.
//!
//! `and` and `or` are n-ary: a chain of the same operator is one node, evaluated left to right
//! with short-circuit (associativity does not change the result, nor which bytes are read).
//! `Display` prints a canonical form that parses back to the same tree: every primitive with
//! its explicit keywords, every nested `and`/`or` in parentheses.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Expr {
    /// The empty filter: every packet.
    Any,
    Proto(Proto),
    Addr(AddrPrim),
    Port(PortPrim),
    Not(Box<Expr>),
    /// Two or more operands.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
}

/// The protocol keywords of the subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Proto {
    Ip,
    Ip6,
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    pub(super) fn keyword(self) -> &'static str {
        match self {
            Proto::Ip => "ip",
            Proto::Ip6 => "ip6",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }
}

/// `src`, `dst`, `src or dst` (the default), `src and dst`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Dir {
    Src,
    Dst,
    #[default]
    SrcOrDst,
    SrcAndDst,
}

impl Dir {
    fn prefix(self) -> &'static str {
        match self {
            Dir::Src => "src ",
            Dir::Dst => "dst ",
            Dir::SrcOrDst => "",
            Dir::SrcAndDst => "src and dst ",
        }
    }
}

/// Which address families (and, for IPv4, link protocols) an address primitive looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AddrProto {
    /// No qualifier: IPv4 addresses also match the sender/target of ARP and RARP packets,
    /// as in libpcap (`host X` = `ip host X or arp host X or rarp host X`).
    Any,
    /// `ip host`, `ip net`: IPv4 only.
    Ip,
    /// `ip6 host`, `ip6 net`: IPv6 only.
    Ip6,
}

/// `host ADDR` or `net ADDR/LEN` (a host is a net whose mask is all ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AddrPrim {
    pub proto: AddrProto,
    pub dir: Dir,
    /// Written with `net` (only changes how it is printed).
    pub is_net: bool,
    pub net: IpNet,
}

/// An address and mask. The address has no bits outside the mask (the parser checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IpNet {
    /// The mask need not be contiguous (`net 10.0.0.0 mask 255.0.255.0` is legal).
    V4 {
        addr: u32,
        mask: u32,
    },
    V6 {
        addr: u128,
        prefix: u8,
    },
}

impl IpNet {
    pub(super) fn v6_mask(prefix: u8) -> u128 {
        match prefix {
            0 => 0,
            p => u128::MAX << (128 - u32::from(p.min(128))),
        }
    }
}

/// `port N`, `portrange A-B`, with an optional `tcp`/`udp` qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PortPrim {
    /// `None`: TCP, UDP or SCTP, as in libpcap. Otherwise `Tcp` or `Udp`.
    pub proto: Option<Proto>,
    pub dir: Dir,
    /// Inclusive bounds, `lo <= hi`.
    pub lo: u16,
    pub hi: u16,
    /// Written with `portrange` (only changes how it is printed).
    pub is_range: bool,
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, true)
    }
}

impl Expr {
    fn write(&self, f: &mut fmt::Formatter<'_>, top: bool) -> fmt::Result {
        match self {
            Expr::Any => Ok(()),
            Expr::Proto(p) => f.write_str(p.keyword()),
            Expr::Addr(a) => fmt::Display::fmt(a, f),
            Expr::Port(p) => fmt::Display::fmt(p, f),
            Expr::Not(inner) => {
                f.write_str("not ")?;
                inner.write(f, false)
            }
            Expr::And(items) | Expr::Or(items) => {
                let op = if matches!(self, Expr::And(_)) {
                    " and "
                } else {
                    " or "
                };
                if !top {
                    f.write_str("(")?;
                }
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    item.write(f, false)?;
                }
                if !top {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for AddrPrim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.proto {
            AddrProto::Any => {}
            AddrProto::Ip => f.write_str("ip ")?,
            AddrProto::Ip6 => f.write_str("ip6 ")?,
        }
        f.write_str(self.dir.prefix())?;
        f.write_str(if self.is_net { "net " } else { "host " })?;
        match self.net {
            IpNet::V4 { addr, mask } => {
                write!(f, "{}", Ipv4Addr::from(addr))?;
                if self.is_net {
                    if mask.leading_ones() + mask.trailing_zeros() == 32 {
                        write!(f, "/{}", mask.leading_ones())?;
                    } else {
                        write!(f, " mask {}", Ipv4Addr::from(mask))?;
                    }
                }
                Ok(())
            }
            IpNet::V6 { addr, prefix } => {
                write!(f, "{}", Ipv6Addr::from(addr))?;
                if self.is_net {
                    write!(f, "/{prefix}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for PortPrim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.proto {
            write!(f, "{} ", p.keyword())?;
        }
        f.write_str(self.dir.prefix())?;
        if self.is_range {
            write!(f, "portrange {}-{}", self.lo, self.hi)
        } else {
            write!(f, "port {}", self.lo)
        }
    }
}
