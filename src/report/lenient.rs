//! Deserialisation that never fails on a value of the wrong type.
//!
//! Apple changes the type of `.ips` keys between OS releases (`coalitionID` is a string in the
//! documentation and an integer in every real file, `isCorpse` is a bool or `1`, `bug_type` is a
//! string in the header and sometimes a number elsewhere). serde's derive stops the whole parse at
//! the first surprise, which would turn one odd key into an unreadable report. Every type here
//! accepts *any* JSON value: a value of the expected shape is kept, anything else is remembered as
//! [`Lenient::Wrong`] so the conversion step can turn it into a parse warning. Only malformed JSON
//! (a truncated body, a syntax error) is still an error, which is exactly what a half-written report
//! should produce.
//!
//! Structs are declared with [`lenient_struct!`], which writes a map visitor by hand: unknown keys
//! are skipped with [`IgnoredAny`] (no allocation), keys are borrowed from the input when they have
//! no escapes, and a non-object in the place of a struct becomes [`Lenient::Wrong`] one level up.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

/// A value that may be missing, present with the expected type, or present with another type.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Lenient<T> {
    #[default]
    Missing,
    Ok(T),
    /// The key was present but held a value of another JSON type (named here).
    Wrong(&'static str),
}

impl<T> Lenient<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Lenient::Ok(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_ok(self) -> Option<T> {
        match self {
            Lenient::Ok(v) => Some(v),
            _ => None,
        }
    }

    /// The type that was found instead of the expected one, if any.
    pub fn wrong(&self) -> Option<&'static str> {
        match self {
            Lenient::Wrong(found) => Some(found),
            _ => None,
        }
    }
}

/// How a scalar is read out of whatever JSON value is present.
pub trait FromJsonScalar: Sized {
    const EXPECTED: &'static str;
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok().and_then(Self::from_u64)
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_str(_: &str) -> Option<Self> {
        None
    }
}

impl FromJsonScalar for u64 {
    const EXPECTED: &'static str = "an unsigned integer";
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
    fn from_f64(v: f64) -> Option<Self> {
        // Integral floats such as `5.0` are accepted; anything else would be a made-up number.
        (v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v)).then_some(v as u64)
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(u64::from(v))
    }
    fn from_str(s: &str) -> Option<Self> {
        parse_u64_text(s)
    }
}

impl FromJsonScalar for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_u64(v: u64) -> Option<Self> {
        match v {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
    fn from_str(s: &str) -> Option<Self> {
        match s.trim() {
            "true" | "1" | "YES" | "yes" => Some(true),
            "false" | "0" | "NO" | "no" => Some(false),
            _ => None,
        }
    }
}

impl FromJsonScalar for String {
    const EXPECTED: &'static str = "a string";
    fn from_u64(v: u64) -> Option<Self> {
        Some(v.to_string())
    }
    fn from_i64(v: i64) -> Option<Self> {
        Some(v.to_string())
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(v.to_string())
    }
    fn from_bool(v: bool) -> Option<Self> {
        Some(v.to_string())
    }
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
}

/// Reads `123`, `0x7b` or `0X7B` (surrounding whitespace allowed).
pub fn parse_u64_text(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

struct ScalarVisitor<T>(PhantomData<T>);

impl<'de, T: FromJsonScalar> Visitor<'de> for ScalarVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(T::from_u64(v).map_or(Lenient::Wrong("integer"), Lenient::Ok))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(T::from_i64(v).map_or(Lenient::Wrong("negative integer"), Lenient::Ok))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(T::from_f64(v).map_or(Lenient::Wrong("number"), Lenient::Ok))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(T::from_bool(v).map_or(Lenient::Wrong("boolean"), Lenient::Ok))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_str(v).map_or(Lenient::Wrong("string"), Lenient::Ok))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        // `null` is how some writers say "absent".
        Ok(Lenient::Missing)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Missing)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient::Wrong("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Lenient::Wrong("object"))
    }
}

macro_rules! scalar_impl {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for Lenient<$t> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(ScalarVisitor::<$t>(PhantomData))
            }
        }
    )*};
}
scalar_impl!(u64, bool, String);

/// An array whose elements are themselves lenient; anything but an array is `Wrong`.
#[derive(Debug, Clone, PartialEq)]
pub struct LenientVec<T>(pub Lenient<Vec<T>>);

