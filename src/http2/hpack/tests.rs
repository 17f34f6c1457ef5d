//! Decoder conformance and robustness: RFC 7541 Appendix C.2–C.6, table size updates,
//! mid-connection decoding, recovery after errors, limits, and never-panics properties.

use super::huffman::tests::encode as huffman_encode;
use super::integer::tests::encode as integer_encode;
use super::*;
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn kv(name: &str, value: &str) -> HeaderField {
    HeaderField {
        name: Text::Known(name.as_bytes().to_vec()),
        value: Text::Known(value.as_bytes().to_vec()),
        never_indexed: false,
        unknown_index: None,
        unknown_entry: None,
    }
}

fn decode_ok(d: &mut Decoder, hex: &str) -> Vec<HeaderField> {
    let mut out = Vec::new();
    d.decode(&unhex(hex), &mut out).unwrap();
    out
}

/// The dynamic table as the RFC prints it: `(name, value, size)` newest first.
fn table(d: &Decoder) -> Vec<(String, String, usize)> {
    d.dynamic_entries()
        .map(|e| {
            let name = match e.name {
                Text::Known(n) => String::from_utf8_lossy(n).into_owned(),
                Text::Unknown => "?".into(),
            };
            (name, String::from_utf8_lossy(e.value).into_owned(), e.size)
        })
        .collect()
}

fn row(name: &str, value: &str, size: usize) -> (String, String, usize) {
    (name.into(), value.into(), size)
}

/// A literal with incremental indexing and a new, raw name (§6.2.1, second form).
fn insert_literal(name: &str, value: &[u8]) -> Vec<u8> {
    let mut b = vec![0x40];
    integer_encode(name.len() as u32, 7, 0, &mut b);
    b.extend_from_slice(name.as_bytes());
    integer_encode(value.len() as u32, 7, 0, &mut b);
    b.extend_from_slice(value);
    b
}

fn indexed(index: u32) -> Vec<u8> {
    let mut b = Vec::new();
    integer_encode(index, 7, 0x80, &mut b);
    b
}

// ---- C.2: one representation each, on a fresh decoder ----

#[test]
fn c2_1_literal_with_indexing() {
    let mut d = Decoder::new();
    let f = decode_ok(
        &mut d,
        "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
    );
    assert_eq!(f, [kv("custom-key", "custom-header")]);
    assert_eq!(table(&d), [row("custom-key", "custom-header", 55)]);
    assert_eq!(d.table_size(), 55);
}

#[test]
fn c2_2_literal_without_indexing() {
    let mut d = Decoder::new();
    let f = decode_ok(&mut d, "040c 2f73 616d 706c 652f 7061 7468");
    assert_eq!(f, [kv(":path", "/sample/path")]);
    assert_eq!(d.entry_count(), 0);
}

#[test]
fn c2_3_literal_never_indexed() {
    let mut d = Decoder::new();
    let f = decode_ok(&mut d, "1008 7061 7373 776f 7264 0673 6563 7265 74");
    let mut want = kv("password", "secret");
    want.never_indexed = true;
    assert_eq!(f, [want]);
    assert_eq!(d.entry_count(), 0);
}

#[test]
fn c2_4_indexed() {
    let mut d = Decoder::new();
    assert_eq!(decode_ok(&mut d, "82"), [kv(":method", "GET")]);
    assert_eq!(d.entry_count(), 0);
}

// ---- C.3 / C.4: three requests on one connection ----

fn requests(blocks: [&str; 3]) {
    let mut d = Decoder::new();
    let f = decode_ok(&mut d, blocks[0]);
    assert_eq!(
        f,
        [
            kv(":method", "GET"),
            kv(":scheme", "http"),
            kv(":path", "/"),
            kv(":authority", "www.example.com"),
        ]
    );
    assert_eq!(table(&d), [row(":authority", "www.example.com", 57)]);
    assert_eq!(d.table_size(), 57);

    let f = decode_ok(&mut d, blocks[1]);
    assert_eq!(
        f,
        [
            kv(":method", "GET"),
            kv(":scheme", "http"),
            kv(":path", "/"),
            kv(":authority", "www.example.com"),
            kv("cache-control", "no-cache"),
        ]
    );
    assert_eq!(
        table(&d),
        [
            row("cache-control", "no-cache", 53),
            row(":authority", "www.example.com", 57),
        ]
    );
    assert_eq!(d.table_size(), 110);

    let f = decode_ok(&mut d, blocks[2]);
    assert_eq!(
        f,
        [
            kv(":method", "GET"),
            kv(":scheme", "https"),
            kv(":path", "/index.html"),
            kv(":authority", "www.example.com"),
            kv("custom-key", "custom-value"),
        ]
    );
    assert_eq!(
        table(&d),
        [
            row("custom-key", "custom-value", 54),
            row("cache-control", "no-cache", 53),
            row(":authority", "www.example.com", 57),
        ]
    );
    assert_eq!(d.table_size(), 164);
    assert!(!d.is_partial());
}

