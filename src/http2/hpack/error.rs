//! Errors of the HPACK layer. Each one means the header block is malformed (or exceeds a
//! limit of ours); the decoder reacts by distrusting its dynamic table (see `decoder.rs`).

/// Why a header block could not be decoded completely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    /// An integer (§5.1) whose value exceeds `u32::MAX`, or with more continuation octets
    /// than a `u32` needs.
    #[error("HPACK integer overflows 32 bits")]
    IntegerOverflow,
    /// The block ends inside an integer or a string literal.
    #[error("header block truncated inside a representation")]
    Truncated,
    /// Index 0 (§6.1), or an index beyond a dynamic table that is fully known (§2.3.3).
    #[error("HPACK index {0} is not in the table")]
    InvalidIndex(u32),
    /// A Huffman string (§5.2) with the EOS symbol, padding longer than 7 bits, or padding
    /// that is not the most significant bits of EOS (all ones).
    #[error("invalid Huffman-coded string")]
    InvalidHuffman,
    /// A dynamic table size update (§6.3) above the SETTINGS_HEADER_TABLE_SIZE limit (§4.2),
    /// or above [`HARD_MAX_TABLE_SIZE`](super::HARD_MAX_TABLE_SIZE).
    #[error("dynamic table size update to {requested} exceeds the limit {max}")]
    TableSizeUpdateTooLarge { requested: u32, max: u32 },
    /// A dynamic table size update after the first field of a block (§4.2).
    #[error("dynamic table size update after a header field")]
    TableSizeUpdateNotAtStart,
    /// The decoded header list (name + value + 32 per field, as RFC 9113 §6.5.2 counts it)
    /// would exceed the decoder's limit.
    #[error("decoded header list exceeds {limit} bytes")]
    HeaderListTooLarge { limit: usize },
    /// More fields in one block than the decoder's limit.
    #[error("header block has more than {limit} fields")]
    TooManyFields { limit: usize },
}
