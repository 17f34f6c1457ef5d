//! The one JSON writer: compact text into a byte buffer, byte for byte what
//! `serde_json::to_writer` writes, faster (the export's records and the messages decoded to
//! JSON text), and the same laid out as `serde_json::to_writer_pretty` lays it out
//! (`--pretty`, [`to_vec_pretty`]). One difference from serde_json, meant: strings are
//! written by [`crate::text::write_json`], which escapes the text policy's characters (DEL,
//! C1 controls, bidi and invisible formatting) that serde_json writes as they are, so the
//! text is inert on a terminal as it is made, whatever it is written to.
//!
//! Nearly half of an export's output is string contents (header names and values, paths,
//! decoded messages), and serde_json checks them one byte at a time; `text` checks eight
//! bytes at a time and copies clean runs whole. Numbers go through the same `itoa` and
//! `zmij` that serde_json uses, so the text is identical (tests hold it to serde_json on
//! every fixture's records and on hostile strings, compact and pretty). Writing into a
//! `Vec` cannot fail, so the only errors are the ones serde itself asks for (a map key that
//! is not a string).
//!
//! `--pretty` went through serde_json and a filter over its output escaping what it left raw
//! (`TerminalSafe`); one writer for both layouts keeps one escaping policy by construction,
//! and needs no filter holding back UTF-8 sequences split between writes.

use crate::text::write_json;
use serde::ser::{self, Serialize};
use std::fmt;
use std::io::{self, Write};

/// Appends `value` as compact JSON to `out`.
pub fn to_vec<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer::<false> { out, level: 0 })
}

/// Appends `value` as pretty JSON to `out`, laid out as serde_json's `to_writer_pretty`
/// lays it out (two spaces a level, `": "` after keys, `[]` and `{}` when empty).
pub fn to_vec_pretty<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    write_at(out, value, true, 0)
}

/// `value`, compact or pretty, as if `level` levels deep in a pretty document.
fn write_at<T: ?Sized + Serialize>(
    out: &mut Vec<u8>,
    value: &T,
    pretty: bool,
    level: usize,
) -> Result<(), Error> {
    if pretty {
        value.serialize(&mut Writer::<true> { out, level })
    } else {
        value.serialize(&mut Writer::<false> { out, level })
    }
}

/// A JSON object written to an `io::Write` member by member, an array member item by item,
/// in either layout: a document's text is never held whole (a pretty document of a large
/// capture runs to gigabytes), only up to 64 KiB of it at a time.
pub struct ObjectWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    pretty: bool,
    first: bool,
}

impl<W: Write> ObjectWriter<W> {
    const FLUSH_AT: usize = 1 << 16;

    /// Starts the object (`{`).
    pub fn new(out: W, pretty: bool) -> Self {
        let mut buf = Vec::with_capacity(Self::FLUSH_AT + 4096);
        buf.push(b'{');
        ObjectWriter {
            out,
            buf,
            pretty,
            first: true,
        }
    }

    /// Pretty: a new line `level` levels deep.
    fn newline(&mut self, level: usize) {
        if self.pretty {
            self.buf.push(b'\n');
            for _ in 0..level {
                self.buf.extend_from_slice(b"  ");
            }
        }
    }

    fn key(&mut self, key: &str) {
        if !std::mem::take(&mut self.first) {
            self.buf.push(b',');
        }
        self.newline(1);
        write_json(&mut self.buf, key);
        self.buf
            .extend_from_slice(if self.pretty { b": " } else { b":" });
    }

    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= Self::FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// A member whose value is written whole.
    pub fn member<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key);
        write_at(&mut self.buf, value, self.pretty, 1).map_err(io::Error::other)?;
        self.flush_if_full()
    }

    /// A member whose value is an array, written item by item.
    pub fn array<T: Serialize>(&mut self, key: &str, items: &[T]) -> io::Result<()> {
        self.key(key);
        self.buf.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.newline(2);
            write_at(&mut self.buf, item, self.pretty, 2).map_err(io::Error::other)?;
            self.flush_if_full()?;
        }
        if !items.is_empty() {
            self.newline(1);
        }
        self.buf.push(b']');
        self.flush_if_full()
    }

    /// Closes the object (`}`), writes what is left, and gives the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.first {
            self.newline(0);
        }
        self.buf.push(b'}');
        self.out.write_all(&self.buf)?;
        Ok(self.out)
    }
}

