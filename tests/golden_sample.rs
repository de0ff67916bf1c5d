//! The golden comparison: one realistic chocolate-factory update, as the widely copied Microsoft
//! sample would have turned it into a TSI event, and as this bridge does.
//!
//! The update is what ADT routes when the grinding step reports a reading: three step properties
//! (one a whole number), a `Motor` component's temperature, the time the vibration was measured
//! (`/$metadata/Vibration/sourceTime`) and the removal of a maintenance note.
//!
//! What the sample (an Azure Function that loops over `patch`, keeps `add`/`replace`, turns the
//! path's `/` into `.` and adds `$dtId`) gets wrong, and what we write instead:
//! - **No timestamp.** The sample writes none, so TSI stamps every value with the time the event
//!   reached the hub, seconds or (after an outage) hours late. We stamp values with ADT's event
//!   time, and the vibration with its own `sourceTime`, which splits it into its own record.
//! - **Metadata as data.** The sample writes `"$metadata.Vibration.sourceTime"` as if it were a
//!   property, creating a junk column. We read it as the vibration's timestamp.
//! - **Removes vanish.** The sample drops them silently. A wide record cannot hold "no value", so
//!   `tsi` counts them (the invocation's summary reports `removes=1`) and `data-history` writes a
//!   `Delete` row.
//! - **Component paths flattened to escaped names.** `Motor.Temperature` as one key is stored by
//!   TSI as an escaped single name; nested objects give TSI the column `Motor.Temperature` proper.
//!   (`BRIDGE_TSI_KEYS=dotted` keeps the sample's keys for users whose queries depend on them.)
//! - **One property, two columns.** `204` and `204.5` land in TSI's `_long` and `_double` columns;
//!   we write every number as a double.
//! - **Crashes.** The sample calls `Dictionary.Add`, which throws on a path seen twice, and reads
//!   `patch` and `cloudEvents:subject` without checks, so a Twin.Create or a telemetry event throws;
//!   with no retry policy the whole batch is then lost. We take the later op, skip what produces
//!   no records, and report unusable events alone.

use adt_bridge::adt::EventHubMessage;
use adt_bridge::records::{process, RecordFormat, TransformOptions};
use adt_bridge::time::Timestamp;
use serde_json::{json, Map, Value};

fn realistic_update() -> EventHubMessage {
    let body = json!({
        "modelId": "dtmi:com:microsoft:iot:e2e:digital_factory:production_step_grinding;1",
        "patch": [
            {"op": "replace", "path": "/ChasisTemperature", "value": 204},
            {"op": "replace", "path": "/Vibration", "value": 181.25},
            {"op": "replace", "path": "/Force", "value": 304.5},
            {"op": "add", "path": "/Motor/Temperature", "value": 61.5},
            {"op": "add", "path": "/$metadata/Vibration/sourceTime", "value": "2026-05-01T11:59:59.9500000Z"},
            {"op": "remove", "path": "/MaintenanceNote"}
        ]
    });
    let properties = json!({
        "cloudEvents:id": "6a1f1e3c-77b2-4c1e-9a51-5d6f0e1b2c3d",
        "cloudEvents:source": "cocoa-works.api.weu.digitaltwins.azure.net",
        "cloudEvents:specversion": "1.0",
        "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
        "cloudEvents:time": "2026-05-01T12:00:00.1234567Z",
        "cloudEvents:subject": "GrindingStep",
        "cloudEvents:traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    });
    EventHubMessage {
        body: serde_json::to_vec(&body).unwrap(),
        properties: properties.as_object().unwrap().clone(),
        enqueued_time: Some(Timestamp::parse("2026-05-01T12:00:02.5Z").unwrap()),
    }
}

/// The sample's logic, faithfully: keep add/replace, path minus the leading `/` with `/` → `.`,
/// value as it came, then `$dtId` from `cloudEvents:subject`. No timestamp.
fn widely_copied_sample(message: &EventHubMessage) -> Value {
    let body: Value = serde_json::from_slice(&message.body).unwrap();
    let mut update = Map::new();
    for op in body["patch"].as_array().unwrap() {
        if op["op"] == "replace" || op["op"] == "add" {
            let path = op["path"].as_str().unwrap()[1..].replace('/', ".");
            assert!(
                !update.contains_key(&path),
                "Dictionary.Add would throw here"
            );
            update.insert(path, op["value"].clone());
        }
    }
    update.insert(
        "$dtId".into(),
        message.properties["cloudEvents:subject"].clone(),
    );
    Value::Object(update)
}

#[test]
fn the_sample_versus_the_bridge_on_one_realistic_update() {
    let message = realistic_update();

    assert_eq!(
        widely_copied_sample(&message),
        json!({"ChasisTemperature": 204, "Vibration": 181.25, "Force": 304.5, "Motor.Temperature": 61.5,
               "$metadata.Vibration.sourceTime": "2026-05-01T11:59:59.9500000Z", "$dtId": "GrindingStep"})
    );

    let now = Timestamp::parse("2026-05-01T12:00:03Z").unwrap();
    let tsi = TransformOptions::default();
    let outcome = process([&message], &tsi, now);
    let records: Vec<Value> = outcome
        .records
        .to_owned_records()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        records,
        [
            json!({"$dtId": "GrindingStep", "timestamp": "2026-05-01T12:00:00.1234567Z",
                   "ChasisTemperature": 204.0, "Force": 304.5, "Motor": {"Temperature": 61.5}}),
            json!({"$dtId": "GrindingStep", "timestamp": "2026-05-01T11:59:59.9500000Z", "Vibration": 181.25}),
        ]
    );
    assert_eq!(
        outcome.summary.removes, 1,
        "the remove is counted, not silently lost"
    );
    let ids: Vec<_> = outcome.records.iter().map(|r| r.message_id()).collect();
    assert_eq!(
        ids,
        [
            "6a1f1e3c-77b2-4c1e-9a51-5d6f0e1b2c3d:0",
            "6a1f1e3c-77b2-4c1e-9a51-5d6f0e1b2c3d:1"
        ]
    );

    let history = TransformOptions {
        format: RecordFormat::DataHistory,
        ..TransformOptions::default()
    };
    let outcome = process([&message], &history, now);
    let rows: Vec<Value> = outcome
        .records
        .to_owned_records()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let keys: Vec<_> = rows
        .iter()
        .map(|r| (r["Key"].as_str().unwrap(), r["Action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [
            ("ChasisTemperature", "Update"),
            ("Vibration", "Update"),
            ("Force", "Update"),
            ("Motor.Temperature", "Update"),
            ("MaintenanceNote", "Delete")
        ]
    );
    assert_eq!(rows[1]["SourceTimeStamp"], "2026-05-01T11:59:59.9500000Z");
}
