//! Header block decoding (RFC 7541 §3, §6): representations, size updates and limits.
//!
//! The first octet of each representation selects it (§6):
//! ```text
//! 1xxxxxxx  §6.1    Indexed Header Field                    (7-bit index)
//! 01xxxxxx  §6.2.1  Literal with Incremental Indexing       (6-bit name index, 0 = literal name)
//! 001xxxxx  §6.3    Dynamic Table Size Update               (5-bit max size)
//! 0001xxxx  §6.2.3  Literal Never Indexed                   (4-bit name index)
//! 0000xxxx  §6.2.2  Literal without Indexing                (4-bit name index)
//! ```
//!
//! # Contract
//! - `decode` takes a whole header block. Fields are appended to the caller's `Vec` as they
//!   are decoded, so on error the fields before the failing representation are kept.
//! - Any error makes the dynamic table untrusted: the rest of the block may have inserted
//!   entries we never saw, which shifts every index. The decoder then behaves as if it had
//!   joined mid-connection (see `table.rs`), and its table maximum is only bounded above.
//! - Limits (bounded memory whatever the input): the table's maximum size is capped at
//!   [`HARD_MAX_TABLE_SIZE`]; a block's decoded list (name + value + 32 per field, unknown
//!   texts counted as empty) at [`MAX_HEADER_LIST_SIZE`] (another bound with
//!   [`Decoder::set_max_header_list_size`]); its field count at [`MAX_FIELDS_PER_BLOCK`].
//!   The size of a field taken from a table entry is checked before the entry is copied.

use super::field::{HeaderField, Text};
use super::table::{DynamicTable, ENTRY_OVERHEAD, Lookup, to_usize};
use super::{HpackError, integer, static_table, string};

/// Hard cap on SETTINGS_HEADER_TABLE_SIZE (1 MiB): larger advertised values are treated as
/// this, so a hostile SETTINGS frame cannot make the table grow without bound. A size update
/// above it is [`HpackError::TableSizeUpdateTooLarge`].
pub const HARD_MAX_TABLE_SIZE: u32 = 1 << 20;

/// The SETTINGS_HEADER_TABLE_SIZE default and initial table size (RFC 7541 §4.2, RFC 9113
/// §6.5.2).
pub const DEFAULT_TABLE_SIZE: u32 = 4096;

/// Default and maximum decoded header list size per block, counted as RFC 9113 §6.5.2 does
/// (name + value + 32 per field): 1 MiB.
pub const MAX_HEADER_LIST_SIZE: usize = 1 << 20;

/// Maximum number of fields in one header block.
pub const MAX_FIELDS_PER_BLOCK: usize = 10_000;

/// Stateful HPACK decoder for one direction of one connection.
#[derive(Clone, Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// Counts how often the table became unknown: part of [`HeaderField::unknown_entry`].
    generation: u32,
    /// SETTINGS_HEADER_TABLE_SIZE as advertised by the decoding side, capped.
    setting: u32,
    max_header_list_size: usize,
    /// The most `setting` may be ([`set_table_size_cap`](Self::set_table_size_cap)).
    table_cap: u32,
}

