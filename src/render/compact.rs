//! Compact JSON, byte for byte what `serde_json::to_writer` writes, with a faster path for
//! strings.
//!
//! `classify --format json` writes every frame of every crashed thread: a dozen keys and half a
//! dozen strings per frame, 13.7 MB over the 2000 bench reports. serde_json escapes a string a
//! byte at a time (a table lookup and a branch for each), which was the largest single cost of
//! rendering (7.5 % of `classify`'s instructions, callgrind; docs/performance.md). Almost no
//! string in a report needs escaping, so this writer looks for a byte that does eight at a time
//! and copies the string whole when there is none.
//!
//! Only the fast path is ours. A string that needs escaping is written by serde_json itself, and
//! so is every number (itoa and ryu, as serde_json formats them); anything this writer does not
//! handle the way serde_json does (a map key that is not a string, serde_json's raw values)
//! fails with [`Fallback`], and [`to_vec`] then writes the whole value with serde_json. So the
//! output is serde_json's in every case: tests below compare the two over generated values.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Writes `value` as compact JSON at the end of `out`, exactly as `serde_json::to_writer` would.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let start = out.len();
    if value.serialize(&mut Compact { out }).is_ok() {
        return Ok(());
    }
    // Whatever was written is dropped and serde_json writes it all: the same bytes, or the
    // error serde_json gives for it.
    out.truncate(start);
    serde_json::to_writer(out, value)
}

/// Why the fast writer gave a value back to serde_json: a shape it leaves to serde_json, or an
/// error the value itself raised (serde_json raises it again).
#[derive(Debug)]
pub struct Fallback;

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Fallback {}

impl ser::Error for Fallback {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Fallback
    }
}

/// The name serde_json's `RawValue` serialises under: its text is written as it is, which only
/// serde_json knows how to do.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

struct Compact<'a> {
    out: &'a mut Vec<u8>,
}

/// Whether any of the eight bytes of `chunk` is a control character, `"` or `\`: a word at a
/// time, as serde_json's reader looks for the end of a string (Mycroft's zero-byte test). A
/// byte at or above 0x80 (UTF-8 beyond ASCII) never matches.
fn needs_escape_word(chunk: u64) -> bool {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let control = chunk.wrapping_sub(ONES * 0x20) & !chunk;
    let quote = chunk ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = chunk ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH != 0
}

/// Whether JSON needs any byte of `s` escaped. The bytes after the last whole word are looked at
/// as one more word, the string's last eight bytes (overlapping the one before), or, in a string
/// shorter than a word, padded with a byte that needs nothing: most strings here are names of a
/// dozen bytes, and a byte loop over their tails was a quarter of this function's time.
///
/// The words are loaded from the string directly or put together in a register: a word copied
/// into a stack buffer and loaded back stalled on the store (perf annotate showed 39 % of this
/// function on the load after that copy).
fn needs_escape(s: &str) -> bool {
    let bytes = s.as_bytes();
    let load = |b: &[u8]| <[u8; 8]>::try_from(b).map(u64::from_le_bytes);
    let mut words = bytes.chunks_exact(8);
    if words.by_ref().any(|w| load(w).is_ok_and(needs_escape_word)) {
        return true;
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return false;
    }
    let last = match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
        Some(last) => load(last).unwrap_or(0),
        // Shorter than a word: its bytes low, `a` above them.
        None => tail
            .iter()
            .rev()
            .fold(u64::from_le_bytes([b'a'; 8]), |w, &b| {
                (w << 8) | u64::from(b)
            }),
    };
    needs_escape_word(last)
}

impl Compact<'_> {
    fn string(&mut self, s: &str) -> Result<(), Fallback> {
        if needs_escape(s) {
            return serde_json::to_writer(&mut *self.out, s).map_err(|_| Fallback);
        }
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'"');
        Ok(())
    }

    /// The opening of a variant with a value: `{"Variant":`; its value follows, then `}`.
    fn variant(&mut self, variant: &str) -> Result<(), Fallback> {
        self.out.push(b'{');
        self.string(variant)?;
        self.out.push(b':');
        Ok(())
    }

    /// A scalar written by serde_json itself: numbers are formatted as it formats them.
    fn scalar<T: Serialize>(&mut self, v: T) -> Result<(), Fallback> {
        serde_json::to_writer(&mut *self.out, &v).map_err(|_| Fallback)
    }
}