const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];

const C4: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];

#[test]
fn c3_requests_without_huffman() {
    requests(C3);
}

#[test]
fn c4_requests_with_huffman() {
    requests(C4);
}

// ---- C.5 / C.6: three responses, 256-byte table, evictions ----

const C5: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
     6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
     3d31",
];

const C6: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
     9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

const DATE1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOC: &str = "https://www.example.com";
const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

fn responses(d: &mut Decoder, blocks: [&str; 3], first_prefix: &str) {
    let f = decode_ok(d, &format!("{first_prefix}{}", blocks[0]));
    assert_eq!(
        f,
        [
            kv(":status", "302"),
            kv("cache-control", "private"),
            kv("date", DATE1),
            kv("location", LOC),
        ]
    );
    assert_eq!(
        table(d),
        [
            row("location", LOC, 63),
            row("date", DATE1, 65),
            row("cache-control", "private", 52),
            row(":status", "302", 42),
        ]
    );
    assert_eq!(d.table_size(), 222);

    // (":status", "302") is evicted to make room for (":status", "307").
    let f = decode_ok(d, blocks[1]);
    assert_eq!(
        f,
        [
            kv(":status", "307"),
            kv("cache-control", "private"),
            kv("date", DATE1),
            kv("location", LOC),
        ]
    );
    assert_eq!(
        table(d),
        [
            row(":status", "307", 42),
            row("location", LOC, 63),
            row("date", DATE1, 65),
            row("cache-control", "private", 52),
        ]
    );
    assert_eq!(d.table_size(), 222);

    let f = decode_ok(d, blocks[2]);
    assert_eq!(
        f,
        [
            kv(":status", "200"),
            kv("cache-control", "private"),
            kv("date", DATE2),
            kv("location", LOC),
            kv("content-encoding", "gzip"),
            kv("set-cookie", COOKIE),
        ]
    );
    assert_eq!(
        table(d),
        [
            row("set-cookie", COOKIE, 98),
            row("content-encoding", "gzip", 52),
            row("date", DATE2, 65),
        ]
    );
    assert_eq!(d.table_size(), 215);
    assert!(!d.is_partial());
}

#[test]
fn c5_responses_without_huffman() {
    responses(&mut Decoder::with_max_table_size(256), C5, "");
}

#[test]
fn c6_responses_with_huffman() {
    responses(&mut Decoder::with_max_table_size(256), C6, "");
}

#[test]
fn c5_and_c6_via_setting_and_size_update() {
    // The same examples on a default decoder: SETTINGS_HEADER_TABLE_SIZE = 256, then the
    // encoder's size update to 256 (3f e1 01) at the start of the first block.
    for blocks in [C5, C6] {
        let mut d = Decoder::new();
        d.set_max_table_size_setting(256);
        assert_eq!(
            d.max_table_size(),
            4096,
            "only a size update changes the table"
        );
        responses(&mut d, blocks, "3fe101 ");
        assert_eq!(d.max_table_size(), 256);
    }
}

// ---- Table size updates and eviction ----

