//! How the Functions host encodes values in a custom handler request, undone.
//!
//! Current hosts put strings in as JSON strings whose content is itself a JSON string literal
//! (`"\"abc\""`), numbers and booleans as strings of their text, arrays as strings holding the
//! array's JSON, and objects as real objects. Older hosts sent plain values. Every reader here
//! accepts both forms.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A text value in either form: `"\"abc\""` (current hosts) or `"abc"` (plain).
///
/// ```
/// use adt_bridge::host::encoding::text;
/// use serde_json::json;
/// assert_eq!(text(&json!("\"GrindingStep\"")).as_deref(), Some("GrindingStep"));
/// assert_eq!(text(&json!("GrindingStep")).as_deref(), Some("GrindingStep"));
/// assert_eq!(text(&json!(42)).as_deref(), Some("42"));
/// assert_eq!(text(&json!(null)), None);
/// ```
pub fn text(value: &Value) -> Option<String> {
    text_ref(value).map(Cow::into_owned)
}

/// [`text`], borrowing a plain string instead of copying it.
pub(crate) fn text_ref(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(unquote(s).map_or(Cow::Borrowed(s.as_str()), Cow::Owned)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// A string value in either form as a plain string value; any other value as it is.
pub(crate) fn unquoted(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(unquote(&s).unwrap_or(s)),
        other => other,
    }
}

/// The content of a JSON string literal, if `s` is exactly one (`"abc"` with its quotes).
pub(crate) fn unquote(s: &str) -> Option<String> {
    let trimmed = s.trim();
    if trimmed.len() >= 2 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        serde_json::from_str::<String>(trimmed).ok()
    } else {
        None
    }
}

/// A JSON value that may arrive as itself or as a string holding its JSON text (possibly quoted
/// once more). Returns the decoded value, or `None` when a string holds no JSON.
///
/// ```
/// use adt_bridge::host::encoding::json_value;
/// use serde_json::json;
/// assert_eq!(json_value(&json!("[1,2]")), Some(json!([1, 2])));
/// assert_eq!(json_value(&json!("\"[1,2]\"")), Some(json!([1, 2])));
/// assert_eq!(json_value(&json!([1, 2])), Some(json!([1, 2])));
/// assert_eq!(json_value(&json!("not json")), None);
/// ```
pub fn json_value(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => decoded_text(s),
        other => Some(other.clone()),
    }
}

/// [`json_value`] of a value the caller gives up, so that a decoded one is moved, not copied.
pub(crate) fn into_json_value(value: Value) -> Option<Value> {
    match value {
        Value::String(s) => decoded_text(&s),
        other => Some(other),
    }
}

/// The JSON a string holds, possibly quoted once more.
pub(crate) fn decoded_text(s: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::String(inner)) => serde_json::from_str(&inner).ok(),
        Ok(decoded) => Some(decoded),
        Err(_) => None,
    }
}

/// The deepest nesting [`read_in_place`] reads: serde_json's (its recursion limit of 128 refuses
/// a 128th level), so that both parsers refuse the same texts.
const MAX_DEPTH: usize = 127;

/// Scratch buffers kept per thread between requests ([`read_in_place`]'s, the bodies' array
/// text) are kept up to this input size; a larger request's are dropped after it, so one huge
/// batch does not stay resident.
pub(crate) const KEPT_BUFFERS_BYTES: usize = 4 << 20;

/// The room [`read_with`] leaves after its copy of the text, for simd-json's 64-byte loads.
const PADDING: usize = simd_json::INPUT_PADDING;

/// What simd-json keeps between reads on one thread: its stage buffers and the tape's storage.
struct Scratch {
    buffers: simd_json::Buffers,
    tape: simd_json::Tape<'static>,
}

