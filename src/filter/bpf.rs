//! Classic BPF code generation (`SO_ATTACH_FILTER`), from the tests of [`super::ir`].
//!
//! 1. Short-circuit jumping code: each test is a load and a conditional jump to the labels
//!    for "true" and "false" of the enclosing operator; `not` swaps the labels. Operands run
//!    left to right, so the program reads the packet in the same order as the evaluator.
//! 2. Jump threading (a label whose first instruction is `ja L` becomes L), `ja` to the next
//!    instruction and unreachable code removed.
//! 3. Threading on known outcomes, the bulk of what libpcap's optimizer does: each edge
//!    carries what its path learnt from equality tests (`[12] == 0x800`, `[23] != 6`), and
//!    goes straight past the tests that knowledge decides (the IPv4 branch's failures skip
//!    the IPv6 test). The tests skipped read fields the path already read, so no read past
//!    the captured end is lost. Steps 2 and 3 are bounded, so huge filters stay linear.
//! 4. Redundant loads removed: a forward pass over the (forward-only) control flow knows
//!    what A and X hold at each instruction; a load of what A already holds is dropped,
//!    and so is an `ldxb 4*([n]&0xf)` when X already holds it. Dropping a load whose twin
//!    already succeeded cannot change which packets hit the end of the captured data.
//! 5. Layout: conditional jumps have 8-bit offsets, so a target more than 255 instructions
//!    ahead goes through a `ja` trampoline (32-bit offset) placed right after the jump;
//!    positions are recomputed until no jump is out of range (trampolines only ever push
//!    targets further, so this ends).
//!
//! The program returns the snaplen on a match and 0 otherwise, and is at most
//! [`BPF_MAXINSNS`] instructions long.

use super::ir::{Cond, JmpOp, Load};
use super::link::Size;
use std::fmt::Write as _;

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The kernel's limit on a classic BPF program's length (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;

// Instruction classes, sizes, modes and operations of `linux/filter.h` / `bpf_common.h`.
pub(crate) const BPF_LD: u16 = 0x00;
pub(crate) const BPF_LDX: u16 = 0x01;
pub(crate) const BPF_ST: u16 = 0x02;
pub(crate) const BPF_STX: u16 = 0x03;
pub(crate) const BPF_ALU: u16 = 0x04;
pub(crate) const BPF_JMP: u16 = 0x05;
pub(crate) const BPF_RET: u16 = 0x06;
pub(crate) const BPF_MISC: u16 = 0x07;

pub(crate) const BPF_W: u16 = 0x00;
pub(crate) const BPF_H: u16 = 0x08;
pub(crate) const BPF_B: u16 = 0x10;

pub(crate) const BPF_IMM: u16 = 0x00;
pub(crate) const BPF_ABS: u16 = 0x20;
pub(crate) const BPF_IND: u16 = 0x40;
pub(crate) const BPF_MEM: u16 = 0x60;
pub(crate) const BPF_LEN: u16 = 0x80;
pub(crate) const BPF_MSH: u16 = 0xa0;

pub(crate) const BPF_ADD: u16 = 0x00;
pub(crate) const BPF_SUB: u16 = 0x10;
pub(crate) const BPF_MUL: u16 = 0x20;
pub(crate) const BPF_DIV: u16 = 0x30;
pub(crate) const BPF_OR: u16 = 0x40;
pub(crate) const BPF_AND: u16 = 0x50;
pub(crate) const BPF_LSH: u16 = 0x60;
pub(crate) const BPF_RSH: u16 = 0x70;
pub(crate) const BPF_NEG: u16 = 0x80;
pub(crate) const BPF_MOD: u16 = 0x90;
pub(crate) const BPF_XOR: u16 = 0xa0;

pub(crate) const BPF_JA: u16 = 0x00;
pub(crate) const BPF_JEQ: u16 = 0x10;
pub(crate) const BPF_JGT: u16 = 0x20;
pub(crate) const BPF_JGE: u16 = 0x30;
pub(crate) const BPF_JSET: u16 = 0x40;

pub(crate) const BPF_K: u16 = 0x00;
pub(crate) const BPF_X: u16 = 0x08;
pub(crate) const BPF_A: u16 = 0x10;

pub(crate) const BPF_TAX: u16 = 0x00;
pub(crate) const BPF_TXA: u16 = 0x80;

/// `SKF_AD_OFF + SKF_AD_PROTOCOL`: an absolute load there reads `ntohs(skb->protocol)`.
pub(crate) const SKF_AD_OFF: u32 = 0xffff_f000;
pub(crate) const SKF_AD_PROTOCOL: u32 = 0;

fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn size_bits(size: Size) -> u16 {
    match size {
        Size::B => BPF_B,
        Size::H => BPF_H,
        Size::W => BPF_W,
    }
}

fn jmp_bits(op: JmpOp) -> u16 {
    match op {
        JmpOp::Eq => BPF_JEQ,
        JmpOp::Gt => BPF_JGT,
        JmpOp::Ge => BPF_JGE,
        JmpOp::Set => BPF_JSET,
    }
}

type Label = usize;
const ACCEPT: Label = 0;
const REJECT: Label = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A = load (& mask).
    Load {
        load: Load,
        mask: Option<u32>,
    },
    /// if op(A, k) goto t else goto f
    Jump {
        op: JmpOp,
        k: u32,
        t: Label,
        f: Label,
    },
    Ja(Label),
    Label(Label),
    Ret(u32),
}

