//! Property tests of the core: invariants that hold for any input, not just the spec's examples.

use adt_bridge::adt::{decode_event_grid, decode_event_hub, Decoded, EventHubMessage, EventKinds};
use adt_bridge::records::{process, RecordFormat, TransformOptions, TsiKeys};
use adt_bridge::time::Timestamp;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const TYPES: [&str; 8] = [
    "Microsoft.DigitalTwins.Twin.Update",
    "Microsoft.DigitalTwins.Twin.Create",
    "Microsoft.DigitalTwins.Twin.Delete",
    "Microsoft.DigitalTwins.Relationship.Update",
    "microsoft.iot.telemetry",
    "SensorChange",
    "SpaceChange",
    "Something.Else",
];

fn now() -> Timestamp {
    Timestamp::parse("2026-05-01T12:00:00Z").unwrap()
}

fn options(format: RecordFormat, keys: TsiKeys) -> TransformOptions {
    TransformOptions {
        format,
        tsi_keys: keys,
        ..TransformOptions::default()
    }
}

fn all_options() -> Vec<TransformOptions> {
    vec![
        options(RecordFormat::Tsi, TsiKeys::Nested),
        options(RecordFormat::Tsi, TsiKeys::Dotted),
        options(RecordFormat::DataHistory, TsiKeys::Nested),
    ]
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "/A",
            "/A/B",
            "/$metadata/A/sourceTime",
            "add",
            "remove",
            "2026-05-01T12:00:00Z",
            "~1"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "op",
                        "path",
                        "value",
                        "patch",
                        "modelId",
                        "$metadata",
                        "data",
                        "Id",
                        "DataType",
                        "Value",
                        "x"
                    ])
                    .prop_map(String::from),
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A plausible patch op: set, remove or sourceTime, on a small set of paths.
fn patch_op() -> impl Strategy<Value = Value> {
    let path = prop::sample::select(vec!["/A", "/B", "/C/D", "/C/E", "/F~1G", "/H~0I/J"]);
    let value = prop_oneof![
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z]{0,5}".prop_map(Value::String),
        Just(json!({"X": 1, "Y": [1, 2]}))
    ];
    let time = prop::sample::select(vec![
        "2026-05-01T11:00:00Z",
        "2026-05-01T11:00:00.5Z",
        "2026-05-01T13:00:00+02:00",
    ]);
    prop_oneof![
        (prop::sample::select(vec!["add", "replace"]), path.clone(), value).prop_map(|(op, path, value)| json!({"op": op, "path": path, "value": value})),
        path.clone().prop_map(|path| json!({"op": "remove", "path": path})),
        (path, time).prop_map(|(path, time)| json!({"op": "add", "path": format!("/$metadata{path}/sourceTime"), "value": time})),
    ]
}

/// Paths a patch removes, none a prefix of another, each with the data-history `Key` it becomes
/// (segments unescaped, joined with `.`).
const REMOVED: [(&str, &str); 5] = [
    ("/A", "A"),
    ("/B/C", "B.C"),
    ("/D~1E", "D/E"),
    ("/F~0G", "F~G"),
    ("/H/I/J", "H.I.J"),
];

fn update_message(index: usize, twin: &str, patch: Vec<Value>, with_time: bool) -> EventHubMessage {
    let mut properties = Map::new();
    properties.insert("cloudEvents:id".into(), json!(format!("evt-{index}")));
    properties.insert(
        "cloudEvents:type".into(),
        json!("Microsoft.DigitalTwins.Twin.Update"),
    );
    properties.insert("cloudEvents:subject".into(), json!(twin));
    if with_time {
        properties.insert(
            "cloudEvents:time".into(),
            json!("2026-05-01T11:59:59.1234567Z"),
        );
    }
    EventHubMessage {
        body: serde_json::to_vec(&json!({"patch": patch})).unwrap(),
        properties,
        enqueued_time: None,
    }
}