impl Scratch {
    /// Empty scratch buffers, with the nesting limit.
    fn fresh() -> Self {
        Scratch {
            buffers: simd_json::Buffers::with_max_depth(0, MAX_DEPTH),
            tape: simd_json::Tape::null(),
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::fresh());
}

/// What reading in place gave.
pub(crate) enum InPlace<T> {
    /// The value, read exactly as serde_json reads it.
    Read(T),
    /// The text holds a `-0`, which simd-json reads as the integer 0 and serde_json (the
    /// reference every reader here is held to) as −0.0: the caller reads the text as sent with
    /// serde_json instead.
    NeedsExact,
}

/// Reads a `T` from a copy of the JSON text `sent` with simd-json, in place: the copy goes into
/// `buffer`, with the room simd-json's 64-byte loads need after it ([`PADDING`]), and every
/// string is unescaped into the copy itself, so a `T` that borrows its strings borrows them from
/// `buffer` however escaped they were. The text as sent tells a `-0` from a `0` (see
/// [`InPlace::NeedsExact`]).
pub(crate) fn read_in_place<'a, T: Deserialize<'a>>(
    sent: &[u8],
    buffer: &'a mut Vec<u8>,
) -> Result<InPlace<T>, simd_json::Error> {
    read_with(sent, buffer, |deserializer| T::deserialize(deserializer))
}

/// Runs `read` over a copy of `sent` with simd-json, in place (as [`read_in_place`] does), with
/// this thread's scratch buffers.
pub(crate) fn read_with<'a, T>(
    sent: &[u8],
    buffer: &'a mut Vec<u8>,
    read: impl FnOnce(&mut simd_json::Deserializer<'a>) -> Result<T, simd_json::Error>,
) -> Result<InPlace<T>, simd_json::Error> {
    let len = sent.len();
    buffer.clear();
    buffer.reserve(len + PADDING);
    buffer.extend_from_slice(sent);
    buffer.resize(len + PADDING, b' ');
    let large = len > KEPT_BUFFERS_BYTES;
    SCRATCH.with_borrow_mut(|scratch| {
        let mut tape = std::mem::replace(&mut scratch.tape, simd_json::Tape::null()).reset();
        let zeros = simd_json::fill_tape_padded(buffer, len, &mut scratch.buffers, &mut tape)
            .map(|()| Zeros::of(&tape.0, scratch.buffers.structural_indexes()));
        if large {
            *scratch = Scratch::fresh();
        }
        let zeros = zeros?;
        let mut deserializer = simd_json::Deserializer::from_tape(tape);
        let read = read(&mut deserializer);
        if !large {
            scratch.tape = deserializer.into_tape().reset();
        }
        let read = read?;
        Ok(if zeros.any_signed(sent) {
            InPlace::NeedsExact
        } else {
            InPlace::Read(read)
        })
    })
}

/// Where in the text simd-json read a number as the integer 0, which it does for `-0` too; the
/// text as sent tells the two apart ([`Zeros::any_signed`]). Numbers are never moved by the
/// unescaping, so a position is a position in the text as sent.
#[derive(Debug, Default)]
struct Zeros(Vec<u32>);

impl Zeros {
    /// The zeros of a tape, placed through simd-json's structural indexes, which hold the first
    /// byte of every value and every `{ } [ ] : ,` in order. A tape and indexes that do not line
    /// up (which a read tape never gives) count as a `-0` at no known place: the caller then
    /// reads the exact way.
    fn of(tape: &[simd_json::Node<'_>], structurals: &[u32]) -> Zeros {
        use simd_json::{Node, StaticNode};
        let zero =
            |node: &Node<'_>| matches!(node, Node::Static(StaticNode::I64(0) | StaticNode::U64(0)));
        if !tape.iter().any(zero) {
            return Zeros::default();
        }
        let mut walk = Walk {
            tape,
            structurals,
            node: 0,
            index: 0,
            zeros: Vec::new(),
        };
        match walk.value() {
            Some(()) => Zeros(walk.zeros),
            // Unknown places: every one counts as signed, so the caller reads the exact way.
            None => Zeros(vec![u32::MAX]),
        }
    }

    /// Whether one of the zeros was written `-0` in `sent`, the text as sent.
    fn any_signed(&self, sent: &[u8]) -> bool {
        self.0
            .iter()
            .any(|&at| sent.get(at as usize) != Some(&b'0'))
    }
}

/// A walk over a tape in document order, keeping pace with the structural indexes.
struct Walk<'t, 'a> {
    tape: &'t [simd_json::Node<'a>],
    structurals: &'t [u32],
    node: usize,
    index: usize,
    zeros: Vec<u32>,
}

impl Walk<'_, '_> {
    fn value(&mut self) -> Option<()> {
        use simd_json::{Node, StaticNode};
        let node = *self.tape.get(self.node)?;
        self.node += 1;
        match node {
            Node::Static(StaticNode::I64(0) | StaticNode::U64(0)) => {
                self.zeros.push(*self.structurals.get(self.index)?);
                self.index += 1;
            }
            Node::Static(_) | Node::String(_) => self.index += 1,
            Node::Object { len, .. } => {
                self.index += 1;
                for _ in 0..len {
                    // The name, the colon, the value, then a comma or the closing brace.
                    self.node += 1;
                    self.index += 2;
                    self.value()?;
                    self.index += 1;
                }
                if len == 0 {
                    self.index += 1;
                }
            }
            Node::Array { len, .. } => {
                self.index += 1;
                for _ in 0..len {
                    self.value()?;
                    self.index += 1;
                }
                if len == 0 {
                    self.index += 1;
                }
            }
        }
        Some(())
    }
}

/// A JSON array in either form, as its items; anything else is `None`.
pub fn json_array(value: &Value) -> Option<Vec<Value>> {
    match json_value(value)? {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

/// Any JSON value, read and dropped. Unlike `IgnoredAny` it goes through the parser's ordinary
/// path, which checks the nesting limit, string escapes, UTF-8 and number ranges as reading a
/// `Value` does.
pub struct Skipped;

impl Skipped {
    /// Reads the rest of an array a visitor was handed, as [`Skipped`] reads one.
    pub(crate) fn visit_seq_of<'de, A: SeqAccess<'de>>(seq: A) -> Result<(), A::Error> {
        SkippedVisitor.visit_seq(seq).map(drop)
    }

    /// Reads the rest of an object a visitor was handed, as [`Skipped`] reads one.
    pub(crate) fn visit_map_of<'de, A: MapAccess<'de>>(map: A) -> Result<(), A::Error> {
        SkippedVisitor.visit_map(map).map(drop)
    }
}

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkippedVisitor)
    }
}

