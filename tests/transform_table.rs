//! Table tests: every rule of records.md and every event shape of adt-notifications.md, as
//! fixtures in `tests/fixtures/transform/*.json` written by hand from the specs (the format is
//! described in `transform_table/case.rs`).
//!
//! A case must expect something of every format it names, and name at least one: a case that
//! expects nothing would pass whatever the transform did. `"records": []` is how a case says that
//! no record comes out.

mod transform_table {
    pub mod case;
}

use std::collections::BTreeMap;

use adt_bridge::adt::{decode_event_grid, decode_event_hub, Decoded, EventHubMessage};
use adt_bridge::config::transform_options;
use adt_bridge::records::{process, RecordFormat};
use adt_bridge::time::Timestamp;
use serde_json::{json, Value};
use transform_table::case::{read_table, Case};

fn decode(case: &Case, kinds: adt_bridge::adt::EventKinds) -> Decoded {
    match case.transport.as_str() {
        "eventhub" => {
            let message = EventHubMessage {
                body: case.body(),
                properties: case.properties(),
                enqueued_time: case.enqueued_time().map(|t| Timestamp::parse(t).unwrap()),
            };
            decode_event_hub(&message, kinds)
        }
        "eventgrid" => decode_event_grid(&case.event, kinds),
        other => panic!("{}: unknown transport {other}", case.name),
    }
}

fn run_case(file: &str, case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    if case.expect.is_empty() {
        failures.push(format!(
            "{file} / {}: the case names no record format, so it checks nothing",
            case.name
        ));
    }
    for (format, expect) in &case.expect {
        let mut settings: BTreeMap<&str, &str> = case
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        settings.insert("BRIDGE_RECORD_FORMAT", format);
        let options = transform_options(&settings).expect("fixture settings are valid");
        assert_eq!(options.format.as_str(), format);
        let decoded = decode(case, options.decoded_kinds());
        let outcome = process(
            [decoded.clone()],
            &options,
            Timestamp::parse(&case.now).unwrap(),
        );
        let label = format!("{file} / {} / {format}", case.name);
        if !expect.expects_something() {
            failures.push(format!(
                "{label}: the case expects nothing, so it checks nothing"
            ));
        }
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("{label}: {what}"));
            }
        };
        if let Some(expected) = &expect.records {
            let got: Vec<Value> = outcome
                .records
                .to_owned_records()
                .iter()
                .map(|r| serde_json::from_str(&r.body).unwrap())
                .collect();
            check(
                &got == expected,
                format!(
                    "records\n  got:      {}\n  expected: {}",
                    Value::from(got.clone()),
                    Value::from(expected.clone())
                ),
            );
            for record in &outcome.records.to_owned_records() {
                let body: Value = serde_json::from_str(&record.body).unwrap();
                let twin = match options.format {
                    RecordFormat::Tsi => &body["$dtId"],
                    RecordFormat::DataHistory => &body["Id"],
                };
                check(
                    twin == record.twin_id.as_str(),
                    format!("partition key {} is not the record's twin", record.twin_id),
                );
            }
        }
        if let Some(ids) = &expect.message_ids {
            let got: Vec<String> = outcome.records.iter().map(|r| r.message_id()).collect();
            check(
                &got == ids,
                format!("message ids {got:?}, expected {ids:?}"),
            );
        }
        if let Some(type_name) = &expect.skipped {
            check(
                matches!(&decoded, Decoded::Skipped { type_name: t } if t.as_ref() == type_name),
                format!("expected a skip of {type_name}, got {decoded:?}"),
            );
        }
        if let Some(reason) = &expect.unusable {
            let got = outcome.unusable.first().map(|(_, u)| u.reason.code());
            check(
                got == Some(reason.as_str()),
                format!("expected unusable {reason}, got {got:?}"),
            );
            check(
                outcome.records.is_empty(),
                "an unusable event produced records".into(),
            );
        }
        if let Some(count) = expect.invalid_ops {
            check(
                outcome.summary.invalid_ops == count,
                format!("invalid ops {} != {count}", outcome.summary.invalid_ops),
            );
        }
        if let Some(count) = expect.removes {
            check(
                outcome.summary.removes == count,
                format!("removes {} != {count}", outcome.summary.removes),
            );
        }
    }
    failures
}

#[test]
fn every_fixture_case_produces_what_the_spec_says() {
    let table = read_table();
    let mut failures = Vec::new();
    for (file, case) in &table {
        failures.extend(run_case(file, case));
    }
    let cases = table.len();
    assert!(cases >= 30, "expected the full table, found {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A twin update that yields one tsi record, expecting what `expect` says.
fn case_expecting(expect: Value) -> Result<Case, serde_json::Error> {
    serde_json::from_value(json!({
        "name": "a case for the runner",
        "transport": "eventhub",
        "event": {
            "properties": {"cloudEvents:id": "evt-1", "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
                           "cloudEvents:time": "2026-05-01T12:00:00Z", "cloudEvents:subject": "GrindingStep"},
            "body": {"patch": [{"op": "replace", "path": "/Vibration", "value": 112.5}]}
        },
        "expect": expect
    }))
}

#[test]
fn the_runner_refuses_a_case_that_expects_nothing() {
    for nothing in [
        json!({}),
        json!({"tsi": {}}),
        json!({"tsi": {"records": [{"$dtId": "GrindingStep", "timestamp": "2026-05-01T12:00:00Z", "Vibration": 112.5}]},
                           "data-history": {}}),
    ] {
        let case = case_expecting(nothing.clone()).unwrap();
        let failures = run_case("inline", &case);
        assert!(
            failures.iter().any(|f| f.contains("checks nothing")),
            "{nothing} was accepted: {failures:?}"
        );
    }
    let misspelt = case_expecting(json!({"tsi": {"record": []}}));
    assert!(misspelt.is_err(), "a misspelt expectation is refused");
    // The runner does check: a wrong expectation fails, and `"records": []` is an expectation.
    let wrong = case_expecting(json!({"tsi": {"records": []}})).unwrap();
    assert!(
        !run_case("inline", &wrong).is_empty(),
        "a wrong case passed"
    );
    let right = case_expecting(json!({"tsi": {"records": [
        {"$dtId": "GrindingStep", "timestamp": "2026-05-01T12:00:00Z", "Vibration": 112.5}
    ]}}))
    .unwrap();
    assert_eq!(run_case("inline", &right), Vec::<String>::new());
}
