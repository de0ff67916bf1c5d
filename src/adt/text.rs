//! `Text`: a JSON value read only for its text, borrowed from the input when it can be.
//!
//! Member names and the `op`, `path` and `modelId` members are only ever looked at as text; reading
//! them as `String` or `Value` would copy every one of them out of the body first.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A JSON string (borrowed unless it had escapes), or `NotText` for any other JSON value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Text<'de> {
    Str(Cow<'de, str>),
    NotText,
}

impl Text<'_> {
    /// The text, if the value was a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Text::Str(text) => Some(text),
            Text::NotText => None,
        }
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Owned(text)))
    }

    // Arrays and objects are read through as `Value`s so that the parser's nesting limit
    // refuses the same input here as everywhere else the body is read.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'de>, A::Error> {
        while seq.next_element::<Value>()?.is_some() {}
        Ok(Text::NotText)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'de>, A::Error> {
        while map.next_entry::<Text<'de>, Value>()?.is_some() {}
        Ok(Text::NotText)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<'de>, E> {
        Ok(Text::NotText)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<'de>, E> {
        Ok(Text::NotText)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'de>, E> {
        Ok(Text::NotText)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<'de>, E> {
        Ok(Text::NotText)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Text<'de>, E> {
        Ok(Text::NotText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_borrowed_unless_escaped_and_the_rest_is_not_text() {
        let read = |json: &'static str| serde_json::from_str::<Text<'static>>(json).unwrap();
        assert!(matches!(read(r#""add""#), Text::Str(Cow::Borrowed("add"))));
        assert_eq!(read(r#""a\/b""#).as_str(), Some("a/b"));
        for other in [
            "1",
            "-1",
            "1.5",
            "true",
            "null",
            "[1, [2]]",
            r#"{"a": {"b": 1}}"#,
        ] {
            assert_eq!(read(other), Text::NotText, "{other}");
        }
        let value = serde_json::json!(["add", [1]]);
        assert!(matches!(
            Text::deserialize(&value[0]),
            Ok(Text::Str(Cow::Borrowed("add")))
        ));
        assert_eq!(Text::deserialize(&value[1]).unwrap(), Text::NotText);
    }
}
