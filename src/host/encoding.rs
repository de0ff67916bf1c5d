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

/// Scratch buffers [`read_in_place`] keeps between requests up to this input size; a larger
/// request's are dropped after it, so one huge batch does not stay resident.
const KEPT_BUFFERS_BYTES: usize = 4 << 20;

/// The room [`read_in_place`] needs after the text, for simd-json's 64-byte loads: a caller that
/// reserves it spares the buffer's growing.
pub(crate) const PADDING: usize = simd_json::INPUT_PADDING;

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

/// Reads a `T` from JSON text with simd-json, in place: every string is unescaped into `text`
/// itself, so a `T` that borrows its strings borrows them however escaped they were, and the
/// host's doubly encoded members cost one SIMD pass instead of a copy. `text` is changed whether
/// or not it reads, and [`PADDING`] bytes are added after it (simd-json reads its input in
/// 64-byte blocks: with the room there it needs no padded copy of its own); a caller that needs
/// the bytes as sent keeps a copy.
pub(crate) fn read_in_place<'a, T: Deserialize<'a>>(
    text: &'a mut Vec<u8>,
) -> Result<T, simd_json::Error> {
    read_with(text, |deserializer| T::deserialize(deserializer))
}

/// Runs `read` over JSON text with simd-json, in place (as [`read_in_place`] does), with this
/// thread's scratch buffers.
pub(crate) fn read_with<'a, T>(
    text: &'a mut Vec<u8>,
    read: impl FnOnce(&mut simd_json::Deserializer<'a>) -> Result<T, simd_json::Error>,
) -> Result<T, simd_json::Error> {
    let len = text.len();
    text.resize(len + PADDING, b' ');
    let large = len > KEPT_BUFFERS_BYTES;
    SCRATCH.with_borrow_mut(|scratch| {
        let mut tape = std::mem::replace(&mut scratch.tape, simd_json::Tape::null()).reset();
        let filled = simd_json::fill_tape_padded(text, len, &mut scratch.buffers, &mut tape);
        if large {
            *scratch = Scratch::fresh();
        }
        filled?;
        let mut deserializer = simd_json::Deserializer::from_tape(tape);
        let read = read(&mut deserializer);
        if !large {
            scratch.tape = deserializer.into_tape().reset();
        }
        read
    })
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

    #[test]
    fn an_array_that_is_not_an_array_is_refused() {
        assert_eq!(json_array(&json!("{\"a\":1}")), None);
        assert_eq!(json_array(&json!("[1,")), None);
        assert_eq!(json_array(&json!(5)), None);
    }
}