impl<'a, 'o> ser::Serializer for &'a mut Compact<'o> {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Fallback> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Fallback> {
        self.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Fallback> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Fallback> {
        self.scalar(v)
    }
    fn serialize_none(self) -> Result<(), Fallback> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Fallback> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Fallback> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Fallback> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Fallback> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        self.variant(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Fallback> {
        Ok(Compound::open(self, b'[', b"]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o>, Fallback> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, Fallback> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Fallback> {
        self.variant(variant)?;
        Ok(Compound::open(self, b'[', b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Fallback> {
        Ok(Compound::open(self, b'{', b"}"))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, Fallback> {
        if name == RAW_VALUE_TOKEN {
            return Err(Fallback);
        }
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Fallback> {
        self.variant(variant)?;
        Ok(Compound::open(self, b'{', b"}}"))
    }
}

/// An array or object being written: whether a comma goes before the next element, and what
/// closes it (a variant's value closes its wrapping object too).
pub struct Compound<'a, 'o> {
    ser: &'a mut Compact<'o>,
    first: bool,
    close: &'static [u8],
}

impl<'a, 'o> Compound<'a, 'o> {
    fn open(ser: &'a mut Compact<'o>, open: u8, close: &'static [u8]) -> Self {
        ser.out.push(open);
        Compound {
            ser,
            first: true,
            close,
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.ser.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fallback> {
        self.comma();
        value.serialize(&mut *self.ser)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Fallback> {
        self.comma();
        self.ser.string(key)?;
        self.ser.out.push(b':');
        value.serialize(&mut *self.ser)
    }

    fn end(self) -> Result<(), Fallback> {
        self.ser.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// serde's four kinds of array (a sequence, a tuple, a tuple struct, a tuple variant's fields)
/// are written alike.
macro_rules! array {
    ($($kind:ident :: $method:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Fallback;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fallback> {
                self.element(value)
            }
            fn end(self) -> Result<(), Fallback> {
                Compound::end(self)
            }
        }
    )*};
}

array!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Fallback;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Fallback> {
        self.comma();
        key.serialize(KeyOnly(&mut *self.ser))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Fallback> {
        self.ser.out.push(b':');
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Fallback> {
        Compound::end(self)
    }
}

/// A struct's fields and a struct variant's are written alike.
macro_rules! object {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Fallback;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Fallback> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Fallback> {
                Compound::end(self)
            }
        }
    )*};
}

object!(SerializeStruct, SerializeStructVariant);

/// Scalars as map keys: serde_json quotes them; left to it.
macro_rules! refuse {
    ($($method:ident : $ty:ty),*) => {$(
        fn $method(self, _: $ty) -> Result<(), Fallback> {
            Err(Fallback)
        }
    )*};
}

/// A map key: a string (or a unit variant, which serde_json writes as its name). serde_json also
/// quotes numbers and booleans used as keys; those go back to it whole.
struct KeyOnly<'a, 'o>(&'a mut Compact<'o>);

impl ser::Serializer for KeyOnly<'_, '_> {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = Impossible<(), Fallback>;
    type SerializeTuple = Impossible<(), Fallback>;
    type SerializeTupleStruct = Impossible<(), Fallback>;
    type SerializeTupleVariant = Impossible<(), Fallback>;
    type SerializeMap = Impossible<(), Fallback>;
    type SerializeStruct = Impossible<(), Fallback>;
    type SerializeStructVariant = Impossible<(), Fallback>;

    fn serialize_str(self, v: &str) -> Result<(), Fallback> {
        self.0.string(v)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Fallback> {
        self.0.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        value.serialize(self)
    }
    refuse!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64,
        serialize_char: char,
        serialize_bytes: &[u8]
    );
    fn serialize_none(self) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_unit(self) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Fallback> {
        Err(Fallback)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Fallback> {
        Err(Fallback)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Fallback> {
        Err(Fallback)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Fallback> {
        Err(Fallback)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Fallback> {
        Err(Fallback)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Fallback> {
        Err(Fallback)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Fallback> {
        Err(Fallback)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Fallback> {
        Err(Fallback)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    /// The fast writer's bytes, and whether it had to give the value to serde_json.
    fn fast(value: &impl Serialize) -> (Vec<u8>, bool) {
        let mut out = b"prefix".to_vec();
        let fell_back = value.serialize(&mut Compact { out: &mut out }).is_err();
        let mut whole = b"prefix".to_vec();
        to_vec(value, &mut whole).expect("serialisable");
        assert!(whole.starts_with(b"prefix"), "to_vec appends");
        (whole.split_off(6), fell_back)
    }

    fn same(value: &impl Serialize) -> bool {
        let (ours, fell_back) = fast(value);
        let theirs = serde_json::to_vec(value).expect("serialisable");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
        fell_back
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u64),
        Tuple(i8, &'static str),
        Struct { a: Option<bool>, b: Vec<u8> },
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Plain,
        Zip { member: String },
    }

    #[derive(Serialize)]
    struct Everything {
        text: &'static str,
        escaped: String,
        unicode: &'static str,
        none: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        numbers: (i64, u64, i128, u128, f64, f32, f64, f64),
        ch: char,
        quote_char: char,
        bytes: &'static [u8],
        unit: (),
        shapes: Vec<Shape>,
        tagged: Vec<Tagged>,
        empty_seq: Vec<u8>,
        empty_map: BTreeMap<String, u8>,
        map: BTreeMap<&'static str, Option<&'static str>>,
    }

    #[test]
    fn every_shape_is_written_as_serde_json_writes_it() {
        let value = Everything {
            text: "AGX::ComputeContext::prepareForEnqueue(bool)",
            escaped: "a \"quoted\" \\ back\u{1}slash\ttab\nnewline\u{8}\u{c}\r\u{1f}\u{7f}".into(),
            unicode: "Pr\u{e9}view \u{202e} \u{1f600} long enough to fill two words",
            none: None,
            skipped: None,
            numbers: (
                i64::MIN,
                u64::MAX,
                i128::MIN,
                u128::MAX,
                0.1,
                1.5,
                f64::NAN,
                1e300,
            ),
            ch: '\u{e9}',
            quote_char: '"',
            bytes: b"\x00\xff",
            unit: (),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-1, "x"),
                Shape::Struct {
                    a: Some(true),
                    b: vec![],
                },
            ],
            tagged: vec![
                Tagged::Plain,
                Tagged::Zip {
                    member: "a/\"b\".ips".into(),
                },
            ],
            empty_seq: vec![],
            empty_map: BTreeMap::new(),
            map: [("k", Some("v")), ("q\"uote", None)].into_iter().collect(),
        };
        assert!(!same(&value), "nothing here needs serde_json's whole path");
    }

    #[test]
    fn what_only_serde_json_writes_goes_back_to_it_whole() {
        let numbered: BTreeMap<u64, &str> = [(1, "a"), (20, "b")].into_iter().collect();
        assert!(same(&numbered), "number keys are quoted by serde_json");
        let raw = serde_json::value::RawValue::from_string("{ \"a\" : 1 }".into()).expect("valid");
        assert!(same(&vec![raw]), "raw values are written by serde_json");
    }

    #[test]
    fn the_word_test_finds_each_byte_that_needs_escaping_in_every_position() {
        for at in 0..8 {
            for b in (0u8..0x20).chain([b'"', b'\\']) {
                let mut word = *b"abcdefgh";
                word[at] = b;
                assert!(
                    needs_escape_word(u64::from_le_bytes(word)),
                    "{b:#x} at {at}"
                );
            }
            for b in [0x20u8, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff] {
                let mut word = *b"abcdefgh";
                word[at] = b;
                assert!(
                    !needs_escape_word(u64::from_le_bytes(word)),
                    "{b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn a_byte_that_needs_escaping_is_found_in_strings_of_every_length_at_every_place() {
        for len in 0..=25 {
            let plain = "x".repeat(len);
            assert!(!needs_escape(&plain), "{len}");
            for at in 0..len {
                for b in ["\"", "\\", "\n", "\u{0}", "\u{1f}"] {
                    let mut s = plain.clone();
                    s.replace_range(at..=at, b);
                    assert!(needs_escape(&s), "{b:?} at {at} of {len}");
                }
            }
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::String),
            "[\\x00-\\x7f]{0,24}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_as_serde_json_writes_it(value in json_value()) {
            let (ours, _) = fast(&value);
            prop_assert_eq!(ours, serde_json::to_vec(&value).expect("serialisable"));
        }

        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in any::<String>(), ascii in "[\\x00-\\x7f]{0,40}") {
            for s in [&s, &ascii] {
                let (ours, _) = fast(s);
                prop_assert_eq!(ours, serde_json::to_vec(s).expect("serialisable"));
            }
        }
    }
}
