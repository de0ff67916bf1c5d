//! Table-style checks of batch unpacking, with messages encoded the way the SDK encodes them.

use fe2o3_amqp::types::messaging::message::__private::Serializable;
use fe2o3_amqp::types::messaging::{
    AmqpValue, ApplicationProperties, Batch, Data, MessageAnnotations, Properties,
};
use fe2o3_amqp::types::primitives::{Binary, Uuid};

use super::*;

const ARRIVAL: Arrival<'static> = Arrival {
    hub: "records",
    partition_id: Some("2"),
};

/// An event as the SDK builds it: properties, application properties, partition key, data body.
fn sdk_event(id: impl Into<MessageId>, body: &[u8]) -> Message<Body<Value>> {
    Message {
        header: None,
        delivery_annotations: None,
        message_annotations: Some(
            MessageAnnotations::builder()
                .insert(
                    OwnedKey::Symbol(PARTITION_KEY_ANNOTATION.into()),
                    Value::String("twin-7".into()),
                )
                .build(),
        ),
        properties: Some(
            Properties::builder()
                .message_id(id)
                .content_type("application/json")
                .build(),
        ),
        application_properties: Some(
            ApplicationProperties::builder()
                .insert("twinId", "twin-7")
                .insert("count", SimpleValue::Int(3))
                .insert("final", SimpleValue::Bool(true))
                .build(),
        ),
        body: Body::Data(Batch::new(vec![Data(Binary::from(body.to_vec()))])),
        footer: None,
    }
}

fn encode(message: &Message<Body<Value>>) -> Vec<u8> {
    serde_amqp::to_vec(&Serializable(message)).expect("encodes")
}

fn envelope(sections: Vec<Vec<u8>>) -> Message<Body<Value>> {
    Message {
        header: None,
        delivery_annotations: None,
        message_annotations: None,
        properties: None,
        application_properties: None,
        body: Body::Data(
            sections
                .into_iter()
                .map(|s| Data(Binary::from(s)))
                .collect(),
        ),
        footer: None,
    }
}

#[test]
fn batch_yields_one_event_per_data_section_with_every_field() {
    let uuid = Uuid::from([0x12; 16]);
    let batch = envelope(vec![
        encode(&sdk_event(String::from("id-1"), b"{\"a\":1}")),
        encode(&sdk_event(uuid, b"second")),
    ]);

    let events = decode_events(ARRIVAL, BATCH_MESSAGE_FORMAT, &batch).unwrap();

    assert_eq!(events.len(), 2);
    let first = &events[0];
    assert_eq!(first.hub, "records");
    assert_eq!(first.partition_id.as_deref(), Some("2"));
    assert_eq!(first.partition_key.as_deref(), Some("twin-7"));
    assert_eq!(first.message_id.as_deref(), Some("id-1"));
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    assert_eq!(first.properties["twinId"], "twin-7");
    assert_eq!(first.properties["count"], "3");
    assert_eq!(first.properties["final"], "true");
    assert_eq!(first.body, b"{\"a\":1}");
    assert_eq!(
        events[1].message_id.as_deref(),
        Some("12121212-1212-1212-1212-121212121212")
    );
    assert_eq!(events[1].body, b"second");
}

#[test]
fn unbatched_message_is_one_event() {
    let mut message = sdk_event(42u64, b"");
    message.body = Body::Value(AmqpValue(Value::String("hello".into())));

    let events = decode_events(ARRIVAL, 0, &message).unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(events[0].message_id.as_deref(), Some("42"));
    assert_eq!(events[0].body, b"hello");
}

#[test]
fn batch_without_data_sections_is_an_error() {
    let mut message = sdk_event(1u64, b"");
    message.body = Body::Value(AmqpValue(Value::Null));

    let err = decode_events(ARRIVAL, BATCH_MESSAGE_FORMAT, &message).unwrap_err();

    assert!(matches!(
        err,
        DecodeError::BatchWithoutData {
            found: "amqp-value"
        }
    ));
}

#[test]
fn garbage_in_a_batch_names_the_section() {
    let batch = envelope(vec![encode(&sdk_event(1u64, b"ok")), vec![0xde, 0xad]]);

    let err = decode_events(ARRIVAL, BATCH_MESSAGE_FORMAT, &batch).unwrap_err();

    assert!(
        matches!(err, DecodeError::Event { index: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn binary_message_ids_and_properties_render_as_hex() {
    let id = MessageId::Binary(Binary::from(vec![0x01, 0xab]));
    assert_eq!(render_message_id(&id), "01ab");
    let value = SimpleValue::Binary(Binary::from(vec![0xff]));
    assert_eq!(render_simple_value(&value), "ff");
}