/// What the accumulator holds.
type AVal = (Load, Option<u32>);

/// Lowered instructions, jumps still symbolic.
#[derive(Clone, Copy, Debug)]
enum Asm {
    Stmt(SockFilter),
    Jump {
        code: u16,
        k: u32,
        t: Label,
        f: Label,
    },
    Ja(Label),
    Label(Label),
}

/// Compiles the tests to a program returning `snaplen` on a match, 0 otherwise. `Err` gives
/// the length the program would have had, when it exceeds [`BPF_MAXINSNS`].
pub(super) fn compile(cond: &Cond, snaplen: u32) -> Result<Vec<SockFilter>, usize> {
    let mut g = Gen {
        ops: Vec::new(),
        labels: 2,
    };
    g.cond(cond, ACCEPT, REJECT);
    g.ops.push(Op::Label(ACCEPT));
    g.ops.push(Op::Ret(snaplen));
    g.ops.push(Op::Label(REJECT));
    g.ops.push(Op::Ret(0));
    let ops = simplify(g.ops, g.labels);
    let ops = thread_known_outcomes(ops, g.labels);
    let ops = simplify(ops, g.labels);
    let asm = drop_redundant_loads(&ops, g.labels);
    layout(&asm, g.labels)
}

struct Gen {
    ops: Vec<Op>,
    labels: usize,
}

impl Gen {
    fn label(&mut self) -> Label {
        self.labels += 1;
        self.labels - 1
    }

    fn cond(&mut self, c: &Cond, t: Label, f: Label) {
        match c {
            Cond::Const(true) => self.ops.push(Op::Ja(t)),
            Cond::Const(false) => self.ops.push(Op::Ja(f)),
            Cond::Test(test) => {
                self.ops.push(Op::Load {
                    load: test.load,
                    mask: test.mask,
                });
                self.ops.push(Op::Jump {
                    op: test.op,
                    k: test.k,
                    t,
                    f,
                });
            }
            Cond::Not(inner) => self.cond(inner, f, t),
            Cond::And(items) | Cond::Or(items) => {
                let is_and = matches!(c, Cond::And(_));
                for (i, item) in items.iter().enumerate() {
                    if i + 1 == items.len() {
                        self.cond(item, t, f);
                    } else {
                        let next = self.label();
                        if is_and {
                            self.cond(item, next, f);
                        } else {
                            self.cond(item, t, next);
                        }
                        self.ops.push(Op::Label(next));
                    }
                }
            }
        }
    }
}

