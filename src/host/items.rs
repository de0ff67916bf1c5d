//! Typed readers for the items of the host's metadata arrays: one pass over an array's JSON
//! text, nothing built that is not used, text borrowed from the array where it has no escapes.
//!
//! Each reader accepts exactly what reading the array as a `Value` accepts (the same nesting
//! limit, string and number rules), so a batch reads the same whichever way it is read.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::encoding::{decoded_text, unquote, Skipped};
use super::members::StrVisitor;
use crate::adt::{CloudEventAttributes, PropertyText};
use crate::time::Timestamp;

/// Reads a JSON array text, each item with `seed`, with room for `expected` items; `None` where
/// reading it as a `Value` fails.
pub(crate) fn array_of<'de, S>(text: &'de str, seed: S, expected: usize) -> Option<Vec<S::Value>>
where
    S: DeserializeSeed<'de> + Copy,
{
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let items = deserializer
        .deserialize_seq(ArrayVisitor { seed, expected })
        .ok()?;
    deserializer.end().ok()?;
    Some(items)
}

struct ArrayVisitor<S> {
    seed: S,
    expected: usize,
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for ArrayVisitor<S> {
    type Value = Vec<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Room for the batch, but not for whatever length a malformed array claims.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(self.expected));
        while let Some(item) = seq.next_element_seed(self.seed)? {
            items.push(item);
        }
        Ok(items)
    }
}

/// One entry of a properties array (`PropertiesArray`, `ApplicationPropertiesArray`): the
/// CloudEvents attributes of one message. An entry that is a string holding the object is read
/// through that string; an entry that is no object has no attributes.
#[derive(Clone, Copy)]
pub(crate) struct AttributesItem;

impl<'de> DeserializeSeed<'de> for AttributesItem {
    type Value = CloudEventAttributes<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(AttributesVisitor(PhantomData))
    }
}

struct AttributesVisitor<'de>(PhantomData<&'de ()>);

impl<'de> Visitor<'de> for AttributesVisitor<'de> {
    type Value = CloudEventAttributes<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut attributes = CloudEventAttributes::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(PropertyItem)?;
            attributes.set(&key, value);
        }
        Ok(attributes)
    }
    // A string holding the properties' JSON (encoded once more): rare, read the long way.
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(match decoded_text(text) {
            Some(Value::Object(map)) => attributes_of_map(&map),
            _ => CloudEventAttributes::default(),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skipped::visit_seq_of(seq)?;
        Ok(CloudEventAttributes::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(CloudEventAttributes::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(CloudEventAttributes::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(CloudEventAttributes::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(CloudEventAttributes::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(CloudEventAttributes::default())
    }
}

/// The attributes of a properties map whose values may be quoted once more, owned.
pub(crate) fn attributes_of_map(map: &Map<String, Value>) -> CloudEventAttributes<'static> {
    let mut attributes = CloudEventAttributes::default();
    for (key, value) in map {
        let text = match value {
            Value::String(s) => Some(Cow::Owned(unquote(s).unwrap_or_else(|| s.clone()))),
            _ => None,
        };
        attributes.set(key, text);
    }
    attributes
}

#[derive(Clone, Copy)]
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(StrVisitor)
    }
}

/// A property's value: its text (unquoted when quoted once more), or no text.
#[derive(Clone, Copy)]
struct PropertyItem;

impl<'de> DeserializeSeed<'de> for PropertyItem {
    type Value = PropertyText<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TextVisitor { scalars: false })
    }
}

/// One entry of an array of texts (`EnqueuedTimeUtcArray`, `MessageIdArray`): a string,
/// unquoted when quoted once more, or the text of a number or boolean; nothing else.
#[derive(Clone, Copy)]
pub(crate) struct TextItem;

impl<'de> DeserializeSeed<'de> for TextItem {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TextVisitor { scalars: true })
    }
}

/// One entry of an enqueued-time array, read as a usable time.
#[derive(Clone, Copy)]
pub(crate) struct TimeItem;

impl<'de> DeserializeSeed<'de> for TimeItem {
    type Value = Option<Timestamp>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let text = TextItem.deserialize(deserializer)?;
        Ok(text.and_then(|text| Timestamp::parse_time(&text)))
    }
}

/// Text of a value: strings always; with `scalars`, numbers and booleans as their JSON text.
struct TextVisitor {
    scalars: bool,
}

impl TextVisitor {
    fn scalar<E>(&self, text: impl FnOnce() -> String) -> Result<Option<Cow<'static, str>>, E> {
        Ok(self.scalars.then(|| Cow::Owned(text())))
    }
}

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(unquote(text).map_or(Cow::Borrowed(text), Cow::Owned)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(
            unquote(text).unwrap_or_else(|| text.to_owned()),
        )))
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        self.scalar(|| value.to_string())
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        self.scalar(|| value.to_string())
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        self.scalar(|| value.to_string())
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // As a `Value` would hold it, and print it.
        match Number::from_f64(value) {
            Some(number) => self.scalar(|| number.to_string()),
            None => Ok(None),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skipped::visit_seq_of(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skipped::visit_map_of(map)?;
        Ok(None)
    }
}
