//! How the Functions host encodes values in a custom handler request, undone.
//!
//! Current hosts put strings in as JSON strings whose content is itself a JSON string literal
//! (`"\"abc\""`), numbers and booleans as strings of their text, arrays as strings holding the
//! array's JSON, and objects as real objects. Older hosts sent plain values. Every reader here
//! accepts both forms.

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
    match value {
        Value::String(s) => Some(unquote(s).unwrap_or_else(|| s.clone())),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The content of a JSON string literal, if `s` is exactly one (`"abc"` with its quotes).
fn unquote(s: &str) -> Option<String> {
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
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::String(inner)) => serde_json::from_str(&inner).ok(),
            Ok(decoded) => Some(decoded),
            Err(_) => None,
        },
        other => Some(other.clone()),
    }
}

/// A JSON array in either form, as its items; anything else is `None`.
pub fn json_array(value: &Value) -> Option<Vec<Value>> {
    match json_value(value)? {
        Value::Array(items) => Some(items),
        _ => None,
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
    fn an_array_that_is_not_an_array_is_refused() {
        assert_eq!(json_array(&json!("{\"a\":1}")), None);
        assert_eq!(json_array(&json!("[1,")), None);
        assert_eq!(json_array(&json!(5)), None);
    }
}
