//! A classic BPF interpreter, to run compiled programs (ours and tcpdump's) on captured
//! frames in tests, with the kernel's rules.
//!
//! [`check`] is the kernel's `bpf_check_classic`: 1 to 4096 instructions, known opcodes,
//! jumps inside the program, scratch memory indices below 16, no division by a constant 0,
//! a `ret` last. [`run`] then cannot fail: a load past the end of the packet returns 0 from
//! the whole program (as `bpf_skb_load_*` failures do), as does a division by X = 0. The
//! only ancillary load is `SKF_AD_PROTOCOL`; other negative offsets are out of range.

use super::bpf::*;

/// Why the kernel would refuse a program.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CheckError {
    #[error("program length {0} is not in 1..=4096")]
    Length(usize),
    #[error("instruction {0}: unknown opcode {1:#06x}")]
    Opcode(usize, u16),
    #[error("instruction {0}: jump out of the program")]
    Jump(usize),
    #[error("instruction {0}: scratch memory index out of range")]
    Memory(usize),
    #[error("instruction {0}: division by constant zero")]
    DivZero(usize),
    #[error("the last instruction is not a return")]
    NoReturn,
}

/// Checks a program the way the kernel does before attaching it.
pub(crate) fn check(prog: &[SockFilter]) -> Result<(), CheckError> {
    let len = prog.len();
    if len == 0 || len > BPF_MAXINSNS {
        return Err(CheckError::Length(len));
    }
    for (pc, ins) in prog.iter().enumerate() {
        let code = ins.code;
        let known = match code {
            // ld: abs w/h/b, ind w/h/b, len, imm, mem
            0x20 | 0x28 | 0x30 | 0x40 | 0x48 | 0x50 | 0x80 | 0x00 | 0x60 => true,
            // ldx: len, msh, imm, mem; st; stx
            0x81 | 0xb1 | 0x01 | 0x61 | 0x02 | 0x03 => true,
            // ja; jeq/jgt/jge/jset with k or x
            0x05 | 0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => true,
            // ret k, ret a; tax, txa
            0x06 | 0x16 | 0x07 | 0x87 => true,
            // alu: add..xor with k or x, neg
            c if c & 0x07 == BPF_ALU && c <= 0xff => {
                let op = c & 0xf0;
                op <= BPF_XOR && (op != BPF_NEG || c == BPF_ALU | BPF_NEG)
            }
            _ => false,
        };
        if !known {
            return Err(CheckError::Opcode(pc, code));
        }
        let class = code & 0x07;
        if (code == BPF_LD | BPF_W | BPF_MEM
            || code == BPF_LDX | BPF_W | BPF_MEM
            || class == BPF_ST
            || class == BPF_STX)
            && ins.k >= 16
        {
            return Err(CheckError::Memory(pc));
        }
        if class == BPF_ALU
            && code & BPF_X == 0
            && matches!(code & 0xf0, BPF_DIV | BPF_MOD)
            && ins.k == 0
        {
            return Err(CheckError::DivZero(pc));
        }
        if class == BPF_JMP {
            let rest = (len - 1 - pc) as u64;
            let bad = if code & 0xf0 == BPF_JA {
                u64::from(ins.k) >= rest
            } else {
                u64::from(ins.jt) >= rest || u64::from(ins.jf) >= rest
            };
            if bad {
                return Err(CheckError::Jump(pc));
            }
        }
    }
    match prog.last().map(|i| i.code) {
        Some(c) if c == BPF_RET | BPF_K || c == BPF_RET | BPF_A => Ok(()),
        _ => Err(CheckError::NoReturn),
    }
}

/// Runs a program on a packet whose `skb->protocol` is `protocol`; returns the number of
/// bytes to keep (0: drop). Checks the program first.
pub(crate) fn run(prog: &[SockFilter], packet: &[u8], protocol: u16) -> Result<u32, CheckError> {
    check(prog)?;
    Ok(exec(prog, packet, protocol))
}

/// [`run`] for a program already [`check`]ed (an unchecked one still cannot panic; it
/// returns 0 when it runs off its end).
pub(crate) fn exec(prog: &[SockFilter], packet: &[u8], protocol: u16) -> u32 {
    execute(prog, packet, protocol).unwrap_or(0)
}

