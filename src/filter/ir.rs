//! The filter for one link layer as a tree of single-load tests: what the BPF compiler
//! turns into jumps. Each primitive expands to the same reads, in the same order, as
//! `eval.rs` does them; constants (a link type that cannot carry ARP, say) are folded.

use super::ast::{AddrPrim, AddrProto, Dir, Expr, IpNet, PortPrim, Proto};
use super::eval::{port_protos, v6_words};
use super::link::{Link, LinkCheck, NetProto, Size};

/// Where a test reads the accumulator from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Load {
    /// `ld[size] [off]`
    Abs { size: Size, off: u32 },
    /// `ldxb 4*([hdr]&0xf)` then `ld[size] [x + off]`.
    Ind { size: Size, hdr: u32, off: u32 },
    /// `ld [SKF_AD_OFF + SKF_AD_PROTOCOL]`: the packet's EtherType, in the kernel.
    Protocol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum JmpOp {
    Eq,
    Gt,
    Ge,
    /// `A & k != 0`
    Set,
}

/// `op(load & mask, k)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Test {
    pub load: Load,
    pub mask: Option<u32>,
    pub op: JmpOp,
    pub k: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Cond {
    Const(bool),
    Test(Test),
    Not(Box<Cond>),
    /// Two or more; only the last can be a constant (the absorbing one).
    And(Vec<Cond>),
    /// Two or more; only the last can be a constant (the absorbing one).
    Or(Vec<Cond>),
}

const TRUE: Cond = Cond::Const(true);

fn test(load: Load, op: JmpOp, k: u32) -> Cond {
    Cond::Test(Test {
        load,
        mask: None,
        op,
        k,
    })
}

fn abs(size: Size, off: u32) -> Load {
    Load::Abs { size, off }
}

/// Conjunction, folding constants: `true` operands go, a leading `false` is the result, and a
/// `false` after other operands ends the list but stays, so the reads before it still happen
/// (and can still reject a short packet), as they do in the evaluator.
fn and(items: impl IntoIterator<Item = Cond>) -> Cond {
    nary(items, true)
}

fn or(items: impl IntoIterator<Item = Cond>) -> Cond {
    nary(items, false)
}

/// `unit` is the identity of the operator (true for and, false for or).
fn nary(items: impl IntoIterator<Item = Cond>, unit: bool) -> Cond {
    let mut out = Vec::new();
    'items: for item in items {
        let subs = match item {
            Cond::And(v) if unit => v,
            Cond::Or(v) if !unit => v,
            other => vec![other],
        };
        for sub in subs {
            match sub {
                Cond::Const(c) if c == unit => {}
                Cond::Const(c) => {
                    // The absorbing constant: what comes after is never evaluated.
                    out.push(Cond::Const(c));
                    break 'items;
                }
                other => out.push(other),
            }
        }
    }
    match out.len() {
        0 => Cond::Const(unit),
        1 => out.pop().unwrap_or(Cond::Const(unit)),
        _ if unit => Cond::And(out),
        _ => Cond::Or(out),
    }
}

fn not(c: Cond) -> Cond {
    match c {
        Cond::Const(c) => Cond::Const(!c),
        Cond::Not(inner) => *inner,
        other => Cond::Not(Box::new(other)),
    }
}

pub(super) fn lower(expr: &Expr, link: Link) -> Cond {
    let l = Lower { link };
    l.expr(expr)
}

struct Lower {
    link: Link,
}

impl Lower {
    fn expr(&self, e: &Expr) -> Cond {
        match e {
            Expr::Any => TRUE,
            Expr::Proto(p) => self.proto(*p),
            Expr::Addr(a) => self.addr(a),
            Expr::Port(p) => self.port(p),
            Expr::Not(inner) => not(self.expr(inner)),
            Expr::And(items) => and(items.iter().map(|i| self.expr(i))),
            Expr::Or(items) => or(items.iter().map(|i| self.expr(i))),
        }
    }

    fn link_is(&self, p: NetProto) -> Cond {
        match self.link.check(p) {
            LinkCheck::Const(c) => Cond::Const(c),
            LinkCheck::Field {
                size,
                off,
                mask,
                values,
            } => or(values.iter().map(|&v| {
                Cond::Test(Test {
                    load: abs(size, off),
                    mask,
                    op: JmpOp::Eq,
                    k: v,
                })
            })),
            LinkCheck::Protocol(ethertype) => test(Load::Protocol, JmpOp::Eq, ethertype.into()),
        }
    }

