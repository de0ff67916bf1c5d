//! `Members`: a JSON object being assembled from values borrowed from a notification, written
//! straight to JSON once complete.
//!
//! It keeps the rules of a `serde_json::Map` with `preserve_order`: members in the order their
//! names were first inserted, and a later insert under a name replacing the value in place.
//! Borrowing instead of building `Value`s spares a copy of every name and value on the way to
//! text that serde then writes once. Records hold a handful of members, so names are found by a
//! scan, and through a hash index only past [`SCAN_LIMIT`]: `indexmap` in its place hashes every
//! name and cost 12 % more instructions per event on `eventhub_events/100` (3 % with `foldhash`),
//! measured with callgrind (docs/performance.md).

use std::borrow::Cow;
use std::collections::HashMap;

use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Number, Value};

use super::options::Numbers;

/// Objects with more members than this find names through a hash index rather than a scan.
const SCAN_LIMIT: usize = 16;

/// The members of an object, in first-insertion order.
#[derive(Debug, Default)]
pub(crate) struct Members<'a> {
    entries: Vec<(Cow<'a, str>, Node<'a>)>,
    /// Position by name, built once the object outgrows a scan.
    // Boxed on purpose: most objects never need an index, and an unboxed one would more than
    // double the size of every member that holds an object, which the renderer moves around.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<Cow<'a, str>, usize>>>,
}

/// A member's value.
#[derive(Debug)]
pub(crate) enum Node<'a> {
    /// A value as the notification carried it (numbers are converted when written).
    Value(&'a Value),
    /// An object assembled here, member by member.
    Object(Members<'a>),
}

impl<'a> Members<'a> {
    /// The members of an object value, as borrowed nodes.
    fn of_map(map: &'a Map<String, Value>) -> Self {
        let mut members = Members::default();
        for (name, value) in map {
            members.push(Cow::Borrowed(name), Node::Value(value));
        }
        members
    }

    /// The value under `name`, if there is one.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Node<'a>> {
        let position = self.position(name)?;
        Some(&mut self.entries[position].1)
    }

    /// The value under `name`, appending `make()` first when there is none.
    pub(crate) fn get_or_insert(
        &mut self,
        name: Cow<'a, str>,
        make: impl FnOnce() -> Node<'a>,
    ) -> &mut Node<'a> {
        let position = match self.position(&name) {
            Some(position) => position,
            None => {
                self.push(name, make());
                self.entries.len() - 1
            }
        };
        &mut self.entries[position].1
    }

    /// Sets `name` to `node`: in place when the name is already there, else at the end.
    pub(crate) fn insert(&mut self, name: Cow<'a, str>, node: Node<'a>) {
        match self.position(&name) {
            Some(position) => self.entries[position].1 = node,
            None => self.push(name, node),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.entries.iter().position(|(n, _)| n == name),
        }
    }

    fn push(&mut self, name: Cow<'a, str>, node: Node<'a>) {
        if let Some(index) = &mut self.index {
            index.insert(name.clone(), self.entries.len());
        } else if self.entries.len() == SCAN_LIMIT {
            let names = self.entries.iter().map(|(n, _)| n.clone());
            let mut index: HashMap<_, _> = names.zip(0..).collect();
            index.insert(name.clone(), self.entries.len());
            self.index = Some(Box::new(index));
        }
        self.entries.push((name, node));
    }

    /// The members in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.entries.iter().map(|(name, node)| (&**name, node))
    }
}

impl<'a> Node<'a> {
    /// The node as serde writes it, with numbers converted as asked.
    pub(crate) fn written(&self, numbers: Numbers) -> impl Serialize + '_ {
        Written {
            node: self,
            numbers,
        }
    }

    /// Whether the node is an object, assembled or as a value.
    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Node::Object(_) | Node::Value(Value::Object(_)))
    }

    /// The node's members when it is an object, turning an object value into members first so
    /// that more can be added; `None` for anything else.
    pub(crate) fn members(&mut self) -> Option<&mut Members<'a>> {
        if let Node::Value(Value::Object(map)) = *self {
            *self = Node::Object(Members::of_map(map));
        }
        match self {
            Node::Object(members) => Some(members),
            Node::Value(_) => None,
        }
    }
}