/// Jump threading, then removal of unreachable code and of `ja` to the next instruction,
/// until nothing changes.
fn simplify(mut ops: Vec<Op>, labels: usize) -> Vec<Op> {
    // Usually two or three rounds; the bound keeps pathological filters linear.
    for _ in 0..8 {
        let before = ops.len();
        // A label followed (after other labels) by `ja M` is M. Resolved back to front, so a
        // chain of such labels resolves in one pass (jumps only go forward).
        let mut target: Vec<Label> = (0..labels).collect();
        let mut next_ja: Option<Label> = None;
        for op in ops.iter().rev() {
            match *op {
                Op::Label(l) => {
                    if let (Some(m), Some(slot)) = (next_ja, target.get_mut(l)) {
                        *slot = m;
                    }
                }
                Op::Ja(m) => next_ja = Some(target.get(m).copied().unwrap_or(m)),
                _ => next_ja = None,
            }
        }
        let resolve = |l: Label| target.get(l).copied().unwrap_or(l);
        for op in &mut ops {
            match op {
                Op::Jump { t, f, .. } => {
                    (*t, *f) = (resolve(*t), resolve(*f));
                    if t == f {
                        *op = Op::Ja(*t);
                    }
                }
                Op::Ja(l) => *l = resolve(*l),
                _ => {}
            }
        }

        // Unreachable code: after an unconditional transfer, until a label someone jumps to.
        let mut referenced = vec![false; labels];
        let mark = |l: Label, r: &mut Vec<bool>| {
            if let Some(slot) = r.get_mut(l) {
                *slot = true;
            }
        };
        let mut kept = Vec::with_capacity(ops.len());
        let mut live = true;
        for op in ops {
            if let Op::Label(l) = op {
                live = live || referenced.get(l).copied().unwrap_or(false);
                if live {
                    kept.push(op);
                }
                continue;
            }
            if !live {
                continue;
            }
            match op {
                Op::Jump { t, f, .. } => {
                    mark(t, &mut referenced);
                    mark(f, &mut referenced);
                    live = false;
                }
                Op::Ja(l) => {
                    mark(l, &mut referenced);
                    live = false;
                }
                Op::Ret(_) => live = false,
                _ => {}
            }
            kept.push(op);
        }

        // `ja L` where L is among the labels right after it.
        let mut out = Vec::with_capacity(kept.len());
        for (i, op) in kept.iter().enumerate() {
            if let Op::Ja(l) = *op {
                let next_labels =
                    kept.get(i + 1..)
                        .unwrap_or_default()
                        .iter()
                        .map_while(|o| match o {
                            Op::Label(x) => Some(*x),
                            _ => None,
                        });
                if next_labels.into_iter().any(|x| x == l) {
                    continue;
                }
            }
            out.push(*op);
        }
        ops = out;
        if ops.len() == before {
            break;
        }
    }
    ops
}

/// How far one edge is threaded through decided tests.
const MAX_THREAD_HOPS: usize = 64;
/// How many "differs from" values are remembered per field.
const MAX_NE_FACTS: usize = 16;

/// A packet field: a load and the mask applied to it.
type Field = (Load, Option<u32>);

/// What is known of a field on some path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fact {
    Eq(u32),
    /// Differs from all of these (never empty).
    Ne(Vec<u32>),
}

/// What a path through the program knows: the field A was loaded from, and the outcome of
/// equality tests it passed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Facts {
    a: Option<Field>,
    known: Vec<(Field, Fact)>,
}

impl Facts {
    fn get(&self, field: Field) -> Option<&Fact> {
        self.known
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, fact)| fact)
    }

    /// The outcome of `op(field, k)`, if the facts decide it.
    fn decide(&self, field: Field, op: JmpOp, k: u32) -> Option<bool> {
        match self.get(field)? {
            Fact::Eq(v) => Some(match op {
                JmpOp::Eq => *v == k,
                JmpOp::Gt => *v > k,
                JmpOp::Ge => *v >= k,
                JmpOp::Set => *v & k != 0,
            }),
            Fact::Ne(set) if op == JmpOp::Eq && set.contains(&k) => Some(false),
            Fact::Ne(_) => None,
        }
    }

    /// These facts, plus the outcome of `op(field, k)` taken on an edge.
    fn with(&self, field: Field, op: JmpOp, k: u32, outcome: bool) -> Facts {
        let mut out = self.clone();
        if op != JmpOp::Eq {
            return out;
        }
        let slot = out.known.iter_mut().find(|(f, _)| *f == field);
        match (slot, outcome) {
            (Some((_, fact)), true) => *fact = Fact::Eq(k),
            (Some((_, Fact::Ne(set))), false) => {
                // Forgetting is always safe; remembering everything is quadratic.
                if !set.contains(&k) && set.len() < MAX_NE_FACTS {
                    set.push(k);
                }
            }
            (Some((_, Fact::Eq(_))), false) => {}
            (None, true) => out.known.push((field, Fact::Eq(k))),
            (None, false) => out.known.push((field, Fact::Ne(vec![k]))),
        }
        out
    }
}