struct SkippedVisitor;

impl<'de> Visitor<'de> for SkippedVisitor {
    type Value = Skipped;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skipped, A::Error> {
        while seq.next_element::<Skipped>()?.is_some() {}
        Ok(Skipped)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skipped, A::Error> {
        while map.next_entry::<Skipped, Skipped>()?.is_some() {}
        Ok(Skipped)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skipped, E> {
        Ok(Skipped)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skipped, E> {
        Ok(Skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn each_row_of_the_host_encoding_table() {
        // string: a JSON string holding a JSON string literal; decode twice
        assert_eq!(text(&json!("\"abc\"")).unwrap(), "abc");
        assert_eq!(
            text(&json!("\"with \\\"quotes\\\"\"")).unwrap(),
            "with \"quotes\""
        );
        // number and bool: a string holding the text
        assert_eq!(text(&json!("1001")).unwrap(), "1001");
        assert_eq!(text(&json!("true")).unwrap(), "true");
        // array: a string holding the array's JSON
        assert_eq!(
            json_array(&json!("[\"a\",\"b\"]")).unwrap(),
            [json!("a"), json!("b")]
        );
        // object: a real object
        assert_eq!(json_value(&json!({"a": 1})).unwrap(), json!({"a": 1}));
        // top-level date: seconds, no zone (kept as text; Timestamp reads it as UTC)
        assert_eq!(
            text(&json!("2024-05-01T12:00:00")).unwrap(),
            "2024-05-01T12:00:00"
        );
    }

    #[test]
    fn a_double_reads_back_exactly_from_its_shortest_text() {
        // Found by the envelope fuzz target: serde_json's default float parsing read this text,
        // the shortest one for the double, as its neighbour (fixed by `float_roundtrip`).
        assert_eq!(
            json_array(&json!("[-9.223372036854777e19]")),
            Some(vec![json!(-9.223372036854777e19_f64)])
        );
    }

    /// What a caller of [`read_in_place`] ends with: simd-json's reading, or serde_json's where
    /// a zero was written `-0`; and whether it fell back.
    fn read_as_a_caller_does(text: &str) -> Option<(Value, bool)> {
        let mut buffer = Vec::new();
        match read_in_place::<Value>(text.as_bytes(), &mut buffer).ok()? {
            InPlace::Read(value) => Some((value, false)),
            InPlace::NeedsExact => Some((serde_json::from_str(text).ok()?, true)),
        }
    }

    /// Whether a value holds a −0.0 anywhere.
    fn holds_negative_zero(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.as_f64().is_some_and(|n| n == 0.0 && n.is_sign_negative()),
            Value::Array(items) => items.iter().any(holds_negative_zero),
            Value::Object(map) => map.values().any(holds_negative_zero),
            _ => false,
        }
    }

    #[test]
    fn a_zero_written_minus_zero_is_found_and_read_as_serde_json_reads_it() {
        for text in [
            "-0",
            "[0, -0, 0]",
            r#"{"a": {"b": [1, {"c": -0}]}, "d": 0}"#,
            r#"{"a": "-0", "b": 0, "c": [], "d": {}, "e": [[], {}, -0 ]}"#,
            "[\"x\\\"y\", -0]",
        ] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                read_as_a_caller_does(text),
                Some((expected, true)),
                "{text}"
            );
        }
        for text in ["[0, 0.0, -0.0, -0e1]", r#"{"a": "-0", "b": 0}"#, "0"] {
            let (value, fell_back) = read_as_a_caller_does(text).unwrap();
            assert!(!fell_back, "{text}");
            assert_eq!(
                value.to_string(),
                serde_json::from_str::<Value>(text).unwrap().to_string()
            );
        }
    }

    fn document() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("0".to_owned()),
            Just("-0".to_owned()),
            Just("-0.0".to_owned()),
            Just("1.5".to_owned()),
            Just("-7".to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            "\"([a-z0 -]|\\\\[nt\"\\\\/]){0,8}\"",
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|items| format!("[{}]", items.join(" , "))),
                // Names differ, so that every value read is one the document keeps.
                prop::collection::vec(inner, 0..5).prop_map(|values| {
                    let members: Vec<_> = values
                        .iter()
                        .enumerate()
                        .map(|(n, value)| format!("\"k{n}\" :{value}"))
                        .collect();
                    format!("{{ {} }}", members.join(","))
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn any_document_reads_as_serde_json_reads_it(text in document()) {
            let expected: Value = serde_json::from_str(&text).unwrap();
            let (value, fell_back) = read_as_a_caller_does(&text).unwrap();
            proptest::prop_assert_eq!(value.to_string(), expected.to_string());
            if !holds_negative_zero(&expected) {
                proptest::prop_assert!(!fell_back, "no -0, yet read again");
            }
        }
    }

    #[test]
    fn an_array_that_is_not_an_array_is_refused() {
        assert_eq!(json_array(&json!("{\"a\":1}")), None);
        assert_eq!(json_array(&json!("[1,")), None);
        assert_eq!(json_array(&json!(5)), None);
    }
}