#[test]
fn entry_larger_than_the_table_empties_it() {
    let mut d = Decoder::with_max_table_size(100);
    decode_ok(&mut d, "4001 6101 31"); // a: 1 (34)
    assert_eq!(d.entry_count(), 1);
    let mut block = insert_literal("big", &[b'x'; 66]); // 3 + 66 + 32 = 101
    block.extend(indexed(2));
    let mut out = Vec::new();
    d.decode(&block, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!((d.entry_count(), d.table_size()), (0, 0));
    // The table is empty and exact: 62 is invalid.
    assert_eq!(
        d.decode(&indexed(62), &mut Vec::new()),
        Err(HpackError::InvalidIndex(62))
    );
}

#[test]
fn size_update_evicts_and_zero_empties() {
    let mut d = Decoder::new();
    for b in C3 {
        decode_ok(&mut d, b);
    }
    assert_eq!(d.table_size(), 164);
    // 110 keeps the two newest entries (54 + 53).
    let f = decode_ok(&mut d, "3f4f 82"); // 31 + 79 = 110
    assert_eq!(f, [kv(":method", "GET")]);
    assert_eq!(d.max_table_size(), 110);
    assert_eq!(
        table(&d),
        [
            row("custom-key", "custom-value", 54),
            row("cache-control", "no-cache", 53),
        ]
    );
    // Two updates at the start are allowed (§4.2): to 0 (evicts all), then back to 4096.
    decode_ok(&mut d, "20 3fe1 1f");
    assert_eq!(
        (d.entry_count(), d.table_size(), d.max_table_size()),
        (0, 0, 4096)
    );
    assert!(!d.is_partial());
}

#[test]
fn size_update_above_the_setting_is_an_error() {
    let mut d = Decoder::new();
    let mut block = Vec::new();
    integer_encode(4097, 5, 0x20, &mut block);
    assert_eq!(
        d.decode(&block, &mut Vec::new()),
        Err(HpackError::TableSizeUpdateTooLarge {
            requested: 4097,
            max: 4096
        })
    );
    // Hostile settings are capped.
    let mut d = Decoder::new();
    d.set_max_table_size_setting(u32::MAX);
    assert_eq!(d.max_table_size_setting(), HARD_MAX_TABLE_SIZE);
    let mut block = Vec::new();
    integer_encode(HARD_MAX_TABLE_SIZE, 5, 0x20, &mut block);
    decode_ok(&mut d, &hex(&block));
    assert_eq!(d.max_table_size(), HARD_MAX_TABLE_SIZE);
    let mut block = Vec::new();
    integer_encode(HARD_MAX_TABLE_SIZE + 1, 5, 0x20, &mut block);
    assert_eq!(
        d.decode(&block, &mut Vec::new()),
        Err(HpackError::TableSizeUpdateTooLarge {
            requested: HARD_MAX_TABLE_SIZE + 1,
            max: HARD_MAX_TABLE_SIZE
        })
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn size_update_after_a_field_is_an_error() {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    assert_eq!(
        d.decode(&unhex("82 20"), &mut out),
        Err(HpackError::TableSizeUpdateNotAtStart)
    );
    assert_eq!(out, [kv(":method", "GET")]);
    assert!(d.is_partial());
}

#[test]
fn index_zero_is_invalid() {
    let mut d = Decoder::new();
    assert_eq!(
        d.decode(&[0x80], &mut Vec::new()),
        Err(HpackError::InvalidIndex(0))
    );
}

// ---- Mid-connection ----

#[test]
fn mid_connection_unknown_then_learned_then_exact() {
    let mut d = Decoder::new_mid_connection();
    assert!(d.is_partial());
    assert!(d.has_unknown_tail());

    // Indices 62..=70 all refer to entries from before the capture.
    let mut block: Vec<u8> = (62..=70).flat_map(indexed).collect();
    // Literal with incremental indexing, name from unknown index 65, value "v1".
    block.extend(unhex("7f02 0276 31"));
    // Literal with incremental indexing, new name.
    block.extend(insert_literal("x-a", b"1"));
    // Literal without indexing, name from index 64: now beyond the two learned entries.
    block.extend(unhex("0f31 017a"));
    let mut out = Vec::new();
    d.decode(&block, &mut out).unwrap();
    assert_eq!(out.len(), 12);
    for (i, f) in out.iter().take(9).enumerate() {
        assert_eq!(f.name, Text::Unknown);
        assert_eq!(f.value, Text::Unknown);
        assert_eq!(f.unknown_index, Some(62 + i as u32));
    }
    assert_eq!(out[8].display_name(), "<unknown dynamic #70>");
    assert_eq!(
        out[9],
        HeaderField {
            name: Text::Unknown,
            value: Text::Known(b"v1".to_vec()),
            never_indexed: false,
            unknown_index: Some(65),
            // The same unknown entry as the field indexed #65 earlier in this block.
            unknown_entry: out[3].unknown_entry,
        }
    );
    assert!(out[3].unknown_entry.is_some());
    assert_eq!(out[10], kv("x-a", "1"));
    assert_eq!(
        (&out[11].name, &out[11].value, out[11].unknown_index),
        (&Text::Unknown, &Text::Known(b"z".to_vec()), Some(64))
    );
    assert_eq!(table(&d), [row("x-a", "1", 36), row("?", "v1", 34)]);

    // The learned entries decode exactly; the entry with an unknown name keeps it unknown;
    // past them is the unknown tail.
    let f = decode_ok(&mut d, "bebf c0c8");
    assert_eq!(f[0], kv("x-a", "1"));
    assert_eq!(
        f[1],
        HeaderField {
            name: Text::Unknown,
            value: Text::Known(b"v1".to_vec()),
            never_indexed: false,
            unknown_index: Some(63),
            unknown_entry: None,
        }
    );
    assert_eq!((&f[2].name, &f[2].value), (&Text::Unknown, &Text::Unknown));
    assert_eq!(f[2].unknown_index, Some(64));
    assert_eq!(f[2].display_name(), "<unknown dynamic #64>");
    assert_eq!(f[3].unknown_index, Some(72));

    // Fill the table (4096) with 138-byte entries. The tail is certainly gone once the
    // learned entries leave no room for one more 32-byte entry: 36 + 34 + 138k + 32 > 4096,
    // i.e. k = 29.
    let value = [b'f'; 100];
    for k in 1..=30 {
        decode_ok(&mut d, &hex(&insert_literal("x-fill", &value)));
        assert_eq!(d.has_unknown_tail(), k < 29, "after {k} fills");
        // At 29 the entry with the unknown name still counts; at 30 it is evicted.
        assert_eq!(d.is_partial(), k < 30, "after {k} fills");
    }
    assert_eq!(d.entry_count(), 29);
    assert_eq!(d.table_size(), 29 * 138);
    let f = decode_ok(&mut d, &hex(&indexed(62 + 28)));
    assert_eq!(f, [kv("x-fill", "f".repeat(100).as_str())]);
    // Now exact: past the table is an error, which makes the decoder partial again.
    assert_eq!(
        d.decode(&indexed(62 + 29), &mut Vec::new()),
        Err(HpackError::InvalidIndex(91))
    );
    assert!(d.is_partial());
    assert_eq!(decode_ok(&mut d, "be")[0].unknown_index, Some(62));
}

#[test]
fn mid_connection_size_update_makes_the_table_exact() {
    let mut d = Decoder::new_mid_connection();
    assert!(!d.max_table_size_known());
    let f = decode_ok(&mut d, "20 3fe1 1f 82");
    assert_eq!(f, [kv(":method", "GET")]);
    assert!(!d.is_partial());
    assert!(d.max_table_size_known());
    assert_eq!(
        d.decode(&indexed(62), &mut Vec::new()),
        Err(HpackError::InvalidIndex(62))
    );
}

#[test]
fn mid_connection_entry_size_uncertain_until_certain() {
    let mut d = Decoder::new_mid_connection();
    // Size update to 200, then name from unknown index 70 with a 100-byte value: >= 132.
    let mut block = Vec::new();
    integer_encode(200, 5, 0x20, &mut block);
    integer_encode(70, 6, 0x40, &mut block);
    block.push(100);
    block.extend([b'v'; 100]);
    d.decode(&block, &mut Vec::new()).unwrap();
    assert!(d.has_unknown_tail());
    // A known 60-byte entry: 132 + 60 + 32 > 200, the tail is gone. The unknown-named entry
    // may have been evicted too (if its name is over 8 bytes): it is kept, and the table
    // stays partial.
    d.decode(&insert_literal("k", &[b'x'; 27]), &mut Vec::new())
        .unwrap();
    assert!(!d.has_unknown_tail());
    assert!(d.is_partial());
    let f = decode_ok(&mut d, "bf");
    assert_eq!(f[0].name, Text::Unknown);
    assert_eq!(f[0].value, Text::Known(vec![b'v'; 100]));
    assert_eq!(f[0].unknown_index, Some(63));
    // Another 60: 60 + 60 + 132 > 200, certainly evicted.
    d.decode(&insert_literal("l", &[b'x'; 27]), &mut Vec::new())
        .unwrap();
    assert!(!d.is_partial());
    assert_eq!(d.entry_count(), 2);
}

#[test]
fn mid_connection_insert_referencing_an_unknown_named_entry_stays_unknown() {
    let mut d = Decoder::new_mid_connection();
    decode_ok(&mut d, "7f02 0276 31"); // name from #65 (unknown), value v1
    decode_ok(&mut d, "7e 0276 32"); // name from #62 (the entry just learned), value v2
    let f = decode_ok(&mut d, "be bf");
    assert_eq!(f[0].name, Text::Unknown);
    assert_eq!(f[0].value, Text::Known(b"v2".to_vec()));
    assert_eq!(f[0].unknown_index, Some(62));
    assert_eq!(f[1].value, Text::Known(b"v1".to_vec()));
    assert_eq!(f[1].unknown_index, Some(63));
}

#[test]
fn setting_bounds_the_unknown_maximum() {
    let mut d = Decoder::new_mid_connection();
    d.set_max_table_size_setting(100);
    assert_eq!(d.max_table_size(), 100);
    decode_ok(&mut d, &hex(&insert_literal("a", &[b'x'; 36]))); // 69 + 32 > 100
    assert!(!d.is_partial());
    // An exact decoder's maximum only changes with a size update.
    let mut d = Decoder::new();
    d.set_max_table_size_setting(100);
    assert_eq!(d.max_table_size(), 4096);
}

// ---- Error recovery ----

#[test]
fn bad_huffman_mid_block_keeps_earlier_fields_and_distrusts_the_table() {
    let mut d = Decoder::new();
    decode_ok(&mut d, C4[0]);
    assert_eq!(table(&d), [row(":authority", "www.example.com", 57)]);
    // :method GET, then a literal whose Huffman name '0' is padded with zeros, then more.
    let mut out = Vec::new();
    let r = d.decode(&unhex("82 4081 00 0161 be"), &mut out);
    assert_eq!(r, Err(HpackError::InvalidHuffman));
    assert_eq!(out, [kv(":method", "GET")]);
    assert!(d.is_partial());
    assert_eq!(d.entry_count(), 0);
    // The old entry is no longer trusted: unknown, not www.example.com.
    let f = decode_ok(&mut d, "be");
    assert_eq!(f[0].name, Text::Unknown);
    assert_eq!(f[0].value, Text::Unknown);
    assert_eq!(f[0].unknown_index, Some(62));
    // New entries are learned exactly again.
    let mut block = insert_literal("x-new", b"1");
    block.extend(indexed(62));
    let mut out = Vec::new();
    d.decode(&block, &mut out).unwrap();
    assert_eq!(out, [kv("x-new", "1"), kv("x-new", "1")]);
}

#[test]
fn lose_sync_makes_entries_unknown() {
    let mut d = Decoder::new();
    decode_ok(&mut d, C3[0]);
    d.lose_sync();
    assert!(d.is_partial());
    let f = decode_ok(&mut d, "be");
    assert_eq!(f[0].value, Text::Unknown);
}

// ---- Limits ----

#[test]
fn too_many_fields() {
    let mut d = Decoder::new();
    let block = vec![0x82; MAX_FIELDS_PER_BLOCK + 1];
    let mut out = Vec::new();
    assert_eq!(
        d.decode(&block, &mut out),
        Err(HpackError::TooManyFields {
            limit: MAX_FIELDS_PER_BLOCK
        })
    );
    assert_eq!(out.len(), MAX_FIELDS_PER_BLOCK);
}

#[test]
fn header_list_too_large_keeps_what_was_decoded() {
    let mut d = Decoder::new();
    d.set_max_header_list_size(100);
    let mut out = Vec::new();
    // :method GET is 42; two fit, the third does not.
    assert_eq!(
        d.decode(&unhex("828282"), &mut out),
        Err(HpackError::HeaderListTooLarge { limit: 100 })
    );
    assert_eq!(out.len(), 2);
    // Checked before an entry is copied: a 4000-byte entry referenced again and again.
    let mut d = Decoder::new();
    let mut block = insert_literal("big", &[b'x'; 4000]);
    for _ in 0..1000 {
        block.extend(indexed(62));
    }
    let mut out = Vec::new();
    assert_eq!(
        d.decode(&block, &mut out),
        Err(HpackError::HeaderListTooLarge {
            limit: MAX_HEADER_LIST_SIZE
        })
    );
    assert_eq!(out.len(), MAX_HEADER_LIST_SIZE / 4035);
}

// ---- Never panics ----

/// Every prefix of each C.4/C.6 block, decoded in the state the full earlier blocks leave:
/// either the fields up to a representation boundary, or `Truncated` with a prefix of them.
#[test]
fn every_truncation_of_c4_and_c6() {
    for (blocks, max) in [(C4, 4096), (C6, 256), (C3, 4096), (C5, 256)] {
        for (n, block) in blocks.iter().enumerate() {
            let full = unhex(block);
            let mut reference = Decoder::with_max_table_size(max);
            for b in &blocks[..n] {
                decode_ok(&mut reference, b);
            }
            let expected = decode_ok(&mut reference.clone(), block);
            for cut in 0..full.len() {
                let mut d = reference.clone();
                let mut out = Vec::new();
                match d.decode(&full[..cut], &mut out) {
                    Ok(()) => assert!(expected.starts_with(&out)),
                    Err(e) => {
                        assert_eq!(e, HpackError::Truncated, "block {n} cut at {cut}");
                        assert!(expected.starts_with(&out));
                        assert!(d.is_partial());
                    }
                }
            }
        }
    }
}

/// Checks the invariants that hold after any input.
fn check_invariants(d: &Decoder) {
    assert!(d.max_table_size() <= HARD_MAX_TABLE_SIZE);
    assert!(d.table_size() <= table::to_usize(d.max_table_size()));
    assert_eq!(
        d.table_size(),
        d.dynamic_entries().map(|e| e.size).sum::<usize>()
    );
    assert!(d.entry_count() <= d.table_size() / 32 + 1);
}

#[test]
fn seeded_random_blocks_never_panic() {
    // Random octets biased toward valid representations, through long-lived decoders so
    // that state carries over between blocks.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut decoders = [
        Decoder::new(),
        Decoder::new_mid_connection(),
        Decoder::with_max_table_size(256),
    ];
    for case in 0..6000 {
        let len = (next() % 80) as usize;
        let mut block = Vec::with_capacity(len);
        while block.len() < len {
            let r = next();
            match r % 8 {
                0 => block.extend(indexed((r >> 8) as u32 % 80 + 1)),
                1 => block.extend(insert_literal("x", &[(r >> 8) as u8; 3])),
                2 => {
                    let s = huffman_encode(&r.to_le_bytes()[..(r >> 60) as usize % 8]);
                    block.push(0x40 | ((r >> 8) as u8 % 70).min(63));
                    block.push(0x80 | s.len() as u8);
                    block.extend(s);
                }
                3 => integer_encode((r >> 8) as u32 % 5000, 5, 0x20, &mut block),
                _ => block.push((r >> 16) as u8),
            }
        }
        let d = &mut decoders[case % 3];
        let mut out = Vec::new();
        let _ = d.decode(&block, &mut out);
        check_invariants(d);
        if case % 500 == 0 {
            d.lose_sync();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_panic(
        blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..96), 1..4),
        mid in any::<bool>(),
        setting in any::<u32>(),
    ) {
        let mut d = if mid { Decoder::new_mid_connection() } else { Decoder::new() };
        d.set_max_table_size_setting(setting);
        for block in &blocks {
            let mut out = Vec::new();
            let r = d.decode(block, &mut out);
            // Every field costs at least one octet.
            prop_assert!(out.len() <= block.len());
            if r.is_err() {
                // Distrusted, unless no entry can fit in the table at all.
                prop_assert!(d.is_partial() || d.max_table_size() < 32);
            }
            check_invariants(&d);
        }
    }
}

/// The same unknown entry keeps its identity while its wire index shifts: #62, then #63 once
/// an entry was inserted before it; a lost table starts new identities.
#[test]
fn unknown_entries_keep_their_identity_across_blocks() {
    let mut d = Decoder::new_mid_connection();
    let first = decode_ok(&mut d, "be")[0].unknown_entry;
    assert!(first.is_some());
    // Literal with incremental indexing, new name "a": "b".
    decode_ok(&mut d, "4001610162");
    let second = decode_ok(&mut d, "bf")[0].clone();
    assert_eq!(second.unknown_index, Some(63));
    assert_eq!(second.unknown_entry, first);
    let newer = decode_ok(&mut d, "c0")[0].unknown_entry;
    assert_ne!(newer, first, "#64 now is the next older unknown entry");
    d.lose_sync();
    assert_ne!(decode_ok(&mut d, "be")[0].unknown_entry, first);
    // Learned entries have no unknown identity.
    assert_eq!(decode_ok(&mut Decoder::new(), "82")[0].unknown_entry, None);
}