/// [`exec`], and whether the program was aborted (a load out of range) rather than
/// returning by itself.
pub(crate) fn exec_traced(prog: &[SockFilter], packet: &[u8], protocol: u16) -> (u32, bool) {
    match execute(prog, packet, protocol) {
        Some(v) => (v, false),
        None => (0, true),
    }
}

/// `None`: the program aborted (load out of range, division by zero).
fn execute(prog: &[SockFilter], pkt: &[u8], protocol: u16) -> Option<u32> {
    let load = |off: u64, size: u16| -> Option<u32> {
        if off == u64::from(SKF_AD_OFF + SKF_AD_PROTOCOL) {
            return Some(u32::from(protocol));
        }
        let n = match size {
            BPF_W => 4,
            BPF_H => 2,
            _ => 1,
        };
        let start = usize::try_from(off).ok()?;
        let bytes = pkt.get(start..start.checked_add(n)?)?;
        Some(bytes.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
    };
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    // Jumps only go forward, so this visits each instruction at most once.
    while let Some(ins) = prog.get(pc) {
        pc += 1;
        let k = ins.k;
        let code = ins.code;
        match code & 0x07 {
            BPF_LD => {
                a = match code & 0xe0 {
                    BPF_ABS => load(u64::from(k), code & 0x18)?,
                    BPF_IND => load(u64::from(x) + u64::from(k), code & 0x18)?,
                    BPF_LEN => pkt.len() as u32,
                    BPF_MEM => *mem.get(k as usize)?,
                    _ => k,
                }
            }
            BPF_LDX => {
                x = match code & 0xe0 {
                    BPF_MSH => 4 * (load(u64::from(k), BPF_B)? & 0xf),
                    BPF_LEN => pkt.len() as u32,
                    BPF_MEM => *mem.get(k as usize)?,
                    _ => k,
                }
            }
            BPF_ST => *mem.get_mut(k as usize)? = a,
            BPF_STX => *mem.get_mut(k as usize)? = x,
            BPF_ALU => {
                let v = if code & BPF_X != 0 { x } else { k };
                a = match code & 0xf0 {
                    BPF_ADD => a.wrapping_add(v),
                    BPF_SUB => a.wrapping_sub(v),
                    BPF_MUL => a.wrapping_mul(v),
                    BPF_DIV => a.checked_div(v)?,
                    BPF_MOD => a.checked_rem(v)?,
                    BPF_OR => a | v,
                    BPF_AND => a & v,
                    BPF_XOR => a ^ v,
                    BPF_LSH => a.checked_shl(v).unwrap_or(0),
                    BPF_RSH => a.checked_shr(v).unwrap_or(0),
                    _ => a.wrapping_neg(),
                }
            }
            BPF_JMP => {
                let v = if code & BPF_X != 0 { x } else { k };
                let taken = match code & 0xf0 {
                    BPF_JA => {
                        pc += k as usize;
                        continue;
                    }
                    BPF_JEQ => a == v,
                    BPF_JGT => a > v,
                    BPF_JGE => a >= v,
                    _ => a & v != 0,
                };
                pc += usize::from(if taken { ins.jt } else { ins.jf });
            }
            BPF_RET => {
                return Some(match code & 0x18 {
                    BPF_A => a,
                    _ => k,
                });
            }
            _ => {
                if code & 0xf8 == BPF_TXA {
                    a = x;
                } else {
                    x = a;
                }
            }
        }
    }
    None
}

/// Parses `tcpdump -dd` output (`{ 0x28, 0, 0, 0x0000000c },` lines).
#[cfg(test)]
pub(crate) fn parse_dd(text: &str) -> Vec<SockFilter> {
    let num = |s: &str| -> u64 {
        let s = s.trim();
        match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => s.parse().unwrap(),
        }
    };
    text.lines()
        .filter_map(|l| {
            let inner = l
                .trim()
                .strip_prefix('{')?
                .trim_end_matches(',')
                .strip_suffix('}')?;
            let f: Vec<u64> = inner.split(',').map(num).collect();
            Some(SockFilter {
                code: f[0] as u16,
                jt: f[1] as u8,
                jf: f[2] as u8,
                k: f[3] as u32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }

    #[test]
    fn tcpdump_dd_program_for_ip_runs() {
        // tcpdump -dd ip
        let prog = parse_dd(
            "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n\
             { 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n",
        );
        assert_eq!(prog.len(), 4);
        let mut frame = vec![0u8; 14];
        frame[12] = 0x08;
        assert_eq!(run(&prog, &frame, 0), Ok(0x40000));
        frame[13] = 0x06;
        assert_eq!(run(&prog, &frame, 0), Ok(0));
        // Too short for the load: 0, whatever the program says next.
        assert_eq!(run(&prog, &frame[..13], 0), Ok(0));
    }

    #[test]
    fn msh_ind_alu_memory_and_misc() {
        let prog = [
            s(BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0), // X = 4*(pkt[0]&0xf) = 20
            s(BPF_LD | BPF_H | BPF_IND, 0, 0, 2),  // A = pkt[22..24]
            s(BPF_ALU | BPF_ADD | BPF_K, 0, 0, 1), // A += 1
            s(BPF_ST, 0, 0, 3),                    // M[3] = A
            s(BPF_MISC | BPF_TAX, 0, 0, 0),        // X = A
            s(BPF_LD | BPF_W | BPF_MEM, 0, 0, 3),  // A = M[3]
            s(BPF_ALU | BPF_SUB | BPF_X, 0, 0, 0), // A -= X -> 0
            s(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0), // A == 0 ?
            s(BPF_RET | BPF_K, 0, 0, 1),
            s(BPF_LD | BPF_W | BPF_LEN, 0, 0, 0),
            s(BPF_RET | BPF_A, 0, 0, 0),
        ];
        let mut pkt = vec![0u8; 30];
        pkt[0] = 0x45;
        pkt[22] = 0x12;
        pkt[23] = 0x34;
        assert_eq!(run(&prog, &pkt, 0), Ok(30));
        // X + 2 past the end.
        assert_eq!(run(&prog, &pkt[..23], 0), Ok(0));
    }

    #[test]
    fn ancillary_protocol_and_division_by_x() {
        let prog = [
            s(BPF_LD | BPF_H | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PROTOCOL),
            s(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0x86dd),
            s(BPF_LDX | BPF_W | BPF_IMM, 0, 0, 0),
            s(BPF_ALU | BPF_DIV | BPF_X, 0, 0, 0),
            s(BPF_RET | BPF_K, 0, 0, 7),
        ];
        assert_eq!(run(&prog, &[], 0x0800), Ok(7));
        assert_eq!(run(&prog, &[], 0x86dd), Ok(0), "division by X = 0 aborts");
    }

    #[test]
    fn kernel_checks() {
        let ret = s(BPF_RET | BPF_K, 0, 0, 0);
        assert_eq!(check(&[]), Err(CheckError::Length(0)));
        assert_eq!(check(&vec![ret; 4097]), Err(CheckError::Length(4097)));
        assert!(check(&vec![ret; 4096]).is_ok());
        assert_eq!(
            check(&[s(BPF_LD | BPF_H | BPF_ABS, 0, 0, 0)]),
            Err(CheckError::NoReturn)
        );
        assert_eq!(
            check(&[s(BPF_JMP | BPF_JEQ, 1, 0, 0), ret]),
            Err(CheckError::Jump(0))
        );
        assert_eq!(
            check(&[s(BPF_JMP | BPF_JA, 0, 0, 1), ret]),
            Err(CheckError::Jump(0))
        );
        assert!(check(&[s(BPF_JMP | BPF_JA, 0, 0, 0), ret]).is_ok());
        assert_eq!(
            check(&[s(BPF_ST, 0, 0, 16), ret]),
            Err(CheckError::Memory(0))
        );
        assert_eq!(
            check(&[s(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 0), ret]),
            Err(CheckError::DivZero(0))
        );
        assert_eq!(
            check(&[s(0xff, 0, 0, 0), ret]),
            Err(CheckError::Opcode(0, 0xff))
        );
    }
}
