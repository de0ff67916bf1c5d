//! Metadata arrays read where they were sent, when their text quotes nothing but itself.
//!
//! Hosts send a metadata array as JSON text inside a JSON string:
//! `"[{\"cloudEvents:id\":\"e1\"}]"`. When every backslash in that string's content escapes a
//! quote (the inner text's strings hold no escape of their own, the common case), each inner
//! string runs from one `\"` to the next, and the array can be read straight from the content as
//! sent: no unescaped copy of the text, no allocation per item, each string borrowed where it
//! lies. Anything else (another escape, a number, nesting deeper than the shape asked for) is
//! refused with `None`, and the caller reads the unescaped text the long way, which accepts
//! everything read here and reads it alike.

use super::literal::{after_whitespace, equal, BLOCK};

/// A reader of the inner text, over the outer string's content as sent.
struct Sent<'a> {
    raw: &'a str,
    at: usize,
    /// The places of the backslashes not yet read past: every one starts an inner quote.
    backslashes: Places<'a>,
}

impl<'a> Sent<'a> {
    fn new(raw: &'a str) -> Self {
        Sent {
            raw,
            at: 0,
            backslashes: Places::of(b'\\', raw.as_bytes()),
        }
    }
}

impl<'a> Sent<'a> {
    /// The next byte that is no whitespace, stepped over when it is `byte`.
    fn eat(&mut self, byte: u8) -> bool {
        self.at = after_whitespace(self.raw.as_bytes(), self.at);
        let found = self.raw.as_bytes().get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }

    /// An inner string: `\"`, text holding no backslash, `\"`.
    fn string(&mut self) -> Option<&'a str> {
        let bytes = self.raw.as_bytes();
        self.at = after_whitespace(bytes, self.at);
        // Its opening backslash is the next one, and the one after closes it.
        if self.backslashes.next() != Some(self.at) || bytes.get(self.at + 1) != Some(&b'"') {
            return None;
        }
        let start = self.at + 2;
        let end = self.backslashes.next()?;
        if bytes.get(end + 1) != Some(&b'"') {
            return None;
        }
        self.at = end + 2;
        // Both ends are ASCII bytes, so on character boundaries.
        Some(&self.raw[start..end])
    }

    /// An inner array, each item read by `item` onto the items; with room for `expected`.
    fn array<T>(
        &mut self,
        expected: usize,
        mut item: impl FnMut(&mut Self, &mut Vec<T>) -> Option<()>,
    ) -> Option<Vec<T>> {
        if !self.eat(b'[') {
            return None;
        }
        let mut items = Vec::with_capacity(expected);
        if self.eat(b']') {
            return Some(items);
        }
        loop {
            item(self, &mut items)?;
            if self.eat(b']') {
                return Some(items);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// An inner object of string members, each handed to `member` in order.
    fn object(&mut self, mut member: impl FnMut(&'a str, &'a str)) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            member(key, self.string()?);
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// Whether nothing but whitespace is left.
    fn at_end(&self) -> bool {
        after_whitespace(self.raw.as_bytes(), self.at) == self.raw.len()
    }
}

/// The items of an array of strings, each made by `item`; `raw` is the content, as sent, of the
/// string holding the array's text. `None` unless the text is such an array, quoting nothing but
/// itself.
///
/// ```
/// # use adt_bridge::host::quoted::strings;
/// let sent = r#"[\"2026-05-01T12:00:00Z\", \"x\"]"#;
/// assert_eq!(strings(sent, 2, str::len), Some(vec![20, 1]));
/// assert_eq!(strings(r#"[\"a\\\"b\"]"#, 1, str::len), None);
/// ```
pub fn strings<'a, T>(
    raw: &'a str,
    expected: usize,
    mut item: impl FnMut(&'a str) -> T,
) -> Option<Vec<T>> {
    let mut sent = Sent::new(raw);
    let items = sent.array(expected, |sent, items| {
        items.push(item(sent.string()?));
        Some(())
    })?;
    sent.at_end().then_some(items)
}

/// The items of an array of objects whose members are all strings, each item built from its
/// members by `member`, in order; `raw` as for [`strings`].
///
/// ```
/// # use adt_bridge::host::quoted::objects;
/// let sent = r#"[{\"a\":\"1\",\"b\":\"2\"}, {}]"#;
/// let count = |members: &mut usize, _: &str, _: &str| *members += 1;
/// assert_eq!(objects(sent, 2, count), Some(vec![2, 0]));
/// assert_eq!(objects(r#"[{\"a\":1}]"#, 1, count), None);
/// ```
pub fn objects<'a, T: Default>(
    raw: &'a str,
    expected: usize,
    mut member: impl FnMut(&mut T, &'a str, &'a str),
) -> Option<Vec<T>> {
    let mut sent = Sent::new(raw);
    let items = sent.array(expected, |sent, items| {
        // Built where it lies: an item can be large (the attributes of a message are).
        items.push(T::default());
        let item = items.last_mut().expect("just pushed");
        sent.object(|key, value| member(item, key, value))
    })?;
    sent.at_end().then_some(items)
}

/// The places of one byte in a text, in order, found 64 bytes at a time.
pub(crate) struct Places<'t> {
    text: &'t [u8],
    byte: u8,
    /// Where the block in hand starts, and its places not yet handed out.
    at: usize,
    bits: u64,
}

