use super::*;

/// Test-only encoder: codes from `CODES`, padded with the most significant bits of EOS.
pub(in super::super) fn encode(src: &[u8]) -> Vec<u8> {
    encode_symbols(src.iter().map(|&b| usize::from(b)))
}

fn encode_symbols(syms: impl Iterator<Item = usize>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for s in syms {
        let (code, len) = CODES[s];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        let pad = 8 - bits;
        out.push(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn dec(src: &[u8]) -> Result<Vec<u8>, HpackError> {
    let mut out = Vec::new();
    decode(src, &mut out).map(|()| out)
}

/// The properties a correct transcription of Appendix B has; `Err` names the first
/// broken one.
fn check_code(codes: &[(u32, u8)]) -> Result<(), String> {
    if codes.len() != 257 {
        return Err(format!("{} symbols", codes.len()));
    }
    for (s, &(code, len)) in codes.iter().enumerate() {
        if !(5..=30).contains(&len) || u64::from(code) >> len != 0 {
            return Err(format!(
                "symbol {s}: code {code:#x} does not fit {len} bits"
            ));
        }
    }
    // Kraft: a complete prefix code has sum(2^-len) == 1 exactly.
    let kraft: u64 = codes.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
    if kraft != 1 << 30 {
        return Err(format!("Kraft sum {kraft} / 2^30, not 1"));
    }
    // Canonical: ordered by (length, symbol), the first code is all zeros and each
    // next code is the previous plus one, shifted left by the growth in length.
    let mut order: Vec<usize> = (0..codes.len()).collect();
    order.sort_by_key(|&s| (codes[s].1, s));
    let (mut expect, mut prev_len) = (0u64, codes[order[0]].1);
    for (i, &s) in order.iter().enumerate() {
        let (code, len) = codes[s];
        if i > 0 {
            expect = (expect + 1) << (len - prev_len);
        }
        if u64::from(code) != expect {
            return Err(format!("symbol {s}: code {code:#x}, canonical {expect:#x}"));
        }
        prev_len = len;
    }
    // EOS is the last code: 30 one-bits.
    if codes[256] != ((1 << 30) - 1, 30) {
        return Err("EOS is not 30 one-bits".into());
    }
    Ok(())
}

#[test]
fn appendix_b_is_a_complete_canonical_prefix_code() {
    assert_eq!(check_code(&CODES), Ok(()));
    assert!(
        build_tree().ok,
        "Appendix B does not build a complete code tree"
    );
}

#[test]
fn any_single_wrong_entry_fails_the_check() {
    for s in 0..CODES.len() {
        for mutate in [
            |c: &mut (u32, u8)| c.0 ^= 1,
            |c: &mut (u32, u8)| c.0 ^= 1 << (c.1 - 1),
            |c: &mut (u32, u8)| c.1 += 1,
            |c: &mut (u32, u8)| c.1 -= 1,
        ] {
            let mut codes = CODES;
            mutate(&mut codes[s]);
            assert!(
                check_code(&codes).is_err(),
                "mutation of symbol {s} not caught"
            );
        }
    }
}

#[test]
fn appendix_c4_and_c6_strings() {
    let cases: [(&str, &[u8]); 10] = [
        ("f1e3 c2e5 f23a 6ba0 ab90 f4ff", b"www.example.com"),
        ("a8eb 1064 9cbf", b"no-cache"),
        ("25a8 49e9 5ba9 7d7f", b"custom-key"),
        ("25a8 49e9 5bb8 e8b4 bf", b"custom-value"),
        ("6402", b"302"),
        ("aec3 771a 4b", b"private"),
        (
            "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
            b"Mon, 21 Oct 2013 20:13:21 GMT",
        ),
        (
            "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
            b"https://www.example.com",
        ),
        ("640e ff", b"307"),
        ("9bd9 ab", b"gzip"),
    ];
    for (hex, text) in cases {
        assert_eq!(dec(&unhex(hex)).as_deref(), Ok(text), "{hex}");
        assert_eq!(encode(text), unhex(hex), "{hex}");
    }
    let cookie = "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 \
                  291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07";
    let text = b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    assert_eq!(dec(&unhex(cookie)).as_deref(), Ok(&text[..]));
    let date = "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff";
    assert_eq!(dec(&unhex(date)).unwrap(), b"Mon, 21 Oct 2013 20:13:22 GMT");
}

#[test]
fn every_symbol_round_trips() {
    for b in 0..=255u8 {
        let enc = encode(&[b]);
        assert_eq!(dec(&enc), Ok(vec![b]), "symbol {b}");
        // Also between two other symbols, so it is decoded mid-state.
        let s = [b'a', b, b'~'];
        assert_eq!(dec(&encode(&s)), Ok(s.to_vec()), "symbol {b} in context");
    }
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(dec(&encode(&all)), Ok(all.clone()));
    let rev: Vec<u8> = (0..=255).rev().collect();
    assert_eq!(dec(&encode(&rev)), Ok(rev));
}

#[test]
fn seeded_random_strings_round_trip() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 40) as usize;
        let s: Vec<u8> = (0..len)
            .map(|i| (x.rotate_left(i as u32 * 8) >> 3) as u8)
            .collect();
        assert_eq!(dec(&encode(&s)), Ok(s));
    }
}

