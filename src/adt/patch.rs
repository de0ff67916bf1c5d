//! A twin's JSON Patch, parsed op by op so that one bad op never costs the others.
//!
//! `add` and `replace` both set a value, `remove` un-sets one, and ops under a `$metadata` segment
//! are not values: `sourceTime` ones time a property, the rest are ignored.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::pointer::{Pointer, PointerError};
use super::text::Text;
use crate::time::Timestamp;

/// One usable op of a patch.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchOp {
    /// `add` or `replace`: the property at `path` now holds `value`.
    Set { path: Pointer, value: Value },
    /// `remove`: the property at `path` no longer has a value.
    Remove { path: Pointer },
    /// `/$metadata/<property>/sourceTime`: when the property's value was measured.
    SourceTime { property: Pointer, time: Timestamp },
    /// Any other `$metadata` op, such as a model change: not a value, nothing to record.
    Metadata,
}

/// An op that cannot be used, and why: it is skipped with a warning and the rest of the patch stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOp {
    /// Position of the op in the patch.
    pub index: usize,
    /// What is wrong with it.
    pub reason: InvalidOpReason,
}

/// Why an op was skipped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOpReason {
    /// The entry is not a JSON object.
    #[error("the op is not an object")]
    NotAnObject,
    /// No `op` member, or not a string.
    #[error("the op has no 'op' string")]
    MissingOp,
    /// An `op` other than add, replace or remove (ADT sends no others).
    #[error("unsupported op {0:?}")]
    UnsupportedOp(String),
    /// No `path` member, or not a string.
    #[error("the op has no 'path' string")]
    MissingPath,
    /// The path is not a usable JSON Pointer.
    #[error("bad path: {0}")]
    BadPath(#[from] PointerError),
    /// An add or replace without a `value`.
    #[error("the op sets no value")]
    MissingValue,
    /// A `sourceTime` that is not a date and time.
    #[error("the sourceTime is not a date and time")]
    BadSourceTime,
}

/// A patch: its usable ops in order, and the ops skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch {
    /// Usable ops, in patch order (later ops win).
    pub ops: Vec<PatchOp>,
    /// Ops that were skipped, with the reason.
    pub invalid: Vec<InvalidOp>,
}

impl Patch {
    /// Classifies the entry at `index` and keeps it as an op or as an invalid op.
    fn push(&mut self, index: usize, entry: RawOp<'_>) {
        match entry.classify() {
            Ok(op) => self.ops.push(op),
            Err(reason) => self.invalid.push(InvalidOp { index, reason }),
        }
    }

    /// Classifies an op object read by hand: its `op` and `path` strings and its `value`, each
    /// where the object has it.
    pub(crate) fn push_read(
        &mut self,
        index: usize,
        op: Option<&str>,
        path: Option<&str>,
        value: Option<Value>,
    ) {
        let entry = RawOp {
            not_object: false,
            op: op.map(|op| Text::Str(Cow::Borrowed(op))),
            path: path.map(|path| Text::Str(Cow::Borrowed(path))),
            value,
        };
        self.push(index, entry);
    }

    /// Parses a patch from a JSON array value (used where the body is already a `Value`).
    ///
    /// ```
    /// use adt_bridge::adt::{Patch, PatchOp};
    /// let patch = Patch::from_value(&serde_json::json!([
    ///     {"op": "add", "path": "/Temperature", "value": 21.5},
    ///     {"op": "move", "path": "/A", "from": "/B"}
    /// ])).unwrap();
    /// assert!(matches!(patch.ops[0], PatchOp::Set { .. }));
    /// assert_eq!(patch.invalid.len(), 1);
    /// ```
    pub fn from_value(value: &Value) -> Option<Self> {
        match PatchField::deserialize(value).ok()? {
            PatchField::Array(patch) => Some(patch),
            PatchField::NotArray => None,
        }
    }
}

/// The `patch` member as found: an array of ops (classified as they are read), or something else.
#[derive(Debug, PartialEq)]
pub(crate) enum PatchField {
    Array(Patch),
    NotArray,
}

/// One patch entry before classification; wrong member types are kept to be reported, not failed on.
/// `op` and `path` borrow from the body: they are only read, never kept.
#[derive(Default)]
struct RawOp<'de> {
    not_object: bool,
    op: Option<Text<'de>>,
    path: Option<Text<'de>>,
    value: Option<Value>,
}

