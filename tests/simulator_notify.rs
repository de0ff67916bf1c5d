//! The `eventhub`-mode notifications are what ADT sends through an Event Hub, and they go through
//! the bridge's own decode and transform into the records the readings promise.

use std::collections::BTreeSet;

use adt_bridge::adt::{decode_event_hub, Decoded};
use adt_bridge::records::{process, TransformOptions};
use adt_bridge::simulator::{twin_update_event, AdtEvent, Factory, FactoryConfig, StepUpdate};
use adt_bridge::time::Timestamp;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;

const HOST: &str = "factory.api.weu.digitaltwins.azure.net";

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn property<'a>(event: &'a AdtEvent, name: &str) -> &'a str {
    event
        .properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[test]
fn an_event_carries_adt_s_cloud_events_properties_and_body() {
    let tick = Factory::new(FactoryConfig::default()).tick(noon(), true);
    let applied = noon() + Duration::milliseconds(250);
    let event = twin_update_event(&tick.updates[1], HOST, applied);
    let names: Vec<&str> = event.properties.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "source",
            "specversion",
            "type",
            "time",
            "subject",
            "traceparent"
        ]
        .map(|n| format!("cloudEvents:{n}"))
    );
    assert_eq!(property(&event, "cloudEvents:source"), HOST);
    assert_eq!(property(&event, "cloudEvents:specversion"), "1.0");
    assert_eq!(
        property(&event, "cloudEvents:type"),
        "Microsoft.DigitalTwins.Twin.Update"
    );
    assert_eq!(
        property(&event, "cloudEvents:time"),
        "2026-05-01T12:00:00.2500000Z"
    );
    assert_eq!(property(&event, "cloudEvents:subject"), "GrindingStep");
    assert_eq!(event.content_type, "application/json");

    let id: Vec<&str> = property(&event, "cloudEvents:id").split('-').collect();
    assert_eq!(
        id.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(id.iter().all(|g| is_hex(g, g.len())));
    let trace: Vec<&str> = property(&event, "cloudEvents:traceparent")
        .split('-')
        .collect();
    assert_eq!(trace.len(), 4);
    assert!(trace[0] == "00" && is_hex(trace[1], 32) && is_hex(trace[2], 16) && trace[3] == "01");
    assert!(trace[1] != "0".repeat(32) && trace[2] != "0".repeat(16));

    let body: Value = serde_json::from_slice(&event.body).unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["modelId", "patch"]);
    assert_eq!(body["modelId"], tick.updates[1].model_id);
    assert_eq!(
        body["patch"],
        serde_json::to_value(&tick.updates[1].patch).unwrap()
    );
}

#[test]
fn events_are_deterministic_and_ids_unique_over_a_day() {
    let factory = Factory::new(FactoryConfig::default());
    let mut ids = BTreeSet::new();
    let mut traces = BTreeSet::new();
    for k in 0..17_280 {
        let at = noon() + Duration::seconds(5 * k);
        for update in factory.tick(at, false).updates {
            let event = twin_update_event(&update, HOST, at);
            assert!(ids.insert(property(&event, "cloudEvents:id").to_owned()));
            assert!(traces.insert(property(&event, "cloudEvents:traceparent").to_owned()));
            if k % 1000 == 0 {
                assert_eq!(event, twin_update_event(&update, HOST, at));
            }
        }
    }
}

/// Sends `updates` through decode + transform as one batch and returns the record bodies.
fn bridge(updates: &[StepUpdate], event_time: DateTime<Utc>) -> Vec<Value> {
    let options = TransformOptions::default();
    let enqueued = Timestamp::from_instant(event_time + Duration::milliseconds(40), 7);
    let messages: Vec<_> = updates
        .iter()
        .map(|u| twin_update_event(u, HOST, event_time).into_message(Some(enqueued)))
        .collect();
    let decoded: Vec<Decoded> = messages
        .iter()
        .map(|m| decode_event_hub(m, options.decoded_kinds()))
        .collect();
    assert!(
        decoded
            .iter()
            .all(|d| matches!(d, Decoded::Notification(_))),
        "{decoded:?}"
    );
    let now = Timestamp::from_instant(event_time + Duration::seconds(2), 7);
    let outcome = process(decoded, &options, now);
    assert_eq!(outcome.summary.invalid_ops, 0);
    outcome
        .records
        .to_owned_records()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

/// One record per update: the twin id, the tick's (or event's) timestamp, every reading as a double.
fn check_round_trip(
    seed: u64,
    at: DateTime<Utc>,
    with_source_time: bool,
) -> Result<(), TestCaseError> {
    let tick = Factory::new(FactoryConfig::with_seed(seed)).tick(at, with_source_time);
    let event_time = at + Duration::milliseconds(250);
    let records = bridge(&tick.updates, event_time);
    prop_assert_eq!(records.len(), tick.updates.len());
    let expected_time = if with_source_time { at } else { event_time };
    for (record, update) in records.iter().zip(&tick.updates) {
        prop_assert_eq!(&record["$dtId"], update.twin_id);
        let stamp = Timestamp::parse(record["timestamp"].as_str().unwrap()).unwrap();
        prop_assert_eq!(stamp.instant(), expected_time);
        prop_assert_eq!(record.as_object().unwrap().len(), update.readings.len() + 2);
        for (property, value) in &update.readings {
            prop_assert!(
                record[*property].is_f64(),
                "{} is not a double: {}",
                property,
                record
            );
            prop_assert_eq!(record[*property].as_f64().unwrap(), *value);
        }
    }
    Ok(())
}

#[test]
fn notifications_decode_into_the_expected_records() {
    for (seed, at) in [
        (1, noon()),
        (2, noon() + Duration::milliseconds(5_123)),
        (3, noon() + Duration::days(40)),
    ] {
        check_round_trip(seed, at, true).unwrap();
        check_round_trip(seed, at, false).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_tick_round_trips_through_the_bridge(
        seed: u64,
        ms in 946_684_800_000i64..4_102_444_800_000,
        with_source_time: bool,
    ) {
        check_round_trip(seed, Utc.timestamp_millis_opt(ms).unwrap(), with_source_time)?;
    }
}
