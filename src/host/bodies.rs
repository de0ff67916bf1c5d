//! The bodies of a batch, read into one buffer: no allocation per body.
//!
//! With `dataType: string` each item of the binding's array is the raw body; with `binary` each
//! is base64 of the body; with no `dataType` items are JSON values the host re-serialized. The
//! form belongs to the binding, so it is decided for the whole batch: a raw body that happens to
//! be valid base64 (`null`, `true`, `abcd`) is never decoded alone.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::encoding::{read_with, InPlace, KEPT_BUFFERS_BYTES};
use super::literal::{after_whitespace, string_end, unescape_into, UNESCAPE_ROOM};
use super::sent_bodies;

thread_local! {
    /// The bodies' array text, unescaped once; kept between requests as simd-json's scratch is.
    static ARRAY_TEXT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Every body of a batch, end to end in one buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bodies {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Bodies {
    /// How many bodies.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `n`-th body.
    pub fn get(&self, n: usize) -> &[u8] {
        &self.bytes[self.range(n)]
    }

    fn range(&self, n: usize) -> Range<usize> {
        let start = if n == 0 { 0 } else { self.ends[n - 1] };
        start..self.ends[n]
    }

    fn push(&mut self, body: &[u8]) {
        self.bytes.extend_from_slice(body);
        self.ends.push(self.bytes.len());
    }

    /// Bodies already apart (a plain array, a single body), put together.
    pub(crate) fn from_each(bodies: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let mut all = Bodies::default();
        for body in bodies {
            all.push(&body);
        }
        all
    }

    /// The bodies of a batch read the long way, as JSON values (an array the host did not send as
    /// text, or sent encoded more than twice). With `dataType` binary every item is base64 of the
    /// body; with `dataType` string every item is the raw body; with no `dataType` items are JSON
    /// values the host re-serialized. The form belongs to the binding, so it is decided for the
    /// whole batch, as [`Bodies::read`] decides it: a raw body that happens to be valid base64
    /// (`null`, `true`, `abcd`) is never decoded alone.
    pub(crate) fn from_values(items: Vec<Value>) -> Self {
        let all_base64 = items
            .iter()
            .all(|item| item.as_str().is_some_and(may_be_base64));
        let raw = Bodies::from_each(items.into_iter().map(|item| match item {
            Value::String(text) => text.into_bytes(),
            other => serde_json::to_vec(&other).unwrap_or_default(),
        }));
        if all_base64 {
            raw.base64_decoded().unwrap_or(raw)
        } else {
            raw
        }
    }

    /// Reads the JSON text of the binding's array; `None` where reading it as a `Value` fails.
    pub(crate) fn read(text: &str) -> Option<Bodies> {
        let mut read = Read::new(text.len());
        // Read from a copy, unescaped in place; each body is copied out of it as it is read.
        let mut copy = Vec::new();
        let in_place = read_with(text.as_bytes(), &mut copy, |deserializer| {
            deserializer.deserialize_seq(&mut read)
        })
        .ok()?;
        if let InPlace::NeedsExact = in_place {
            // An item that is a value holds a `-0`, whose sign only serde_json keeps.
            read = Read::new(text.len());
            let mut deserializer = serde_json::Deserializer::from_str(text);
            deserializer.deserialize_seq(&mut read).ok()?;
            deserializer.end().ok()?;
        }
        Some(read.finish())
    }

    /// Reads the binding's array from its member as sent: `raw` is the content of the JSON
    /// string that holds the array's text (escapes and all, checked by the envelope's reader).
    /// Bodies without escapes of their own are read in one pass ([`sent_bodies`]). Else the
    /// array's text is unescaped once, into a buffer kept per thread, and each body straight
    /// out of it into the bodies' own. Only an array of strings is read so; `None` for anything
    /// else (an item that is a value, a text that is no array), which [`Bodies::read`] then
    /// reads from the unescaped text, with the same result where both read.
    pub(crate) fn read_sent(raw: &str) -> Option<Bodies> {
        let mut read = Read::new(raw.len() + UNESCAPE_ROOM);
        if sent_bodies::read(
            raw.as_bytes(),
            &mut read.bodies.bytes,
            &mut read.bodies.ends,
        ) {
            read.all_base64 = read.bodies.all_may_be_base64();
            return Some(read.finish());
        }
        ARRAY_TEXT.with_borrow_mut(|array| {
            array.clear();
            unescape_into(raw.as_bytes(), array);
            let bodies = Bodies::read_strings(array);
            if array.capacity() > KEPT_BUFFERS_BYTES {
                *array = Vec::new();
            }
            bodies
        })
    }

    /// The bodies of an array text of strings only; `None` for any other text.
    fn read_strings(array: &[u8]) -> Option<Bodies> {
        // Room for every body unescaped in place, as `unescape_into` wants it.
        let mut read = Read::new(array.len() + UNESCAPE_ROOM);
        let mut at = after_whitespace(array, 0);
        if array.get(at) != Some(&b'[') {
            return None;
        }
        at = after_whitespace(array, at + 1);
        if array.get(at) == Some(&b']') {
            at += 1;
        } else {
            loop {
                if array.get(at) != Some(&b'"') {
                    return None;
                }
                let (end, escaped) = string_end(array, at + 1)?;
                let body = &array[at + 1..end];
                if escaped {
                    unescape_into(body, &mut read.bodies.bytes);
                } else {
                    read.bodies.bytes.extend_from_slice(body);
                }
                read.bodies.ends.push(read.bodies.bytes.len());
                at = after_whitespace(array, end + 1);
                match array.get(at) {
                    Some(b',') => at = after_whitespace(array, at + 1),
                    Some(b']') => {
                        at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if after_whitespace(array, at) != array.len() {
            return None;
        }
        read.all_base64 = read.bodies.all_may_be_base64();
        Some(read.finish())
    }

    /// Whether every body may be base64 of one ([`may_be_base64`]), so that the batch is read
    /// as `dataType: binary`.
    fn all_may_be_base64(&self) -> bool {
        (0..self.len()).all(|n| std::str::from_utf8(self.get(n)).is_ok_and(may_be_base64))
    }

    /// Every body decoded from base64, if every one is base64 (trimmed).
    fn base64_decoded(&self) -> Option<Bodies> {
        let mut decoded = Bodies {
            bytes: Vec::with_capacity(self.bytes.len() / 4 * 3),
            ends: Vec::with_capacity(self.len()),
        };
        for n in 0..self.len() {
            let text = std::str::from_utf8(self.get(n)).ok()?.trim();
            base64::engine::general_purpose::STANDARD
                .decode_vec(text, &mut decoded.bytes)
                .ok()?;
            decoded.ends.push(decoded.bytes.len());
        }
        Some(decoded)
    }
}

/// Could this item be base64 of a body? A raw JSON body starts with a character base64 never holds.
fn may_be_base64(text: &str) -> bool {
    !text.trim().starts_with(['{', '[', '"'])
}

struct Read {
    bodies: Bodies,
    /// Every item so far is a string that may be base64.
    all_base64: bool,
}

impl Read {
    /// Nothing read yet, with room for `bytes` of bodies.
    fn new(bytes: usize) -> Self {
        Read {
            bodies: Bodies {
                bytes: Vec::with_capacity(bytes),
                ends: Vec::new(),
            },
            all_base64: true,
        }
    }
}

impl Read {
    /// The bodies read, decoded from base64 if every one is.
    fn finish(self) -> Bodies {
        if self.all_base64 {
            self.bodies.base64_decoded().unwrap_or(self.bodies)
        } else {
            self.bodies
        }
    }
}

impl<'de> Visitor<'de> for &mut Read {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of bodies")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Item(self))?.is_some() {}
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for &mut Read {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

/// One item of the array: a body's text, or a JSON value standing for it.
struct Item<'r>(&'r mut Read);

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Item<'_> {
    fn value(self, value: Value) {
        self.0.all_base64 = false;
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        self.0.bodies.push(&bytes);
    }
}

impl<'de> Visitor<'de> for Item<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.all_base64 &= may_be_base64(text);
        self.0.bodies.push(text.as_bytes());
        Ok(())
    }
    // Items that are no string (no `dataType`): kept as the JSON the host re-serialized.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.value(value);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.value(value);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.value(Value::Bool(value));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.value(Value::from(value));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.value(Value::from(value));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        self.value(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.value(Value::Null);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::literal::as_sent;

    fn each(bodies: &Bodies) -> Vec<String> {
        (0..bodies.len())
            .map(|n| String::from_utf8_lossy(bodies.get(n)).into_owned())
            .collect()
    }

    #[test]
    fn text_bodies_stay_where_they_were_unescaped_and_values_follow_them() {
        // Text items (escaped or not), then items that are JSON values, interleaved.
        let text = r#"["{\"a\":\"x\\ny\"}", {"b": [1, 2.5]}, "", "plain", null, "{\"c\":true}"]"#;
        let bodies = Bodies::read(text).unwrap();
        assert_eq!(
            each(&bodies),
            [
                r#"{"a":"x\ny"}"#,
                r#"{"b":[1,2.5]}"#,
                "",
                "plain",
                "null",
                r#"{"c":true}"#
            ]
        );
    }

    #[test]
    fn an_array_of_base64_text_is_decoded_whole() {
        let bodies = Bodies::read(r#"["eyJhIjoxfQ==", " dHJ1ZQ== "]"#).unwrap();
        assert_eq!(each(&bodies), [r#"{"a":1}"#, "true"]);
        // One item that cannot be base64 keeps every item as sent.
        let bodies = Bodies::read(r#"["eyJhIjoxfQ==", "{}"]"#).unwrap();
        assert_eq!(each(&bodies), ["eyJhIjoxfQ==", "{}"]);
    }

    #[test]
    fn bodies_read_as_sent_are_the_bodies_read_from_the_unescaped_array() {
        for array in [
            r#"["{\"a\":\"x\\ny\"}", "", "plain", "{\"c\":\"\u00e9\"}"]"#,
            r#" [ "eyJhIjoxfQ==" , " dHJ1ZQ== " ] "#,
            "[]",
        ] {
            let sent = Bodies::read_sent(&as_sent(array));
            assert_eq!(sent, Bodies::read(array), "{array}");
            assert!(sent.is_some(), "{array}");
        }
        // Items that are values, and texts that are no array of strings: the long way's.
        for array in [
            r#"["a", {"b": 1}]"#,
            r#"["a",]"#,
            r#"["a"] x"#,
            r#"{"a": 1}"#,
            "\"a\"",
        ] {
            assert_eq!(Bodies::read_sent(&as_sent(array)), None, "{array}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn any_array_of_bodies_reads_as_sent_as_it_reads_unescaped(
            bodies in proptest::collection::vec(r#"([a-z{}:,"\\/\n é😀=]){0,90}"#, 0..6),
            spaced: bool,
        ) {
            let separator = if spaced { " ,\n " } else { "," };
            let items: Vec<_> = bodies.iter().map(|body| serde_json::to_string(body).unwrap()).collect();
            let array = format!("[{}]", items.join(separator));
            let sent = Bodies::read_sent(&as_sent(&array));
            proptest::prop_assert_eq!(&sent, &Bodies::read(&array));
            proptest::prop_assert!(sent.is_some());
        }
    }

    #[test]
    fn what_is_no_array_is_not_read() {
        assert_eq!(Bodies::read(r#"{"a": 1}"#), None);
        assert_eq!(Bodies::read(r#"["a", "#), None);
    }
}