/// Why a value could not be written (a serde custom error, or a map key that is no string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

/// An integer, as the writer writes it (for records written by hand).
pub fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A float, as the writer (and serde_json) writes it: `null` when not finite.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The ten integer methods of a serializer, each calling `self.$write(v)`.
macro_rules! integers {
    ($write:ident) => {
        integers!($write: serialize_i8 i8, serialize_i16 i16, serialize_i32 i32,
            serialize_i64 i64, serialize_i128 i128, serialize_u8 u8, serialize_u16 u16,
            serialize_u32 u32, serialize_u64 u64, serialize_u128 u128);
    };
    ($write:ident: $($method:ident $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.$write(v)
        }
    )*};
}

/// The serializer. `PRETTY` lays the text out as serde_json's `to_writer_pretty` does (two
/// spaces a level); a const parameter, so the compact writer, which every record of every
/// export goes through, carries no layout branch.
struct Writer<'a, const PRETTY: bool> {
    out: &'a mut Vec<u8>,
    /// Pretty: how many levels deep the next line is indented.
    level: usize,
}

impl<const PRETTY: bool> Writer<'_, PRETTY> {
    fn int<I: itoa::Integer>(&mut self, v: I) {
        write_int(self.out, v);
    }

    fn int_value<I: itoa::Integer>(&mut self, v: I) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }

    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    /// `[` or `{`, one level deeper.
    fn open(&mut self, c: u8) {
        self.out.push(c);
        if PRETTY {
            self.level += 1;
        }
    }

    /// Pretty: a new line at the current level.
    fn newline(&mut self) {
        if PRETTY {
            self.out.push(b'\n');
            for _ in 0..self.level {
                self.out.extend_from_slice(b"  ");
            }
        }
    }

    /// Between a key and its value.
    fn colon(&mut self) {
        self.out
            .extend_from_slice(if PRETTY { b": " } else { b":" });
    }

    /// `{"variant":` of an enum variant written as a one-member object.
    fn open_variant(&mut self, variant: &'static str) {
        self.open(b'{');
        self.newline();
        write_json(self.out, variant);
        self.colon();
    }

    /// The `}` of [`open_variant`](Self::open_variant).
    fn close_variant(&mut self) {
        if PRETTY {
            self.level -= 1;
        }
        self.newline();
        self.out.push(b'}');
    }
}

/// An object or array being written; `first` says whether a comma comes before the next item.
pub struct Compound<'w, 'a, const PRETTY: bool> {
    w: &'w mut Writer<'a, PRETTY>,
    first: bool,
    /// The closing byte: `]` or `}`.
    close: u8,
    /// Inside an enum variant's object, closed after it.
    variant: bool,
}

impl<const PRETTY: bool> Compound<'_, '_, PRETTY> {
    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.w.out.push(b',');
        }
        self.w.newline();
    }

    /// A struct field's key: a Rust identifier or one of our renames, never anything to
    /// escape, so copied as it is (this runs for every field of every record).
    fn key(&mut self, key: &'static str) {
        debug_assert!(
            {
                let mut quoted = Vec::new();
                write_json(&mut quoted, key);
                quoted.len() == key.len() + 2
            },
            "{key:?} needs escaping"
        );
        self.comma();
        self.w.out.push(b'"');
        self.w.out.extend_from_slice(key.as_bytes());
        self.w.out.push(b'"');
        self.w.colon();
    }

    fn end(self) {
        if PRETTY {
            self.w.level -= 1;
            if !self.first {
                self.w.newline();
            }
        }
        self.w.out.push(self.close);
        if self.variant {
            self.w.close_variant();
        }
    }
}