impl<T> Default for LenientVec<T> {
    fn default() -> Self {
        LenientVec(Lenient::Missing)
    }
}

impl<T> LenientVec<T> {
    pub fn items(&self) -> &[T] {
        self.0.ok().map_or(&[], Vec::as_slice)
    }

    /// The items, moved out.
    pub fn into_items(self) -> Vec<T> {
        self.0.into_ok().unwrap_or_default()
    }
}

/// Reads a [`LenientVec`] whose element `i` is read with the seed `self.0(i)`: what an element
/// needs to know of its place (a thread, whether it is the crashed one). [`LenientVec`]'s own
/// `Deserialize` is this with no seed but the element type's.
pub struct SeededVec<F>(pub F);

impl<'de, F, S> Visitor<'de> for SeededVec<F>
where
    F: FnMut(usize) -> S,
    S: DeserializeSeed<'de>,
{
    type Value = LenientVec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Self::Value, A::Error> {
        // The size hint comes from the input: cap it so a lying header cannot allocate gigabytes.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed((self.0)(out.len()))? {
            out.push(item);
        }
        Ok(LenientVec(Lenient::Ok(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LenientVec(Lenient::Wrong("object")))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LenientVec(Lenient::Missing))
    }
    scalars_are_wrong!(found => LenientVec(Lenient::Wrong(found)));
}

impl<'de, F, S> DeserializeSeed<'de> for SeededVec<F>
where
    F: FnMut(usize) -> S,
    S: DeserializeSeed<'de>,
{
    type Value = LenientVec<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientVec<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SeededVec(|_| PhantomData::<T>).deserialize(d)
    }
}

/// A map with string keys and lenient values, in input order (`asi` is such a map).
#[derive(Debug, Clone, PartialEq)]
pub struct LenientMap<T>(pub Lenient<Vec<(String, T)>>);

impl<T> Default for LenientMap<T> {
    fn default() -> Self {
        LenientMap(Lenient::Missing)
    }
}

impl<T> LenientMap<T> {
    pub fn entries(&self) -> &[(String, T)] {
        self.0.ok().map_or(&[], Vec::as_slice)
    }
}

struct MapVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
    type Value = LenientMap<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            out.push((key.as_str().to_owned(), map.next_value::<T>()?));
        }
        Ok(LenientMap(Lenient::Ok(out)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LenientMap(Lenient::Wrong("array")))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LenientMap(Lenient::Missing))
    }
    scalars_are_wrong!(found => LenientMap(Lenient::Wrong(found)));
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MapVisitor(PhantomData))
    }
}

/// An object key, borrowed from the input when it has no escapes.
pub enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key::Owned(v))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

/// The `visit_*` methods for the scalar JSON types, for visitors that expect a container: each
/// turns the found type's name into the visitor's "wrong type" value.
macro_rules! scalars_are_wrong {
    ($found:ident => $wrong:expr) => {
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            let $found = "integer";
            Ok($wrong)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            let $found = "integer";
            Ok($wrong)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            let $found = "number";
            Ok($wrong)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            let $found = "boolean";
            Ok($wrong)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            let $found = "string";
            Ok($wrong)
        }
    };
}

pub(crate) use scalars_are_wrong;

