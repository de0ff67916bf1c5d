//! `POST /TwinUpdatesServiceBus` bodies shaped as the Functions host's Service Bus trigger sends
//! them (host-protocol.md, "Service Bus trigger").

use base64::Engine;
use serde_json::{json, Map, Value};

use super::Encoding;

/// One Service Bus message as ADT (or the 2018 preview) put it on the topic.
#[derive(Clone, Debug)]
pub struct BusMessage {
    /// The body's text.
    pub body: String,
    /// Application properties (`cloudEvents:*` for ADT; none for the preview).
    pub properties: Value,
    pub message_id: String,
    /// `EnqueuedTimeUtc`, full precision, no zone.
    pub enqueued_time: String,
    pub delivery_count: u32,
}

/// How the trigger is configured and how the host encodes what it sends.
#[derive(Clone, Copy, Debug)]
pub struct BusRequestOptions {
    pub encoding: Encoding,
    /// `dataType: binary`: bodies as base64.
    pub binary: bool,
}

fn text(value: &str, encoding: Encoding) -> Value {
    match encoding {
        Encoding::Quoted => Value::String(Value::String(value.to_owned()).to_string()),
        Encoding::Plain => Value::String(value.to_owned()),
    }
}

fn array(items: Vec<Value>, encoding: Encoding) -> Value {
    match encoding {
        Encoding::Quoted => Value::String(Value::Array(items).to_string()),
        Encoding::Plain => Value::Array(items),
    }
}

fn body_text(message: &BusMessage, binary: bool) -> String {
    if binary {
        base64::engine::general_purpose::STANDARD.encode(&message.body)
    } else {
        message.body.clone()
    }
}

/// The objects the host always adds, and `sys`.
fn common_metadata(metadata: &mut Map<String, Value>, encoding: Encoding) {
    for key in [
        "MessageReceiver",
        "MessageSession",
        "MessageActions",
        "SessionActions",
        "ReceiveActions",
    ] {
        metadata.insert(key.into(), json!({}));
    }
    metadata.insert(
        "Client".into(),
        json!({"FullyQualifiedNamespace": "twins-sb.servicebus.windows.net", "IsClosed": false,
               "TransportType": 0, "Identifier": "twins-sb.servicebus.windows.net-4f1d6c3e"}),
    );
    metadata.insert(
        "sys".into(),
        json!({"MethodName": "TwinUpdatesServiceBus",
               "UtcNow": text("2026-05-01T12:05:00.1234567Z", encoding),
               "RandGuid": "5d2c7a8e-2f4b-4b9a-9d3e-7c1a2b3c4d5e"}),
    );
}

/// `cardinality: many`: `Data.messages` is a JSON string holding the array of bodies; every
/// broker property is an `...Array` value (a JSON string holding the array, in current hosts).
pub fn service_bus_batch_request(messages: &[BusMessage], options: BusRequestOptions) -> Value {
    let encoding = options.encoding;
    let bodies: Vec<Value> = messages
        .iter()
        .map(|m| Value::String(body_text(m, options.binary)))
        .collect();
    let each = |f: &dyn Fn(usize, &BusMessage) -> Value| {
        array(
            messages.iter().enumerate().map(|(n, m)| f(n, m)).collect(),
            encoding,
        )
    };
    let mut metadata = Map::new();
    metadata.insert("MessageIdArray".into(), each(&|_, m| json!(m.message_id)));
    metadata.insert(
        "DeliveryCountArray".into(),
        each(&|_, m| json!(m.delivery_count)),
    );
    metadata.insert("SequenceNumberArray".into(), each(&|n, _| json!(7000 + n)));
    metadata.insert(
        "EnqueuedTimeUtcArray".into(),
        each(&|_, m| json!(m.enqueued_time)),
    );
    metadata.insert(
        "EnqueuedTimeArray".into(),
        each(&|_, m| json!(format!("{}+00:00", m.enqueued_time))),
    );
    metadata.insert(
        "ContentTypeArray".into(),
        each(&|_, _| json!("application/json")),
    );
    metadata.insert(
        "LockTokenArray".into(),
        each(&|n, _| json!(format!("0f8fad5b-d9cb-469f-a165-7086772895{n:02}"))),
    );
    metadata.insert(
        "ExpiresAtUtcArray".into(),
        each(&|_, _| json!("2026-05-15T12:00:00")),
    );
    metadata.insert(
        "ApplicationPropertiesArray".into(),
        each(&|_, m| m.properties.clone()),
    );
    metadata.insert(
        "UserPropertiesArray".into(),
        each(&|_, m| m.properties.clone()),
    );
    common_metadata(&mut metadata, encoding);
    json!({"Data": {"messages": array(bodies, encoding)}, "Metadata": metadata})
}

/// `cardinality: one`: `Data.messages` is the body as a string (twice encoded in current hosts),
/// broker properties are singular, `EnqueuedTimeUtc` is cut to whole seconds, and the body's
/// top-level members that are no arrays are copied into `Metadata` as well.
pub fn service_bus_single_request(message: &BusMessage, options: BusRequestOptions) -> Value {
    let encoding = options.encoding;
    let mut metadata = Map::new();
    if let Ok(Value::Object(members)) = serde_json::from_str::<Value>(&message.body) {
        for (key, value) in members {
            if !value.is_array() {
                metadata.insert(key, value);
            }
        }
    }
    metadata.insert("MessageId".into(), text(&message.message_id, encoding));
    metadata.insert(
        "DeliveryCount".into(),
        json!(message.delivery_count.to_string()),
    );
    metadata.insert("SequenceNumber".into(), json!("7000"));
    let whole_seconds = &message.enqueued_time[..19];
    metadata.insert("EnqueuedTimeUtc".into(), json!(whole_seconds));
    metadata.insert("ContentType".into(), text("application/json", encoding));
    metadata.insert("ApplicationProperties".into(), message.properties.clone());
    metadata.insert("UserProperties".into(), message.properties.clone());
    common_metadata(&mut metadata, encoding);
    let body = body_text(message, options.binary);
    let data = match (encoding, options.binary) {
        (Encoding::Quoted, false) => text(&body, encoding),
        _ => Value::String(body),
    };
    json!({"Data": {"messages": data}, "Metadata": metadata})
}