/// A dynamic table entry, as reported by [`Decoder::dynamic_entries`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableEntry<'a> {
    pub name: &'a Text,
    pub value: &'a [u8],
    /// §4.1 size, or its lower bound (name counted as empty) when the name is unknown.
    pub size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder that saw the connection from its start: the dynamic table is empty and
    /// exact. Max table size 4096 (RFC 7541 default / SETTINGS_HEADER_TABLE_SIZE default).
    pub fn new() -> Self {
        Decoder::with_max_table_size(DEFAULT_TABLE_SIZE)
    }

    /// A decoder that saw the connection from its start, where the table's maximum size and
    /// the SETTINGS value were both `n` from the start (capped at [`HARD_MAX_TABLE_SIZE`]),
    /// as RFC 7541 Appendix C.5/C.6 assume with 256.
    pub fn with_max_table_size(n: u32) -> Self {
        let n = n.min(HARD_MAX_TABLE_SIZE);
        Decoder {
            table: DynamicTable::exact(n),
            generation: 0,
            setting: n,
            max_header_list_size: MAX_HEADER_LIST_SIZE,
            table_cap: HARD_MAX_TABLE_SIZE,
        }
    }

    /// A decoder joining mid-connection: the table holds an unknown number of unknown
    /// entries of unknown sizes. Its maximum size is taken to be at most the SETTINGS value,
    /// the default 4096 until [`set_max_table_size_setting`](Self::set_max_table_size_setting)
    /// says otherwise; if the capture may have missed a SETTINGS frame that raised it, pass
    /// the largest plausible value (under-stating it can produce a spurious `InvalidIndex`,
    /// never a wrong value).
    pub fn new_mid_connection() -> Self {
        Decoder {
            table: DynamicTable::unknown(DEFAULT_TABLE_SIZE),
            generation: 1,
            setting: DEFAULT_TABLE_SIZE,
            max_header_list_size: MAX_HEADER_LIST_SIZE,
            table_cap: HARD_MAX_TABLE_SIZE,
        }
    }

    /// The SETTINGS_HEADER_TABLE_SIZE that the decoding side advertised: the upper bound for
    /// table size updates (§4.2). Values above [`HARD_MAX_TABLE_SIZE`] are capped. Call it
    /// when the encoding side acknowledges the SETTINGS (RFC 9113 §6.5.3: the encoder applies
    /// the new limit from then on).
    ///
    /// The current table maximum only changes by a size update, which the encoder must send
    /// (§4.2). While the maximum is unknown (mid-connection, no size update seen yet) its
    /// upper bound follows this value.
    pub fn set_max_table_size_setting(&mut self, n: u32) {
        self.setting = n.min(self.table_cap);
        self.table.set_max_bound(self.setting);
    }

    /// Sets the cap on the table's maximum size ([`HARD_MAX_TABLE_SIZE`] by default): SETTINGS
    /// values above it are capped and size updates above it are errors. The caller bounds
    /// it: h2scope passes its `--max-hpack-table-size`, for peers that really use more.
    pub fn set_table_size_cap(&mut self, n: u32) {
        self.table_cap = n;
        self.setting = self.setting.min(n);
        self.table.set_max_bound(self.setting);
    }

    /// Sets the per-block decoded header list limit ([`MAX_HEADER_LIST_SIZE`] by default).
    /// The caller bounds it: h2scope passes its `--max-header-block`, so a user who raises
    /// that bound for a large block can also decode it.
    pub fn set_max_header_list_size(&mut self, n: usize) {
        self.max_header_list_size = n;
    }

    /// Called when a header block was lost (e.g. a TCP gap that may have held one): same
    /// effect as an error (existing entries become unknown).
    pub fn lose_sync(&mut self) {
        // The lost block may have carried a size update (bounded by the setting), or not
        // (the maximum stays what it was).
        let bound = self.table.max_size().max(self.setting);
        self.table.lose_sync(bound);
        self.generation = self.generation.wrapping_add(1);
    }

    /// True while some table entries are unknown: the table may hold entries from before
    /// the capture (or the loss of sync), or a learned entry's name came from one.
    pub fn is_partial(&self) -> bool {
        self.table.is_partial()
    }

    /// True while entries from before the capture (or the loss of sync) may follow the
    /// learned ones: an index beyond them then decodes as unknown instead of failing.
    pub fn has_unknown_tail(&self) -> bool {
        self.table.has_unknown_tail()
    }

    /// Sum of the sizes (§4.1) of the entries this decoder knows of; entries whose name is
    /// unknown count it as empty, so this is a lower bound while [`is_partial`](Self::is_partial).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// Number of entries this decoder knows of (the learned part of the table).
    pub fn entry_count(&self) -> usize {
        self.table.len()
    }

    /// The table's maximum size (§4.2): exact when [`max_table_size_known`](Self::max_table_size_known),
    /// otherwise an upper bound.
    pub fn max_table_size(&self) -> u32 {
        self.table.max_size()
    }

    /// Whether [`max_table_size`](Self::max_table_size) is exact.
    pub fn max_table_size_known(&self) -> bool {
        self.table.max_known()
    }

    /// The SETTINGS_HEADER_TABLE_SIZE in force (capped).
    pub fn max_table_size_setting(&self) -> u32 {
        self.setting
    }

    /// The learned entries, newest (wire index 62) first.
    pub fn dynamic_entries(&self) -> impl Iterator<Item = TableEntry<'_>> {
        self.table.entries().map(|e| TableEntry {
            name: &e.name,
            value: &e.value,
            size: e.size(),
        })
    }

    /// Decodes one complete header block (HEADERS/PUSH_PROMISE fragment + CONTINUATIONs,
    /// already concatenated by the caller), appending fields to `out`.
    ///
    /// On error: fields decoded before the error are kept in `out`, the error is returned,
    /// and the dynamic table is no longer trusted: the decoder switches to mid-connection
    /// mode (all current entries become unknown) so that later references never silently
    /// decode to a wrong value. Entries inserted by later blocks are learned exactly again.
    pub fn decode(&mut self, block: &[u8], out: &mut Vec<HeaderField>) -> Result<(), HpackError> {
        let result = self.decode_block(block, out);
        if result.is_err() {
            self.lose_sync();
        }
        result
    }

    fn decode_block(&mut self, block: &[u8], out: &mut Vec<HeaderField>) -> Result<(), HpackError> {
        let mut input = block;
        let mut budget = Budget {
            list_limit: self.max_header_list_size,
            list_left: self.max_header_list_size,
            fields_left: MAX_FIELDS_PER_BLOCK,
        };
        let mut at_start = true;
        while let Some((&first, rest)) = input.split_first() {
            input = rest;
            if first & 0x80 != 0 {
                // §6.1 Indexed Header Field.
                let index = integer::decode(first, 7, &mut input)?;
                let field = self.indexed(index, &mut budget)?;
                out.push(field);
            } else if first & 0x40 != 0 {
                // §6.2.1 Literal Header Field with Incremental Indexing.
                let field = self.literal(first, 6, false, &mut input, &mut budget)?;
                // "appended to the decoded header list and inserted as a new entry into the
                // dynamic table"
                let value = field.value.as_known().unwrap_or_default().to_vec();
                self.table.insert(field.name.clone(), value);
                out.push(field);
            } else if first & 0x20 != 0 {
                // §6.3 Dynamic Table Size Update. §4.2: "This dynamic table size update MUST
                // occur at the beginning of the first header block following the change".
                if !at_start {
                    return Err(HpackError::TableSizeUpdateNotAtStart);
                }
                let n = integer::decode(first, 5, &mut input)?;
                // §6.3: "The new maximum size MUST be lower than or equal to the limit
                // determined by the protocol using HPACK" (SETTINGS_HEADER_TABLE_SIZE).
                if n > self.setting {
                    return Err(HpackError::TableSizeUpdateTooLarge {
                        requested: n,
                        max: self.setting,
                    });
                }
                self.table.set_max_size(n);
                continue;
            } else {
                // §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
                let never_indexed = first & 0x10 != 0;
                let field = self.literal(first, 4, never_indexed, &mut input, &mut budget)?;
                out.push(field);
            }
            at_start = false;
        }
        Ok(())
    }

    /// §6.1: a whole field from the static or dynamic table. Does not change the table.
    fn indexed(&self, index: u32, budget: &mut Budget) -> Result<HeaderField, HpackError> {
        let field = match self.lookup(index)? {
            Found::Static(name, value) => {
                budget.take(name.len(), value.len())?;
                HeaderField {
                    name: Text::from(name),
                    value: Text::from(value),
                    never_indexed: false,
                    unknown_index: None,
                    unknown_entry: None,
                }
            }
            Found::Dynamic(name, value) => {
                budget.take(name.known_len(), value.len())?;
                HeaderField {
                    unknown_index: name.is_unknown().then_some(index),
                    unknown_entry: None,
                    name: name.clone(),
                    value: Text::from(value),
                    never_indexed: false,
                }
            }
            Found::Unknown => {
                budget.take(0, 0)?;
                HeaderField {
                    name: Text::Unknown,
                    value: Text::Unknown,
                    never_indexed: false,
                    unknown_index: Some(index),
                    unknown_entry: self.unknown_entry(index),
                }
            }
        };
        Ok(field)
    }

    /// §6.2: a literal value with an indexed (index != 0) or literal (index == 0) name.
    fn literal(
        &self,
        first: u8,
        prefix_bits: u8,
        never_indexed: bool,
        input: &mut &[u8],
        budget: &mut Budget,
    ) -> Result<HeaderField, HpackError> {
        let index = integer::decode(first, prefix_bits, input)?;
        let name = if index == 0 {
            Name::Literal(string::read(input)?)
        } else {
            Name::Table(self.lookup(index)?)
        };
        let value = string::read(input)?;
        let name_len = match &name {
            Name::Literal(n) => n.len(),
            Name::Table(Found::Static(n, _)) => n.len(),
            Name::Table(Found::Dynamic(n, _)) => n.known_len(),
            Name::Table(Found::Unknown) => 0,
        };
        // Before a table name is copied.
        budget.take(name_len, value.len())?;
        let (name, unknown_index, unknown_entry) = match name {
            Name::Literal(n) => (Text::Known(n), None, None),
            Name::Table(Found::Static(n, _)) => (Text::from(n), None, None),
            Name::Table(Found::Dynamic(n, _)) => (n.clone(), n.is_unknown().then_some(index), None),
            Name::Table(Found::Unknown) => (Text::Unknown, Some(index), self.unknown_entry(index)),
        };
        Ok(HeaderField {
            name,
            value: Text::Known(value),
            never_indexed,
            unknown_index,
            unknown_entry,
        })
    }

    /// The stable identity of the unknown entry at wire `index`: its place in the unknown
    /// tail (which only ever loses entries at its old end, so places never shift) and the
    /// table's generation.
    fn unknown_entry(&self, index: u32) -> Option<u64> {
        let pos = (index as usize).checked_sub(62 + self.table.len())?;
        Some(u64::from(self.generation) << 32 | (pos as u64 & 0xffff_ffff))
    }

    /// §2.3.3 index address space: 1..=61 static, 62.. dynamic (newest first).
    fn lookup(&self, index: u32) -> Result<Found<'_>, HpackError> {
        // §6.1: "The index value of 0 is not used. It MUST be treated as a decoding error".
        if index == 0 {
            return Err(HpackError::InvalidIndex(0));
        }
        if let Some((name, value)) = static_table::get(index) {
            return Ok(Found::Static(name, value));
        }
        let i = index
            .checked_sub(static_table::LEN + 1)
            .ok_or(HpackError::InvalidIndex(index))?;
        let i = to_usize(i);
        match self.table.get(i) {
            Lookup::Entry(e) => Ok(Found::Dynamic(&e.name, &e.value)),
            Lookup::Unknown => Ok(Found::Unknown),
            // §2.3.3: "Indices strictly greater than the sum of the lengths of both tables
            // MUST be treated as a decoding error."
            Lookup::Invalid => Err(HpackError::InvalidIndex(index)),
        }
    }
}

/// The name of a literal representation (§6.2): a string, or a table reference.
enum Name<'a> {
    Literal(Vec<u8>),
    Table(Found<'a>),
}

/// What a table index refers to.
enum Found<'a> {
    Static(&'static [u8], &'static [u8]),
    Dynamic(&'a Text, &'a [u8]),
    Unknown,
}

/// What is left of a block's limits.
struct Budget {
    list_limit: usize,
    list_left: usize,
    fields_left: usize,
}

impl Budget {
    /// Accounts one field before its bytes are copied.
    fn take(&mut self, name_len: usize, value_len: usize) -> Result<(), HpackError> {
        let size = name_len
            .saturating_add(value_len)
            .saturating_add(ENTRY_OVERHEAD);
        self.fields_left = self
            .fields_left
            .checked_sub(1)
            .ok_or(HpackError::TooManyFields {
                limit: MAX_FIELDS_PER_BLOCK,
            })?;
        self.list_left =
            self.list_left
                .checked_sub(size)
                .ok_or(HpackError::HeaderListTooLarge {
                    limit: self.list_limit,
                })?;
        Ok(())
    }
}
