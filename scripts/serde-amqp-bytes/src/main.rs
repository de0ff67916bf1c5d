//! The patched serde_amqp writes the bytes the released one writes: messages with data sections
//! of several sizes, amqp-value and sequence bodies, encoded by both and compared.

use fe2o3_amqp_types::messaging::message::__private::Serializable;
use fe2o3_amqp_types::messaging::{ApplicationProperties, Body, Data, Message, Properties};
use fe2o3_amqp_types::primitives::Value;

/// Fails unless both crates encode `message` to the same bytes.
fn assert_same(message: &Message<Body<Value>>, what: &str) {
    let released = orig::to_vec(&Serializable(message)).unwrap();
    let patched = patched::to_vec(&Serializable(message)).unwrap();
    assert_eq!(released, patched, "{what}");
}

fn main() {
    let mut checked = 0;
    for sections in 0..4usize {
        for size in [0usize, 1, 200, 255, 256, 70_000] {
            let data: Vec<Data> = (0..sections)
                .map(|n| Data(serde_bytes::ByteBuf::from(vec![n as u8; size])))
                .collect();
            let body: Body<Value> = if sections == 0 {
                Body::Empty
            } else {
                Body::Data(data.into())
            };
            let mut message = Message::builder().body(body).build();
            message.application_properties =
                Some(ApplicationProperties::builder().insert("k", "v").build());
            message.properties = Some(
                Properties::builder()
                    .message_id(String::from("id-1"))
                    .build(),
            );
            assert_same(&message, &format!("sections {sections} size {size}"));
            // And each data section alone.
            let section = Data(serde_bytes::ByteBuf::from(vec![7u8; size]));
            assert_eq!(
                orig::to_vec(&section).unwrap(),
                patched::to_vec(&section).unwrap()
            );
            checked += 1;
        }
    }
    use fe2o3_amqp_types::messaging::{AmqpSequence, AmqpValue};
    let nested = Value::List(vec![
        Value::Uint(5),
        Value::String("x".into()),
        Value::List(vec![Value::Binary(serde_bytes::ByteBuf::from(vec![
            1u8;
            300
        ]))]),
    ]);
    for body in [
        Body::Value(AmqpValue(nested.clone())),
        Body::Sequence(
            vec![
                AmqpSequence(vec![nested.clone(), Value::Null]),
                AmqpSequence(vec![]),
            ]
            .into(),
        ),
        Body::Value(AmqpValue(Value::Array(
            vec![Value::Int(1), Value::Int(2)].into(),
        ))),
    ] {
        assert_same(
            &Message::builder().body(body).build(),
            "a value or sequence body",
        );
        checked += 1;
    }
    println!("identical bytes in {checked} messages");
}
