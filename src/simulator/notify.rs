//! Twin updates as Azure Digital Twins would route them to an Event Hub endpoint, for the
//! simulator's `eventhub` mode and the demo: CloudEvents AMQP binary mode, so the body is only
//! `{"modelId", "patch"}` and the attributes travel as `cloudEvents:*` application properties.
//!
//! Ids and trace context are hashes of (twin id, time): the same tick always makes the same event,
//! so a redelivery after a restart deduplicates downstream.

use chrono::{DateTime, Utc};
use json_patch::Patch;
use serde_json::{Map, Value};

use super::factory::StepUpdate;
use super::noise::{key, mix};
use crate::adt::EventHubMessage;
use crate::text::hex;
use crate::time::Timestamp;

/// The CloudEvents type of a twin update.
pub const TWIN_UPDATE_TYPE: &str = "Microsoft.DigitalTwins.Twin.Update";

/// One event as the Event Hub carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdtEvent {
    /// The body: `{"modelId": ..., "patch": [...]}` as UTF-8 JSON.
    pub body: Vec<u8>,
    /// The application properties, `cloudEvents:*`, in ADT's order.
    pub properties: Vec<(String, String)>,
    /// The AMQP content type: `application/json`.
    pub content_type: &'static str,
}

impl AdtEvent {
    /// The event as the Functions host hands it to the bridge.
    pub fn into_message(self, enqueued_time: Option<Timestamp>) -> EventHubMessage {
        let properties: Map<String, Value> = self
            .properties
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect();
        EventHubMessage {
            body: self.body,
            properties,
            enqueued_time,
        }
    }
}

/// The notification ADT sends when it applies `update`, at `time`, on the instance `instance_host`.
///
/// ```
/// use adt_bridge::simulator::{twin_update_event, Factory, FactoryConfig};
/// use chrono::{TimeZone, Utc};
/// let time = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
/// let tick = Factory::new(FactoryConfig::default()).tick(time, false);
/// let event = twin_update_event(&tick.updates[0], "factory.api.weu.digitaltwins.azure.net", time);
/// let time_property = event.properties.iter().find(|(k, _)| k == "cloudEvents:time").unwrap();
/// assert_eq!(time_property.1, "2026-05-01T12:00:00.0000000Z");
/// ```
pub fn twin_update_event(
    update: &StepUpdate,
    instance_host: &str,
    time: DateTime<Utc>,
) -> AdtEvent {
    let body = UpdateBody {
        model_id: update.model_id,
        patch: &update.patch,
    };
    let digest = digest(update.twin_id, time);
    let property = |name: &str, value: String| (format!("cloudEvents:{name}"), value);
    AdtEvent {
        body: serde_json::to_vec(&body).expect("a JSON value serialises"),
        properties: vec![
            property("id", uuid_shaped(&digest)),
            property("source", instance_host.to_owned()),
            property("specversion", "1.0".to_owned()),
            property("type", TWIN_UPDATE_TYPE.to_owned()),
            property("time", Timestamp::from_instant(time, 7).to_string()),
            property("subject", update.twin_id.to_owned()),
            property("traceparent", traceparent(&digest)),
        ],
        content_type: "application/json",
    }
}

/// The body of a twin update, serialised without copying the patch.
#[derive(serde::Serialize)]
struct UpdateBody<'a> {
    #[serde(rename = "modelId")]
    model_id: &'a str,
    patch: &'a Patch,
}

/// 32 stable pseudo-random bytes from (twin id, instant). Not cryptographic: ids only need to be
/// distinct per (twin, instant) and the same on every run.
fn digest(twin_id: &str, time: DateTime<Utc>) -> [u8; 32] {
    let nanos =
        time.timestamp().wrapping_mul(1_000_000_000) + i64::from(time.timestamp_subsec_nanos());
    let seed = mix(key(twin_id), nanos as u64);
    let mut bytes = [0u8; 32];
    for (index, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(seed, index as u64).to_be_bytes());
    }
    bytes
}

/// A UUID-shaped id (RFC 9562 version 8, "custom") from the first 16 bytes of the digest.
fn uuid_shaped(digest: &[u8; 32]) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0F) | 0x80;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex = hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A W3C `traceparent` (version 00, sampled) with trace id and parent id from the digest's tail.
fn traceparent(digest: &[u8; 32]) -> String {
    let mut trace_id = [0u8; 16];
    trace_id.copy_from_slice(&digest[16..32]);
    let mut parent_id = [0u8; 8];
    parent_id.copy_from_slice(&digest[8..16]);
    // All-zero ids are invalid; a hash is never all zeros in practice, but the format must hold.
    trace_id[15] |= u8::from(trace_id.iter().all(|b| *b == 0));
    parent_id[7] |= u8::from(parent_id.iter().all(|b| *b == 0));
    format!("00-{}-{}-01", hex(&trace_id), hex(&parent_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_are_uuid_shaped_and_traceparents_valid() {
        let time = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let digest = digest("GrindingStep", time);
        let id = uuid_shaped(&digest);
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "8");
        let parent = traceparent(&digest);
        let parts: Vec<&str> = parent.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!((parts[0], parts[3]), ("00", "01"));
        assert_eq!((parts[1].len(), parts[2].len()), (32, 16));
        assert!(parts[1..3]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn ids_differ_by_twin_and_time() {
        let time = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let a = uuid_shaped(&digest("GrindingStep", time));
        let b = uuid_shaped(&digest("MouldingStep", time));
        let c = uuid_shaped(&digest("GrindingStep", time + chrono::Duration::seconds(5)));
        assert!(a != b && a != c && b != c);
        assert_eq!(a, uuid_shaped(&digest("GrindingStep", time)));
    }
}
