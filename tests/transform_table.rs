//! Table tests: every rule of records.md and every event shape of adt-notifications.md, as
//! fixtures in `tests/fixtures/transform/*.json` written by hand from the specs.
//!
//! A fixture file holds a list of cases. Each case gives one event as a transport delivers it
//! (`eventhub`: body + application properties + enqueued time; `eventgrid`: the event JSON), the
//! invocation's `now`, optional settings, and what must come out, per record format: the exact
//! records (compared as JSON, so `20` and `20.0` differ), their message ids, or a skip or an
//! unusable reason.

use std::collections::BTreeMap;
use std::path::Path;

use adt_bridge::adt::{decode_event_grid, decode_event_hub, Decoded, EventHubMessage};
use adt_bridge::config::transform_options;
use adt_bridge::records::{transform_batch, RecordFormat};
use adt_bridge::time::Timestamp;
use base64::Engine;
use serde_json::{Map, Value};

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    transport: String,
    event: Value,
    #[serde(default)]
    settings: BTreeMap<String, String>,
    #[serde(default = "default_now")]
    now: String,
    expect: BTreeMap<String, Expect>,
}

fn default_now() -> String {
    "2026-05-01T12:00:09.0000000Z".into()
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expect {
    #[serde(default)]
    records: Option<Vec<Value>>,
    #[serde(default)]
    message_ids: Option<Vec<String>>,
    #[serde(default)]
    skipped: Option<String>,
    #[serde(default)]
    unusable: Option<String>,
    #[serde(default)]
    invalid_ops: Option<usize>,
    #[serde(default)]
    removes: Option<usize>,
}

impl Expect {
    /// Whether any expectation is written down: a case without one would pass whatever the
    /// transform did.
    fn expects_something(&self) -> bool {
        self.records.is_some()
            || self.message_ids.is_some()
            || self.skipped.is_some()
            || self.unusable.is_some()
            || self.invalid_ops.is_some()
            || self.removes.is_some()
    }
}

fn decode(case: &Case, kinds: adt_bridge::adt::EventKinds) -> Decoded {
    match case.transport.as_str() {
        "eventhub" => {
            let event = case
                .event
                .as_object()
                .expect("an eventhub case is an object");
            let body = match (
                event.get("body"),
                event.get("bodyText"),
                event.get("bodyBase64"),
            ) {
                (Some(body), _, _) => serde_json::to_vec(body).unwrap(),
                (_, Some(Value::String(text)), _) => text.clone().into_bytes(),
                (_, _, Some(Value::String(b64))) => base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
                _ => panic!("{}: no body", case.name),
            };
            let message = EventHubMessage {
                body,
                properties: event
                    .get("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_else(Map::new),
                enqueued_time: event
                    .get("enqueuedTime")
                    .and_then(Value::as_str)
                    .map(|t| Timestamp::parse(t).unwrap()),
            };
            decode_event_hub(&message, kinds)
        }
        "eventgrid" => decode_event_grid(&case.event, kinds),
        other => panic!("{}: unknown transport {other}", case.name),
    }
}

fn run_case(file: &str, case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
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
        let outcome = transform_batch(
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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transform");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut cases, mut failures) = (0, Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file_cases: Vec<Case> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for case in &file_cases {
            cases += 1;
            failures.extend(run_case(&file, case));
        }
    }
    assert!(cases >= 30, "expected the full table, found {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