impl<'t> Places<'t> {
    /// The places of `byte` in `text`.
    pub(crate) fn of(byte: u8, text: &'t [u8]) -> Self {
        let mut places = Places {
            text,
            byte,
            at: 0,
            bits: 0,
        };
        places.bits = places.block_bits();
        places
    }

    fn block_bits(&self) -> u64 {
        let rest = &self.text[self.at.min(self.text.len())..];
        match rest.first_chunk::<BLOCK>() {
            Some(whole) => equal(whole, self.byte),
            None => {
                // Padded with a byte that is not the one looked for.
                let mut padded = [!self.byte; BLOCK];
                padded[..rest.len()].copy_from_slice(rest);
                equal(&padded, self.byte)
            }
        }
    }
}

impl Iterator for Places<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.at += BLOCK;
            if self.at >= self.text.len() {
                return None;
            }
            self.bits = self.block_bits();
        }
        let place = self.at + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::literal::as_sent;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    fn read_strings(text: &str) -> Option<Vec<String>> {
        strings(&as_sent(text), 0, str::to_owned)
    }

    fn read_objects(text: &str) -> Option<Vec<Vec<(String, String)>>> {
        objects(&as_sent(text), 0, |members: &mut Vec<_>, key, value| {
            members.push((key.to_owned(), value.to_owned()))
        })
    }

    #[test]
    fn arrays_of_plain_strings_are_read_as_sent() {
        let read = read_strings(r#" [ "a" , "", "é 😀 {}[]:," ] "#);
        assert_eq!(read.unwrap(), ["a", "", "é 😀 {}[]:,"]);
        assert_eq!(read_strings("[]"), Some(vec![]));
        let read = read_objects(r#"[{"k":"v", "k":"w"}, {}, {"":""}]"#).unwrap();
        let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            read,
            [owned(&[("k", "v"), ("k", "w")]), vec![], owned(&[("", "")])]
        );
    }

    #[test]
    fn anything_else_is_left_to_the_long_way() {
        for text in [
            r#"["a\"b"]"#,
            r#"["a\\b"]"#,
            "[\"a\nb\"]",
            "[\n\"a\"]",
            r#"["a/b\/"]"#,
            r#"["a", 1]"#,
            r#"["a",]"#,
            r#"["a"] x"#,
            r#"["a""#,
            r#"{"a": "b"}"#,
            r#"[["a"]]"#,
            r#"[null]"#,
        ] {
            assert_eq!(read_strings(text), None, "{text}");
        }
        for text in [
            r#"[{"a": 1}]"#,
            r#"[{"a": null}]"#,
            r#"[{"a": "b",}]"#,
            r#"[{"a" "b"}]"#,
            r#"[{"a": {"b": "c"}}]"#,
            r#"["a"]"#,
            r#"[{"a\u0041": "b"}]"#,
        ] {
            assert_eq!(read_objects(text), None, "{text}");
        }
    }

    fn text_member() -> impl Strategy<Value = String> {
        r#"[a-z:_ "\\/é😀\n]{0,12}"#
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn places_are_every_place_of_the_byte(text in prop::collection::vec(prop::sample::select(vec![b'\\', b'a', 0xFF]), 0..200)) {
            let expected: Vec<usize> = (0..text.len()).filter(|&n| text[n] == b'\\').collect();
            prop_assert_eq!(Places::of(b'\\', &text).collect::<Vec<_>>(), expected);
        }

        #[test]
        fn what_is_read_as_sent_is_what_serde_json_reads(
            items in prop::collection::vec(
                prop::collection::vec((text_member(), text_member()), 0..4), 0..5),
            spaced: bool,
        ) {
            let objects: Vec<Value> = items
                .iter()
                .map(|members| {
                    // Member by member, so that a repeated key is sent twice.
                    let inner: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("{}:{}", json!(k), json!(v)))
                        .collect();
                    serde_json::from_str(&format!("{{{}}}", inner.join(","))).unwrap()
                })
                .collect();
            let texts: Vec<String> = items.iter().flatten().map(|(_, v)| v.clone()).collect();
            let space = if spaced { " " } else { "" };
            let strings_text = format!(
                "[{space}{}{space}]",
                texts.iter().map(|t| json!(t).to_string()).collect::<Vec<_>>().join(&format!(",{space}"))
            );
            let plain = |text: &String| !text.contains(['"', '\\', '\n']);
            let read = read_strings(&strings_text);
            if texts.iter().all(plain) {
                prop_assert_eq!(read.as_ref(), Some(&texts));
            } else {
                prop_assert_eq!(read, None);
            }
            let objects_text = format!(
                "[{}]",
                items.iter().map(|members| {
                    let inner: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("{}:{space}{}", json!(k), json!(v)))
                        .collect();
                    format!("{{{}}}", inner.join(","))
                }).collect::<Vec<_>>().join(",")
            );
            let read = read_objects(&objects_text);
            let all_plain = items.iter().flatten().all(|(k, v)| plain(k) && plain(v));
            prop_assert_eq!(read.is_some(), all_plain);
            if let Some(read) = read {
                // The last of a repeated key wins, as in serde_json's map.
                for (members, object) in read.iter().zip(&objects) {
                    let mut map = Map::new();
                    for (key, value) in members {
                        map.insert(key.clone(), json!(value));
                    }
                    prop_assert_eq!(&Value::Object(map), object);
                }
            }
        }
    }
}