fn decode_all(messages: &[EventHubMessage], options: &TransformOptions) -> Vec<Decoded> {
    messages
        .iter()
        .map(|m| decode_event_hub(m, options.decoded_kinds()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_record_carries_its_twin_id_and_a_utc_timestamp(
        twin in "[A-Za-z][A-Za-z0-9-]{0,15}",
        patch in prop::collection::vec(patch_op(), 0..12),
        with_time in any::<bool>(),
    ) {
        let message = update_message(0, &twin, patch, with_time);
        for options in all_options() {
            let outcome = process(decode_all(std::slice::from_ref(&message), &options), &options, now());
            for record in &outcome.records.to_owned_records() {
                prop_assert_eq!(record.twin_id.as_str(), twin.as_str());
                let body: Value = serde_json::from_str(&record.body).unwrap();
                let (id, time) = match options.format {
                    RecordFormat::Tsi => (&body["$dtId"], &body["timestamp"]),
                    RecordFormat::DataHistory => (&body["Id"], &body["TimeStamp"]),
                };
                prop_assert_eq!(id.as_str(), Some(twin.as_str()));
                let time = time.as_str().expect("a timestamp string");
                prop_assert!(time.ends_with('Z'), "{}", time);
                prop_assert_eq!(Timestamp::parse(time).unwrap().to_string(), time);
            }
        }
    }

    #[test]
    fn removes_never_produce_values_and_each_is_one_delete_row(
        removed in prop::sample::subsequence(REMOVED.to_vec(), 1..=REMOVED.len()).prop_shuffle(),
    ) {
        let patch = removed.iter().map(|(path, _)| json!({"op": "remove", "path": path})).collect();
        let message = update_message(0, "twin", patch, true);
        for options in all_options() {
            let outcome = process(decode_all(std::slice::from_ref(&message), &options), &options, now());
            match options.format {
                RecordFormat::Tsi => {
                    prop_assert!(outcome.records.is_empty());
                    prop_assert_eq!(outcome.summary.removes, removed.len());
                }
                RecordFormat::DataHistory => {
                    let rows: Vec<Value> = outcome.records.to_owned_records().iter()
                        .map(|record| serde_json::from_str(&record.body).unwrap())
                        .collect();
                    prop_assert_eq!(rows.len(), removed.len(), "one row per remove op: {:?}", rows);
                    for (row, (_, key)) in rows.iter().zip(&removed) {
                        prop_assert_eq!(&row["Key"], key);
                        prop_assert_eq!(&row["Value"], &Value::Null);
                        prop_assert_eq!(&row["Action"], "Delete");
                    }
                }
            }
        }
    }

    #[test]
    fn a_batch_is_the_sum_of_its_parts(
        patches in prop::collection::vec(prop::collection::vec(patch_op(), 0..6), 0..10),
        split in any::<prop::sample::Index>(),
    ) {
        let messages: Vec<_> = patches.into_iter().enumerate()
            .map(|(i, patch)| update_message(i, &format!("twin-{}", i % 3), patch, i % 2 == 0))
            .collect();
        let at = if messages.is_empty() { 0 } else { split.index(messages.len() + 1) };
        for options in all_options() {
            let whole = process(decode_all(&messages, &options), &options, now());
            let first = process(decode_all(&messages[..at], &options), &options, now());
            let second = process(decode_all(&messages[at..], &options), &options, now());
            let mut joined = first.records.to_owned_records();
            joined.extend(second.records.to_owned_records());
            prop_assert_eq!(whole.records.to_owned_records(), joined);
            prop_assert_eq!(whole.summary.records, first.summary.records + second.summary.records);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_the_decoder_or_the_transform(
        body in any_json(),
        event in any_json(),
        type_name in prop::sample::select(TYPES.to_vec()),
        subject in prop::option::of("[A-Za-z/]{0,20}"),
    ) {
        let mut properties = Map::new();
        properties.insert("cloudEvents:type".into(), json!(type_name));
        if let Some(subject) = subject {
            properties.insert("cloudEvents:subject".into(), json!(subject));
        }
        let message = EventHubMessage { body: serde_json::to_vec(&body).unwrap(), properties, enqueued_time: None };
        let structured = EventHubMessage { body: serde_json::to_vec(&event).unwrap(), ..EventHubMessage::default() };
        for options in all_options() {
            let decoded = vec![
                decode_event_hub(&message, EventKinds::all()),
                decode_event_hub(&structured, EventKinds::all()),
                decode_event_grid(&event, EventKinds::all()),
                decode_event_grid(&json!({"eventType": type_name, "subject": "t", "data": body}), EventKinds::all()),
            ];
            let outcome = process(decoded, &options, now());
            prop_assert_eq!(outcome.summary.events, 4);
            let skipped: usize = outcome.summary.skipped.values().sum();
            prop_assert!(outcome.unusable.len() + skipped <= 4);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut properties = Map::new();
        properties.insert("cloudEvents:type".into(), json!("Microsoft.DigitalTwins.Twin.Update"));
        properties.insert("cloudEvents:subject".into(), json!("t"));
        let with_type = EventHubMessage { body: body.clone(), properties, enqueued_time: None };
        let without = EventHubMessage { body, ..EventHubMessage::default() };
        let options = TransformOptions::default();
        let outcome = process([decode_event_hub(&with_type, EventKinds::all()), decode_event_hub(&without, EventKinds::all())], &options, now());
        prop_assert_eq!(outcome.summary.events, 2);
    }
}
