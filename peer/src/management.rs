//! The management node (`$management`): answers READ requests for an event hub
//! (`com.microsoft:eventhub`) and for one partition (`com.microsoft:partition`) with the maps the
//! SDK's `get_eventhub_properties` and `get_partition_properties` parse.
//!
//! The SDK reads the values with exact types (a wrong one panics inside it), so the types here
//! follow what the service sends: strings, `long` sequence numbers, `timestamp`s, an `array` of ids.

use std::time::{SystemTime, UNIX_EPOCH};

use fe2o3_amqp::types::primitives::{Array, OrderedMap, Timestamp, Value};
use tracing::info;

use crate::config::HubSpec;
use crate::requests::{status_reply, string_property, NodeMessage};
use crate::server::Shared;

const READ: &str = "READ";
const EVENTHUB_TYPE: &str = "com.microsoft:eventhub";
const PARTITION_TYPE: &str = "com.microsoft:partition";

/// The reply to one `$management` request.
pub(crate) fn answer(request: &NodeMessage, shared: &Shared) -> NodeMessage {
    let operation = string_property(request, "operation");
    let entity_type = string_property(request, "type");
    let name = string_property(request, "name").unwrap_or_default();
    let partition = string_property(request, "partition");
    info!(?operation, ?entity_type, %name, ?partition, "management request");
    if operation != Some(READ) {
        return status_reply(501, Value::Null);
    }
    let Some(hub) = shared.config.find_hub(name) else {
        return status_reply(404, Value::Null);
    };
    let created_at = timestamp(shared.started_at);
    match (entity_type, partition) {
        (Some(EVENTHUB_TYPE), _) => status_reply(200, eventhub_properties(hub, created_at)),
        (Some(PARTITION_TYPE), Some(id)) if hub.has_partition(id) => {
            let events = shared.recorder.partition_event_count(&hub.name, id);
            status_reply(200, partition_properties(hub, id, events, created_at))
        }
        (Some(PARTITION_TYPE), _) => status_reply(404, Value::Null),
        _ => status_reply(400, Value::Null),
    }
}

/// The READ answer for a hub: name, creation time, partition count and ids.
pub(crate) fn eventhub_properties(hub: &HubSpec, created_at: Timestamp) -> Value {
    let ids = hub.partition_ids().into_iter().map(Value::String).collect();
    map([
        ("name", Value::String(hub.name.clone())),
        ("created_at", Value::Timestamp(created_at)),
        ("partition_count", Value::Int(hub.partition_count as i32)),
        ("partition_ids", Value::Array(Array(ids))),
    ])
}

/// The READ answer for a partition holding `events` events (sequence numbers from 0).
pub(crate) fn partition_properties(
    hub: &HubSpec,
    partition: &str,
    events: usize,
    created_at: Timestamp,
) -> Value {
    let last_sequence_number = events as i64 - 1;
    map([
        ("name", Value::String(hub.name.clone())),
        ("partition", Value::String(partition.to_string())),
        ("type", Value::String(PARTITION_TYPE.to_string())),
        ("begin_sequence_number", Value::Long(0)),
        (
            "last_enqueued_sequence_number",
            Value::Long(last_sequence_number),
        ),
        ("last_enqueued_sequence_number_epoch", Value::Long(0)),
        (
            "last_enqueued_offset",
            Value::String(last_sequence_number.to_string()),
        ),
        ("last_enqueued_time_utc", Value::Timestamp(created_at)),
        ("is_partition_empty", Value::Bool(events == 0)),
    ])
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = OrderedMap::new();
    for (key, value) in entries {
        map.insert(Value::String(key.to_string()), value);
    }
    Value::Map(map)
}

fn timestamp(time: SystemTime) -> Timestamp {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64);
    Timestamp::from_milliseconds(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> HubSpec {
        HubSpec {
            name: "records".into(),
            partition_count: 2,
        }
    }

    fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
        let Value::Map(map) = value else {
            panic!("not a map: {value:?}")
        };
        map.get(&Value::String(key.into())).expect(key)
    }

    #[test]
    fn eventhub_properties_carry_an_array_of_string_ids() {
        let value = eventhub_properties(&hub(), Timestamp::from_milliseconds(5));
        assert_eq!(
            get(&value, "partition_ids"),
            &Value::Array(Array(vec![
                Value::String("0".into()),
                Value::String("1".into())
            ]))
        );
        assert_eq!(get(&value, "partition_count"), &Value::Int(2));
        assert_eq!(
            get(&value, "created_at"),
            &Value::Timestamp(Timestamp::from_milliseconds(5))
        );
    }

    #[test]
    fn partition_properties_count_recorded_events() {
        let empty = partition_properties(&hub(), "1", 0, Timestamp::from_milliseconds(0));
        assert_eq!(get(&empty, "is_partition_empty"), &Value::Bool(true));
        assert_eq!(
            get(&empty, "last_enqueued_sequence_number"),
            &Value::Long(-1)
        );

        let three = partition_properties(&hub(), "1", 3, Timestamp::from_milliseconds(0));
        assert_eq!(get(&three, "is_partition_empty"), &Value::Bool(false));
        assert_eq!(
            get(&three, "last_enqueued_sequence_number"),
            &Value::Long(2)
        );
        assert_eq!(
            get(&three, "last_enqueued_offset"),
            &Value::String("2".into())
        );
        assert_eq!(get(&three, "partition"), &Value::String("1".into()));
    }
}
