//! The members of `Data` and `Metadata`, read once and borrowed from the request body.
//!
//! A member holding a JSON string (how current hosts send strings, numbers, booleans and arrays)
//! keeps that string's content, borrowed from the body (which the envelope's reader unescapes in
//! place); any other member (an object, or a plain value from an older host) is kept as a
//! `Value`. The host's second encoding is undone only when a member is read, and only for the
//! members a function reads.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::encoding::{decoded_text, text_ref, unquote};

/// One member of `Data` or `Metadata` as the host encoded it.
#[derive(Clone, Debug, PartialEq)]
pub enum Member<'a> {
    /// A JSON string: its content.
    Text(Cow<'a, str>),
    /// Any other JSON value.
    Json(Value),
}

impl Member<'_> {
    /// The value as a plain JSON value, as it stood in the request.
    pub fn to_value(&self) -> Value {
        match self {
            Member::Text(text) => Value::String(text.as_ref().to_owned()),
            Member::Json(value) => value.clone(),
        }
    }

    /// The value in either of the host's forms, decoded (see [`super::encoding::json_value`]).
    pub fn json_value(&self) -> Option<Value> {
        match self {
            Member::Text(text) => decoded_text(text),
            Member::Json(value) => Some(value.clone()),
        }
    }

    /// The value's text in either form (see [`super::encoding::text`]).
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Member::Text(text) => {
                Some(unquote(text).map_or(Cow::Borrowed(text.as_ref()), Cow::Owned))
            }
            Member::Json(value) => text_ref(value),
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
        match self {
            Member::Text(text) if text.trim_start().starts_with('[') => Some(text),
            _ => None,
        }
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