impl<'w, 'a, const PRETTY: bool> ser::Serializer for &'w mut Writer<'a, PRETTY> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a, PRETTY>;
    type SerializeTuple = Compound<'w, 'a, PRETTY>;
    type SerializeTupleStruct = Compound<'w, 'a, PRETTY>;
    type SerializeTupleVariant = Compound<'w, 'a, PRETTY>;
    type SerializeMap = Compound<'w, 'a, PRETTY>;
    type SerializeStruct = Compound<'w, 'a, PRETTY>;
    type SerializeStructVariant = Compound<'w, 'a, PRETTY>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(int_value);
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.null();
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_json(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_json(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // As serde_json: an array of numbers.
        let mut seq = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.null();
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.null();
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.null();
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_json(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.close_variant();
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.open(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close: b']',
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.open_variant(variant);
        self.open(b'[');
        Ok(Compound {
            w: self,
            first: true,
            close: b']',
            variant: true,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.open(b'{');
        Ok(Compound {
            w: self,
            first: true,
            close: b'}',
            variant: false,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a, PRETTY>, Error> {
        self.open_variant(variant);
        self.open(b'{');
        Ok(Compound {
            w: self,
            first: true,
            close: b'}',
            variant: true,
        })
    }
}

impl<const PRETTY: bool> ser::SerializeSeq for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// Tuples, tuple structs and tuple variants are written as sequences.
macro_rules! as_seq {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<const PRETTY: bool> ser::$trait for Compound<'_, '_, PRETTY> {
            type Ok = ();
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self);
                Ok(())
            }
        }
    )*};
}

as_seq!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<const PRETTY: bool> ser::SerializeMap for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(KeyWriter { out: self.w.out })?;
        self.w.colon();
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl<const PRETTY: bool> ser::SerializeStruct for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(key);
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl<const PRETTY: bool> ser::SerializeStructVariant for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// A map key: strings as they are; integers, booleans and characters quoted, as serde_json
/// writes them; anything else is an error, as in serde_json.
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl KeyWriter<'_> {
    fn quoted<I: itoa::Integer>(self, v: I) -> Result<(), Error> {
        self.out.push(b'"');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_json(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_json(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }
    integers!(quoted);
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_json(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// What serde_json writes for `v`, made inert: what this writer writes.
    fn serde<T: Serialize + ?Sized>(v: &T) -> String {
        crate::export::serde_json_inert(v).unwrap()
    }

    /// The same, laid out.
    fn serde_pretty<T: Serialize + ?Sized>(v: &T) -> String {
        crate::export::serde_json_inert_pretty(v).unwrap()
    }

    #[test]
    fn text_is_written_as_serde_json_writes_its_string() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain".to_vec(),
            b"exactly8".to_vec(),
            b"sixteen bytes!!!".to_vec(),
            "caf\u{e9}".as_bytes().to_vec(),
            "\u{80}\u{9b}\u{9f}\u{a0}\u{bf}\u{85}x".as_bytes().to_vec(),
            "sixteen bytes \u{9b}!".as_bytes().to_vec(),
            "sixteen bytes \u{202e}! and \u{2013} \u{feff}\u{61c}"
                .as_bytes()
                .to_vec(),
            b"\xff".to_vec(),
            b"abcdefg\xc3".to_vec(),
        ];
        // Each byte that matters, at every place of a word and of the padded tail.
        for bad in [
            0u8, 0x1f, b'"', b'\\', 0x7f, 0x80, 0xc2, 0xc3, 0xd8, 0xe2, 0xef, 0xff,
        ] {
            for len in 1..20 {
                for at in 0..len {
                    let mut v = vec![b'a'; len];
                    v[at] = bad;
                    cases.push(v);
                }
            }
        }
        for bytes in cases {
            let mut out = b"x".to_vec();
            let wrote = crate::text::write_json_utf8(&mut out, &bytes);
            match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    assert!(wrote, "{bytes:?}");
                    assert_eq!(out[1..], *serde(text).as_bytes());
                }
                Err(_) => assert!(!wrote && out == b"x", "{bytes:?}"),
            }
        }
    }

    fn ours<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        to_vec(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn ours_pretty<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        to_vec_pretty(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let v = json!({
            "s": "plain \"quoted\" back\\slash \u{0} \u{1f} \t\n\r\u{8}\u{c} é € 😀 \u{7f}\u{85} \u{202e}",
            "n": [0, -1, 18446744073709551615u64, -9223372036854775808i64, 1.5, -0.0, 1e300,
                  2.2250738585072014e-308, 0.1, 1795321478.420048],
            "b": [true, false, null],
            "nested": {"": {}, "a": [], "k": [{"x": 1}, [[]], {"y": {"z": []}}]},
        });
        assert_eq!(ours(&v), serde(&v));
        assert_eq!(ours_pretty(&v), serde_pretty(&v));
        assert_eq!(ours(&f64::NAN), "null");
        assert_eq!(ours(&f64::INFINITY), "null");
        let mut m = std::collections::BTreeMap::new();
        m.insert(7u32, 'c');
        m.insert(9u32, '"');
        assert_eq!(ours(&m), serde(&m));
        assert_eq!(ours_pretty(&m), serde_pretty(&m));
        assert_eq!(ours(&b"ab"[..].to_vec()), serde(b"ab"));
        let mut bad = std::collections::BTreeMap::new();
        bad.insert(vec![1u8], 1);
        assert!(to_vec(&mut Vec::new(), &bad).is_err());
    }

    /// `serialize_bytes` (no type of ours calls it) is an array of numbers, in both layouts.
    #[test]
    fn bytes_are_an_array_of_numbers_as_in_serde_json() {
        struct B(&'static [u8]);
        impl Serialize for B {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        for b in [B(b""), B(b"\x01\xff")] {
            assert_eq!(ours(&b), serde(&b));
            assert_eq!(ours_pretty(&b), serde_pretty(&b));
        }
    }

    #[derive(serde::Serialize)]
    enum Shapes {
        Unit,
        New(u8),
        Tuple(u8, String),
        Record { a: Option<u8>, b: f32 },
        Empty {},
        NoItems(Vec<u8>),
    }

    #[derive(serde::Serialize)]
    struct Flat {
        kind: &'static str,
        #[serde(flatten)]
        shape: std::collections::BTreeMap<String, Shapes>,
    }

    #[test]
    fn enums_and_structs_match_serde_json() {
        let all = || {
            vec![
                Shapes::Unit,
                Shapes::New(3),
                Shapes::Tuple(1, "x\"".into()),
                Shapes::Record { a: None, b: 0.25 },
                Shapes::Empty {},
                Shapes::NoItems(vec![]),
            ]
        };
        for v in all() {
            assert_eq!(ours(&v), serde(&v));
            assert_eq!(ours_pretty(&v), serde_pretty(&v));
        }
        let v = all();
        assert_eq!(ours_pretty(&v), serde_pretty(&v));
        let flat = Flat {
            kind: "k",
            shape: all()
                .into_iter()
                .enumerate()
                .map(|(i, s)| (i.to_string(), s))
                .collect(),
        };
        assert_eq!(ours(&flat), serde(&flat));
        assert_eq!(ours_pretty(&flat), serde_pretty(&flat));
    }

    #[test]
    fn an_object_written_piece_by_piece_is_the_object_written_whole() {
        #[derive(serde::Serialize)]
        struct Doc {
            streams: Vec<serde_json::Value>,
            connections: Vec<u8>,
            backends: Vec<u8>,
            capture: serde_json::Value,
        }
        let big = "\u{202e}x".repeat(20_000);
        for streams in [vec![], vec![json!({"a": [1, {}]}), json!(big), json!([])]] {
            let doc = Doc {
                streams,
                connections: vec![],
                backends: vec![1, 2],
                capture: json!({"source": "s\u{9b}", "n": 1.5}),
            };
            for pretty in [false, true] {
                let mut w = ObjectWriter::new(Vec::new(), pretty);
                w.array("streams", &doc.streams).unwrap();
                w.array("connections", &doc.connections).unwrap();
                w.member("backends", &doc.backends).unwrap();
                w.member("capture", &doc.capture).unwrap();
                let got = String::from_utf8(w.finish().unwrap()).unwrap();
                let want = if pretty {
                    serde_pretty(&doc)
                } else {
                    serde(&doc)
                };
                assert_eq!(got, want, "pretty {pretty}");
            }
        }
        let empty = ObjectWriter::new(Vec::new(), true).finish().unwrap();
        assert_eq!(empty, serde_pretty(&json!({})).as_bytes());
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde(&s));
        }

        #[test]
        fn latin_and_c1_text_is_escaped_as_serde_json_and_the_policy_escape_it(
            s in "[a\"\\\\\x00\x7f\u{80}-\u{c0}\u{e9}\u{2000}-\u{2070}\u{feff}\u{61c}]{0,40}"
        ) {
            prop_assert_eq!(ours(&s), serde(&s));
        }

        #[test]
        fn ascii_around_escapes_at_every_offset(
            s in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'"'), Just(b'\\'),
                Just(0u8), Just(0x1f), Just(0x20), Just(0x7f), Just(b'!'), Just(b'#'),
                Just(b'['), Just(b']')], 0..40)
        ) {
            let s = String::from_utf8(s).unwrap();
            prop_assert_eq!(ours(&s), serde(&s));
        }
    }
}
