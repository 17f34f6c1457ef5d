//! The dynamic table (RFC 7541 §2.3.2, §4), exact or partial.
//!
//! # Model
//! ```text
//!   wire index:   62        63        ...   61+len   | 62+len ...
//!                 [ learned entries, newest first  ]  [ unknown tail ]
//! ```
//! A decoder that saw the connection from its start has no tail: the table is exact. A
//! decoder that joined mid-connection, or lost sync, has an unknown tail of an unknown
//! number of entries of unknown sizes (each at least 32 bytes: §4.1 "the sum of the length
//! of its name, the length of its value, and 32"). Entries it learns are inserted at the
//! front, so their wire indices are exact whatever the tail holds.
//!
//! A learned entry can itself be partly unknown: a literal with incremental indexing whose
//! name is a reference into the tail (or to another entry with an unknown name) inserts an
//! entry with a known value and an unknown name. (A value is always a literal when an entry
//! is inserted, so it is always known.) Its size is then only bounded below, by
//! `value + 32` (the name counted as empty).
//!
//! # Accounting: only certain conclusions
//! `size_lo` is the sum of the lower bounds of the learned entries' sizes. `max_size` is the
//! table's maximum size when `max_known`, or an upper bound of it otherwise (the SETTINGS
//! value, when the decoder joined without seeing a size update). With `M` = `max_size`:
//!
//! - Insert (§4.4) of an entry whose size is at least `e`:
//!   - `e > M`: the entry is larger than the table can be: "an attempt to add an entry
//!     larger than the maximum size causes the table to be emptied of all existing entries"
//!     and the entry is not added. The table is exact and empty.
//!   - `size_lo + e + 32 > M`: not even one more entry (32 bytes at least) fits behind the
//!     learned ones and the new one, so the tail is certainly evicted: it becomes empty.
//!   - Learned entries are evicted from the oldest while `size_lo + e > M`: each one evicted
//!     is certainly evicted (the newer entries alone overflow the table).
//! - Size update to `n` (§4.3, §6.3): the maximum becomes known (`n`); the tail is dropped if
//!   `size_lo + 32 > n` (so an update to 0 empties everything), then learned entries are
//!   evicted from the oldest while `size_lo > n`.
//!
//! Entries whose eviction is uncertain (an unknown name of unknown length, or a maximum only
//! bounded above) are kept. That is safe: the real table is always a newest-first prefix of
//! the learned list (followed by the tail only when every learned entry is still there), so
//! every index a conforming encoder uses maps to the entry we hold at that position. Keeping
//! an entry that was in fact evicted can only matter to an index no conforming encoder
//! sends. The opposite mistake, concluding eviction too early (if the caller under-states
//! the SETTINGS value), drops entries that are still referenced: the reference is then
//! Unknown, or InvalidIndex if the tail was concluded empty, and InvalidIndex makes the
//! decoder partial again. Neither case yields a wrong value.

use super::field::Text;
use std::collections::VecDeque;

/// §4.1: "The size of an entry is the sum of its name's length in octets, its value's length
/// in octets, and 32."
pub(super) const ENTRY_OVERHEAD: usize = 32;

/// A learned entry. The value is always known (it was a literal when inserted).
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) name: Text,
    pub(super) value: Vec<u8>,
    /// Exact size when the name is known; a lower bound (name counted as empty) otherwise.
    size_lo: usize,
}

impl Entry {
    fn new(name: Text, value: Vec<u8>) -> Self {
        let size_lo = name
            .known_len()
            .saturating_add(value.len())
            .saturating_add(ENTRY_OVERHEAD);
        Entry {
            name,
            value,
            size_lo,
        }
    }

    /// The entry's size (§4.1), or its lower bound when the name is unknown.
    pub(super) fn size(&self) -> usize {
        self.size_lo
    }
}

