//! Huffman code for string literals (RFC 7541 §5.2, Appendix B).
//!
//! `CODES` is Appendix B transcribed as data: for each symbol 0..=256 (256 = EOS) the code,
//! right-aligned, and its length in bits. The comment on each row repeats the RFC's symbol
//! and bit columns so the table can be read against the appendix line by line. The tests
//! prove the transcription: the code must be complete (Kraft sum exactly 1), canonical
//! (ordered by length then symbol, each code the previous one plus one, shifted), and decode
//! every Appendix C.4/C.6 string.
//!
//! Decoding is table-driven, four bits at a time, as nghttp2 and h2 do. At compile time
//! `build_tree` turns `CODES` into the binary code tree (257 leaves, so exactly 256 internal
//! nodes), and `build_transitions` computes, for every internal node (a decoder state) and
//! every 4-bit input, the node reached, the symbol emitted on the way (at most one: the
//! shortest code has 5 bits) and whether the bits since the last symbol are a valid end of
//! string. Decoding is then two table reads per input octet.
//!
//! §5.2 rules enforced:
//! - "A padding strictly longer than 7 bits MUST be treated as a decoding error."
//! - "A padding not corresponding to the most significant bits of the code for the EOS symbol
//!   MUST be treated as a decoding error." (padding must be all ones)
//! - "A Huffman-encoded string literal containing the EOS symbol MUST be treated as a decoding
//!   error."

use super::HpackError;

