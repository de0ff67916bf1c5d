//! The body of a twin or relationship update: `{"modelId": ..., "patch": [...]}`.
//!
//! ADT writes it compact, with strings that need no escapes and scalar values. That shape is read
//! here in one pass over the text, straight into the patch's ops. Anything else (an escape, a
//! nested value, a member that is not one of these or comes twice, a text that is no JSON) goes
//! to serde_json, which reads every shape; where both read a body, they read the same.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};

use super::ids::ModelId;
use super::patch::{Patch, PatchField};
use super::text::Text;
use super::unusable::{Unusable, UnusableReason};

/// The body of a twin or relationship update: `{"modelId", "patch"}`; later duplicate keys win.
#[derive(Debug, PartialEq)]
pub(crate) struct UpdateBody {
    model_id: Option<ModelId>,
    patch: Option<PatchField>,
}

impl UpdateBody {
    /// Reads a body's text: by hand where it has the plain shape, else through serde_json.
    pub(crate) fn read(text: &str) -> Result<UpdateBody, serde_json::Error> {
        match Plain::new(text).body() {
            Some(body) => Ok(body),
            None => serde_json::from_str(text),
        }
    }

    /// The model id and the patch, or why there is no patch to read.
    pub(crate) fn into_parts(self) -> Result<(Option<ModelId>, Patch), Unusable> {
        let patch = match self.patch {
            Some(PatchField::Array(patch)) => Ok(patch),
            Some(PatchField::NotArray) => Err(Unusable::new(
                UnusableReason::PatchNotArray,
                "the update's 'patch' is not an array",
            )),
            None => Err(Unusable::new(
                UnusableReason::MissingPatch,
                "the update has no 'patch'",
            )),
        }?;
        Ok((self.model_id, patch))
    }
}

/// A reader of the plain shape. Each step answers `None` where the text leaves that shape.
struct Plain<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Plain<'a> {
    fn new(text: &'a str) -> Self {
        Plain { text, at: 0 }
    }

    fn body(mut self) -> Option<UpdateBody> {
        let mut body = UpdateBody {
            model_id: None,
            patch: None,
        };
        let mut model_read = false;
        self.object(|reader, key| match key {
            "modelId" if !model_read => {
                model_read = true;
                body.model_id = ModelId::parse(reader.string()?);
                Some(())
            }
            "patch" if body.patch.is_none() => {
                body.patch = Some(PatchField::Array(reader.patch()?));
                Some(())
            }
            _ => None,
        })?;
        self.skip_whitespace();
        (self.at == self.text.len()).then_some(body)
    }

    /// The ops of the patch array, each classified as it is read.
    fn patch(&mut self) -> Option<Patch> {
        self.expect(b'[')?;
        let mut patch = Patch {
            ops: Vec::with_capacity(8),
            invalid: Vec::new(),
        };
        if self.next_is(b']')? {
            return Some(patch);
        }
        let mut index = 0;
        loop {
            let (mut op, mut path, mut value) = (None, None, None);
            self.object(|reader, key| {
                match key {
                    "op" if op.is_none() => op = Some(reader.string()?),
                    "path" if path.is_none() => path = Some(reader.string()?),
                    "value" if value.is_none() => value = Some(reader.scalar()?),
                    _ => return None,
                }
                Some(())
            })?;
            patch.push_read(index, op, path, value);
            index += 1;
            if !self.separated(b']')? {
                return Some(patch);
            }
        }
    }

    /// An object whose members `member` reads, given the reader after the key's colon.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.next_is(b'}')? {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            if !self.separated(b'}')? {
                return Some(());
            }
        }
    }

    /// After an item: `true` past a comma (another item follows), `false` past `close`.
    fn separated(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.at += 1;
                Some(true)
            }
            byte if byte == close => {
                self.at += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// A string with no escape and no control character, as the text between its quotes.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let rest = &self.text.as_bytes()[self.at..];
        let length = string_end(rest)?;
        if rest[length] != b'"' {
            return None;
        }
        let start = self.at;
        self.at += length + 1;
        // Quotes are ASCII, so both ends are character boundaries.
        Some(&self.text[start..start + length])
    }

    /// A value that is no array or object, as serde_json makes it.
    fn scalar(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => self.string().map(|text| Value::String(text.to_owned())),
            b't' => self.word("true", Value::Bool(true)),
            b'f' => self.word("false", Value::Bool(false)),
            b'n' => self.word("null", Value::Null),
            b'-' | b'0'..=b'9' => {
                let rest = &self.text.as_bytes()[self.at..];
                let length = rest
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(rest.len());
                let start = self.at;
                self.at += length;
                // serde_json's own number reader, so each number is the value it would make.
                let number: Number = self.text[start..start + length].parse().ok()?;
                Some(Value::Number(number))
            }
            _ => None,
        }
    }

    fn word(&mut self, word: &str, value: Value) -> Option<Value> {
        let found = self.text.as_bytes()[self.at..].starts_with(word.as_bytes());
        found.then(|| {
            self.at += word.len();
            value
        })
    }

    /// Past `byte`, the next thing after whitespace.
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Whether the next thing after whitespace is `byte`, and if so past it.
    fn next_is(&mut self, byte: u8) -> Option<bool> {
        let found = self.peek()? == byte;
        if found {
            self.at += 1;
        }
        Some(found)
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }
}