impl RawOp<'_> {
    fn classify(self) -> Result<PatchOp, InvalidOpReason> {
        if self.not_object {
            return Err(InvalidOpReason::NotAnObject);
        }
        let Some(op) = self.op.as_ref().and_then(Text::as_str) else {
            return Err(InvalidOpReason::MissingOp);
        };
        let Some(path) = self.path.as_ref().and_then(Text::as_str) else {
            return Err(InvalidOpReason::MissingPath);
        };
        let segments = Pointer::unescaped(path)?;
        let kind =
            OpKind::parse(op).ok_or_else(|| InvalidOpReason::UnsupportedOp(op.to_owned()))?;
        // A '$' in the text is the cheap hint that a segment may be `$metadata`.
        let metadata = if path.bytes().any(|b| b == b'$') {
            segments.clone().position(|s| s == "$metadata")
        } else {
            None
        };
        if let Some(position) = metadata {
            // Read in place: most metadata ops time a property and keep nothing of their path.
            return metadata_op(kind, &segments.collect::<Vec<_>>(), position, self.value);
        }
        let path = Pointer::collect(segments).expect("a pointer text has a segment");
        match kind {
            OpKind::Set => Ok(PatchOp::Set {
                path,
                value: self.value.ok_or(InvalidOpReason::MissingValue)?,
            }),
            OpKind::Remove => Ok(PatchOp::Remove { path }),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Set,
    Remove,
}

impl OpKind {
    fn parse(op: &str) -> Option<Self> {
        // ADT writes the names in lower case; any other case is read too, more slowly.
        match op {
            "replace" | "add" => return Some(OpKind::Set),
            "remove" => return Some(OpKind::Remove),
            _ => {}
        }
        if op.eq_ignore_ascii_case("add") || op.eq_ignore_ascii_case("replace") {
            Some(OpKind::Set)
        } else if op.eq_ignore_ascii_case("remove") {
            Some(OpKind::Remove)
        } else {
            None
        }
    }
}

/// Reads an op under `$metadata`: `/$metadata/<p>/sourceTime` = time, or `/$metadata/<p>` = `{"sourceTime": time}`.
/// For a component the metadata sits inside it: `/<component>/$metadata/<p>/sourceTime`.
fn metadata_op(
    kind: OpKind,
    segments: &[Cow<'_, str>],
    position: usize,
    value: Option<Value>,
) -> Result<PatchOp, InvalidOpReason> {
    let (owner, after) = (&segments[..position], &segments[position + 1..]);
    let (property, time) = match (after, value) {
        ([prop @ .., last], Some(value)) if last == "sourceTime" && !prop.is_empty() => {
            (prop, value)
        }
        (prop, Some(Value::Object(mut map)))
            if !prop.is_empty() && !prop[0].starts_with('$') && map.contains_key("sourceTime") =>
        {
            (prop, map.swap_remove("sourceTime").unwrap_or(Value::Null))
        }
        _ => return Ok(PatchOp::Metadata),
    };
    if kind == OpKind::Remove || property[0].starts_with('$') {
        return Ok(PatchOp::Metadata);
    }
    let time = time
        .as_str()
        .and_then(|t| Timestamp::parse(t).ok())
        .ok_or(InvalidOpReason::BadSourceTime)?;
    if time.is_placeholder() {
        // A device's default(DateTime) is no measurement time: the value takes the event's.
        return Ok(PatchOp::Metadata);
    }
    let property = Pointer::collect(owner.iter().chain(property).map(|s| &**s))
        .expect("a metadata property has at least one segment");
    Ok(PatchOp::SourceTime { property, time })
}

impl<'de> Deserialize<'de> for PatchField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PatchFieldVisitor)
    }
}

struct PatchFieldVisitor;

