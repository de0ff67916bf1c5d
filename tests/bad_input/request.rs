//! Host-shaped invocation bodies built as text, so that a case can put anything anywhere: raw
//! property objects, metadata arrays of the wrong length, a metadata key of the wrong type.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::case::{render, write_text, BadEvent, Case, Encoding, GoodShape};

/// The twin every good event updates.
pub const GOOD_TWIN: &str = "GoodTwin";
/// The `cloudEvents:time` of every good event, and so the timestamp of its record.
pub const GOOD_TIME: &str = "2026-05-01T12:00:00.1234567Z";
/// The invocation's `sys.UtcNow` unless a case sets another.
pub const UTC_NOW: &str = "2026-05-01T12:05:00.1234567Z";

/// One event of a batch: what the host puts in `PropertiesArray` and `Data.events`.
pub struct BatchEvent {
    /// The properties object's JSON text.
    pub properties: String,
    /// The body's bytes as the event carried them.
    pub body: Vec<u8>,
    /// The bad event this is, if not a good one.
    pub bad: Option<usize>,
}

impl BatchEvent {
    /// The body as the handler receives it. With `dataType: string` the host decodes each body
    /// as UTF-8, replacing what is not (as .NET's decoder does); base64 keeps the bytes.
    pub fn delivered_body(&self, encoding: Encoding) -> Vec<u8> {
        match encoding {
            Encoding::Binary => self.body.clone(),
            _ => String::from_utf8_lossy(&self.body)
                .into_owned()
                .into_bytes(),
        }
    }

    /// The event id as text: from the properties, else from a structured body.
    pub fn event_id(&self) -> Option<String> {
        let id = |text: &[u8], key: &str| {
            let value: Value = serde_json::from_slice(text).ok()?;
            Some(value.get(key)?.as_str()?.to_owned())
        };
        id(self.properties.as_bytes(), "cloudEvents:id").or_else(|| id(&self.body, "id"))
    }
}

/// The good twin update at position `n` of case `tag`: one record, `Vibration` = n.
pub fn good_event(tag: &str, n: usize, shape: GoodShape) -> BatchEvent {
    let id = format!("good-{tag}-{n}");
    let data = json!({"modelId": "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1",
                      "patch": [{"op": "replace", "path": "/Vibration", "value": n}]});
    let (properties, body) = match shape {
        GoodShape::Binary => (
            json!({"cloudEvents:id": id, "cloudEvents:source": "cocoa-works.api.weu.digitaltwins.azure.net",
                   "cloudEvents:specversion": "1.0", "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
                   "cloudEvents:time": GOOD_TIME, "cloudEvents:subject": GOOD_TWIN}),
            data,
        ),
        GoodShape::Structured => (
            json!({}),
            json!({"specversion": "1.0", "id": id, "type": "Microsoft.DigitalTwins.Twin.Update",
                   "source": "cocoa-works.api.weu.digitaltwins.azure.net", "subject": GOOD_TWIN,
                   "time": GOOD_TIME, "datacontenttype": "application/json", "data": data}),
        ),
    };
    BatchEvent {
        properties: properties.to_string(),
        body: body.to_string().into_bytes(),
        bad: None,
    }
}