/// A node as it is written, numbers converted as asked.
struct Written<'n, 'a> {
    node: &'n Node<'a>,
    numbers: Numbers,
}

impl Serialize for Written<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.node {
            Node::Value(value) => Converted {
                value,
                numbers: self.numbers,
            }
            .serialize(serializer),
            Node::Object(members) => serializer.collect_map(
                members
                    .iter()
                    .map(|(name, node)| (name, node.written(self.numbers))),
            ),
        }
    }
}

/// A value written with its numbers as doubles (recursively), unless asked to keep them as they came.
pub(crate) struct Converted<'a> {
    pub value: &'a Value,
    pub numbers: Numbers,
}

impl Serialize for Converted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let numbers = self.numbers;
        let converted = |value| Converted { value, numbers };
        match (numbers, self.value) {
            (Numbers::Double, Value::Number(n)) => match n.as_f64().and_then(Number::from_f64) {
                Some(double) => double.serialize(serializer),
                None => n.serialize(serializer),
            },
            (Numbers::Double, Value::Array(items)) => {
                serializer.collect_seq(items.iter().map(converted))
            }
            (Numbers::Double, Value::Object(map)) => {
                serializer.collect_map(map.iter().map(|(name, value)| (name, converted(value))))
            }
            (_, value) => value.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writes members as a JSON object.
    fn text(members: Members<'_>, numbers: Numbers) -> String {
        serde_json::to_string(&Node::Object(members).written(numbers)).unwrap()
    }

    #[test]
    fn a_later_insert_replaces_in_place_like_a_json_map() {
        let values = [json!(1), json!(2), json!(3), json!("x")];
        for count in [3, SCAN_LIMIT + 5] {
            let mut members = Members::default();
            let mut map = Map::new();
            for i in 0..count {
                for (name, value) in [("a", &values[0]), ("b", &values[1]), ("a", &values[2])] {
                    let name = format!("{name}{}", i % 4);
                    members.insert(Cow::Owned(name.clone()), Node::Value(value));
                    map.insert(name, value.clone());
                }
            }
            members.insert(Cow::Borrowed("a\"\n"), Node::Value(&values[3]));
            map.insert("a\"\n".to_owned(), values[3].clone());
            assert_eq!(text(members, Numbers::AsIs), Value::Object(map).to_string());
        }
    }

    #[test]
    fn numbers_become_doubles_all_the_way_down() {
        let value = json!({"v": {"a": 1, "b": [2, {"c": -3}], "d": 1.5, "e": "7", "f": u64::MAX}});
        let node = Node::Value(&value);
        let text = |numbers| serde_json::to_string(&node.written(numbers)).unwrap();
        assert_eq!(
            text(Numbers::Double),
            r#"{"v":{"a":1.0,"b":[2.0,{"c":-3.0}],"d":1.5,"e":"7","f":1.8446744073709552e+19}}"#
        );
        assert_eq!(text(Numbers::AsIs), value.to_string());
    }

    #[test]
    fn an_object_value_opens_into_members_that_keep_its_order() {
        let value = json!({"z": 1, "a": 2});
        let extra = json!(3);
        let mut node = Node::Value(&value);
        assert!(node.is_object());
        let members = node.members().unwrap();
        members.insert(Cow::Borrowed("m"), Node::Value(&extra));
        members.insert(Cow::Borrowed("z"), Node::Value(&extra));
        let mut outer = Members::default();
        outer.insert(Cow::Borrowed("o"), node);
        assert_eq!(text(outer, Numbers::AsIs), r#"{"o":{"z":3,"a":2,"m":3}}"#);
        assert!(Node::Value(&extra).members().is_none());
    }
}