/// RFC 7541 Appendix B: `(code, bit length)` per symbol; index 256 is EOS.
#[rustfmt::skip]
pub(super) const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13), //     (  0) |11111111|11000
    (0x7fffd8, 23), //     (  1) |11111111|11111111|1011000
    (0xfffffe2, 28), //     (  2) |11111111|11111111|11111110|0010
    (0xfffffe3, 28), //     (  3) |11111111|11111111|11111110|0011
    (0xfffffe4, 28), //     (  4) |11111111|11111111|11111110|0100
    (0xfffffe5, 28), //     (  5) |11111111|11111111|11111110|0101
    (0xfffffe6, 28), //     (  6) |11111111|11111111|11111110|0110
    (0xfffffe7, 28), //     (  7) |11111111|11111111|11111110|0111
    (0xfffffe8, 28), //     (  8) |11111111|11111111|11111110|1000
    (0xffffea, 24), //     (  9) |11111111|11111111|11101010
    (0x3ffffffc, 30), //     ( 10) |11111111|11111111|11111111|111100
    (0xfffffe9, 28), //     ( 11) |11111111|11111111|11111110|1001
    (0xfffffea, 28), //     ( 12) |11111111|11111111|11111110|1010
    (0x3ffffffd, 30), //     ( 13) |11111111|11111111|11111111|111101
    (0xfffffeb, 28), //     ( 14) |11111111|11111111|11111110|1011
    (0xfffffec, 28), //     ( 15) |11111111|11111111|11111110|1100
    (0xfffffed, 28), //     ( 16) |11111111|11111111|11111110|1101
    (0xfffffee, 28), //     ( 17) |11111111|11111111|11111110|1110
    (0xfffffef, 28), //     ( 18) |11111111|11111111|11111110|1111
    (0xffffff0, 28), //     ( 19) |11111111|11111111|11111111|0000
    (0xffffff1, 28), //     ( 20) |11111111|11111111|11111111|0001
    (0xffffff2, 28), //     ( 21) |11111111|11111111|11111111|0010
    (0x3ffffffe, 30), //     ( 22) |11111111|11111111|11111111|111110
    (0xffffff3, 28), //     ( 23) |11111111|11111111|11111111|0011
    (0xffffff4, 28), //     ( 24) |11111111|11111111|11111111|0100
    (0xffffff5, 28), //     ( 25) |11111111|11111111|11111111|0101
    (0xffffff6, 28), //     ( 26) |11111111|11111111|11111111|0110
    (0xffffff7, 28), //     ( 27) |11111111|11111111|11111111|0111
    (0xffffff8, 28), //     ( 28) |11111111|11111111|11111111|1000
    (0xffffff9, 28), //     ( 29) |11111111|11111111|11111111|1001
    (0xffffffa, 28), //     ( 30) |11111111|11111111|11111111|1010
    (0xffffffb, 28), //     ( 31) |11111111|11111111|11111111|1011
    (0x14, 6), // ' ' ( 32) |010100
    (0x3f8, 10), // '!' ( 33) |11111110|00
    (0x3f9, 10), // '"' ( 34) |11111110|01
    (0xffa, 12), // '#' ( 35) |11111111|1010
    (0x1ff9, 13), // '$' ( 36) |11111111|11001
    (0x15, 6), // '%' ( 37) |010101
    (0xf8, 8), // '&' ( 38) |11111000
    (0x7fa, 11), // ''' ( 39) |11111111|010
    (0x3fa, 10), // '(' ( 40) |11111110|10
    (0x3fb, 10), // ')' ( 41) |11111110|11
    (0xf9, 8), // '*' ( 42) |11111001
    (0x7fb, 11), // '+' ( 43) |11111111|011
    (0xfa, 8), // ',' ( 44) |11111010
    (0x16, 6), // '-' ( 45) |010110
    (0x17, 6), // '.' ( 46) |010111
    (0x18, 6), // '/' ( 47) |011000
    (0x0, 5), // '0' ( 48) |00000
    (0x1, 5), // '1' ( 49) |00001
    (0x2, 5), // '2' ( 50) |00010
    (0x19, 6), // '3' ( 51) |011001
    (0x1a, 6), // '4' ( 52) |011010
    (0x1b, 6), // '5' ( 53) |011011
    (0x1c, 6), // '6' ( 54) |011100
    (0x1d, 6), // '7' ( 55) |011101
    (0x1e, 6), // '8' ( 56) |011110
    (0x1f, 6), // '9' ( 57) |011111
    (0x5c, 7), // ':' ( 58) |1011100
    (0xfb, 8), // ';' ( 59) |11111011
    (0x7ffc, 15), // '<' ( 60) |11111111|1111100
    (0x20, 6), // '=' ( 61) |100000
    (0xffb, 12), // '>' ( 62) |11111111|1011
    (0x3fc, 10), // '?' ( 63) |11111111|00
    (0x1ffa, 13), // '@' ( 64) |11111111|11010
    (0x21, 6), // 'A' ( 65) |100001
    (0x5d, 7), // 'B' ( 66) |1011101
    (0x5e, 7), // 'C' ( 67) |1011110
    (0x5f, 7), // 'D' ( 68) |1011111
    (0x60, 7), // 'E' ( 69) |1100000
    (0x61, 7), // 'F' ( 70) |1100001
    (0x62, 7), // 'G' ( 71) |1100010
    (0x63, 7), // 'H' ( 72) |1100011
    (0x64, 7), // 'I' ( 73) |1100100
    (0x65, 7), // 'J' ( 74) |1100101
    (0x66, 7), // 'K' ( 75) |1100110
    (0x67, 7), // 'L' ( 76) |1100111
    (0x68, 7), // 'M' ( 77) |1101000
    (0x69, 7), // 'N' ( 78) |1101001
    (0x6a, 7), // 'O' ( 79) |1101010
    (0x6b, 7), // 'P' ( 80) |1101011
    (0x6c, 7), // 'Q' ( 81) |1101100
    (0x6d, 7), // 'R' ( 82) |1101101
    (0x6e, 7), // 'S' ( 83) |1101110
    (0x6f, 7), // 'T' ( 84) |1101111
    (0x70, 7), // 'U' ( 85) |1110000
    (0x71, 7), // 'V' ( 86) |1110001
    (0x72, 7), // 'W' ( 87) |1110010
    (0xfc, 8), // 'X' ( 88) |11111100
    (0x73, 7), // 'Y' ( 89) |1110011
    (0xfd, 8), // 'Z' ( 90) |11111101
    (0x1ffb, 13), // '[' ( 91) |11111111|11011
    (0x7fff0, 19), // '\' ( 92) |11111111|11111110|000
    (0x1ffc, 13), // ']' ( 93) |11111111|11100
    (0x3ffc, 14), // '^' ( 94) |11111111|111100
    (0x22, 6), // '_' ( 95) |100010
    (0x7ffd, 15), // '`' ( 96) |11111111|1111101
    (0x3, 5), // 'a' ( 97) |00011
    (0x23, 6), // 'b' ( 98) |100011
    (0x4, 5), // 'c' ( 99) |00100
    (0x24, 6), // 'd' (100) |100100
    (0x5, 5), // 'e' (101) |00101
    (0x25, 6), // 'f' (102) |100101
    (0x26, 6), // 'g' (103) |100110
    (0x27, 6), // 'h' (104) |100111
    (0x6, 5), // 'i' (105) |00110
    (0x74, 7), // 'j' (106) |1110100
    (0x75, 7), // 'k' (107) |1110101
    (0x28, 6), // 'l' (108) |101000
    (0x29, 6), // 'm' (109) |101001
    (0x2a, 6), // 'n' (110) |101010
    (0x7, 5), // 'o' (111) |00111
    (0x2b, 6), // 'p' (112) |101011
    (0x76, 7), // 'q' (113) |1110110
    (0x2c, 6), // 'r' (114) |101100
    (0x8, 5), // 's' (115) |01000
    (0x9, 5), // 't' (116) |01001
    (0x2d, 6), // 'u' (117) |101101
    (0x77, 7), // 'v' (118) |1110111
    (0x78, 7), // 'w' (119) |1111000
    (0x79, 7), // 'x' (120) |1111001
    (0x7a, 7), // 'y' (121) |1111010
    (0x7b, 7), // 'z' (122) |1111011
    (0x7ffe, 15), // '{' (123) |11111111|1111110
    (0x7fc, 11), // '|' (124) |11111111|100
    (0x3ffd, 14), // '}' (125) |11111111|111101
    (0x1ffd, 13), // '~' (126) |11111111|11101
    (0xffffffc, 28), //     (127) |11111111|11111111|11111111|1100
    (0xfffe6, 20), //     (128) |11111111|11111110|0110
    (0x3fffd2, 22), //     (129) |11111111|11111111|010010
    (0xfffe7, 20), //     (130) |11111111|11111110|0111
    (0xfffe8, 20), //     (131) |11111111|11111110|1000
    (0x3fffd3, 22), //     (132) |11111111|11111111|010011
    (0x3fffd4, 22), //     (133) |11111111|11111111|010100
    (0x3fffd5, 22), //     (134) |11111111|11111111|010101
    (0x7fffd9, 23), //     (135) |11111111|11111111|1011001
    (0x3fffd6, 22), //     (136) |11111111|11111111|010110
    (0x7fffda, 23), //     (137) |11111111|11111111|1011010
    (0x7fffdb, 23), //     (138) |11111111|11111111|1011011
    (0x7fffdc, 23), //     (139) |11111111|11111111|1011100
    (0x7fffdd, 23), //     (140) |11111111|11111111|1011101
    (0x7fffde, 23), //     (141) |11111111|11111111|1011110
    (0xffffeb, 24), //     (142) |11111111|11111111|11101011
    (0x7fffdf, 23), //     (143) |11111111|11111111|1011111
    (0xffffec, 24), //     (144) |11111111|11111111|11101100
    (0xffffed, 24), //     (145) |11111111|11111111|11101101
    (0x3fffd7, 22), //     (146) |11111111|11111111|010111
    (0x7fffe0, 23), //     (147) |11111111|11111111|1100000
    (0xffffee, 24), //     (148) |11111111|11111111|11101110
    (0x7fffe1, 23), //     (149) |11111111|11111111|1100001
    (0x7fffe2, 23), //     (150) |11111111|11111111|1100010
    (0x7fffe3, 23), //     (151) |11111111|11111111|1100011
    (0x7fffe4, 23), //     (152) |11111111|11111111|1100100
    (0x1fffdc, 21), //     (153) |11111111|11111110|11100
    (0x3fffd8, 22), //     (154) |11111111|11111111|011000
    (0x7fffe5, 23), //     (155) |11111111|11111111|1100101
    (0x3fffd9, 22), //     (156) |11111111|11111111|011001
    (0x7fffe6, 23), //     (157) |11111111|11111111|1100110
    (0x7fffe7, 23), //     (158) |11111111|11111111|1100111
    (0xffffef, 24), //     (159) |11111111|11111111|11101111
    (0x3fffda, 22), //     (160) |11111111|11111111|011010
    (0x1fffdd, 21), //     (161) |11111111|11111110|11101
    (0xfffe9, 20), //     (162) |11111111|11111110|1001
    (0x3fffdb, 22), //     (163) |11111111|11111111|011011
    (0x3fffdc, 22), //     (164) |11111111|11111111|011100
    (0x7fffe8, 23), //     (165) |11111111|11111111|1101000
    (0x7fffe9, 23), //     (166) |11111111|11111111|1101001
    (0x1fffde, 21), //     (167) |11111111|11111110|11110
    (0x7fffea, 23), //     (168) |11111111|11111111|1101010
    (0x3fffdd, 22), //     (169) |11111111|11111111|011101
    (0x3fffde, 22), //     (170) |11111111|11111111|011110
    (0xfffff0, 24), //     (171) |11111111|11111111|11110000
    (0x1fffdf, 21), //     (172) |11111111|11111110|11111
    (0x3fffdf, 22), //     (173) |11111111|11111111|011111
    (0x7fffeb, 23), //     (174) |11111111|11111111|1101011
    (0x7fffec, 23), //     (175) |11111111|11111111|1101100
    (0x1fffe0, 21), //     (176) |11111111|11111111|00000
    (0x1fffe1, 21), //     (177) |11111111|11111111|00001
    (0x3fffe0, 22), //     (178) |11111111|11111111|100000
    (0x1fffe2, 21), //     (179) |11111111|11111111|00010
    (0x7fffed, 23), //     (180) |11111111|11111111|1101101
    (0x3fffe1, 22), //     (181) |11111111|11111111|100001
    (0x7fffee, 23), //     (182) |11111111|11111111|1101110
    (0x7fffef, 23), //     (183) |11111111|11111111|1101111
    (0xfffea, 20), //     (184) |11111111|11111110|1010
    (0x3fffe2, 22), //     (185) |11111111|11111111|100010
    (0x3fffe3, 22), //     (186) |11111111|11111111|100011
    (0x3fffe4, 22), //     (187) |11111111|11111111|100100
    (0x7ffff0, 23), //     (188) |11111111|11111111|1110000
    (0x3fffe5, 22), //     (189) |11111111|11111111|100101
    (0x3fffe6, 22), //     (190) |11111111|11111111|100110
    (0x7ffff1, 23), //     (191) |11111111|11111111|1110001
    (0x3ffffe0, 26), //     (192) |11111111|11111111|11111000|00
    (0x3ffffe1, 26), //     (193) |11111111|11111111|11111000|01
    (0xfffeb, 20), //     (194) |11111111|11111110|1011
    (0x7fff1, 19), //     (195) |11111111|11111110|001
    (0x3fffe7, 22), //     (196) |11111111|11111111|100111
    (0x7ffff2, 23), //     (197) |11111111|11111111|1110010
    (0x3fffe8, 22), //     (198) |11111111|11111111|101000
    (0x1ffffec, 25), //     (199) |11111111|11111111|11110110|0
    (0x3ffffe2, 26), //     (200) |11111111|11111111|11111000|10
    (0x3ffffe3, 26), //     (201) |11111111|11111111|11111000|11
    (0x3ffffe4, 26), //     (202) |11111111|11111111|11111001|00
    (0x7ffffde, 27), //     (203) |11111111|11111111|11111011|110
    (0x7ffffdf, 27), //     (204) |11111111|11111111|11111011|111
    (0x3ffffe5, 26), //     (205) |11111111|11111111|11111001|01
    (0xfffff1, 24), //     (206) |11111111|11111111|11110001
    (0x1ffffed, 25), //     (207) |11111111|11111111|11110110|1
    (0x7fff2, 19), //     (208) |11111111|11111110|010
    (0x1fffe3, 21), //     (209) |11111111|11111111|00011
    (0x3ffffe6, 26), //     (210) |11111111|11111111|11111001|10
    (0x7ffffe0, 27), //     (211) |11111111|11111111|11111100|000
    (0x7ffffe1, 27), //     (212) |11111111|11111111|11111100|001
    (0x3ffffe7, 26), //     (213) |11111111|11111111|11111001|11
    (0x7ffffe2, 27), //     (214) |11111111|11111111|11111100|010
    (0xfffff2, 24), //     (215) |11111111|11111111|11110010
    (0x1fffe4, 21), //     (216) |11111111|11111111|00100
    (0x1fffe5, 21), //     (217) |11111111|11111111|00101
    (0x3ffffe8, 26), //     (218) |11111111|11111111|11111010|00
    (0x3ffffe9, 26), //     (219) |11111111|11111111|11111010|01
    (0xffffffd, 28), //     (220) |11111111|11111111|11111111|1101
    (0x7ffffe3, 27), //     (221) |11111111|11111111|11111100|011
    (0x7ffffe4, 27), //     (222) |11111111|11111111|11111100|100
    (0x7ffffe5, 27), //     (223) |11111111|11111111|11111100|101
    (0xfffec, 20), //     (224) |11111111|11111110|1100
    (0xfffff3, 24), //     (225) |11111111|11111111|11110011
    (0xfffed, 20), //     (226) |11111111|11111110|1101
    (0x1fffe6, 21), //     (227) |11111111|11111111|00110
    (0x3fffe9, 22), //     (228) |11111111|11111111|101001
    (0x1fffe7, 21), //     (229) |11111111|11111111|00111
    (0x1fffe8, 21), //     (230) |11111111|11111111|01000
    (0x7ffff3, 23), //     (231) |11111111|11111111|1110011
    (0x3fffea, 22), //     (232) |11111111|11111111|101010
    (0x3fffeb, 22), //     (233) |11111111|11111111|101011
    (0x1ffffee, 25), //     (234) |11111111|11111111|11110111|0
    (0x1ffffef, 25), //     (235) |11111111|11111111|11110111|1
    (0xfffff4, 24), //     (236) |11111111|11111111|11110100
    (0xfffff5, 24), //     (237) |11111111|11111111|11110101
    (0x3ffffea, 26), //     (238) |11111111|11111111|11111010|10
    (0x7ffff4, 23), //     (239) |11111111|11111111|1110100
    (0x3ffffeb, 26), //     (240) |11111111|11111111|11111010|11
    (0x7ffffe6, 27), //     (241) |11111111|11111111|11111100|110
    (0x3ffffec, 26), //     (242) |11111111|11111111|11111011|00
    (0x3ffffed, 26), //     (243) |11111111|11111111|11111011|01
    (0x7ffffe7, 27), //     (244) |11111111|11111111|11111100|111
    (0x7ffffe8, 27), //     (245) |11111111|11111111|11111101|000
    (0x7ffffe9, 27), //     (246) |11111111|11111111|11111101|001
    (0x7ffffea, 27), //     (247) |11111111|11111111|11111101|010
    (0x7ffffeb, 27), //     (248) |11111111|11111111|11111101|011
    (0xffffffe, 28), //     (249) |11111111|11111111|11111111|1110
    (0x7ffffec, 27), //     (250) |11111111|11111111|11111101|100
    (0x7ffffed, 27), //     (251) |11111111|11111111|11111101|101
    (0x7ffffee, 27), //     (252) |11111111|11111111|11111101|110
    (0x7ffffef, 27), //     (253) |11111111|11111111|11111101|111
    (0x7fffff0, 27), //     (254) |11111111|11111111|11111110|000
    (0x3ffffee, 26), //     (255) |11111111|11111111|11111011|10
    (0x3fffffff, 30), // EOS (256) |11111111|11111111|11111111|111111
];