/// The exact record a good event gives.
pub fn good_record(n: usize) -> String {
    format!(r#"{{"$dtId":"{GOOD_TWIN}","timestamp":"{GOOD_TIME}","Vibration":{n}.0}}"#)
}

/// The properties of a bad event before the case changes them.
fn default_bad_properties(tag: &str, k: usize) -> Map<String, Value> {
    let value = json!({"cloudEvents:id": format!("bad-{tag}-{k}"),
                       "cloudEvents:source": "cocoa-works.api.weu.digitaltwins.azure.net",
                       "cloudEvents:specversion": "1.0", "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
                       "cloudEvents:time": "2026-05-01T12:30:00.25Z", "cloudEvents:subject": "BadTwin"});
    value.as_object().cloned().expect("an object")
}

fn bad_event(tag: &str, k: usize, event: &BadEvent) -> BatchEvent {
    let properties = match &event.properties {
        Some(replacement) => replacement.clone(),
        None => {
            let mut map = default_bad_properties(tag, k);
            for (key, value) in &event.set_properties {
                if value.get("$remove").is_some() {
                    map.remove(key);
                } else {
                    map.insert(key.clone(), value.clone());
                }
            }
            Value::Object(map)
        }
    };
    let mut text = String::new();
    write_text(&properties, &mut text);
    BatchEvent {
        properties: text,
        body: render(&event.body),
        bad: Some(k),
    }
}

/// The batch of an `eventhub` case: a good event before every bad one and one after the last.
pub fn batch(tag: &str, case: &Case) -> Vec<BatchEvent> {
    let mut events = vec![good_event(tag, 0, case.good)];
    for (k, bad) in case.events.iter().enumerate() {
        events.push(bad_event(tag, k, bad));
        events.push(good_event(tag, k + 1, case.good));
    }
    events
}

/// A metadata value: an array whose entries are JSON texts, or one JSON text.
enum Meta {
    Array(Vec<String>),
    Text(String),
}

fn array(entries: impl IntoIterator<Item = Value>) -> Meta {
    Meta::Array(entries.into_iter().map(|v| v.to_string()).collect())
}

/// The metadata the host sends with a batch, in its order, before the case's changes.
fn batch_metadata(events: &[BatchEvent]) -> Vec<(String, Meta)> {
    let n = events.len();
    let context = json!({"FullyQualifiedNamespace": "twins-ns.servicebus.windows.net", "EventHubName": "twins",
                         "ConsumerGroup": "bridge", "PartitionId": "0", "IsCheckpointingAfterInvocation": true});
    let system = (0..n).map(|i| json!({
        "x-opt-sequence-number": 1000 + i, "x-opt-offset": (4096 * i).to_string(),
        "x-opt-enqueued-time": format!("2026-05-01T12:00:{:02}.5+00:00", i % 60),
        "content-type": "application/json", "SequenceNumber": 1000 + i, "Offset": (4096 * i).to_string(),
        "OffsetString": (4096 * i).to_string(), "PartitionKey": null,
        "EnqueuedTimeUtc": format!("2026-05-01T12:00:{:02}.5Z", i % 60)}));
    vec![
        ("PartitionContext".into(), Meta::Text(context.to_string())),
        (
            "TriggerPartitionContext".into(),
            Meta::Text(context.to_string()),
        ),
        (
            "PropertiesArray".into(),
            Meta::Array(events.iter().map(|e| e.properties.clone()).collect()),
        ),
        ("SystemPropertiesArray".into(), array(system)),
        (
            "EnqueuedTimeUtcArray".into(),
            array((0..n).map(|i| json!(format!("2026-05-01T12:00:{:02}.5", i % 60)))),
        ),
        (
            "SequenceNumberArray".into(),
            array((0..n).map(|i| json!(1000 + i))),
        ),
        (
            "OffsetArray".into(),
            array((0..n).map(|i| json!((4096 * i).to_string()))),
        ),
        (
            "PartitionKeyArray".into(),
            array((0..n).map(|_| Value::Null)),
        ),
        (
            "RetryContext".into(),
            Meta::Text(
                json!({"RetryCount": 0, "MaxRetryCount": -1, "Exception": null}).to_string(),
            ),
        ),
        (
            "sys".into(),
            Meta::Text(sys("TwinUpdatesEventHub", UTC_NOW)),
        ),
    ]
}

fn sys(function: &str, utc_now: &str) -> String {
    json!({"MethodName": function, "UtcNow": utc_now, "RandGuid": "0f8fad5b-d9cb-469f-a165-70867728950e"})
        .to_string()
}

/// Applies the case's metadata changes: `$remove`, `$truncate` (keep the first n entries),
/// `$append` (more entries), or a template for the whole value.
fn change_metadata(metadata: &mut Vec<(String, Meta)>, changes: &Map<String, Value>) {
    for (key, change) in changes {
        let position = metadata.iter().position(|(k, _)| k == key);
        if change.get("$remove").is_some() {
            metadata.retain(|(k, _)| k != key);
            continue;
        }
        let existing = position.map(|p| &mut metadata[p].1);
        match (existing, change.get("$truncate"), change.get("$append")) {
            (Some(Meta::Array(entries)), Some(keep), _) => {
                entries.truncate(keep.as_u64().expect("$truncate takes a count") as usize)
            }
            (Some(Meta::Array(entries)), _, Some(Value::Array(more))) => {
                entries.extend(more.iter().map(Value::to_string))
            }
            _ => {
                let mut text = String::new();
                write_text(change, &mut text);
                match position {
                    Some(p) => metadata[p].1 = Meta::Text(text),
                    None => metadata.push((key.clone(), Meta::Text(text))),
                }
            }
        }
    }
}

/// A JSON string holding `text`: how current hosts send arrays and strings.
fn quoted(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The request body of an `eventhub` case.
pub fn event_hub_body(events: &[BatchEvent], case: &Case) -> Vec<u8> {
    let mut metadata = batch_metadata(events);
    change_metadata(&mut metadata, &case.metadata);
    let plain = case.encoding == Encoding::Plain;
    let bodies: Vec<String> = events
        .iter()
        .map(|e| match case.encoding {
            Encoding::Binary => quoted(&base64::engine::general_purpose::STANDARD.encode(&e.body)),
            _ => quoted(&String::from_utf8_lossy(&e.body)),
        })
        .collect();
    let bodies = format!("[{}]", bodies.join(","));
    let mut out = String::from(r#"{"Data":{"events":"#);
    out.push_str(&if plain { bodies } else { quoted(&bodies) });
    out.push_str(r#"},"Metadata":{"#);
    for (n, (key, value)) in metadata.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&quoted(key));
        out.push(':');
        match value {
            Meta::Array(entries) => {
                let text = format!("[{}]", entries.join(","));
                out.push_str(&if plain { text } else { quoted(&text) });
            }
            Meta::Text(text) => out.push_str(text),
        }
    }
    out.push_str("}}");
    out.into_bytes()
}

/// The request body of an Event Grid invocation whose `Data.event` is the given JSON text.
pub fn event_grid_body(event: &str, utc_now: &str) -> Vec<u8> {
    format!(
        r#"{{"Data":{{"event":{event}}},"Metadata":{{"data":null,"sys":{}}}}}"#,
        sys("TwinUpdatesEventGrid", utc_now)
    )
    .into_bytes()
}

/// A good Event Grid event (CloudEvents schema): one record, `Vibration` = n.
pub fn good_grid_event(id: &str, n: usize) -> String {
    json!({"specversion": "1.0", "id": id, "type": "Microsoft.DigitalTwins.Twin.Update",
           "source": "cocoa-works.api.weu.digitaltwins.azure.net", "subject": GOOD_TWIN, "time": GOOD_TIME,
           "data": {"modelId": "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1",
                    "patch": [{"op": "replace", "path": "/Vibration", "value": n}]}})
    .to_string()
}