/// Declares a struct of lenient fields and its `Deserialize` impl.
///
/// Every field type must itself accept any JSON value. The struct gets a `wrong` field: the JSON
/// type found when the value was not an object at all. A field written
/// `"key" => field: Type [seed |out: &Struct| make_seed(out)]` is read with the
/// `DeserializeSeed` the closure makes from the fields read so far (JSON keys come in the
/// input's order, so only the keys before it are known).
macro_rules! lenient_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $json:literal => $field:ident : $ty:ty $([seed $seed:expr])? ),* $(,)?
        }
        $( extra => $extra:ident )?
        $( seq => $seqfn:path )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone)]
        pub struct $name {
            $( pub $field: $ty, )*
            $( pub $extra: Vec<(String, Box<serde_json::value::RawValue>)>, )?
            /// Set when the value was not an object: the JSON type found instead.
            pub wrong: Option<&'static str>,
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($name), ")"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A)
                        -> Result<Self::Value, A::Error>
                    {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<$crate::report::lenient::Key<'de>>()? {
                            match key.as_str() {
                                $( $json => out.$field = lenient_struct!(@value map, out $(, $seed)?), )*
                                _other => {
                                    lenient_struct!(@unknown map, out, _other $(, $extra)?);
                                }
                            }
                        }
                        Ok(out)
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A)
                        -> Result<Self::Value, A::Error>
                    {
                        lenient_struct!(@seq $name, seq $(, $seqfn)?)
                    }
                    $crate::report::lenient::scalars_are_wrong!(found => $name { wrong: Some(found), ..Default::default() });
                    fn visit_unit<E>(self) -> Result<Self::Value, E> {
                        Ok($name::default())
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
    (@value $map:ident, $out:ident) => {
        $map.next_value()?
    };
    // A field read with a `DeserializeSeed` made from the fields read before it.
    (@value $map:ident, $out:ident, $seed:expr) => {
        $map.next_value_seed(($seed)(&$out))?
    };
    (@seq $name:ident, $seq:ident) => {{
        let mut seq = $seq;
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok($name { wrong: Some("array"), ..Default::default() })
    }};
    (@seq $name:ident, $seq:ident, $seqfn:path) => {
        $seqfn($seq)
    };
    (@unknown $map:ident, $out:ident, $key:ident) => {
        $map.next_value::<serde::de::IgnoredAny>()?;
    };
    (@unknown $map:ident, $out:ident, $key:ident, $extra:ident) => {
        let value = $map.next_value::<Box<serde_json::value::RawValue>>()?;
        $out.$extra.push(($key.to_owned(), value));
    };
}

pub(crate) use lenient_struct;

#[cfg(test)]
mod tests {
    use super::*;

    lenient_struct! {
        pub struct Probe {
            "n" => n: Lenient<u64>,
            "s" => s: Lenient<String>,
            "b" => b: Lenient<bool>,
            "v" => v: LenientVec<Lenient<u64>>,
        }
        extra => extra
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn values_beyond_i64_are_kept_exactly() {
        // PAC-signed link registers exceed i64::MAX; reading them as i64 loses them.
        let p = probe(r#"{"n": 18446744066784917455}"#);
        assert_eq!(p.n, Lenient::Ok(18_446_744_066_784_917_455));
    }

    #[test]
    fn keys_that_change_type_are_accepted() {
        let p = probe(r#"{"n": "875", "s": 875, "b": 1}"#);
        assert_eq!(p.n, Lenient::Ok(875));
        assert_eq!(p.s, Lenient::Ok("875".to_owned()));
        assert_eq!(p.b, Lenient::Ok(true));
        assert_eq!(probe(r#"{"n": "0x98"}"#).n, Lenient::Ok(0x98));
    }

    #[test]
    fn wrong_types_are_remembered_not_fatal() {
        let p = probe(r#"{"n": {"a": [1,2]}, "s": [1], "b": "maybe", "v": {"x": 1}, "after": 3}"#);
        assert_eq!(p.n, Lenient::Wrong("object"));
        assert_eq!(p.s, Lenient::Wrong("array"));
        assert_eq!(p.b, Lenient::Wrong("string"));
        assert_eq!(p.v.0, Lenient::Wrong("object"));
        assert_eq!(p.extra.len(), 1);
        assert_eq!(p.extra[0].0, "after");
        assert_eq!(p.extra[0].1.get(), "3");
    }

    #[test]
    fn a_non_object_struct_is_marked() {
        let v: LenientVec<Probe> = serde_json::from_str(r#"[1, {"n": 2}]"#).unwrap();
        assert_eq!(v.items()[0].wrong, Some("integer"));
        assert_eq!(v.items()[1].n, Lenient::Ok(2));
    }

    #[test]
    fn escaped_keys_still_match() {
        let p = probe(r#"{"\u006e": 7}"#);
        assert_eq!(p.n, Lenient::Ok(7));
    }

    #[test]
    fn truncated_json_is_still_an_error() {
        assert!(serde_json::from_str::<Probe>(r#"{"n": 1, "s": "ab"#).is_err());
    }

    #[test]
    fn negative_and_fractional_numbers_are_wrong_for_u64() {
        assert_eq!(probe(r#"{"n": -1}"#).n, Lenient::Wrong("negative integer"));
        assert_eq!(probe(r#"{"n": 1.5}"#).n, Lenient::Wrong("number"));
        assert_eq!(probe(r#"{"n": 2.0}"#).n, Lenient::Ok(2));
        assert_eq!(probe(r#"{"n": null}"#).n, Lenient::Missing);
    }
}