/// The EOS symbol (Appendix B): never valid inside a string.
const EOS: u16 = 256;
/// Internal nodes of a complete binary tree with 257 leaves.
const NODES: usize = 256;
/// Tree child: a leaf, with the symbol in the low 9 bits.
const LEAF: u16 = 0x8000;
/// Tree child: absent (only in a malformed table).
const EMPTY: u16 = u16::MAX;

/// The code tree. Node 0 is the root; `child[n][bit]` is an internal node index,
/// `LEAF | symbol`, or `EMPTY`.
struct Tree {
    child: [[u16; 2]; NODES],
    /// The path from the root to this node is at most 7 one-bits: a valid padding (§5.2).
    accept: [bool; NODES],
    /// No code is a prefix of another, no length is out of range, no node lacks a child and
    /// there are exactly `NODES` internal nodes.
    ok: bool,
}

// Evaluated at compile time only (the tables are consts): an index out of bounds here
// fails the build, it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const fn build_tree() -> Tree {
    let mut child = [[EMPTY; 2]; NODES];
    let mut all_ones = [false; NODES];
    let mut depth = [0u8; NODES];
    all_ones[0] = true;
    let mut nodes = 1;
    let mut ok = true;
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        if len == 0 || len > 30 || (code >> len) != 0 {
            ok = false;
        }
        let mut node = 0;
        let mut remaining = len;
        while ok && remaining > 0 {
            remaining -= 1;
            let bit = ((code >> remaining) & 1) as usize;
            let c = child[node][bit];
            if remaining == 0 {
                if c == EMPTY {
                    child[node][bit] = LEAF | sym as u16;
                } else {
                    ok = false; // another code is this one or extends it
                }
            } else if c == EMPTY {
                if nodes == NODES {
                    ok = false;
                } else {
                    child[node][bit] = nodes as u16;
                    all_ones[nodes] = all_ones[node] && bit == 1;
                    depth[nodes] = depth[node] + 1;
                    node = nodes;
                    nodes += 1;
                }
            } else if c & LEAF != 0 {
                ok = false; // a shorter code is a prefix of this one
            } else {
                node = c as usize;
            }
        }
        sym += 1;
    }
    let mut accept = [false; NODES];
    let mut n = 0;
    while n < nodes {
        if child[n][0] == EMPTY || child[n][1] == EMPTY {
            ok = false; // incomplete code: some bit string decodes to nothing
        }
        accept[n] = all_ones[n] && depth[n] <= 7;
        n += 1;
    }
    if nodes != NODES {
        ok = false;
    }
    Tree { child, accept, ok }
}