impl<'de> Deserialize<'de> for UpdateBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UpdateBodyVisitor)
    }
}

struct UpdateBodyVisitor;

impl<'de> Visitor<'de> for UpdateBodyVisitor {
    type Value = UpdateBody;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an update body object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UpdateBody, A::Error> {
        let mut body = UpdateBody {
            model_id: None,
            patch: None,
        };
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.as_str().unwrap_or_default() {
                "modelId" => {
                    let value: Text = map.next_value()?;
                    body.model_id = value.as_str().and_then(ModelId::parse);
                }
                "patch" => body.patch = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
}

/// Where the first quote, backslash or control character is in `text`, eight bytes at a time.
///
/// In each word, a byte `b` sets its top bit in `below(word, n)` if `b < n` (the classic
/// "has a byte less than n" test; a borrow can only set bits above the first such byte, so the
/// lowest set bit is exact). A quote or a backslash is a byte that is zero after the word is
/// xored with that character.
///
/// `host::literal::string_end` finds the end of any string, escapes and all, 64 bytes at a time;
/// it is built for the envelope's long, escape-dense strings. On these short plain ones it cost
/// 12 % more instructions per event than this (callgrind, a fixed loop of `process()` over the
/// transform bench's 100 events: 1,987,301 against 1,770,654 per 100 events).
fn string_end(text: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const TOPS: u64 = ONES << 7;
    fn below(word: u64, n: u8) -> u64 {
        word.wrapping_sub(ONES * u64::from(n)) & !word & TOPS
    }
    let mut words = text.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().expect("a chunk of eight bytes"));
        let found = below(word, 0x20)
            | below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|position| at + position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What serde_json reads, where it reads anything.
    fn by_serde(text: &str) -> Option<UpdateBody> {
        serde_json::from_str(text).ok()
    }

    fn by_hand(text: &str) -> Option<UpdateBody> {
        Plain::new(text).body()
    }

    #[test]
    fn plain_bodies_are_read_by_hand_as_serde_json_reads_them() {
        for text in [
            r#"{"modelId":"dtmi:com:example:Step;1","patch":[{"value":200.0,"path":"/ChasisTemperature","op":"replace"},{"value":70,"path":"/PowerUsage","op":"replace"}]}"#,
            " {\n \"patch\" : [ { \"op\" : \"remove\" , \"path\" : \"/A\" } ] ,\t\"modelId\" : \"dtmi:x;1\" }\r\n",
            r#"{"patch":[{"op":"add","path":"/$metadata/A/sourceTime","value":"2026-05-01T12:00:00Z"}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":null},{"op":"add","path":"/B","value":true},{"op":"add","path":"/C","value":false}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":-0},{"op":"add","path":"/B","value":1e5},{"op":"add","path":"/C","value":-1.5E-3}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":123456789012345678901234567890}]}"#,
            r#"{"patch":[{"op":"copy","path":"/A"},{"path":"B","op":"add","value":1},{},{"value":1}]}"#,
            r#"{"modelId":"  ","patch":[]}"#,
            r#"{"modelId":"dtmi:x;1"}"#,
            r#"{"patch":[{"op":"add","path":"/é😀","value":"déjà"}]}"#,
            "{}",
        ] {
            let read = by_hand(text);
            assert!(read.is_some(), "{text}");
            assert_eq!(read, by_serde(text), "{text}");
        }
    }

    #[test]
    fn other_shapes_are_left_to_serde_json() {
        for text in [
            r#"{"modelId":"dtmi:x;1","patch":[{"op":"add","path":"/a\/b","value":1}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":"line\nbreak"}]}"#,
            "{\"patch\":[{\"op\":\"add\",\"path\":\"/A\",\"value\":\"a raw\ttab\"}]}",
            "{\"patch\":[{\"op\":\"add\",\"path\":\"/A\",\"value\":\"a long string, then a raw\u{1f}\"}]}",
            r#"{"patch":[{"op":"add","path":"/A","value":{"x":1}}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":[1]}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":1,"from":"/B"}]}"#,
            r#"{"patch":[{"op":"add","op":"remove","path":"/A"}]}"#,
            r#"{"patch":[],"patch":[]}"#,
            r#"{"modelId":"a","modelId":"b","patch":[]}"#,
            r#"{"modelId":1,"patch":[]}"#,
            r#"{"patch":{"op":"add"}}"#,
            r#"{"patch":[42]}"#,
            r#"{"patch":[{"op":7,"path":"/A"}]}"#,
            r#"{"twin":"x","patch":[]}"#,
            r#"{"patch":[]} x"#,
            r#"{"patch":[{"op":"add","path":"/A","value":01}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":1.}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":tru}]}"#,
            r#"{"patch":[{"op":"add","path":"/A","value":truex}]}"#,
            r#"{"patch":[,]}"#,
            r#"{"patch":[{"op":"add",}]}"#,
            r#"{"patch":["#,
            "",
        ] {
            assert_eq!(by_hand(text), None, "{text}");
        }
    }

    fn spaces() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(""), Just(" "), Just("\n\t")]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            prop_oneof![
                Just("replace"),
                Just("add"),
                Just("Remove"),
                Just("/A"),
                Just("/A/b~1c"),
                Just("/$metadata/A/sourceTime"),
                Just("2026-05-01T12:00:00Z"),
                Just("a\\\"b"),
                Just("a\\u0041"),
                Just(""),
            ]
            .prop_map(|text| format!("\"{text}\"")),
            r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?",
            r"[-+0-9.eE]{1,6}",
            prop_oneof![
                Just("true"),
                Just("false"),
                Just("null"),
                Just("nul"),
                Just(r#"{"sourceTime":"2026-05-01T12:00:00Z"}"#),
                Just("[1,2]"),
            ]
            .prop_map(str::to_owned),
        ]
    }

    fn key() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("op"),
            Just("path"),
            Just("value"),
            Just("from"),
            Just("o\\u0070"),
        ]
    }

    /// A JSON object of `members`, spaced with `gap` around every token.
    fn object(members: &[(String, String)], gap: &str) -> String {
        let members: Vec<String> = members
            .iter()
            .map(|(key, value)| format!("{gap}\"{key}\"{gap}:{gap}{value}{gap}"))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn body() -> impl Strategy<Value = String> {
        let op = prop::collection::vec((key(), value()), 0..4);
        let ops = prop::collection::vec(op, 0..4);
        (ops, value(), spaces(), 0..6usize).prop_map(|(ops, model, gap, shape)| {
            let ops: Vec<String> = ops
                .iter()
                .map(|members| {
                    let members: Vec<(String, String)> = members
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect();
                    object(&members, gap)
                })
                .collect();
            let patch = format!("[{gap}{}{gap}]", ops.join(&format!("{gap},{gap}")));
            let members = match shape {
                0 => vec![("modelId", model), ("patch", patch)],
                1 => vec![("patch", patch), ("modelId", model)],
                2 => vec![("patch", patch)],
                3 => vec![("patch", patch.clone()), ("patch", patch)],
                4 => vec![("modelId", model), ("twin", "1".into()), ("patch", patch)],
                _ => vec![("modelId", model), ("patch", "[".into())],
            };
            let members: Vec<(String, String)> = members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            object(&members, gap)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn what_is_read_by_hand_is_what_serde_json_reads(text in body()) {
            if let Some(read) = by_hand(&text) {
                prop_assert_eq!(Some(read), by_serde(&text), "{}", text);
            }
        }

        #[test]
        fn a_string_ends_at_its_first_quote_backslash_or_control_character(
            text in prop::collection::vec(
                prop_oneof![
                    40 => (0x20u8..=0xFF).prop_filter("plain", |&b| b != b'"' && b != b'\\'),
                    1 => prop::sample::select(vec![b'"', b'\\', 0x00, 0x1F]),
                ],
                0..40,
            ),
        ) {
            let first = text.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(string_end(&text), first);
        }

        #[test]
        fn any_text_read_by_hand_reads_alike_through_serde_json(
            text in r#"[\[\]{}",:ab0-9 .\-eE\\]{0,60}"#,
        ) {
            if let Some(read) = by_hand(&text) {
                prop_assert_eq!(Some(read), by_serde(&text), "{}", text);
            }
        }
    }
}
