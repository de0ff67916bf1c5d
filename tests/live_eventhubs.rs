//! Opt-in: the Event Hubs sink against a real namespace. Never part of the default run.
//!
//! ```text
//! ADT_BRIDGE_LIVE_CONNECTION='Endpoint=sb://<ns>.servicebus.windows.net/;SharedAccessKeyName=<policy>;SharedAccessKey=<key>' \
//! ADT_BRIDGE_LIVE_HUB=records \
//! cargo test --test live_eventhubs -- --ignored --nocapture
//! ```
//! or, with your Azure CLI login and the Azure Event Hubs Data Sender role,
//! `ADT_BRIDGE_LIVE_NAMESPACE=<ns>.servicebus.windows.net` instead of the connection string.

use std::collections::BTreeMap;

use adt_bridge::adt::EventHubMessage;
use adt_bridge::config::eventhubs::{hub_settings, RECORDS_HUB};
use adt_bridge::records::{process, TransformOptions};
use adt_bridge::sink::eventhubs::{default_retry, EventHubsSink};
use adt_bridge::sink::RecordSink;
use adt_bridge::time::Timestamp;
use serde_json::json;

#[tokio::test]
#[ignore = "needs a real Event Hubs namespace; see the module docs"]
async fn records_reach_a_real_namespace() {
    let connection = std::env::var("ADT_BRIDGE_LIVE_CONNECTION").ok();
    let namespace = std::env::var("ADT_BRIDGE_LIVE_NAMESPACE").ok();
    let hub = std::env::var("ADT_BRIDGE_LIVE_HUB").unwrap_or_else(|_| "records".into());
    let mut settings: BTreeMap<&str, &str> = BTreeMap::from([("TSI_EVENTHUB_NAME", hub.as_str())]);
    match (&connection, &namespace) {
        (Some(cs), _) => settings.insert("TsiEventHubConnection", cs.as_str()),
        (None, Some(ns)) => settings.insert(
            "TsiEventHubConnection__fullyQualifiedNamespace",
            ns.as_str(),
        ),
        (None, None) => panic!("set ADT_BRIDGE_LIVE_CONNECTION or ADT_BRIDGE_LIVE_NAMESPACE"),
    };
    let sink = EventHubsSink::new(
        hub_settings(&settings, RECORDS_HUB).unwrap(),
        None,
        default_retry(),
        adt_bridge::config::delivery::Packing::default(),
    );
    let messages: Vec<EventHubMessage> = (0..20)
        .map(|i| {
            let properties = json!({"cloudEvents:id": format!("live-{i}"), "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
                                    "cloudEvents:subject": format!("LiveTwin-{}", i % 5), "cloudEvents:time": "2026-05-01T12:00:00Z"});
            EventHubMessage {
                body: json!({"patch": [{"op": "replace", "path": "/Value", "value": i}]}).to_string().into_bytes(),
                properties: properties.as_object().unwrap().clone(),
                enqueued_time: None,
            }
        })
        .collect();
    let options = TransformOptions::default();
    let outcome = process(
        &messages,
        &options,
        Timestamp::parse("2026-05-01T12:00:01Z").unwrap(),
    );
    let delivery = sink
        .send(&outcome.records)
        .await
        .expect("the namespace accepts the records");
    assert_eq!(delivery.sent, 20);
    println!("sent {} records to {hub}", delivery.sent);
    sink.close().await;
}