const TREE: Tree = build_tree();

/// A malformed `CODES` (which the tests rule out) makes every string invalid rather than
/// some strings wrong.
const TABLE_OK: bool = TREE.ok;

/// Transition flag: a symbol was completed (in `sym`).
const SYM: u8 = 1;
/// Transition flag: the string may end in the state reached.
const ACCEPT: u8 = 2;
/// Transition flag: EOS was decoded, or the table is malformed.
const FAIL: u8 = 4;

#[derive(Clone, Copy)]
struct Transition {
    next: u8,
    sym: u8,
    flags: u8,
}

// Compile time only, as `build_tree`.
#[allow(clippy::indexing_slicing)]
const fn build_transitions(tree: &Tree) -> [[Transition; 16]; NODES] {
    let fail = Transition {
        next: 0,
        sym: 0,
        flags: FAIL,
    };
    let mut table = [[fail; 16]; NODES];
    let mut state = 0;
    while state < NODES {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut sym = 0u8;
            let mut flags = 0u8;
            let mut k = 4;
            while k > 0 {
                k -= 1;
                let c = tree.child[node][(nibble >> k) & 1];
                // Two symbols in 4 bits would need a code shorter than 3 bits: malformed.
                if c == EMPTY || c == LEAF | EOS || (c & LEAF != 0 && flags & SYM != 0) {
                    flags = FAIL;
                    break;
                }
                if c & LEAF != 0 {
                    sym = (c & 0xff) as u8;
                    flags = SYM;
                    node = 0;
                } else {
                    node = c as usize;
                }
            }
            if flags & FAIL == 0 && tree.accept[node] {
                flags |= ACCEPT;
            }
            table[state][nibble] = Transition {
                next: node as u8,
                sym,
                flags,
            };
            nibble += 1;
        }
        state += 1;
    }
    table
}

