//! Every notification kind flattened into one list of property changes, which both formats render.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::adt::{Content, Patch, PatchOp, Pointer, Segments};
use crate::time::Timestamp;

/// What happened to a property.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Action<'a> {
    /// It now holds this value.
    Set(&'a Value),
    /// It no longer has a value.
    Remove,
}

/// One property change, borrowed from its notification.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Change<'a> {
    /// Unescaped path segments, at least one.
    pub path: Path<'a>,
    pub action: Action<'a>,
    /// When the value was measured at its source (`sourceTime`).
    pub source_time: Option<Timestamp>,
    /// When ADT last updated the property (`lastUpdateTime`, twin bodies only).
    pub update_time: Option<Timestamp>,
}

/// A path as borrowed segments, at least one.
pub(crate) type Path<'a> = Segments<&'a str>;

fn path_of(pointer: &Pointer) -> Path<'_> {
    match pointer.segments() {
        [one] => Segments::One(one),
        many => Segments::Many(many.iter().map(String::as_str).collect()),
    }
}

fn path_of_one(name: &str) -> Path<'_> {
    Segments::One(name)
}

/// Patches larger than this find duplicate paths with a map instead of a scan.
const SCAN_LIMIT: usize = 32;

/// The changes a notification carries, in order, with each path's later op winning.
pub(crate) fn changes(content: &Content) -> Vec<Change<'_>> {
    match content {
        Content::TwinUpdate { patch, .. } | Content::RelationshipUpdate { patch, .. } => {
            patch_changes(patch)
        }
        Content::TwinCreate { twin, .. } => {
            let mut out = Vec::new();
            twin_changes(twin, &mut Vec::new(), &mut out);
            out
        }
        Content::Telemetry { fields, .. } => fields
            .iter()
            .map(|(key, value)| Change {
                path: path_of_one(key),
                action: Action::Set(value),
                source_time: None,
                update_time: None,
            })
            .collect(),
        Content::Legacy {
            data_type,
            value,
            time,
            ..
        } => vec![Change {
            path: path_of_one(data_type),
            action: Action::Set(value),
            source_time: *time,
            update_time: None,
        }],
    }
}

fn patch_changes(patch: &Patch) -> Vec<Change<'_>> {
    let source_times = SourceTimes::of(&patch.ops);
    let superseded = Superseded::of(&patch.ops);
    patch
        .ops
        .iter()
        .enumerate()
        .filter_map(|(index, op)| {
            let (path, action) = value_op(op)?;
            (!superseded.at(index, path)).then(|| Change {
                path: path_of(path),
                action,
                source_time: source_times.of_path(path),
                update_time: None,
            })
        })
        .collect()
}

/// The path and action of an op that sets or removes a value.
fn value_op(op: &PatchOp) -> Option<(&Pointer, Action<'_>)> {
    match op {
        PatchOp::Set { path, value } => Some((path, Action::Set(value))),
        PatchOp::Remove { path } => Some((path, Action::Remove)),
        _ => None,
    }
}

/// Which value ops a later op of the same patch sets or removes again.
enum Superseded<'a> {
    /// A small patch: look through the later ops.
    Scan(&'a [PatchOp]),
    /// A large one: the position of each path's last value op.
    Last(HashMap<&'a Pointer, usize>),
}

impl<'a> Superseded<'a> {
    fn of(ops: &'a [PatchOp]) -> Self {
        if ops.len() <= SCAN_LIMIT {
            return Superseded::Scan(ops);
        }
        let mut last = HashMap::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            if let Some((path, _)) = value_op(op) {
                last.insert(path, index);
            }
        }
        Superseded::Last(last)
    }

    /// Whether the value op at `index`, on `path`, is superseded.
    fn at(&self, index: usize, path: &Pointer) -> bool {
        match self {
            Superseded::Scan(ops) => ops[index + 1..]
                .iter()
                .filter_map(value_op)
                .any(|(later, _)| later == path),
            Superseded::Last(last) => last[path] != index,
        }
    }
}

