//! The grammar of libpcap's `grammar.y`, restricted to the subset, by recursive descent.
//!
//! ```text
//! filter := ε | expr
//! expr   := term ( (and | or) (term | id) )*       and/or: equal precedence, left to right
//! term   := not term | '(' expr ')' | pname | head id
//! head   := [pname] dqual [aqual] | [pname] aqual
//! id     := not id | '(' id ((and | or) id)* ')' | value
//! value  := NUM | A.B[.C[.D]] [ '/' NUM | mask A.B.C.D ] | IPV6 [ '/' NUM ] | NUM-NUM
//! pname  := ip | ip6 | tcp | udp | icmp
//! dqual  := src | dst | src or dst | dst or src | src and dst | dst and src
//! aqual  := host | net | port | portrange
//! ```
//!
//! The libpcap subtlety kept here is the *qualifier context* (`$<blk>0.q` in `grammar.y`): a
//! bare value after `and`/`or` takes the qualifiers of the last primitive written before it
//! (`port 80 or 443`, `host 10.0.0.1 and not 10.0.0.2`). A protocol keyword alone (`tcp`)
//! leaves no context, so `tcp or 80` is an error, as in libpcap. `not` and `(` pass the
//! context through, and a parenthesised expression leaves the context it found before the
//! parenthesis (`host 10.0.0.1 and (tcp) or 10.0.0.2` means host 10.0.0.2 at the end).
//! Whether an operand after `and`/`or` is a value or a term is decided, like yacc's
//! lookahead does, by the first token after any `not`/`!`/`(`.

use super::ast::{AddrPrim, AddrProto, Dir, Expr, IpNet, PortPrim, Proto};
use super::lexer::{Tok, Token, column, lex};
use super::{FilterError, SUPPORTED};

/// The deepest nesting of parentheses and `not`s, and of the parsed tree, accepted. Keeps
/// every recursion over a filter (parse, evaluate, compile, print, drop) far from the stack's
/// end whatever the input.
pub const MAX_DEPTH: u32 = 200;

/// libpcap keywords outside the subset (reported as unsupported, not as unknown names).
const LIBPCAP_KEYWORDS: &[&str] = &[
    "aarp",
    "action",
    "addr1",
    "addr2",
    "addr3",
    "addr4",
    "address1",
    "address2",
    "address3",
    "address4",
    "ah",
    "arp",
    "atalk",
    "bcc",
    "broadcast",
    "byte",
    "carp",
    "clnp",
    "connectmsg",
    "csnp",
    "decnet",
    "dir",
    "direction",
    "dpc",
    "es-is",
    "esis",
    "esp",
    "ether",
    "fddi",
    "fisu",
    "gateway",
    "geneve",
    "greater",
    "hdpc",
    "hfisu",
    "hlssu",
    "hmsu",
    "hopc",
    "hsio",
    "hsls",
    "icmp6",
    "ifindex",
    "ifname",
    "igmp",
    "igrp",
    "iih",
    "ilmic",
    "inbound",
    "ipx",
    "is-is",
    "isis",
    "iso",
    "l1",
    "l2",
    "lane",
    "lat",
    "len",
    "length",
    "less",
    "link",
    "llc",
    "lsp",
    "lssu",
    "lsu",
    "metac",
    "metaconnect",
    "mopdl",
    "moprc",
    "mpls",
    "msu",
    "multicast",
    "netbeui",
    "oam",
    "oamf4",
    "oamf4ec",
    "oamf4sc",
    "on",
    "opc",
    "outbound",
    "pim",
    "ppp",
    "pppoed",
    "pppoes",
    "proto",
    "protochain",
    "psnp",
    "ra",
    "radio",
    "rarp",
    "reason",
    "rnr",
    "rset",
    "rulenum",
    "ruleset",
    "sc",
    "sca",
    "sctp",
    "sio",
    "slip",
    "sls",
    "snp",
    "srnr",
    "stp",
    "subrulenum",
    "subtype",
    "ta",
    "tr",
    "type",
    "vci",
    "vlan",
    "vpi",
    "vrrp",
    "wlan",
    "icmptype",
    "icmpcode",
    "icmp6type",
    "icmp6code",
    "tcpflags",
];

const SUPPORTED_KEYWORDS: &[&str] = &[
    "tcp",
    "udp",
    "icmp",
    "ip",
    "ip6",
    "host",
    "net",
    "port",
    "portrange",
    "src",
    "dst",
    "and",
    "or",
    "not",
    "mask",
];

fn is_keyword(word: &str) -> bool {
    SUPPORTED_KEYWORDS.contains(&word)
        || LIBPCAP_KEYWORDS.contains(&word)
        || ["icmp-", "icmp6-", "tcp-"]
            .iter()
            .any(|p| word.starts_with(p))
}

/// Address-type qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddrQ {
    Default,
    Host,
    Net,
    Port,
    Portrange,
}

/// The qualifiers a value is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Quals {
    proto: Option<Proto>,
    dir: Dir,
    addr: AddrQ,
}

/// libpcap's `$<blk>0.q`: the qualifiers a bare value would take here, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// `qerr`: at the start, after a lone protocol keyword.
    None,
    Quals(Quals),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    And,
    Or,
}

