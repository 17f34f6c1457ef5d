//! HPACK `Decoder` over several header blocks, exact and mid-connection side by side.
//!
//! Input layout:
//! ```text
//! ctrl     u8       bit 0: start from `with_max_table_size(size)` instead of `new()`
//! size     u32 BE   the table size for bit 0 (capped by the decoder)
//! then repeated:
//!   len u16 BE, then `len` bytes: one header block
//!   0xffff, u32 BE: both decoders get SETTINGS_HEADER_TABLE_SIZE = that value
//!   0xfffe:         the mid-connection decoder alone loses sync
//! ```
//! The exact decoder saw the connection from its start, so until it reports an error its
//! output is the truth. The mid-connection decoder knows nothing of the table before its
//! first block, and its contract is to say `Unknown` rather than guess: every name or value
//! it does decode must equal the exact decoder's. Also checked: per-block limits on the
//! number of fields and the decoded list size, and the table within its maximum.

#![no_main]

use h2scope::http2::hpack::{
    Decoder, HARD_MAX_TABLE_SIZE, HeaderField, MAX_FIELDS_PER_BLOCK, MAX_HEADER_LIST_SIZE, Text,
};
use libfuzzer_sys::fuzz_target;

fn within_limits(fields: &[HeaderField]) {
    assert!(fields.len() <= MAX_FIELDS_PER_BLOCK);
    let size: usize = fields
        .iter()
        .map(|f| f.name.known_len() + f.value.known_len() + 32)
        .sum();
    assert!(size <= MAX_HEADER_LIST_SIZE, "decoded list of {size} bytes");
}

fn table_within_max(d: &Decoder) {
    assert!(d.max_table_size() <= HARD_MAX_TABLE_SIZE);
    if !d.is_partial() {
        assert!(d.table_size() <= d.max_table_size() as usize);
    }
}

fn agree(truth: &Text, guess: &Text, what: &str) {
    if let Text::Known(g) = guess {
        assert_eq!(
            Some(g.as_slice()),
            truth.as_known(),
            "mid-connection decoder guessed a {what}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[ctrl, s0, s1, s2, s3], mut rest)) = data.split_first_chunk::<5>() else {
        return;
    };
    let size = u32::from_be_bytes([s0, s1, s2, s3]);
    let mut exact = if ctrl & 1 != 0 {
        Decoder::with_max_table_size(size)
    } else {
        Decoder::new()
    };
    let mut mid = Decoder::new_mid_connection();
    mid.set_max_table_size_setting(exact.max_table_size_setting());
    // The exact decoder's output is the truth until its first error.
    let mut trusted = true;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len));
        rest = tail;
        match len {
            0xffff => {
                let Some((v, tail)) = rest.split_first_chunk::<4>() else {
                    return;
                };
                rest = tail;
                let v = u32::from_be_bytes(*v);
                exact.set_max_table_size_setting(v);
                mid.set_max_table_size_setting(v);
                continue;
            }
            0xfffe => {
                mid.lose_sync();
                continue;
            }
            _ => {}
        }
        let (block, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        a.clear();
        b.clear();
        let ra = exact.decode(block, &mut a);
        let rb = mid.decode(block, &mut b);
        within_limits(&a);
        within_limits(&b);
        table_within_max(&exact);
        table_within_max(&mid);
        if !trusted {
            continue;
        }
        if ra.is_err() {
            // Past an error the truth is unknown (a real encoder would have been in a state
            // the capture cannot show); the fields before it were still right.
            trusted = false;
        } else {
            assert!(
                !exact.is_partial(),
                "exact decoder became partial without an error"
            );
        }
        for (t, g) in a.iter().zip(&b) {
            agree(&t.name, &g.name, "name");
            agree(&t.value, &g.value, "value");
        }
        if ra.is_ok() {
            assert!(
                rb.is_ok() || b.len() <= a.len(),
                "mid-connection decoder produced more fields"
            );
            if rb.is_ok() {
                assert_eq!(a.len(), b.len(), "same block, different field counts");
            }
        }
    }
});
