//! The members of `Data` and `Metadata`, read once and borrowed from the request body.
//!
//! A member holding a JSON string (how current hosts send strings, numbers, booleans and arrays)
//! keeps that string's content, borrowed from the body: as sent, its escapes undone only when it
//! is read (the host's envelope read by hand, [`super::envelope`]), or already unescaped (the
//! body read in place by simd-json). Any other member (an object, or a plain value from an older
//! host) is kept as a `Value`. The host's second encoding is undone only when a member is read,
//! and only for the members a function reads.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::encoding::{decoded_text, text_ref, unquote};
use super::literal::unescape;

/// One member of `Data` or `Metadata` as the host encoded it.
#[derive(Clone, Debug, PartialEq)]
pub enum Member<'a> {
    /// A JSON string: its content.
    Text(Cow<'a, str>),
    /// A JSON string as sent, with escapes not undone yet.
    Escaped(Escaped<'a>),
    /// Any other JSON value.
    Json(Value),
}

/// The content of a JSON string as sent, escapes and all (checked), and the content with them
/// undone, made when first asked for. Two are equal where they were sent alike.
#[derive(Clone, Debug)]
pub struct Escaped<'a> {
    raw: &'a str,
    unescaped: OnceLock<String>,
}

impl<'a> Escaped<'a> {
    /// `raw`: the content of a valid JSON string literal, between its quotes.
    pub(crate) fn new(raw: &'a str) -> Self {
        Escaped {
            raw,
            unescaped: OnceLock::new(),
        }
    }

    /// The content as sent.
    pub(crate) fn raw(&self) -> &'a str {
        self.raw
    }

    /// The content, its escapes undone.
    pub fn text(&self) -> &str {
        self.unescaped.get_or_init(|| unescape(self.raw))
    }
}

impl PartialEq for Escaped<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

/// A member's value as read: a string's content, escapes undone, or any other value.
enum Content<'m> {
    Text(&'m str),
    Json(&'m Value),
}

impl Member<'_> {
    fn content(&self) -> Content<'_> {
        match self {
            Member::Text(text) => Content::Text(text),
            Member::Escaped(escaped) => Content::Text(escaped.text()),
            Member::Json(value) => Content::Json(value),
        }
    }

    /// The content of a JSON string member, escapes undone; `None` for any other value.
    pub(crate) fn string(&self) -> Option<&str> {
        match self.content() {
            Content::Text(text) => Some(text),
            Content::Json(_) => None,
        }
    }

    /// The content of a JSON string member kept as sent, escapes and all.
    pub(crate) fn as_sent(&self) -> Option<&str> {
        match self {
            Member::Escaped(escaped) => Some(escaped.raw()),
            _ => None,
        }
    }

    /// The value as a plain JSON value, as it stood in the request.
    pub fn to_value(&self) -> Value {
        match self.content() {
            Content::Text(text) => Value::String(text.to_owned()),
            Content::Json(value) => value.clone(),
        }
    }

    /// The value in either of the host's forms, decoded (see [`super::encoding::json_value`]).
    pub fn json_value(&self) -> Option<Value> {
        match self.content() {
            Content::Text(text) => decoded_text(text),
            Content::Json(value) => Some(value.clone()),
        }
    }

    /// The value's text in either form (see [`super::encoding::text`]).
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self.content() {
            Content::Text(text) => Some(unquote(text).map_or(Cow::Borrowed(text), Cow::Owned)),
            Content::Json(value) => text_ref(value),
        }
    }

    /// A JSON array in either form, as its items.
    pub fn json_array(&self) -> Option<Vec<Value>> {
        match self.json_value()? {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The JSON text an array member holds once the host's encoding is undone, if it is held
    /// as text encoded once (the common form), borrowed from the member.
    pub(crate) fn array_text(&self) -> Option<&str> {
        self.string()
            .filter(|text| text.trim_start().starts_with('['))
    }
}

/// The members of `Data` or `Metadata`, in order; a name given twice means its last value, as
/// it does for a JSON object read into a map.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Members<'a>(Vec<(Cow<'a, str>, Member<'a>)>);

impl<'a> Members<'a> {
    /// The member named `name`.
    pub fn get(&self, name: &str) -> Option<&Member<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, member)| member)
    }

    /// Adds a member after the others.
    pub(crate) fn push(&mut self, name: Cow<'a, str>, member: Member<'a>) {
        self.0.push((name, member));
    }

    /// The first of `names` that is present.
    pub fn first_of(&self, names: &[&str]) -> Option<&Member<'a>> {
        names.iter().find_map(|name| self.get(name))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            let member = map.next_value()?;
            members.push((key, member));
        }
        Ok(Members(members))
    }
}

/// A member name, borrowed unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor).map(Key)
    }
}

/// Reads a string, borrowed unless it had escapes.
pub(crate) struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Text(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Member<'de>, E> {
        Ok(Member::Text(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Member<'de>, E> {
        Ok(Member::Text(Cow::Owned(text)))
    }
    // Objects and plain arrays (older hosts) are kept as `Value`s: they are small, and the
    // readers of `Metadata` take them in that form.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Member::Json)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Member::Json)
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Bool(value)))
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Number(value.into())))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Number(value.into())))
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Member<'de>, E> {
        Ok(Member::Json(
            Number::from_f64(value).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
        Ok(Member::Json(Value::Null))
    }
}
