//! HPACK header decompression (RFC 7541), built to survive captures that start in the middle
//! of a connection.
//!
//! # Layout
//! ```text
//! integer.rs       §5.1  prefixed integers (bounded to u32)
//! string.rs        §5.2  string literals (raw or Huffman)
//! huffman.rs       §5.2, Appendix B  the Huffman code, a 4-bit decoding state machine built at compile time
//! static_table.rs  Appendix A  the 61 static entries
//! table.rs         §4    the dynamic table, exact or with an unknown tail
//! decoder.rs       §6    header block decoding: representations, size updates, limits
//! field.rs         the decoded field (`Text`, `HeaderField`)
//! error.rs         `HpackError`
//! tests.rs         Appendix C.2-C.6, mid-connection, recovery, limits, never-panics
//! ```
//!
//! # Contract
//! - [`Decoder::decode`] takes one complete header block (HEADERS or PUSH_PROMISE fragment
//!   plus its CONTINUATIONs, concatenated by the caller) and appends the fields to a `Vec`.
//!   It does no I/O and knows nothing of frames or streams.
//! - Every byte is hostile: nothing panics, nothing is sliced without a checked length, and
//!   every allocation is bounded by the input (strings are at most 8/5 of their encoded
//!   length), by the table's hard maximum ([`HARD_MAX_TABLE_SIZE`]) or by the per-block
//!   limits ([`MAX_HEADER_LIST_SIZE`], [`MAX_FIELDS_PER_BLOCK`]).
//! - A decoder may join mid-connection ([`Decoder::new_mid_connection`]): the dynamic table
//!   is then the entries it has learned, newest first, followed by an unknown tail. A
//!   reference into the tail gives [`Text::Unknown`] with the wire index in
//!   [`HeaderField::unknown_index`], never a guessed value and never an error.
//! - After any error (and after [`Decoder::lose_sync`]) the table is no longer trusted: every
//!   entry it held becomes unknown, so a later reference can never decode to a wrong value.
//!   Entries inserted by later blocks are learned exactly again.
//!
//! The accounting rules that decide when a partial table is exact again are documented in
//! `table.rs` (see [`Decoder::is_partial`]).

mod decoder;
mod error;
mod field;
mod huffman;
mod integer;
mod static_table;
mod string;
mod table;
#[cfg(test)]
mod tests;

pub use decoder::{
    DEFAULT_TABLE_SIZE, Decoder, HARD_MAX_TABLE_SIZE, MAX_FIELDS_PER_BLOCK, MAX_HEADER_LIST_SIZE,
    TableEntry,
};
pub use error::HpackError;
pub use field::{HeaderField, Text};