/// What two paths both know.
fn meet_facts(a: Option<Facts>, b: Option<Facts>) -> Option<Facts> {
    let (a, b) = match (a, b) {
        (None, s) | (s, None) => return s,
        (Some(a), Some(b)) => (a, b),
    };
    let known = a
        .known
        .into_iter()
        .filter_map(|(field, fa)| {
            let fb = b.get(field)?.clone();
            let fact = match (fa, fb) {
                (Fact::Eq(x), Fact::Eq(y)) => (x == y).then_some(Fact::Eq(x))?,
                (Fact::Eq(x), Fact::Ne(set)) | (Fact::Ne(set), Fact::Eq(x)) => {
                    let rest: Vec<u32> = set.into_iter().filter(|v| *v != x).collect();
                    (!rest.is_empty()).then_some(Fact::Ne(rest))?
                }
                (Fact::Ne(s1), Fact::Ne(s2)) => {
                    let both: Vec<u32> = s1.into_iter().filter(|v| s2.contains(v)).collect();
                    (!both.is_empty()).then_some(Fact::Ne(both))?
                }
            };
            Some((field, fact))
        })
        .collect();
    Some(Facts {
        a: a.a.filter(|f| b.a == Some(*f)),
        known,
    })
}

/// Jump threading on known outcomes (what libpcap's optimizer does most): an edge whose
/// path already decides the test at its target skips to where that test would go. The
/// skipped loads read fields the path has already read, so no read past the captured end
/// is lost. Runs before [`drop_redundant_loads`], while every test still has its load.
fn thread_known_outcomes(mut ops: Vec<Op>, labels: usize) -> Vec<Op> {
    // Loads whose test was decided: the value is known, and the read already succeeded on
    // every path here (that is how the facts were learnt), so the load can go.
    let mut dropped = vec![false; ops.len()];
    let mut label_at = vec![None; labels];
    for (i, op) in ops.iter().enumerate() {
        if let Op::Label(l) = *op
            && let Some(slot) = label_at.get_mut(l)
        {
            *slot = Some(i);
        }
    }
    // Where an edge with these facts ends up, from label `l`.
    let follow = |ops: &[Op], mut l: Label, facts: &Facts| -> Label {
        // Targets only move forward, so this ends; the bound keeps huge filters linear
        // (stopping early is always correct, just less compact).
        for _ in 0..MAX_THREAD_HOPS {
            let Some(mut i) = label_at.get(l).copied().flatten() else {
                return l;
            };
            while let Some(Op::Label(_)) = ops.get(i) {
                i += 1;
            }
            let (field, jump) = match (ops.get(i), ops.get(i + 1)) {
                (Some(Op::Ja(m)), _) => {
                    l = *m;
                    continue;
                }
                (Some(Op::Load { load, mask }), Some(Op::Jump { op, k, t, f })) => {
                    ((*load, *mask), (*op, *k, *t, *f))
                }
                (Some(Op::Jump { op, k, t, f }), _) => match facts.a {
                    Some(field) => (field, (*op, *k, *t, *f)),
                    None => return l,
                },
                _ => return l,
            };
            let (op, k, t, f) = jump;
            match facts.decide(field, op, k) {
                Some(true) => l = t,
                Some(false) => l = f,
                None => return l,
            }
        }
        l
    };
    let mut incoming: Vec<Option<Facts>> = vec![None; labels];
    let arrive = |l: Label, facts: Facts, incoming: &mut Vec<Option<Facts>>| {
        if let Some(slot) = incoming.get_mut(l) {
            *slot = meet_facts(slot.take(), Some(facts));
        }
    };
    let mut cur = Some(Facts::default());
    for i in 0..ops.len() {
        let Some(op) = ops.get(i).copied() else { break };
        match op {
            Op::Label(l) => {
                let inc = incoming.get_mut(l).and_then(Option::take);
                cur = meet_facts(cur, inc);
            }
            Op::Load { load, mask } => {
                if let Some(c) = cur.as_mut() {
                    c.a = Some((load, mask));
                }
            }
            Op::Jump { op, k, t, f } => {
                let Some(c) = cur.take() else { continue };
                let decided = c.a.and_then(|field| c.decide(field, op, k));
                let new = match (decided, c.a) {
                    (Some(outcome), _) => {
                        let l = follow(&ops, if outcome { t } else { f }, &c);
                        arrive(l, c, &mut incoming);
                        if let Some(Op::Load { .. }) = i.checked_sub(1).and_then(|p| ops.get(p))
                            && let Some(d) = dropped.get_mut(i - 1)
                        {
                            *d = true;
                        }
                        Op::Ja(l)
                    }
                    (None, Some(field)) => {
                        let on_t = c.with(field, op, k, true);
                        let on_f = c.with(field, op, k, false);
                        let (t, f) = (follow(&ops, t, &on_t), follow(&ops, f, &on_f));
                        arrive(t, on_t, &mut incoming);
                        arrive(f, on_f, &mut incoming);
                        Op::Jump { op, k, t, f }
                    }
                    (None, None) => {
                        arrive(t, c.clone(), &mut incoming);
                        arrive(f, c, &mut incoming);
                        Op::Jump { op, k, t, f }
                    }
                };
                if let Some(slot) = ops.get_mut(i) {
                    *slot = new;
                }
            }
            Op::Ja(l) => {
                let Some(c) = cur.take() else { continue };
                let l = follow(&ops, l, &c);
                arrive(l, c, &mut incoming);
                if let Some(slot) = ops.get_mut(i) {
                    *slot = Op::Ja(l);
                }
            }
            Op::Ret(_) => cur = None,
        }
    }
    ops.into_iter()
        .zip(dropped)
        .filter_map(|(op, d)| (!d).then_some(op))
        .collect()
}

