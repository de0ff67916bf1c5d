//! The Azure Data Explorer tables and JSON mappings in `infra/kql/` match the record formats:
//! records made by the real transform from the factory's twins and simulator have every field a
//! mapping names, with a value of the column's type.

use std::collections::BTreeMap;
use std::path::Path;

use adt_bridge::adt::EventHubMessage;
use adt_bridge::records::{process, RecordFormat, TransformOptions};
use adt_bridge::simulator::{twin_update_event, twins, Factory, FactoryConfig};
use adt_bridge::time::Timestamp;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

/// A table's columns and its mapping's (column, JSON path) pairs, read from a `.kql` file.
struct Kql {
    columns: BTreeMap<String, String>,
    mapping: Vec<(String, String)>,
}

fn read_kql(file: &str) -> Kql {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("infra/kql")
            .join(file),
    )
    .unwrap();
    let table = text
        .lines()
        .find(|l| l.starts_with(".create-merge table"))
        .expect("a table command");
    let inside = &table[table.find('(').unwrap() + 1..table.rfind(')').unwrap()];
    let columns = inside
        .split(", ")
        .map(|column| {
            let (name, kind) = column.split_once(':').unwrap();
            (
                name.trim_matches(|c| c == '[' || c == ']' || c == '\'')
                    .to_owned(),
                kind.to_owned(),
            )
        })
        .collect();
    let line = text
        .lines()
        .find(|l| l.contains("ingestion json mapping"))
        .expect("a mapping command");
    let json_text =
        line[line.find("'[").unwrap() + 1..line.rfind('\'').unwrap()].replace("\\'", "'");
    let mapping: Vec<Value> = serde_json::from_str(&json_text).unwrap();
    let mapping = mapping
        .iter()
        .map(|m| {
            (
                m["column"].as_str().unwrap().to_owned(),
                m["Properties"]["Path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    Kql { columns, mapping }
}

/// Evaluates the JSON paths the mappings use: `$`, `$.name` and `$['name']`.
fn at<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    if path == "$" {
        return Some(record);
    }
    let key = path
        .strip_prefix("$.")
        .or_else(|| path.strip_prefix("$['").and_then(|p| p.strip_suffix("']")))
        .unwrap_or_else(|| panic!("a path form this test does not read: {path}"));
    record.get(key)
}

fn fits(kind: &str, value: &Value) -> bool {
    match (kind, value) {
        (_, Value::Null) => true,
        ("string", Value::String(_)) => true,
        ("datetime", Value::String(text)) => Timestamp::parse(text).is_ok(),
        ("real", Value::Number(n)) => n.is_f64(),
        ("long" | "int", Value::Number(n)) => n.is_i64(),
        ("dynamic", _) => true,
        _ => false,
    }
}

/// The factory as notifications: every twin created, then two hours of simulator ticks.
fn factory_notifications() -> Vec<EventHubMessage> {
    let start = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
    let mut messages: Vec<EventHubMessage> = twins()
        .into_iter()
        .map(|twin| {
            let properties = json!({"cloudEvents:id": format!("create-{}", twin.id), "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Create",
                                    "cloudEvents:source": "cocoa-works.api.weu.digitaltwins.azure.net", "cloudEvents:subject": twin.id,
                                    "cloudEvents:time": "2026-05-01T07:59:00Z"});
            let mut body = twin.body.clone();
            body["$dtId"] = json!(twin.id);
            EventHubMessage { body: body.to_string().into_bytes(), properties: properties.as_object().unwrap().clone(), enqueued_time: None }
        })
        .collect();
    let factory = Factory::new(FactoryConfig::with_seed(3));
    for step in 0..(2 * 720) {
        let at = start + Duration::seconds(5 * step);
        for update in factory.tick(at, step % 2 == 0).updates {
            let event =
                twin_update_event(&update, "cocoa-works.api.weu.digitaltwins.azure.net", at);
            messages.push(event.into_message(None));
        }
    }
    messages
}

fn records(format: RecordFormat) -> Vec<Value> {
    let options = TransformOptions {
        format,
        ..TransformOptions::default()
    };
    let messages = factory_notifications();
    let outcome = process(
        &messages,
        &options,
        Timestamp::parse("2026-05-01T12:00:00Z").unwrap(),
    );
    assert!(outcome.unusable.is_empty());
    outcome
        .records
        .to_owned_records()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

fn check(file: &str, format: RecordFormat, always_present: &[&str]) {
    let kql = read_kql(file);
    let records = records(format);
    for (column, path) in &kql.mapping {
        let kind = kql
            .columns
            .get(column)
            .unwrap_or_else(|| panic!("{file}: mapping names column {column} the table lacks"));
        let values: Vec<&Value> = records.iter().filter_map(|r| at(r, path)).collect();
        assert!(
            !values.is_empty(),
            "{file}: no record has {path} for column {column}"
        );
        if always_present.contains(&column.as_str()) {
            assert_eq!(
                values.len(),
                records.len(),
                "{file}: {column} is missing from some records"
            );
        }
        for value in values {
            assert!(
                fits(kind, value),
                "{file}: column {column} is {kind}, a record has {value}"
            );
        }
    }
    let mapped: Vec<_> = kql.mapping.iter().map(|(c, _)| c.as_str()).collect();
    for column in kql.columns.keys() {
        assert!(
            mapped.contains(&column.as_str()),
            "{file}: column {column} has no mapping"
        );
    }
}

#[test]
fn the_tsi_table_and_mapping_match_tsi_records() {
    check(
        "tsi.kql",
        RecordFormat::Tsi,
        &["dtId", "timestamp", "record"],
    );
}

#[test]
fn the_data_history_table_and_mapping_match_data_history_rows() {
    let all: &[&str] = &[
        "TimeStamp",
        "SourceTimeStamp",
        "ServiceId",
        "Id",
        "ModelId",
        "Key",
        "Value",
        "RelationshipTarget",
        "RelationshipId",
        "Action",
    ];
    check("data-history.kql", RecordFormat::DataHistory, all);
}
