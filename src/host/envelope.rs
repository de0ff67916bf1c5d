//! The host's envelope read by hand: `{"Data": {...}, "Metadata": {...}}` as hosts send it, its
//! string members kept as sent ([`Member::Escaped`]) until a function reads them.
//!
//! Most of a request is a few long strings holding JSON text: the bodies' array, the properties
//! and system properties arrays. A general parser unescapes every one of them before anything is
//! read; here each is only checked ([`super::literal`]), and unescaped when a function reads it:
//! the bodies' array once, and each body straight out of it
//! ([`super::bodies::Bodies::read_sent`]); the system properties, which are read only when an
//! enqueued time is missing, almost never.
//!
//! This reader takes only that shape: UTF-8 text, an object of at most `Data` and `Metadata`,
//! each an object. It refuses anything else (another top-level member, a name given twice at the
//! top, text that is not UTF-8, a value nested deeper than [`MAX_MEMBER_DEPTH`]) without judging
//! it, for [`super::InvocationRequest::parse`] to read the general way. Where it reads, it reads
//! what serde_json reads: strings are checked by serde_json's rules ([`super::literal`]), and
//! every member that is no string is read by serde_json itself.

use std::borrow::Cow;

use serde_json::Value;

use super::literal::{after_whitespace, string_end, unescape};
use super::members::{Escaped, Member, Members};

/// The deepest a member's value may nest here: well inside serde_json's limit for the whole
/// envelope (128, two of which the envelope's own objects take), so that a value read alone is
/// one serde_json would also read inside the envelope.
const MAX_MEMBER_DEPTH: usize = 100;

/// `Data` and `Metadata` of a request body, or `None` where this reader does not take it.
pub(crate) fn read(sent: &[u8]) -> Option<(Members<'_>, Members<'_>)> {
    let text = std::str::from_utf8(sent).ok()?;
    let mut reader = Reader { text, at: 0 };
    let (mut data, mut metadata) = (None, None);
    reader.object(|reader, name| {
        let slot = match &*name {
            "Data" => &mut data,
            "Metadata" => &mut metadata,
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(reader.members()?);
        Some(())
    })?;
    reader.whitespace();
    if reader.at != text.len() {
        return None;
    }
    Some((data.unwrap_or_default(), metadata.unwrap_or_default()))
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn whitespace(&mut self) {
        self.at = after_whitespace(self.text.as_bytes(), self.at);
    }

    /// The next byte after whitespace, taken.
    fn token(&mut self) -> Option<u8> {
        self.whitespace();
        let byte = *self.text.as_bytes().get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    /// An object, each member's value read by `value` once its name and colon are read.
    fn object(
        &mut self,
        mut value: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        if self.token()? != b'{' {
            return None;
        }
        self.whitespace();
        if self.text.as_bytes().get(self.at) == Some(&b'}') {
            self.at += 1;
            return Some(());
        }
        loop {
            if self.token()? != b'"' {
                return None;
            }
            let name = self.string()?;
            if self.token()? != b':' {
                return None;
            }
            self.whitespace();
            value(self, name)?;
            match self.token()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// The members of `Data` or `Metadata`.
    fn members(&mut self) -> Option<Members<'a>> {
        let mut members = Members::default();
        self.object(|reader, name| {
            let member = reader.member()?;
            members.push(name, member);
            Some(())
        })?;
        Some(members)
    }

    /// A string literal whose opening quote was read: its content as sent, and whether that
    /// holds escapes.
    fn literal(&mut self) -> Option<(&'a str, bool)> {
        let start = self.at;
        let (end, escaped) = string_end(self.text.as_bytes(), start)?;
        self.at = end + 1;
        Some((&self.text[start..end], escaped))
    }

    /// A string whose opening quote was read: its content, borrowed unless it had escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        Some(match self.literal()? {
            (raw, true) => Cow::Owned(unescape(raw)),
            (raw, false) => Cow::Borrowed(raw),
        })
    }

    /// A member's value: a string kept as sent, any other value read by serde_json.
    fn member(&mut self) -> Option<Member<'a>> {
        if self.text.as_bytes().get(self.at) == Some(&b'"') {
            self.at += 1;
            return Some(match self.literal()? {
                (raw, true) => Member::Escaped(Escaped::new(raw)),
                (raw, false) => Member::Text(Cow::Borrowed(raw)),
            });
        }
        let mut values = serde_json::Deserializer::from_str(&self.text[self.at..]).into_iter();
        let value: Value = values.next()?.ok()?;
        self.at += values.byte_offset();
        (depth(&value) <= MAX_MEMBER_DEPTH).then_some(Member::Json(value))
    }
}