/// What A and X hold, when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    a: Option<AVal>,
    /// The header offset of the last `ldxb 4*([n]&0xf)`.
    x: Option<u32>,
}

fn meet(a: Option<State>, b: Option<State>) -> Option<State> {
    match (a, b) {
        (None, s) | (s, None) => s,
        (Some(a), Some(b)) => Some(State {
            a: a.a.filter(|_| a.a == b.a),
            x: a.x.filter(|_| a.x == b.x),
        }),
    }
}

fn drop_redundant_loads(ops: &[Op], labels: usize) -> Vec<Asm> {
    const UNKNOWN: State = State { a: None, x: None };
    // The state flowing into each label from the jumps seen so far.
    let mut incoming: Vec<Option<State>> = vec![None; labels];
    let flow = |l: Label, s: Option<State>, incoming: &mut Vec<Option<State>>| {
        if let Some(slot) = incoming.get_mut(l) {
            *slot = meet(*slot, s);
        }
    };
    let mut cur = Some(UNKNOWN);
    let mut out = Vec::with_capacity(ops.len() * 2);
    for op in ops {
        match *op {
            Op::Label(l) => {
                cur = meet(cur, incoming.get(l).copied().flatten());
                out.push(Asm::Label(l));
            }
            Op::Load { load, mask } => {
                let mut s = cur.unwrap_or(UNKNOWN);
                if s.a != Some((load, mask)) {
                    match load {
                        Load::Abs { size, off } => {
                            out.push(Asm::Stmt(stmt(BPF_LD | size_bits(size) | BPF_ABS, off)));
                        }
                        Load::Ind { size, hdr, off } => {
                            if s.x != Some(hdr) {
                                out.push(Asm::Stmt(stmt(BPF_LDX | BPF_B | BPF_MSH, hdr)));
                                s.x = Some(hdr);
                            }
                            out.push(Asm::Stmt(stmt(BPF_LD | size_bits(size) | BPF_IND, off)));
                        }
                        Load::Protocol => out.push(Asm::Stmt(stmt(
                            BPF_LD | BPF_H | BPF_ABS,
                            SKF_AD_OFF + SKF_AD_PROTOCOL,
                        ))),
                    }
                    if let Some(m) = mask {
                        out.push(Asm::Stmt(stmt(BPF_ALU | BPF_AND | BPF_K, m)));
                    }
                    s.a = Some((load, mask));
                }
                cur = Some(s);
            }
            Op::Jump { op, k, t, f } => {
                flow(t, cur, &mut incoming);
                flow(f, cur, &mut incoming);
                cur = None;
                out.push(Asm::Jump {
                    code: BPF_JMP | jmp_bits(op) | BPF_K,
                    k,
                    t,
                    f,
                });
            }
            Op::Ja(l) => {
                flow(l, cur, &mut incoming);
                cur = None;
                out.push(Asm::Ja(l));
            }
            Op::Ret(k) => {
                cur = None;
                out.push(Asm::Stmt(stmt(BPF_RET | BPF_K, k)));
            }
        }
    }
    out
}