impl<'de> Visitor<'de> for PatchFieldVisitor {
    type Value = PatchField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON Patch array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PatchField, A::Error> {
        let mut patch = Patch {
            ops: Vec::with_capacity(seq.size_hint().unwrap_or(8)),
            invalid: Vec::new(),
        };
        let mut index = 0;
        while let Some(entry) = seq.next_element::<RawOp>()? {
            patch.push(index, entry);
            index += 1;
        }
        Ok(PatchField::Array(patch))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PatchField, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(PatchField::NotArray)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<PatchField, E> {
        Ok(PatchField::NotArray)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<PatchField, E> {
        Ok(PatchField::NotArray)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<PatchField, E> {
        Ok(PatchField::NotArray)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<PatchField, E> {
        Ok(PatchField::NotArray)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<PatchField, E> {
        Ok(PatchField::NotArray)
    }
    fn visit_unit<E: de::Error>(self) -> Result<PatchField, E> {
        Ok(PatchField::NotArray)
    }
}

impl<'de> Deserialize<'de> for RawOp<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawOpVisitor)
    }
}

struct RawOpVisitor;

impl RawOpVisitor {
    fn not_object<'de, E>() -> Result<RawOp<'de>, E> {
        Ok(RawOp {
            not_object: true,
            ..RawOp::default()
        })
    }
}

impl<'de> Visitor<'de> for RawOpVisitor {
    type Value = RawOp<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON Patch op")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawOp<'de>, A::Error> {
        let mut raw = RawOp::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.as_str().unwrap_or_default() {
                "op" => raw.op = Some(map.next_value()?),
                "path" => raw.path = Some(map.next_value()?),
                "value" => raw.value = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(raw)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawOp<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_object()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawOp<'de>, E> {
        Self::not_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawOp<'de>, E> {
        Self::not_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawOp<'de>, E> {
        Self::not_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawOp<'de>, E> {
        Self::not_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawOp<'de>, E> {
        Self::not_object()
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawOp<'de>, E> {
        Self::not_object()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(value: Value) -> Patch {
        Patch::from_value(&value).expect("an array")
    }

    #[test]
    fn add_and_replace_set_values_and_remove_unsets() {
        let p = patch(json!([
            {"op": "add", "path": "/A", "value": 1},
            {"op": "replace", "path": "/B", "value": "x"},
            {"op": "remove", "path": "/C"},
        ]));
        assert_eq!(p.ops.len(), 3);
        assert!(matches!(&p.ops[0], PatchOp::Set { value, .. } if value == &json!(1)));
        assert!(matches!(&p.ops[1], PatchOp::Set { value, .. } if value == &json!("x")));
        assert!(matches!(&p.ops[2], PatchOp::Remove { path } if path.segments() == ["C"]));
        assert!(p.invalid.is_empty());
    }

    #[test]
    fn metadata_ops_are_not_values() {
        let p = patch(json!([
            {"op": "add", "path": "/$metadata/Temp/sourceTime", "value": "2026-05-01T12:00:00Z"},
            {"op": "replace", "path": "/Front/$metadata/Temp/sourceTime", "value": "2026-05-01T12:00:01Z"},
            {"op": "add", "path": "/$metadata/Speed", "value": {"sourceTime": "2026-05-01T12:00:02Z"}},
            {"op": "replace", "path": "/$metadata/$model", "value": "dtmi:x;2"},
            {"op": "remove", "path": "/$metadata/Temp/sourceTime"},
        ]));
        let times: Vec<_> = p
            .ops
            .iter()
            .filter_map(|op| match op {
                PatchOp::SourceTime { property, time } => {
                    Some((property.to_string(), time.to_string()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            times,
            [
                ("/Temp".to_owned(), "2026-05-01T12:00:00Z".to_owned()),
                ("/Front/Temp".to_owned(), "2026-05-01T12:00:01Z".to_owned()),
                ("/Speed".to_owned(), "2026-05-01T12:00:02Z".to_owned()),
            ]
        );
        assert_eq!(
            p.ops.iter().filter(|op| **op == PatchOp::Metadata).count(),
            2
        );
    }

    #[test]
    fn bad_ops_are_reported_and_the_rest_stand() {
        let p = patch(json!([
            {"path": "/A", "value": 1},
            {"op": "add", "value": 1},
            {"op": "copy", "path": "/A", "from": "/B"},
            {"op": "add", "path": "A", "value": 1},
            {"op": "add", "path": "/a~2", "value": 1},
            {"op": "add", "path": "/A"},
            {"op": 7, "path": "/A", "value": 1},
            {"op": "add", "path": "/$metadata/A/sourceTime", "value": "soon"},
            42,
            {"op": "add", "path": "/Good", "value": true},
        ]));
        let reasons: Vec<_> = p.invalid.iter().map(|i| i.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                InvalidOpReason::MissingOp,
                InvalidOpReason::MissingPath,
                InvalidOpReason::UnsupportedOp("copy".into()),
                InvalidOpReason::BadPath(PointerError::NoLeadingSlash),
                InvalidOpReason::BadPath(PointerError::BadEscape),
                InvalidOpReason::MissingValue,
                InvalidOpReason::MissingOp,
                InvalidOpReason::BadSourceTime,
                InvalidOpReason::NotAnObject,
            ]
        );
        assert_eq!(p.ops.len(), 1);
    }

    #[test]
    fn a_year_one_source_time_times_nothing() {
        let p = patch(json!([
            {"op": "add", "path": "/$metadata/A/sourceTime", "value": "0001-01-01T00:00:00Z"},
        ]));
        assert_eq!(p.ops, [PatchOp::Metadata]);
        assert!(p.invalid.is_empty());
    }

    #[test]
    fn a_null_value_is_a_value() {
        let p = patch(json!([{"op": "add", "path": "/A", "value": null}]));
        assert!(matches!(
            &p.ops[0],
            PatchOp::Set {
                value: Value::Null,
                ..
            }
        ));
    }

    #[test]
    fn a_patch_that_is_not_an_array_is_refused() {
        assert!(Patch::from_value(&json!({"op": "add"})).is_none());
        assert!(Patch::from_value(&json!("[]")).is_none());
    }
}
