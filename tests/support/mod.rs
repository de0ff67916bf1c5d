//! Test support: requests shaped exactly as the Functions host sends them (host-protocol.md), and
//! ADT notifications as the twins hub delivers them.
#![allow(dead_code)]

pub mod bridge;

use serde_json::{json, Map, Value};

/// The summary line a twin-update function puts first in `Logs`.
pub fn summary(answer: &Value) -> &str {
    answer["Logs"][0].as_str().expect("a summary line in Logs")
}

/// How the host encodes metadata values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Current hosts: arrays as JSON text, strings as JSON text of a string literal.
    Quoted,
    /// Older hosts and documentation: plain JSON values.
    Plain,
}

/// One Event Hub event: its body and application properties.
#[derive(Clone, Debug)]
pub struct HubEvent {
    pub body: String,
    pub properties: Value,
}

/// An ADT twin update as ADT puts it on an Event Hub.
pub fn twin_update(index: usize, twin: &str, patch: Value) -> HubEvent {
    HubEvent {
        body: json!({"modelId": "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1", "patch": patch}).to_string(),
        properties: json!({
            "cloudEvents:id": format!("evt-{index:05}"),
            "cloudEvents:source": "cocoa-works.api.weu.digitaltwins.azure.net",
            "cloudEvents:specversion": "1.0",
            "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
            "cloudEvents:time": format!("2026-05-01T12:{:02}:{:02}.1234567Z", (index / 60) % 60, index % 60),
            "cloudEvents:subject": twin,
            "cloudEvents:traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        }),
    }
}

/// A grinding-step reading: two properties, one record per event in `tsi`.
pub fn grinding_update(index: usize) -> HubEvent {
    let twin = ["GrindingStep", "FanningRoastingStep", "MouldingStep"][index % 3];
    twin_update(
        index,
        twin,
        json!([
            {"op": "replace", "path": "/ChasisTemperature", "value": 200.0 + (index % 10) as f64},
            {"op": "replace", "path": "/PowerUsage", "value": 70}
        ]),
    )
}

/// A factory step's reading as the simulator sends it: the changing properties and their sourceTime.
pub fn factory_update(index: usize) -> HubEvent {
    let second = index % 60;
    let at = format!("2026-05-01T12:00:{second:02}.{:07}Z", index % 10_000_000);
    let (twin, patch) = match index % 3 {
        0 => (
            "FanningRoastingStep",
            json!([
                {"op": "replace", "path": "/ChasisTemperature", "value": 140.0 + (index % 7) as f64 * 0.37},
                {"op": "replace", "path": "/FanSpeed", "value": 12.25},
                {"op": "replace", "path": "/PowerUsage", "value": 71.5},
                {"op": "replace", "path": "/RoastingTime", "value": 95},
                {"op": "add", "path": "/$metadata/ChasisTemperature/sourceTime", "value": at},
            ]),
        ),
        1 => (
            "GrindingStep",
            json!([
                {"op": "replace", "path": "/ChasisTemperature", "value": 204.5},
                {"op": "replace", "path": "/Force", "value": 305.25},
                {"op": "replace", "path": "/Vibration", "value": 110.0 + (index % 11) as f64},
                {"op": "replace", "path": "/PowerUsage", "value": 66.75},
                {"op": "add", "path": "/$metadata/Vibration/sourceTime", "value": at},
            ]),
        ),
        _ => (
            "MouldingStep",
            json!([
                {"op": "replace", "path": "/ChasisTemperature", "value": 88.5},
                {"op": "replace", "path": "/PowerUsage", "value": 62},
            ]),
        ),
    };
    twin_update(index, twin, patch)
}

fn encode_array(items: Vec<Value>, encoding: Encoding) -> Value {
    match encoding {
        Encoding::Quoted => Value::String(Value::Array(items).to_string()),
        Encoding::Plain => Value::Array(items),
    }
}

fn encode_text(text: &str, encoding: Encoding) -> Value {
    match encoding {
        Encoding::Quoted => Value::String(Value::String(text.to_owned()).to_string()),
        Encoding::Plain => Value::String(text.to_owned()),
    }
}

/// Options of an Event Hub trigger request.
#[derive(Clone, Copy, Debug)]
pub struct HubRequestOptions {
    pub encoding: Encoding,
    /// `dataType: binary`: bodies as base64.
    pub binary: bool,
    pub trigger_partition_context: bool,
    pub retry_count: Option<u32>,
}

impl Default for HubRequestOptions {
    fn default() -> Self {
        HubRequestOptions {
            encoding: Encoding::Quoted,
            binary: false,
            trigger_partition_context: true,
            retry_count: Some(0),
        }
    }
}

/// The body of `POST /TwinUpdatesEventHub` for a batch (cardinality many).
pub fn event_hub_request(events: &[HubEvent], options: HubRequestOptions) -> Value {
    use base64::Engine;
    let bodies: Vec<Value> = events
        .iter()
        .map(|e| {
            if options.binary {
                json!(base64::engine::general_purpose::STANDARD.encode(&e.body))
            } else {
                json!(e.body)
            }
        })
        .collect();
    let n = events.len();
    let system: Vec<Value> = (0..n)
        .map(|i| json!({
            "x-opt-sequence-number": 1000 + i, "x-opt-offset": (4096 * i).to_string(),
            "x-opt-enqueued-time": format!("2026-05-01T12:00:{:02}.5+00:00", i % 60),
            "content-type": "application/json",
            "SequenceNumber": 1000 + i, "Offset": (4096 * i).to_string(), "OffsetString": (4096 * i).to_string(),
            "PartitionKey": null, "EnqueuedTimeUtc": format!("2026-05-01T12:00:{:02}.5Z", i % 60)
        }))
        .collect();
    let context = json!({"FullyQualifiedNamespace": "twins-ns.servicebus.windows.net", "EventHubName": "twins",
                         "ConsumerGroup": "bridge", "PartitionId": "0", "IsCheckpointingAfterInvocation": true});
    let mut metadata = Map::new();
    metadata.insert("PartitionContext".into(), context.clone());
    if options.trigger_partition_context {
        metadata.insert("TriggerPartitionContext".into(), context);
    }
    metadata.insert(
        "PropertiesArray".into(),
        encode_array(
            events.iter().map(|e| e.properties.clone()).collect(),
            options.encoding,
        ),
    );
    metadata.insert(
        "SystemPropertiesArray".into(),
        encode_array(system, options.encoding),
    );
    metadata.insert(
        "EnqueuedTimeUtcArray".into(),
        encode_array(
            (0..n)
                .map(|i| json!(format!("2026-05-01T12:00:{:02}.5", i % 60)))
                .collect(),
            options.encoding,
        ),
    );
    metadata.insert(
        "SequenceNumberArray".into(),
        encode_array((0..n).map(|i| json!(1000 + i)).collect(), options.encoding),
    );
    metadata.insert(
        "OffsetArray".into(),
        encode_array(
            (0..n).map(|i| json!((4096 * i).to_string())).collect(),
            options.encoding,
        ),
    );
    metadata.insert(
        "PartitionKeyArray".into(),
        encode_array((0..n).map(|_| Value::Null).collect(), options.encoding),
    );
    if let Some(count) = options.retry_count {
        metadata.insert(
            "RetryContext".into(),
            json!({"RetryCount": count, "MaxRetryCount": -1, "Exception": null}),
        );
    }
    metadata.insert("sys".into(), json!({"MethodName": "TwinUpdatesEventHub", "UtcNow": encode_text("2026-05-01T12:05:00.1234567Z", options.encoding), "RandGuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}));
    let events_value = match options.encoding {
        Encoding::Quoted => Value::String(Value::Array(bodies).to_string()),
        Encoding::Plain => Value::Array(bodies),
    };
    json!({"Data": {"events": events_value}, "Metadata": metadata})
}

/// The body of `POST /TwinUpdatesEventGrid` for one event; `as_string` puts the event in as JSON text.
pub fn event_grid_request(event: &Value, as_string: bool) -> Value {
    let data_value = if as_string {
        Value::String(event.to_string())
    } else {
        event.clone()
    };
    json!({"Data": {"event": data_value},
           "Metadata": {"data": event.get("data").cloned().unwrap_or(Value::Null),
                        "sys": {"MethodName": "TwinUpdatesEventGrid", "UtcNow": "2026-05-01T12:05:00.1234567Z", "RandGuid": "6f9619ff-8b86-d011-b42d-00c04fc964ff"}}})
}

/// A twin update in Event Grid schema, with ADT's `data.data` nesting.
pub fn event_grid_schema_update(id: &str, twin: &str, value: f64) -> Value {
    json!({"id": id, "subject": twin, "eventType": "Microsoft.DigitalTwins.Twin.Update", "eventTime": "2026-05-01T12:00:00.5Z",
           "dataVersion": "1.0", "metadataVersion": "1",
           "topic": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.DigitalTwins/digitalTwinsInstances/cocoa-works",
           "data": {"data": {"modelId": "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1",
                             "patch": [{"op": "replace", "path": "/Vibration", "value": value}]},
                    "contenttype": "application/json", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
}

/// A twin update in CloudEvents 1.0 schema.
pub fn cloud_events_update(id: &str, twin: &str, value: f64) -> Value {
    json!({"specversion": "1.0", "id": id, "type": "Microsoft.DigitalTwins.Twin.Update", "source": "cocoa-works.api.weu.digitaltwins.azure.net",
           "subject": twin, "time": "2026-05-01T12:00:01Z", "datacontenttype": "application/json",
           "data": {"modelId": "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1",
                    "patch": [{"op": "replace", "path": "/Vibration", "value": value}]}})
}

/// A raw HTTP/1.1 exchange the way the host does it in Azure: chunked body, no Content-Length.
pub async fn post_chunked(
    addr: std::net::SocketAddr,
    path: &str,
    body: &[u8],
    chunk: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: Azure-Functions-Host/4.1037.0.0\r\nX-Azure-Functions-InvocationId: 4f1d6c3e-2b1a-4d7e-9c8f-0a1b2c3d4e5f\r\nX-Azure-Functions-HostVersion: 4.1037.0.0\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for part in body.chunks(chunk.max(1)) {
        // The server may answer (413) and close before the whole body is written.
        if stream
            .write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .is_err()
            || stream.write_all(part).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let json = serde_json::from_str(body)
        .unwrap_or_else(|_| serde_json::from_str(&dechunk(body)).expect("a JSON body"));
    (status, json)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    out
}

pub mod servicebus;