fn layout(asm: &[Asm], labels: usize) -> Result<Vec<SockFilter>, usize> {
    // Too long before any trampoline: no need to lay it out.
    let minimum = asm.iter().filter(|a| !matches!(a, Asm::Label(_))).count();
    if minimum > BPF_MAXINSNS {
        return Err(minimum);
    }
    // Trampolines needed by each conditional jump, for its true and false targets.
    let mut tramp = vec![(false, false); asm.len()];
    let mut at = vec![0usize; labels];
    let len = loop {
        // Positions of labels and instructions with the trampolines decided so far.
        let mut pos = 0;
        let mut starts = Vec::with_capacity(asm.len());
        for (item, tr) in asm.iter().zip(&tramp) {
            starts.push(pos);
            match *item {
                Asm::Label(l) => {
                    if let Some(slot) = at.get_mut(l) {
                        *slot = pos;
                    }
                }
                Asm::Stmt(_) | Asm::Ja(_) => pos += 1,
                Asm::Jump { .. } => pos += 1 + usize::from(tr.0) + usize::from(tr.1),
            }
        }
        let mut changed = false;
        for ((item, tr), &start) in asm.iter().zip(tramp.iter_mut()).zip(&starts) {
            if let Asm::Jump { t, f, .. } = *item {
                let far = |l: Label| offset(&at, l, start + 1) > usize::from(u8::MAX);
                if !tr.0 && far(t) {
                    tr.0 = true;
                    changed = true;
                }
                if !tr.1 && far(f) {
                    tr.1 = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break pos;
        }
    };
    if len > BPF_MAXINSNS {
        return Err(len);
    }
    let mut prog = Vec::with_capacity(len);
    for (item, tr) in asm.iter().zip(&tramp) {
        let pos = prog.len();
        match *item {
            Asm::Label(_) => {}
            Asm::Stmt(s) => prog.push(s),
            Asm::Ja(l) => prog.push(stmt(BPF_JMP | BPF_JA, offset(&at, l, pos + 1) as u32)),
            Asm::Jump { code, k, t, f } => {
                // Offsets count from the instruction after the jump; trampolines sit there.
                let short = |l: Label| u8::try_from(offset(&at, l, pos + 1)).unwrap_or(u8::MAX);
                let (jt, jf) = match *tr {
                    (false, false) => (short(t), short(f)),
                    (true, false) => (0, short(f)),
                    (false, true) => (short(t), 0),
                    (true, true) => (0, 1),
                };
                prog.push(SockFilter { code, jt, jf, k });
                if tr.0 {
                    let p = prog.len();
                    prog.push(stmt(BPF_JMP | BPF_JA, offset(&at, t, p + 1) as u32));
                }
                if tr.1 {
                    let p = prog.len();
                    prog.push(stmt(BPF_JMP | BPF_JA, offset(&at, f, p + 1) as u32));
                }
            }
        }
    }
    Ok(prog)
}

/// Forward distance from `from` to label `l` (labels are always ahead of their jumps).
fn offset(at: &[usize], l: Label, from: usize) -> usize {
    let target = at.get(l).copied().unwrap_or(from);
    debug_assert!(target >= from, "backward jump to label {l}");
    target.saturating_sub(from)
}

/// The program in `tcpdump -d` style (libpcap's `bpf_image`), one instruction per line.
pub fn format_program(prog: &[SockFilter]) -> String {
    let mut s = String::new();
    for (pc, ins) in prog.iter().enumerate() {
        let (op, operand) = image(ins);
        let target = |off: u32| pc as u64 + 1 + u64::from(off);
        if ins.code & 0x07 == BPF_JMP && ins.code & 0xf0 != BPF_JA {
            let _ = writeln!(
                s,
                "({pc:03}) {op:<8} {operand:<16} jt {}\tjf {}",
                target(ins.jt.into()),
                target(ins.jf.into())
            );
        } else if ins.code == BPF_JMP | BPF_JA {
            let _ = writeln!(s, "({pc:03}) {op:<8} {}", target(ins.k));
        } else {
            let _ = writeln!(s, "({pc:03}) {op:<8} {operand}");
        }
    }
    s
}

/// Mnemonic and operand of one instruction.
fn image(ins: &SockFilter) -> (&'static str, String) {
    let SockFilter { code, k, .. } = *ins;
    let x_or_k = || {
        if code & BPF_X != 0 {
            "x".to_owned()
        } else {
            format!("#{k:#x}")
        }
    };
    let sized = |w, h, b| match code & 0x18 {
        BPF_H => h,
        BPF_B => b,
        _ => w,
    };
    match code & 0x07 {
        BPF_LD => match code & 0xe0 {
            BPF_ABS if k >= SKF_AD_OFF => (sized("ld", "ldh", "ldb"), "#proto".to_owned()),
            BPF_ABS => (sized("ld", "ldh", "ldb"), format!("[{k}]")),
            BPF_IND => (sized("ld", "ldh", "ldb"), format!("[x + {k}]")),
            BPF_IMM => ("ld", format!("#{k:#x}")),
            BPF_LEN => ("ld", "#pktlen".to_owned()),
            BPF_MEM => ("ld", format!("M[{k}]")),
            _ => ("unimp", String::new()),
        },
        BPF_LDX => match code & 0xe0 {
            BPF_MSH => ("ldxb", format!("4*([{k}]&0xf)")),
            BPF_IMM => ("ldx", format!("#{k:#x}")),
            BPF_LEN => ("ldx", "#pktlen".to_owned()),
            BPF_MEM => ("ldx", format!("M[{k}]")),
            _ => ("unimp", String::new()),
        },
        BPF_ST => ("st", format!("M[{k}]")),
        BPF_STX => ("stx", format!("M[{k}]")),
        BPF_ALU => {
            let op = match code & 0xf0 {
                BPF_ADD => "add",
                BPF_SUB => "sub",
                BPF_MUL => "mul",
                BPF_DIV => "div",
                BPF_MOD => "mod",
                BPF_OR => "or",
                BPF_AND => "and",
                BPF_XOR => "xor",
                BPF_LSH => "lsh",
                BPF_RSH => "rsh",
                BPF_NEG => return ("neg", String::new()),
                _ => "unimp",
            };
            (op, x_or_k())
        }
        BPF_JMP => {
            let op = match code & 0xf0 {
                BPF_JA => "ja",
                BPF_JEQ => "jeq",
                BPF_JGT => "jgt",
                BPF_JGE => "jge",
                BPF_JSET => "jset",
                _ => "unimp",
            };
            (op, x_or_k())
        }
        BPF_RET => match code & 0x18 {
            BPF_A => ("ret", String::new()),
            BPF_X => ("ret", "x".to_owned()),
            _ => ("ret", format!("#{k}")),
        },
        BPF_MISC => match code & 0xf8 {
            BPF_TAX => ("tax", String::new()),
            BPF_TXA => ("txa", String::new()),
            _ => ("unimp", String::new()),
        },
        _ => ("unimp", String::new()),
    }
}