/// `DECODE[state][nibble]`: `state` is a `u8` and the table has 256 rows, `nibble` is
/// masked to 4 bits and rows have 16 entries, so indexing cannot go out of bounds.
static DECODE: [[Transition; 16]; NODES] = build_transitions(&TREE);

/// Decodes a Huffman-coded string, appending to `out` (at most `src.len() * 8 / 5` bytes).
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    if !TABLE_OK {
        return Err(HpackError::InvalidHuffman);
    }
    out.reserve(src.len().saturating_mul(8) / 5);
    let mut state = 0u8;
    // The empty string is valid (no padding at all).
    let mut accept = true;
    for &byte in src {
        for nibble in [byte >> 4, byte & 0x0f] {
            // In bounds by the types (see `DECODE`); the compiler drops the checks.
            #[allow(clippy::indexing_slicing)]
            let t = DECODE[usize::from(state)][usize::from(nibble & 0x0f)];
            if t.flags & FAIL != 0 {
                return Err(HpackError::InvalidHuffman);
            }
            if t.flags & SYM != 0 {
                out.push(t.sym);
            }
            state = t.next;
            accept = t.flags & ACCEPT != 0;
        }
    }
    if accept {
        Ok(())
    } else {
        Err(HpackError::InvalidHuffman)
    }
}

#[cfg(test)]
pub(super) mod tests;