/// The `sourceTime` ops of a patch, by property; the last given for a property wins.
enum SourceTimes<'a> {
    /// A few: look through them.
    Scan(Vec<(&'a Pointer, Timestamp)>),
    /// Many: a scan per value op would make a patch that times each of its values quadratic.
    Map(HashMap<&'a [String], Timestamp>),
}

impl<'a> SourceTimes<'a> {
    fn of(ops: &'a [PatchOp]) -> Self {
        let times: Vec<(&Pointer, Timestamp)> = ops
            .iter()
            .filter_map(|op| match op {
                PatchOp::SourceTime { property, time } => Some((property, *time)),
                _ => None,
            })
            .collect();
        if times.len() <= SCAN_LIMIT {
            return SourceTimes::Scan(times);
        }
        // Collected in patch order, so a later op for the same property replaces an earlier one.
        let by_property = times.into_iter().map(|(p, time)| (p.segments(), time));
        SourceTimes::Map(by_property.collect())
    }

    /// The source time of the longest prefix of `path` that has one.
    fn of_path(&self, path: &Pointer) -> Option<Timestamp> {
        let segments = path.segments();
        (1..=segments.len()).rev().find_map(|len| {
            let prefix = &segments[..len];
            match self {
                SourceTimes::Scan(times) => times
                    .iter()
                    .rev()
                    .find(|(property, _)| property.segments() == prefix)
                    .map(|(_, time)| *time),
                SourceTimes::Map(times) => times.get(prefix).copied(),
            }
        })
    }
}

/// Walks a twin body (or a component inside it): every property not starting with `$`, timed by
/// its `$metadata` entry. A member that holds its own `$metadata` is a component: walk into it.
fn twin_changes<'a>(
    level: &'a Map<String, Value>,
    prefix: &mut Vec<&'a str>,
    out: &mut Vec<Change<'a>>,
) {
    let metadata = level.get("$metadata").and_then(Value::as_object);
    for (key, value) in level {
        if key.starts_with('$') {
            continue;
        }
        prefix.push(key);
        match value.as_object() {
            Some(component) if component.contains_key("$metadata") => {
                twin_changes(component, prefix, out);
            }
            _ => {
                let entry = metadata.and_then(|m| m.get(key));
                let time = |name: &str| {
                    entry
                        .and_then(|e| e.get(name))
                        .and_then(Value::as_str)
                        .and_then(Timestamp::parse_time)
                };
                out.push(Change {
                    path: Segments::collect(prefix.iter().copied())
                        .expect("a nested value has a path"),
                    action: Action::Set(value),
                    source_time: time("sourceTime"),
                    update_time: time("lastUpdateTime"),
                });
            }
        }
        prefix.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adt::TwinId;
    use serde_json::json;

    fn update(patch: Value) -> Content {
        Content::TwinUpdate {
            twin_id: TwinId::parse("t").unwrap(),
            model_id: None,
            patch: Patch::from_value(&patch).unwrap(),
        }
    }

    #[test]
    fn the_later_op_on_a_path_wins() {
        let content = update(json!([
            {"op": "add", "path": "/A", "value": 1},
            {"op": "add", "path": "/B", "value": 2},
            {"op": "replace", "path": "/A", "value": 3},
        ]));
        let changes = changes(&content);
        let got: Vec<_> = changes
            .iter()
            .map(|c| (c.path.to_vec(), c.action))
            .collect();
        assert_eq!(
            got,
            [
                (vec!["B"], Action::Set(&json!(2))),
                (vec!["A"], Action::Set(&json!(3)))
            ]
        );
    }

    #[test]
    fn duplicates_in_a_huge_patch_use_the_same_rule() {
        let ops: Vec<Value> = (0..100)
            .map(|i| json!({"op": "add", "path": format!("/P{}", i % 10), "value": i}))
            .collect();
        let content = update(Value::Array(ops));
        let changes = changes(&content);
        assert_eq!(changes.len(), 10);
        assert_eq!(*changes[0].path, ["P0"]);
        assert_eq!(changes[0].action, Action::Set(&json!(90)));
    }

    #[test]
    fn many_source_times_follow_the_same_rules() {
        // Past the scan limit the times are looked up in a map: the last one given for a
        // property wins, and a property's time covers its sub-properties.
        let mut ops: Vec<Value> = (0..40)
            .map(|i| {
                json!({"op": "add", "path": format!("/$metadata/P{i}/sourceTime"),
                            "value": format!("2026-05-01T12:00:{i:02}Z")})
            })
            .collect();
        ops.extend([
            json!({"op": "add", "path": "/$metadata/P1/sourceTime", "value": "2026-05-01T13:00:00Z"}),
            json!({"op": "add", "path": "/P1/Inner", "value": 1}),
            json!({"op": "add", "path": "/P2", "value": 2}),
            json!({"op": "add", "path": "/Q", "value": 3}),
        ]);
        let content = update(Value::Array(ops));
        let times: Vec<_> = changes(&content)
            .iter()
            .map(|c| c.source_time.map(|t| t.to_string()))
            .collect();
        let expected = [
            Some("2026-05-01T13:00:00Z"),
            Some("2026-05-01T12:00:02Z"),
            None,
        ];
        assert_eq!(times, expected.map(|t| t.map(String::from)));
    }

    #[test]
    fn a_source_time_covers_the_property_and_its_sub_properties() {
        let content = update(json!([
            {"op": "add", "path": "/GeoLocation/Latitude", "value": 47.6},
            {"op": "add", "path": "/$metadata/GeoLocation/sourceTime", "value": "2026-05-01T12:00:00Z"},
            {"op": "add", "path": "/Other", "value": 1},
        ]));
        let changes = changes(&content);
        assert_eq!(
            changes[0].source_time.unwrap().to_string(),
            "2026-05-01T12:00:00Z"
        );
        assert_eq!(changes[1].source_time, None);
    }

    #[test]
    fn a_twin_body_yields_its_properties_and_components() {
        let twin = json!({
            "$dtId": "t", "$etag": "W/\"1\"",
            "Temperature": 20,
            "Front": {"Speed": 3, "$metadata": {"Speed": {"lastUpdateTime": "2026-05-01T12:00:02Z"}}},
            "GeoLocation": {"Latitude": 1.0},
            "$metadata": {"$model": "dtmi:x;1", "Temperature": {"sourceTime": "2026-05-01T12:00:01Z"}}
        });
        let content = Content::TwinCreate {
            twin_id: TwinId::parse("t").unwrap(),
            model_id: None,
            twin: twin.as_object().unwrap().clone(),
        };
        let changes = changes(&content);
        let paths: Vec<_> = changes.iter().map(|c| c.path.join("/")).collect();
        assert_eq!(paths, ["Temperature", "Front/Speed", "GeoLocation"]);
        assert!(changes[0].source_time.is_some());
        assert!(changes[1].update_time.is_some());
    }
}