/// Bit by bit down the code tree: what the nibble table must agree with.
fn reference(src: &[u8]) -> Result<Vec<u8>, HpackError> {
    let mut out = Vec::new();
    let mut node = 0usize;
    for &byte in src {
        for k in (0..8).rev() {
            let c = TREE.child[node][usize::from((byte >> k) & 1)];
            if c == LEAF | EOS {
                return Err(HpackError::InvalidHuffman);
            } else if c & LEAF != 0 {
                out.push((c & 0xff) as u8);
                node = 0;
            } else {
                node = usize::from(c);
            }
        }
    }
    if TREE.accept[node] {
        Ok(out)
    } else {
        Err(HpackError::InvalidHuffman)
    }
}

#[test]
fn any_bytes_decode_as_the_tree_says_after_what_out_held() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut valid = 0;
    for n in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 24) as usize;
        let mut src: Vec<u8> = (0..len)
            .map(|i| (x.rotate_left(i as u32 * 7) >> 5) as u8)
            .collect();
        // Half of them valid encodings of random text, some cut or with a flipped bit.
        if n % 2 == 0 {
            src = encode(&src);
            match n % 8 {
                2 => src.truncate(src.len() / 2),
                4 if !src.is_empty() => src[0] ^= 0x10,
                _ => {}
            }
        }
        let mut out = b"kept".to_vec();
        let got = decode(&src, &mut out);
        let want = reference(&src);
        assert_eq!(got.is_ok(), want.is_ok(), "{src:02x?}");
        if let Ok(w) = want {
            valid += 1;
            assert_eq!(out[..4], *b"kept");
            assert_eq!(out[4..], w, "{src:02x?}");
        }
    }
    assert!(valid > 5_000, "only {valid} valid inputs");
}

#[test]
fn empty_string() {
    assert_eq!(dec(&[]), Ok(Vec::new()));
}

#[test]
fn eos_inside_a_string_is_invalid() {
    // EOS alone: 30 ones, padded with 2 ones.
    assert_eq!(dec(&[0xff; 4]), Err(HpackError::InvalidHuffman));
    // "a", EOS, "a".
    let s = encode_symbols([97usize, 256, 97].into_iter());
    assert_eq!(dec(&s), Err(HpackError::InvalidHuffman));
    // EOS at the end, then padding.
    let s = encode_symbols([97usize, 256].into_iter());
    assert_eq!(dec(&s), Err(HpackError::InvalidHuffman));
}

#[test]
fn padding_longer_than_7_bits_is_invalid() {
    // 'a' = 00011, then 3 padding ones: valid.
    assert_eq!(dec(&[0b0001_1111]), Ok(b"a".to_vec()));
    // ...plus a whole octet of ones: 11 bits of padding.
    assert_eq!(dec(&[0b0001_1111, 0xff]), Err(HpackError::InvalidHuffman));
    // A lone octet of ones: 8 bits of padding, no symbol.
    assert_eq!(dec(&[0xff]), Err(HpackError::InvalidHuffman));
    // "aaaaa" is 25 bits: 7 bits of padding, the most allowed.
    let mut s = encode(b"aaaaa");
    assert_eq!(s.len(), 4);
    assert_eq!(s.last().map(|b| b & 0x7f), Some(0x7f));
    assert_eq!(dec(&s), Ok(b"aaaaa".to_vec()));
    s.push(0xff);
    assert_eq!(dec(&s), Err(HpackError::InvalidHuffman));
}

#[test]
fn padding_with_a_zero_bit_is_invalid() {
    // 'a' = 00011 then padding 110, 011, 000.
    for b in [0b0001_1110, 0b0001_1011, 0b0001_1000] {
        assert_eq!(dec(&[b]), Err(HpackError::InvalidHuffman), "{b:#010b}");
    }
    // "aaaaa" with its 7 padding bits ending in 0.
    let mut s = encode(b"aaaaa");
    if let Some(last) = s.last_mut() {
        *last &= 0xfe;
    }
    assert_eq!(dec(&s), Err(HpackError::InvalidHuffman));
}