/// What a dynamic index refers to.
pub(super) enum Lookup<'a> {
    /// A learned entry.
    Entry(&'a Entry),
    /// Beyond the learned entries while the tail may be non-empty.
    Unknown,
    /// Beyond every entry the table can hold.
    Invalid,
}

#[derive(Clone, Debug)]
pub(super) struct DynamicTable {
    /// Newest first: `entries[0]` is wire index 62.
    entries: VecDeque<Entry>,
    /// Sum of `Entry::size` over `entries`.
    size_lo: usize,
    /// The maximum size when `max_known`, an upper bound of it otherwise.
    max_size: u32,
    max_known: bool,
    /// An unknown number (possibly zero) of unknown entries may follow `entries`.
    unknown_tail: bool,
}

impl DynamicTable {
    /// An empty table whose maximum size is known: a connection seen from its start.
    pub(super) fn exact(max_size: u32) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size_lo: 0,
            max_size,
            max_known: true,
            unknown_tail: false,
        }
    }

    /// A table of unknown content, its maximum size at most `max_bound`. (Below 32 bytes no
    /// entry fits: the table is then known to be empty.)
    pub(super) fn unknown(max_bound: u32) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size_lo: 0,
            max_size: max_bound,
            max_known: false,
            unknown_tail: to_usize(max_bound) >= ENTRY_OVERHEAD,
        }
    }

    /// Forgets everything: the table becomes an unknown tail whose maximum is at most
    /// `max_bound`.
    pub(super) fn lose_sync(&mut self, max_bound: u32) {
        *self = DynamicTable::unknown(max_bound);
    }

    /// Entry at `i` (0 = newest, wire index 62).
    pub(super) fn get(&self, i: usize) -> Lookup<'_> {
        match self.entries.get(i) {
            Some(e) => Lookup::Entry(e),
            None if self.unknown_tail => Lookup::Unknown,
            None => Lookup::Invalid,
        }
    }

    /// §4.4 entry addition with eviction, under the rules in the module doc.
    pub(super) fn insert(&mut self, name: Text, value: Vec<u8>) {
        let entry = Entry::new(name, value);
        let e = entry.size();
        let max = to_usize(self.max_size);
        if e > max {
            self.clear();
            self.unknown_tail = false;
            return;
        }
        if self
            .size_lo
            .saturating_add(e)
            .saturating_add(ENTRY_OVERHEAD)
            > max
        {
            self.unknown_tail = false;
        }
        self.evict_to(max - e);
        self.size_lo = self.size_lo.saturating_add(e);
        self.entries.push_front(entry);
    }

    /// §6.3 dynamic table size update (the caller has checked it against the SETTINGS limit).
    pub(super) fn set_max_size(&mut self, n: u32) {
        self.max_size = n;
        self.max_known = true;
        let max = to_usize(n);
        if self.size_lo.saturating_add(ENTRY_OVERHEAD) > max {
            self.unknown_tail = false;
        }
        self.evict_to(max);
    }

    /// While the maximum is unknown, its bound follows the SETTINGS value.
    pub(super) fn set_max_bound(&mut self, bound: u32) {
        if !self.max_known {
            self.max_size = bound;
            let max = to_usize(bound);
            if self.size_lo.saturating_add(ENTRY_OVERHEAD) > max {
                self.unknown_tail = false;
            }
            self.evict_to(max);
        }
    }

    /// Evicts learned entries from the oldest until their (lower-bound) size is `<= max`.
    /// Any eviction also proves the tail (older still) gone.
    fn evict_to(&mut self, max: usize) {
        while self.size_lo > max {
            match self.entries.pop_back() {
                Some(old) => {
                    self.size_lo = self.size_lo.saturating_sub(old.size());
                    self.unknown_tail = false;
                }
                None => {
                    self.size_lo = 0;
                    break;
                }
            }
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.size_lo = 0;
    }

    /// Some entries are unknown: the tail may be non-empty, or a learned name is unknown.
    pub(super) fn is_partial(&self) -> bool {
        self.unknown_tail || self.entries.iter().any(|e| e.name.is_unknown())
    }

    pub(super) fn has_unknown_tail(&self) -> bool {
        self.unknown_tail
    }

    pub(super) fn size(&self) -> usize {
        self.size_lo
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn max_size(&self) -> u32 {
        self.max_size
    }

    pub(super) fn max_known(&self) -> bool {
        self.max_known
    }

    pub(super) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}

pub(super) fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(s: &str) -> Text {
        Text::Known(s.as_bytes().to_vec())
    }

    fn names(t: &DynamicTable) -> Vec<String> {
        t.entries()
            .map(|e| match &e.name {
                Text::Known(n) => String::from_utf8_lossy(n).into_owned(),
                Text::Unknown => "?".into(),
            })
            .collect()
    }

    #[test]
    fn exact_eviction_follows_section_4_4() {
        let mut t = DynamicTable::exact(100);
        t.insert(known("a"), b"1".to_vec()); // 34
        t.insert(known("b"), b"2".to_vec()); // 34, total 68
        assert_eq!((t.len(), t.size()), (2, 68));
        t.insert(known("c"), vec![b'x'; 31]); // 64: evicts "a" then fits 34 + 64 = 98
        assert_eq!(names(&t), ["c", "b"]);
        assert_eq!(t.size(), 98);
        // Exactly the maximum fits.
        let mut t = DynamicTable::exact(100);
        t.insert(known("a"), vec![b'x'; 67]);
        assert_eq!((t.len(), t.size()), (1, 100));
        // Larger than the maximum: the table is emptied, the entry not added.
        t.insert(known("a"), vec![b'x'; 68]);
        assert_eq!((t.len(), t.size()), (0, 0));
        assert!(!t.is_partial());
    }

    #[test]
    fn tail_is_dropped_only_when_certain() {
        let mut t = DynamicTable::unknown(100);
        t.insert(known("a"), vec![b'x'; 35]); // 68: 68 + 32 = 100 still fits one more
        assert!(t.is_partial());
        assert!(matches!(t.get(1), Lookup::Unknown));
        let mut t = DynamicTable::unknown(100);
        t.insert(known("a"), vec![b'x'; 36]); // 69: 69 + 32 > 100
        assert!(!t.is_partial());
        assert!(matches!(t.get(1), Lookup::Invalid));
        assert!(matches!(t.get(0), Lookup::Entry(_)));
    }

    #[test]
    fn unknown_names_count_as_empty() {
        let mut t = DynamicTable::unknown(200);
        t.set_max_size(200);
        t.insert(Text::Unknown, vec![b'v'; 100]); // >= 132
        assert!(t.has_unknown_tail());
        t.insert(known("k"), vec![b'x'; 27]); // 60: 192 + 32 > 200: tail gone
        assert!(!t.has_unknown_tail());
        // The unknown-named entry may or may not have been evicted: it is kept.
        assert_eq!(names(&t), ["k", "?"]);
        assert!(t.is_partial());
        t.insert(known("l"), vec![b'x'; 27]); // 60 + 60 + 132 > 200: certainly evicted
        assert_eq!(names(&t), ["l", "k"]);
        assert!(!t.is_partial());
    }

    #[test]
    fn size_update_to_zero_makes_the_table_exact_and_empty() {
        let mut t = DynamicTable::unknown(4096);
        t.insert(known("a"), b"1".to_vec());
        t.set_max_size(0);
        assert_eq!((t.len(), t.size()), (0, 0));
        assert!(!t.is_partial());
        assert!(matches!(t.get(0), Lookup::Invalid));
    }

    #[test]
    fn size_update_keeps_the_tail_while_one_entry_could_fit() {
        let mut t = DynamicTable::unknown(4096);
        t.set_max_size(32);
        assert!(t.is_partial());
        t.set_max_size(31);
        assert!(!t.is_partial());
    }
}