/// How deep a value nests: 0 for a scalar, 1 for a container of scalars.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Each member as `(name, value)`, the value as it stood in the request.
    fn values(members: &Members<'_>, names: &[&str]) -> Vec<Option<Value>> {
        names
            .iter()
            .map(|name| members.get(name).map(Member::to_value))
            .collect()
    }

    #[test]
    fn a_host_shaped_request_is_read_with_its_strings_kept_as_sent() {
        let events = json!(["{\"a\":\"x\\ny\"}", "{}"]).to_string();
        let body = json!({
            "Data": {"events": events},
            "Metadata": {"sys": {"UtcNow": "2026-05-01T12:05:00Z"}, "OffsetArray": "[1]", "n": 5}
        })
        .to_string();
        let (data, metadata) = read(body.as_bytes()).unwrap();
        assert!(matches!(data.get("events"), Some(Member::Escaped(_))));
        assert!(matches!(metadata.get("OffsetArray"), Some(Member::Text(_))));
        assert_eq!(values(&data, &["events"]), [Some(json!(events))]);
        assert_eq!(
            values(&metadata, &["sys", "OffsetArray", "n"]),
            [
                Some(json!({"UtcNow": "2026-05-01T12:05:00Z"})),
                Some(json!("[1]")),
                Some(json!(5))
            ]
        );
        // Whitespace anywhere JSON allows it, and an empty envelope.
        let (data, _) = read(b" {\n\"Data\" : { \"a\" : \"b\" } }\r\n").unwrap();
        assert_eq!(values(&data, &["a"]), [Some(json!("b"))]);
        assert!(read(b"{}").is_some());
    }

    #[test]
    fn other_shapes_are_left_to_the_general_reader() {
        for body in [
            r#"{"Data": {}, "Other": 1}"#,
            r#"{"Data": {}, "Data": {}}"#,
            r#"{"Data": [], "Metadata": {}}"#,
            r#"{"Data": {"a": 1e400}}"#,
            r#"{"Data": {"a": "\q"}}"#,
            r#"{"Data": {"a": "\ud83d\ude00"}}"#,
            r#"{"Data": {"a": 1} } x"#,
            r#"{"Data": {"a": 1,}}"#,
            r#"{"Data": {"a" 1}}"#,
            r#"{"Data": {"a": 1}"#,
        ] {
            assert!(read(body.as_bytes()).is_none(), "{body}");
        }
        assert!(read(b"{\"Data\": {\"a\": \"\xff\"}}").is_none());
        let deep = format!(
            r#"{{"Data": {{"a": {}{}}}}}"#,
            "[".repeat(101),
            "]".repeat(101)
        );
        assert!(read(deep.as_bytes()).is_none());
        let deep_enough = format!(
            r#"{{"Data": {{"a": {}{}}}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(read(deep_enough.as_bytes()).is_some());
    }

    fn member_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i32>().prop_map(Value::from),
            Just(json!(-0.0)),
            Just(json!(1.5e300)),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            r#"([a-z"\\/\n\t é😀]){0,12}"#.prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z\"]{1,3}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
                // A value as the host encodes it: its JSON text, as a string.
                member_value_text(),
            ]
        })
    }

    fn member_value_text() -> impl Strategy<Value = Value> {
        prop::collection::vec(r#"([a-z"\\]){0,6}"#, 0..4)
            .prop_map(|items| Value::String(json!(items).to_string()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn every_member_reads_as_serde_json_reads_it(
            data in prop::collection::btree_map("[a-z]{1,4}", member_value(), 0..5),
            metadata in prop::collection::btree_map("[a-z\"]{1,4}", member_value(), 0..5),
        ) {
            let body = json!({"Data": data, "Metadata": metadata}).to_string();
            let (read_data, read_metadata) = read(body.as_bytes()).expect("a host-shaped body");
            for (members, expected) in [(&read_data, &data), (&read_metadata, &metadata)] {
                for (name, value) in expected {
                    let read = members.get(name).map(Member::to_value);
                    // Numbers compared as serde_json prints them: -0.0 keeps its sign.
                    prop_assert_eq!(read.map(|v| v.to_string()), Some(value.to_string()));
                }
            }
        }
    }
}