    fn byte_is(&self, off: u32, v: u32) -> Cond {
        test(abs(Size::B, off), JmpOp::Eq, v)
    }

    fn proto(&self, p: Proto) -> Cond {
        let nl = self.link.nl();
        match p {
            Proto::Ip => self.link_is(NetProto::Ipv4),
            Proto::Ip6 => self.link_is(NetProto::Ipv6),
            Proto::Icmp => and([self.link_is(NetProto::Ipv4), self.byte_is(nl + 9, 1)]),
            Proto::Tcp | Proto::Udp => {
                let n = if p == Proto::Tcp { 6 } else { 17 };
                or([
                    and([self.link_is(NetProto::Ipv4), self.byte_is(nl + 9, n)]),
                    and([
                        self.link_is(NetProto::Ipv6),
                        or([
                            self.byte_is(nl + 6, n),
                            and([self.byte_is(nl + 6, 44), self.byte_is(nl + 40, n)]),
                        ]),
                    ]),
                ])
            }
        }
    }

    fn dir(&self, dir: Dir, src: u32, dst: u32, t: impl Fn(u32) -> Cond) -> Cond {
        match dir {
            Dir::Src => t(src),
            Dir::Dst => t(dst),
            Dir::SrcOrDst => or([t(src), t(dst)]),
            Dir::SrcAndDst => and([t(src), t(dst)]),
        }
    }

    fn addr(&self, a: &AddrPrim) -> Cond {
        let nl = self.link.nl();
        match a.net {
            IpNet::V4 { addr, mask } => {
                let t = |off| match mask {
                    0 => TRUE,
                    m => Cond::Test(Test {
                        load: abs(Size::W, off),
                        mask: (m != u32::MAX).then_some(m),
                        op: JmpOp::Eq,
                        k: addr,
                    }),
                };
                let ip = and([
                    self.link_is(NetProto::Ipv4),
                    self.dir(a.dir, nl + 12, nl + 16, t),
                ]);
                if a.proto != AddrProto::Any {
                    return ip;
                }
                or([
                    ip,
                    and([
                        or([self.link_is(NetProto::Arp), self.link_is(NetProto::Rarp)]),
                        self.dir(a.dir, nl + 14, nl + 24, t),
                    ]),
                ])
            }
            IpNet::V6 { addr, prefix } => {
                let words = v6_words(addr, prefix);
                let t = |off: u32| {
                    and((0u32..)
                        .zip(words)
                        .filter(|(_, (_, m))| *m != 0)
                        .map(|(i, (a, m))| {
                            Cond::Test(Test {
                                load: abs(Size::W, off + 4 * i),
                                mask: (m != u32::MAX).then_some(m),
                                op: JmpOp::Eq,
                                k: a,
                            })
                        }))
                };
                and([
                    self.link_is(NetProto::Ipv6),
                    self.dir(a.dir, nl + 8, nl + 24, t),
                ])
            }
        }
    }

    fn port(&self, p: &PortPrim) -> Cond {
        let nl = self.link.nl();
        let protos = port_protos(p.proto);
        let range = |load: Load| {
            if p.lo == p.hi {
                test(load, JmpOp::Eq, p.lo.into())
            } else {
                and([
                    test(load, JmpOp::Ge, p.lo.into()),
                    not(test(load, JmpOp::Gt, p.hi.into())),
                ])
            }
        };
        let proto_in = |off| or(protos.iter().map(|&n| self.byte_is(off, n)));
        let v4 = and([
            self.link_is(NetProto::Ipv4),
            proto_in(nl + 9),
            not(test(abs(Size::H, nl + 6), JmpOp::Set, 0x1fff)),
            self.dir(p.dir, 0, 2, |off| {
                range(Load::Ind {
                    size: Size::H,
                    hdr: nl,
                    off: nl + off,
                })
            }),
        ]);
        let v6 = and([
            self.link_is(NetProto::Ipv6),
            proto_in(nl + 6),
            self.dir(p.dir, nl + 40, nl + 42, |off| range(abs(Size::H, off))),
        ]);
        or([v4, v6])
    }
}