/// A subtree and its depth.
struct Node {
    expr: Expr,
    depth: u32,
}

impl Node {
    fn leaf(expr: Expr) -> Node {
        Node { expr, depth: 1 }
    }
}

pub(super) fn parse(src: &str) -> Result<Expr, FilterError> {
    let (tokens, lex_error) = lex(src);
    let result = parse_tokens(src, tokens);
    match (lex_error, result) {
        // The parser stopped where the tokens did, or later: the lexer's error comes first.
        (Some(lexer), Err(e)) if e.column() >= lexer.column() => Err(lexer),
        (Some(lexer), Ok(_)) => Err(lexer),
        (_, result) => result,
    }
}

fn parse_tokens<'a>(src: &'a str, tokens: Vec<Token<'a>>) -> Result<Expr, FilterError> {
    if tokens.is_empty() {
        return Ok(Expr::Any);
    }
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        nesting: 0,
    };
    let (node, _) = p.expr(Ctx::None)?;
    match p.peek() {
        None => Ok(node.expr),
        Some(t) if t.tok == Tok::RParen => Err(p.syntax(t, "unbalanced ')'".to_owned())),
        Some(t) => Err(p.unexpected(t, "'and', 'or' or the end of the filter")),
    }
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token<'a>>,
    pos: usize,
    /// Parentheses and `not`s currently open.
    nesting: u32,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<Token<'a>> {
        self.tokens.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn peek_word(&self) -> Option<&'a str> {
        match self.peek()?.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    fn is_not(t: Option<Token<'_>>) -> bool {
        t.is_some_and(|t| t.tok == Tok::Not || t.tok == Tok::Word("not"))
    }

    fn op_at(&self, ahead: usize) -> Option<Op> {
        match self.peek_at(ahead)?.tok {
            Tok::And | Tok::Word("and") => Some(Op::And),
            Tok::Or | Tok::Word("or") => Some(Op::Or),
            _ => None,
        }
    }

    fn end_column(&self) -> usize {
        column(self.src, self.src.len())
    }

    fn syntax(&self, at: Token<'_>, message: String) -> FilterError {
        FilterError::Syntax {
            column: column(self.src, at.start),
            message,
        }
    }

    fn invalid(&self, at: Token<'_>, message: String) -> FilterError {
        FilterError::Invalid {
            column: column(self.src, at.start),
            message,
        }
    }

    fn unsupported(&self, at: Token<'_>, hint: &'static str) -> FilterError {
        FilterError::Unsupported {
            column: column(self.src, at.start),
            text: at.text.to_owned(),
            hint,
        }
    }

    /// An error for `found` where `expected` should be; words and symbols outside the subset
    /// are reported as unsupported rather than as syntax errors.
    fn unexpected(&self, found: Token<'_>, expected: &str) -> FilterError {
        match found.tok {
            Tok::Other(_) => self.unsupported(found, SUPPORTED),
            Tok::Word(w) if !SUPPORTED_KEYWORDS.contains(&w) => self.word_error(found, w),
            _ => self.syntax(
                found,
                format!("expected {expected}, found {:?}", found.text),
            ),
        }
    }

    fn word_error(&self, at: Token<'_>, word: &str) -> FilterError {
        let lower = word.to_ascii_lowercase();
        if lower != word && is_keyword(&lower) {
            self.unsupported(at, "filter keywords are lower case, as in tcpdump")
        } else {
            self.unsupported(at, SUPPORTED)
        }
    }

    fn missing(&self, expected: &str) -> FilterError {
        FilterError::Syntax {
            column: self.end_column(),
            message: format!("expected {expected}, found the end of the filter"),
        }
    }

    fn enter(&mut self, at: Token<'_>) -> Result<(), FilterError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(FilterError::TooDeep {
                column: column(self.src, at.start),
                max: MAX_DEPTH,
            });
        }
        Ok(())
    }

    fn combine(&self, op: Op, a: Node, b: Node, at: Token<'_>) -> Result<Node, FilterError> {
        let mut items = Vec::new();
        let mut depth = 0;
        for n in [a, b] {
            match (op, n.expr) {
                (Op::And, Expr::And(v)) | (Op::Or, Expr::Or(v)) => {
                    depth = depth.max(n.depth);
                    items.extend(v);
                }
                (_, e) => {
                    depth = depth.max(n.depth + 1);
                    items.push(e);
                }
            }
        }
        if depth > MAX_DEPTH {
            return Err(FilterError::TooDeep {
                column: column(self.src, at.start),
                max: MAX_DEPTH,
            });
        }
        let expr = match op {
            Op::And => Expr::And(items),
            Op::Or => Expr::Or(items),
        };
        Ok(Node { expr, depth })
    }

    fn negate(&self, n: Node, at: Token<'_>) -> Result<Node, FilterError> {
        if n.depth >= MAX_DEPTH {
            return Err(FilterError::TooDeep {
                column: column(self.src, at.start),
                max: MAX_DEPTH,
            });
        }
        Ok(Node {
            expr: Expr::Not(Box::new(n.expr)),
            depth: n.depth + 1,
        })
    }

    /// `expr := term ((and|or) (term|id))*`; returns the context left for what follows.
    fn expr(&mut self, ctx: Ctx) -> Result<(Node, Ctx), FilterError> {
        let (mut acc, mut ctx) = self.term(ctx)?;
        while let Some(op) = self.op_at(0) {
            let Some(op_tok) = self.bump() else { break };
            let rhs = if self.starts_value() {
                self.id(ctx)?
            } else {
                let (n, c) = self.term(ctx)?;
                ctx = c;
                n
            };
            acc = self.combine(op, acc, rhs, op_tok)?;
        }
        Ok((acc, ctx))
    }

    /// After any `not`s and `(`s, does a value come (an `id`) rather than a term?
    fn starts_value(&self) -> bool {
        let mut i = 0;
        loop {
            let t = self.peek_at(i);
            if Self::is_not(t) || t.is_some_and(|t| t.tok == Tok::LParen) {
                i += 1;
                continue;
            }
            return match t.map(|t| t.tok) {
                Some(Tok::Num(_) | Tok::Hid(_) | Tok::Hid6(_)) => true,
                Some(Tok::Word(w)) => !is_keyword(w),
                _ => false,
            };
        }
    }

    fn term(&mut self, ctx: Ctx) -> Result<(Node, Ctx), FilterError> {
        let mut nots = Vec::new();
        while Self::is_not(self.peek()) {
            let Some(t) = self.bump() else { break };
            self.enter(t)?;
            nots.push(t);
        }
        let (mut node, ctx) = self.rterm(ctx)?;
        while let Some(t) = nots.pop() {
            node = self.negate(node, t)?;
            self.nesting -= 1;
        }
        Ok((node, ctx))
    }

    fn rterm(&mut self, ctx: Ctx) -> Result<(Node, Ctx), FilterError> {
        let Some(t) = self.peek() else {
            return Err(self.missing("a filter primitive"));
        };
        match t.tok {
            Tok::LParen => {
                self.bump();
                self.enter(t)?;
                let (node, _) = self.expr(ctx)?;
                self.close_paren(t)?;
                // `paren expr ')'` keeps the context of the parenthesis: $1.q.
                Ok((node, ctx))
            }
            Tok::Word(w) if is_pname(w).is_some() || is_dqual(w) || is_aqual(w).is_some() => {
                self.head_and_id()
            }
            Tok::Num(_) | Tok::Hid(_) | Tok::Hid6(_) => Err(self.syntax(
                t,
                format!(
                    "{:?} needs a qualifier before it, such as host, net or port",
                    t.text
                ),
            )),
            _ => Err(self.unexpected(t, "a filter primitive")),
        }
    }

    fn close_paren(&mut self, open: Token<'_>) -> Result<(), FilterError> {
        match self.peek() {
            Some(t) if t.tok == Tok::RParen => {
                self.bump();
                self.nesting -= 1;
                Ok(())
            }
            Some(t) => Err(self.unexpected(t, "'and', 'or' or ')'")),
            None => Err(FilterError::Syntax {
                column: self.end_column(),
                message: format!(
                    "the '(' at column {} is never closed",
                    column(self.src, open.start)
                ),
            }),
        }
    }

    /// `pname` alone, or `head id`.
    fn head_and_id(&mut self) -> Result<(Node, Ctx), FilterError> {
        let proto = self.peek_word().and_then(is_pname);
        if proto.is_some() {
            self.bump();
        }
        let dir = self.dqual();
        let addr = match self.peek_word().and_then(is_aqual) {
            Some(a) => {
                self.bump();
                Some(a)
            }
            None => None,
        };
        if let (Some(p), None, None) = (proto, dir, addr) {
            // A lone protocol keyword: no context for a following bare value.
            return Ok((Node::leaf(Expr::Proto(p)), Ctx::None));
        }
        let q = Quals {
            proto,
            dir: dir.unwrap_or_default(),
            addr: addr.unwrap_or(AddrQ::Default),
        };
        // The last qualifier keyword read (there is at least one).
        let keyword = self
            .tokens
            .get(self.pos.wrapping_sub(1))
            .map_or("", |t| t.text);
        match self.peek() {
            None => Err(self.missing(&format!("a value after {keyword:?}"))),
            Some(_) if self.starts_value() => Ok((self.id(Ctx::Quals(q))?, Ctx::Quals(q))),
            Some(t) => Err(self.unexpected(t, &format!("a value after {keyword:?}"))),
        }
    }

    fn dqual(&mut self) -> Option<Dir> {
        let first = match self.peek_word()? {
            "src" => Dir::Src,
            "dst" => Dir::Dst,
            _ => return None,
        };
        self.bump();
        let other = if first == Dir::Src { "dst" } else { "src" };
        if let Some(op) = self.op_at(0)
            && self.peek_at(1).map(|t| t.tok) == Some(Tok::Word(other))
        {
            self.pos += 2;
            return Some(match op {
                Op::Or => Dir::SrcOrDst,
                Op::And => Dir::SrcAndDst,
            });
        }
        Some(first)
    }

    /// `id := not id | '(' id ((and|or) id)* ')' | value`, read with the context's qualifiers.
    fn id(&mut self, ctx: Ctx) -> Result<Node, FilterError> {
        let Some(t) = self.peek() else {
            return Err(self.missing("a value"));
        };
        if Self::is_not(Some(t)) {
            self.bump();
            self.enter(t)?;
            let inner = self.id(ctx)?;
            self.nesting -= 1;
            return self.negate(inner, t);
        }
        if t.tok == Tok::LParen {
            self.bump();
            self.enter(t)?;
            let mut acc = self.id(ctx)?;
            while let Some(op) = self.op_at(0) {
                let Some(op_tok) = self.bump() else { break };
                let rhs = self.id(ctx)?;
                acc = self.combine(op, acc, rhs, op_tok)?;
            }
            self.close_paren(t)?;
            return Ok(acc);
        }
        match t.tok {
            Tok::Num(_) | Tok::Hid(_) | Tok::Hid6(_) => {}
            Tok::Word(w) if !is_keyword(w) => {}
            _ => return Err(self.unexpected(t, "a value")),
        }
        let Ctx::Quals(q) = ctx else {
            return Err(match t.tok {
                Tok::Word(w) => self.word_error(t, w),
                _ => self.syntax(
                    t,
                    format!(
                        "{:?} needs a qualifier before it, such as host, net or port \
                         (a protocol keyword alone, like tcp, does not carry over)",
                        t.text
                    ),
                ),
            });
        };
        self.bump();
        let expr = match q.addr {
            AddrQ::Default | AddrQ::Host | AddrQ::Net => self.address(q, t)?,
            AddrQ::Port | AddrQ::Portrange => self.port(q, t)?,
        };
        Ok(Node::leaf(expr))
    }

    fn address(&mut self, q: Quals, t: Token<'a>) -> Result<Expr, FilterError> {
        let is_net = q.addr == AddrQ::Net;
        let proto = match q.proto {
            None => AddrProto::Any,
            Some(Proto::Ip) => AddrProto::Ip,
            Some(Proto::Ip6) => AddrProto::Ip6,
            Some(p) => {
                let kind = if is_net { "net" } else { "host" };
                return Err(
                    self.invalid(t, format!("'{}' modifier applied to {kind}", p.keyword()))
                );
            }
        };
        let net = match t.tok {
            Tok::Hid(text) => {
                let (addr, bits) = atoin(text)
                    .ok_or_else(|| self.invalid(t, format!("invalid IPv4 address {text:?}")))?;
                let mask = self.ipv4_mask(t, is_net, bits)?;
                if proto == AddrProto::Ip6 {
                    return Err(self.invalid(t, "'ip6' modifier applied to ip host".to_owned()));
                }
                if addr & !mask != 0 {
                    return Err(self.invalid(
                        t,
                        format!("non-network bits set in {:?}", self.text_from(t)),
                    ));
                }
                IpNet::V4 { addr, mask }
            }
            Tok::Hid6(a) => {
                let prefix = self.ipv6_prefix(t, is_net)?;
                if proto == AddrProto::Ip {
                    return Err(self.invalid(t, "'ip' modifier applied to ip6 host".to_owned()));
                }
                let addr = u128::from(a);
                if addr & !IpNet::v6_mask(prefix) != 0 {
                    return Err(self.invalid(
                        t,
                        format!("non-network bits set in {:?}", self.text_from(t)),
                    ));
                }
                IpNet::V6 { addr, prefix }
            }
            Tok::Num(_) => {
                return Err(self.unsupported(
                    t,
                    "a bare number is not an address here: write it in full, as a.b.c.d, \
                     or a network as a.b.c.d/len",
                ));
            }
            Tok::Word(w) if w.contains('-') && w.bytes().any(|b| b.is_ascii_digit()) => {
                return Err(self.unsupported(
                    t,
                    "not an address; a port range needs 'portrange' before it",
                ));
            }
            _ => {
                return Err(self.unsupported(
                    t,
                    "host and network names are not looked up: use a numeric IPv4 or IPv6 address",
                ));
            }
        };
        Ok(Expr::Addr(AddrPrim {
            proto,
            dir: q.dir,
            is_net,
            net,
        }))
    }

    /// The source text from `t` to the last token consumed (for messages).
    fn text_from(&self, t: Token<'_>) -> &'a str {
        let end = self
            .tokens
            .get(self.pos.wrapping_sub(1))
            .map_or(self.src.len(), |last| last.start + last.text.len());
        self.src.get(t.start..end).unwrap_or_default()
    }

    /// The mask of an IPv4 value just read: `/len`, `mask m.m.m.m`, or from its length.
    fn ipv4_mask(&mut self, t: Token<'_>, is_net: bool, bits: u32) -> Result<u32, FilterError> {
        let explicit = match self.peek().map(|t| t.tok) {
            Some(Tok::Slash) => {
                self.bump();
                match self.bump() {
                    Some(Token {
                        tok: Tok::Num(len), ..
                    }) if len <= 32 => Some(prefix_mask(len)),
                    Some(
                        n @ Token {
                            tok: Tok::Num(_), ..
                        },
                    ) => {
                        return Err(self.invalid(n, "mask length must be <= 32".to_owned()));
                    }
                    Some(other) => return Err(self.unexpected(other, "a mask length")),
                    None => return Err(self.missing("a mask length")),
                }
            }
            Some(Tok::Word("mask")) => {
                self.bump();
                match self.bump() {
                    Some(
                        m @ Token {
                            tok: Tok::Hid(text),
                            ..
                        },
                    ) => {
                        let (mask, _) = atoin(text).ok_or_else(|| {
                            self.invalid(m, format!("invalid IPv4 address {text:?}"))
                        })?;
                        Some(mask)
                    }
                    Some(other) => return Err(self.unexpected(other, "a dotted IPv4 mask")),
                    None => return Err(self.missing("a dotted IPv4 mask")),
                }
            }
            _ => None,
        };
        match explicit {
            Some(_) if !is_net => Err(self.invalid(
                t,
                "mask syntax is for networks only (net, not host)".to_owned(),
            )),
            Some(mask) => Ok(mask),
            None if bits == 32 => Ok(u32::MAX),
            // libpcap's "short address" promotion, for networks only: net 10.1 = 10.1.0.0/16.
            None if is_net => Ok(prefix_mask(bits)),
            None => Err(self.unsupported(
                t,
                "an incomplete IPv4 address; write all four parts, or use net for a network",
            )),
        }
    }

    fn ipv6_prefix(&mut self, t: Token<'_>, is_net: bool) -> Result<u8, FilterError> {
        let prefix = match self.peek().map(|t| t.tok) {
            Some(Tok::Slash) => {
                self.bump();
                match self.bump() {
                    Some(Token {
                        tok: Tok::Num(len), ..
                    }) if len <= 128 => len as u8,
                    Some(
                        n @ Token {
                            tok: Tok::Num(_), ..
                        },
                    ) => {
                        return Err(self.invalid(n, "mask length must be <= 128".to_owned()));
                    }
                    Some(other) => return Err(self.unexpected(other, "a prefix length")),
                    None => return Err(self.missing("a prefix length")),
                }
            }
            Some(Tok::Word("mask")) => {
                let m = self.peek().unwrap_or(t);
                return Err(self.unsupported(m, "IPv6 networks are written addr/len"));
            }
            _ => 128,
        };
        if prefix != 128 && !is_net {
            return Err(self.invalid(
                t,
                "mask syntax is for networks only (net, not host)".to_owned(),
            ));
        }
        Ok(prefix)
    }

    fn port(&mut self, q: Quals, t: Token<'a>) -> Result<Expr, FilterError> {
        let is_range = q.addr == AddrQ::Portrange;
        let keyword = if is_range { "portrange" } else { "port" };
        let proto = match q.proto {
            None => None,
            Some(p @ (Proto::Tcp | Proto::Udp)) => Some(p),
            Some(_) => {
                return Err(self.invalid(t, format!("illegal qualifier of '{keyword}'")));
            }
        };
        let check = |n: u32, at: Token<'_>| -> Result<u16, FilterError> {
            u16::try_from(n)
                .map_err(|_| self.invalid(at, format!("illegal port number {n} > 65535")))
        };
        let (lo, hi) = match t.tok {
            Tok::Num(n) => {
                let p = check(n, t)?;
                (p, p)
            }
            Tok::Word(w) if is_range => {
                let Some((a, b)) = w
                    .split_once('-')
                    .filter(|(a, b)| is_decimal(a) && is_decimal(b))
                else {
                    return Err(self.unsupported(
                        t,
                        "port ranges are written with numbers, as in portrange 8000-8100",
                    ));
                };
                let a = check(a.parse().unwrap_or(u32::MAX), t)?;
                let b = check(b.parse().unwrap_or(u32::MAX), t)?;
                (a.min(b), a.max(b))
            }
            Tok::Word(w)
                if w.split_once('-')
                    .is_some_and(|(a, b)| is_decimal(a) && is_decimal(b)) =>
            {
                return Err(self.invalid(t, format!("{w:?} is a range: write portrange {w}")));
            }
            Tok::Word(_) => {
                return Err(
                    self.unsupported(t, "port names are not looked up: use the port number")
                );
            }
            _ => {
                return Err(self.invalid(t, format!("{keyword} needs a number, not an address")));
            }
        };
        Ok(Expr::Port(PortPrim {
            proto,
            dir: q.dir,
            lo,
            hi,
            is_range,
        }))
    }
}

fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_pname(w: &str) -> Option<Proto> {
    Some(match w {
        "ip" => Proto::Ip,
        "ip6" => Proto::Ip6,
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" => Proto::Icmp,
        _ => return None,
    })
}

fn is_dqual(w: &str) -> bool {
    matches!(w, "src" | "dst")
}

fn is_aqual(w: &str) -> Option<AddrQ> {
    Some(match w {
        "host" => AddrQ::Host,
        "net" => AddrQ::Net,
        "port" => AddrQ::Port,
        "portrange" => AddrQ::Portrange,
        _ => return None,
    })
}

fn prefix_mask(len: u32) -> u32 {
    match len {
        0 => 0,
        l => u32::MAX << (32 - l.min(32)),
    }
}

/// libpcap's `__pcap_atoin`: 1 to 4 dotted decimal parts, each at most 255; the value is
/// left-justified ("10.1" is 10.1.0.0) and returned with its number of significant bits.
fn atoin(text: &str) -> Option<(u32, u32)> {
    let mut addr = 0u32;
    let mut bits = 0;
    for part in text.split('.') {
        if bits >= 32 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = part.parse().ok()?;
        if v > 255 {
            return None;
        }
        addr |= v << (24 - bits);
        bits += 8;
    }
    Some((addr, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical form of a parsed filter.
    #[track_caller]
    fn canon(src: &str) -> String {
        parse(src)
            .unwrap_or_else(|e| panic!("{src:?}: {e}"))
            .to_string()
    }

    #[track_caller]
    fn error(src: &str) -> String {
        match parse(src) {
            Ok(e) => panic!("{src:?} parsed as {e}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn protocols_and_primitives() {
        for (src, want) in [
            ("tcp", "tcp"),
            ("udp", "udp"),
            ("icmp", "icmp"),
            ("ip", "ip"),
            ("ip6", "ip6"),
            ("host 10.0.0.1", "host 10.0.0.1"),
            ("src host 10.0.0.1", "src host 10.0.0.1"),
            ("dst host ::1", "dst host ::1"),
            ("src 10.0.0.1", "src host 10.0.0.1"),
            ("dst fe80::1", "dst host fe80::1"),
            ("ip host 127.0.0.1", "ip host 127.0.0.1"),
            ("ip6 src host 2001:db8::1", "ip6 src host 2001:db8::1"),
            ("src or dst host 10.0.0.1", "host 10.0.0.1"),
            ("dst or src 10.0.0.1", "host 10.0.0.1"),
            ("src and dst host 10.0.0.1", "src and dst host 10.0.0.1"),
            ("dst and src port 80", "src and dst port 80"),
            ("host ::ffff:1.2.3.4", "host ::ffff:1.2.3.4"),
            ("host ::1/128", "host ::1"),
            ("net 10.0.0.0/8", "net 10.0.0.0/8"),
            ("net 10.1", "net 10.1.0.0/16"),
            ("net 10.1/16", "net 10.1.0.0/16"),
            ("net 10.1.2.3", "net 10.1.2.3/32"),
            ("net 10.0.0.0 mask 255.255.0.0", "net 10.0.0.0/16"),
            (
                "net 10.0.0.0 mask 255.0.255.0",
                "net 10.0.0.0 mask 255.0.255.0",
            ),
            ("net 10.0.0.0 mask 255.255", "net 10.0.0.0/16"),
            ("net 0.0.0.0/0", "net 0.0.0.0/0"),
            ("src net 192.168.0.0/16", "src net 192.168.0.0/16"),
            ("ip dst net 127.0.0.0/8", "ip dst net 127.0.0.0/8"),
            ("net fe80::/10", "net fe80::/10"),
            ("ip6 net ::1", "ip6 net ::1/128"),
            ("net ::/0", "net ::/0"),
            ("port 80", "port 80"),
            ("port 0x50", "port 80"),
            ("port 0120", "port 80"),
            ("src port 80", "src port 80"),
            ("tcp port 50051", "tcp port 50051"),
            ("udp dst port 53", "udp dst port 53"),
            ("tcp src port 80", "tcp src port 80"),
            ("portrange 80-90", "portrange 80-90"),
            ("portrange 90-80", "portrange 80-90"),
            ("portrange 443", "portrange 443-443"),
            ("tcp dst portrange 1-1023", "tcp dst portrange 1-1023"),
            ("port 65535", "port 65535"),
            ("", ""),
            ("  \t\n", ""),
        ] {
            assert_eq!(canon(src), want, "{src:?}");
        }
    }

    #[test]
    fn and_or_have_equal_precedence_left_to_right() {
        for (src, want) in [
            ("tcp or udp and port 80", "(tcp or udp) and port 80"),
            ("tcp and udp or icmp", "(tcp and udp) or icmp"),
            ("tcp or udp or icmp", "tcp or udp or icmp"),
            ("tcp and udp and icmp or ip", "(tcp and udp and icmp) or ip"),
            ("tcp or udp and icmp or ip", "((tcp or udp) and icmp) or ip"),
            ("tcp or (udp and icmp)", "tcp or (udp and icmp)"),
            ("(tcp or udp) or (icmp or ip)", "tcp or udp or icmp or ip"),
            ("ip && tcp || udp", "(ip and tcp) or udp"),
            ("ip&&tcp||udp", "(ip and tcp) or udp"),
        ] {
            assert_eq!(canon(src), want, "{src:?}");
        }
    }

    #[test]
    fn not_binds_tightest() {
        for (src, want) in [
            ("not tcp and udp", "not tcp and udp"),
            ("not tcp or udp", "not tcp or udp"),
            ("!tcp&&udp||icmp", "(not tcp and udp) or icmp"),
            ("not (tcp or udp)", "not (tcp or udp)"),
            ("not not tcp", "not not tcp"),
            ("tcp and ! port 80", "tcp and not port 80"),
            ("! ! ! ip", "not not not ip"),
        ] {
            assert_eq!(canon(src), want, "{src:?}");
        }
    }

    #[test]
    fn bare_values_repeat_the_last_qualifiers() {
        for (src, want) in [
            (
                "host 10.0.0.1 or 10.0.0.2",
                "host 10.0.0.1 or host 10.0.0.2",
            ),
            ("port 80 or 443", "port 80 or port 443"),
            ("port 80 or 443 or 8080", "port 80 or port 443 or port 8080"),
            (
                "tcp src port 80 or 443",
                "tcp src port 80 or tcp src port 443",
            ),
            ("tcp port 80 and 443", "tcp port 80 and tcp port 443"),
            ("port 80 or not 443", "port 80 or not port 443"),
            ("port 80 or ! 443", "port 80 or not port 443"),
            (
                "port 80 or (443 or 8080)",
                "port 80 or port 443 or port 8080",
            ),
            (
                "port 80 and (443 or 8080)",
                "port 80 and (port 443 or port 8080)",
            ),
            ("port 80 or ((443))", "port 80 or port 443"),
            ("port (80 or 443)", "port 80 or port 443"),
            ("host not 10.0.0.1", "not host 10.0.0.1"),
            (
                "host 10.0.0.1 and not 10.0.0.2",
                "host 10.0.0.1 and not host 10.0.0.2",
            ),
            (
                "src 10.0.0.1 or 10.0.0.2",
                "src host 10.0.0.1 or src host 10.0.0.2",
            ),
            (
                "ip6 net fe80::/10 or ::/0",
                "ip6 net fe80::/10 or ip6 net ::/0",
            ),
            (
                "net 10.0.0.0/8 or 192.168.0.0/16",
                "net 10.0.0.0/8 or net 192.168.0.0/16",
            ),
            (
                "portrange 1-10 or 20-30",
                "portrange 1-10 or portrange 20-30",
            ),
            (
                "host 10.0.0.1 and port 80 or 443",
                "(host 10.0.0.1 and port 80) or port 443",
            ),
            // A parenthesised term keeps the context from before the parenthesis.
            (
                "host 10.0.0.1 and (tcp) or 10.0.0.2",
                "(host 10.0.0.1 and tcp) or host 10.0.0.2",
            ),
            (
                "port 80 and (tcp or udp) or 443",
                "(port 80 and (tcp or udp)) or port 443",
            ),
            // The context is the last primitive's, not the first's.
            (
                "host 10.0.0.1 and port 80 and 443",
                "host 10.0.0.1 and port 80 and port 443",
            ),
            ("udp and port 53 or 5353", "(udp and port 53) or port 5353"),
        ] {
            assert_eq!(canon(src), want, "{src:?}");
        }
    }

    #[test]
    fn unsupported_syntax_is_named_with_its_column() {
        let list = "(h2scope supports: tcp, udp, icmp, ip, ip6, host, net, port, portrange, src, \
                    dst, and, or, not, parentheses)";
        for (src, want) in [
            (
                "not ether host 00:11:22:33:44:55",
                format!("column 5: \"ether\" {list}"),
            ),
            ("vlan and tcp", format!("column 1: \"vlan\" {list}")),
            ("tcp and vlan 10", format!("column 9: \"vlan\" {list}")),
            ("greater 100", format!("column 1: \"greater\" {list}")),
            ("tcp[13] & 2 != 0", format!("column 4: \"[\" {list}")),
            ("ip proto 6", format!("column 4: \"proto\" {list}")),
            ("arp", format!("column 1: \"arp\" {list}")),
            ("icmp6", format!("column 1: \"icmp6\" {list}")),
            ("sctp port 80", format!("column 1: \"sctp\" {list}")),
            ("tcp and len > 100", format!("column 9: \"len\" {list}")),
            ("foo", format!("column 1: \"foo\" {list}")),
            ("tcp or é", format!("column 8: \"é\" {list}")),
            (
                "TCP",
                "column 1: \"TCP\" (filter keywords are lower case, as in tcpdump)".into(),
            ),
            (
                "host example.com",
                "column 6: \"example.com\" (host and network names are not looked up: use a \
                 numeric IPv4 or IPv6 address)"
                    .into(),
            ),
            (
                "port https",
                "column 6: \"https\" (port names are not looked up: use the port number)".into(),
            ),
            (
                "ether host 00:11:22:33:44:55",
                format!("column 1: \"ether\" {list}"),
            ),
            (
                "host 00:11:22:33:44:55",
                "column 6: \"00:11:22:33:44:55\" (Ethernet addresses are not supported; h2scope \
                 filters on IP addresses and ports)"
                    .into(),
            ),
            (
                "host 10.0.0.1 or 80",
                "column 18: \"80\" (a bare number is not an address here: write it in full, as \
                 a.b.c.d, or a network as a.b.c.d/len)"
                    .into(),
            ),
            (
                "host 10.1",
                "column 6: \"10.1\" (an incomplete IPv4 address; write all four parts, or use \
                 net for a network)"
                    .into(),
            ),
            (
                "portrange 80-",
                "column 11: \"80-\" (port ranges are written with numbers, as in portrange \
                 8000-8100)"
                    .into(),
            ),
        ] {
            assert_eq!(
                error(src),
                format!("unsupported in filter at {want}"),
                "{src:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        for (src, want) in [
            ("(tcp", "column 5: the '(' at column 1 is never closed"),
            ("tcp)", "column 4: unbalanced ')'"),
            (
                "tcp and",
                "column 8: expected a filter primitive, found the end of the filter",
            ),
            (
                "not",
                "column 4: expected a filter primitive, found the end of the filter",
            ),
            (
                "host",
                "column 5: expected a value after \"host\", found the end of the filter",
            ),
            (
                "src",
                "column 4: expected a value after \"src\", found the end of the filter",
            ),
            (
                "tcp port",
                "column 9: expected a value after \"port\", found the end of the filter",
            ),
            (
                "tcp udp",
                "column 5: expected 'and', 'or' or the end of the filter, found \"udp\"",
            ),
            (
                "80",
                "column 1: \"80\" needs a qualifier before it, such as host, net or port",
            ),
            (
                "tcp or 80",
                "column 8: \"80\" needs a qualifier before it, such as host, net or port (a \
                 protocol keyword alone, like tcp, does not carry over)",
            ),
            (
                "(tcp) or 80",
                "column 10: \"80\" needs a qualifier before it, such as host, net or port (a \
                 protocol keyword alone, like tcp, does not carry over)",
            ),
            (
                "host tcp",
                "column 6: expected a value after \"host\", found \"tcp\"",
            ),
            (
                "src or 10.0.0.1",
                "column 5: expected a value after \"src\", found \"or\"",
            ),
            (
                "port 80 or (443 or tcp)",
                "column 20: expected a value, found \"tcp\"",
            ),
            (
                "and tcp",
                "column 1: expected a filter primitive, found \"and\"",
            ),
            (
                "tcp or or udp",
                "column 8: expected a filter primitive, found \"or\"",
            ),
            (
                "net 10.0.0.0/",
                "column 14: expected a mask length, found the end of the filter",
            ),
        ] {
            assert_eq!(
                error(src),
                format!("syntax error in filter at {want}"),
                "{src:?}"
            );
        }
    }

    #[test]
    fn invalid_values() {
        for (src, want) in [
            ("port 70000", "column 6: illegal port number 70000 > 65535"),
            (
                "portrange 1-70000",
                "column 11: illegal port number 70000 > 65535",
            ),
            (
                "port 80-90",
                "column 6: \"80-90\" is a range: write portrange 80-90",
            ),
            (
                "net 10.1.2.3/8",
                "column 5: non-network bits set in \"10.1.2.3/8\"",
            ),
            (
                "net 10.1.2.3 mask 255.0.0.0",
                "column 5: non-network bits set in \"10.1.2.3 mask 255.0.0.0\"",
            ),
            (
                "net 2001:db8::1/32",
                "column 5: non-network bits set in \"2001:db8::1/32\"",
            ),
            ("net 10.0.0.0/33", "column 14: mask length must be <= 32"),
            ("net ::/129", "column 8: mask length must be <= 128"),
            (
                "host 10.0.0.0/8",
                "column 6: mask syntax is for networks only (net, not host)",
            ),
            (
                "host ::/64",
                "column 6: mask syntax is for networks only (net, not host)",
            ),
            (
                "host 1.2.3.256",
                "column 6: invalid IPv4 address \"1.2.3.256\"",
            ),
            ("ip host ::1", "column 9: 'ip' modifier applied to ip6 host"),
            (
                "ip6 host 10.0.0.1",
                "column 10: 'ip6' modifier applied to ip host",
            ),
            (
                "tcp host 10.0.0.1",
                "column 10: 'tcp' modifier applied to host",
            ),
            (
                "udp net 10.0.0.0/8",
                "column 9: 'udp' modifier applied to net",
            ),
            (
                "tcp src 10.0.0.1",
                "column 9: 'tcp' modifier applied to host",
            ),
            ("icmp port 80", "column 11: illegal qualifier of 'port'"),
            (
                "ip6 portrange 1-2",
                "column 15: illegal qualifier of 'portrange'",
            ),
            (
                "port 80 or 10.0.0.1",
                "column 12: port needs a number, not an address",
            ),
            (
                "port 0x10000",
                "column 6: illegal port number 65536 > 65535",
            ),
            (
                "port 99999999999",
                "column 6: number 99999999999 overflows 32 bits",
            ),
            (
                "host fe80::1::2",
                "column 6: \"fe80::1::2\" is not an IPv6 address",
            ),
        ] {
            assert_eq!(error(src), format!("invalid filter at {want}"), "{src:?}");
        }
    }

    #[test]
    fn nesting_limit() {
        let ok = format!("{}tcp{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}tcp{}", "(".repeat(201), ")".repeat(201));
        assert_eq!(
            error(&deep),
            "filter nested too deeply at column 201 (at most 200 levels)"
        );
        let deep_value = format!("port 1 or {}2{}", "(".repeat(300), ")".repeat(300));
        assert!(error(&deep_value).starts_with("filter nested too deeply"));
        let nots = "! ".repeat(300) + "tcp";
        assert!(error(&nots).starts_with("filter nested too deeply"));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(
            error("host ünïcode"),
            "unsupported in filter at column 6: \"ü\" (h2scope supports: tcp, udp, icmp, ip, \
             ip6, host, net, port, portrange, src, dst, and, or, not, parentheses)"
        );
        assert_eq!(
            error("(tcp) or (ü"),
            "unsupported in filter at column 11: \"ü\" (h2scope supports: tcp, udp, icmp, ip, \
             ip6, host, net, port, portrange, src, dst, and, or, not, parentheses)"
        );
    }
}
