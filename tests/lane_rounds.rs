//! A partition's lane makes its round only after its runtime has read what already arrived: a
//! request that came in while the lane's first job was handed over joins that job's transfer.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use adt_bridge::adt::EventHubMessage;
use adt_bridge::config::delivery::Packing;
use adt_bridge::config::eventhubs::{hub_settings, RECORDS_HUB};
use adt_bridge::records::{process, Records, TransformOptions};
use adt_bridge::sink::eventhubs::EventHubsSink;
use adt_bridge::sink::RecordSink;
use adt_bridge::time::Timestamp;
use eventhubs_peer::Peer;
use serde_json::json;
use support::bridge::{emulator_connection, peer_config, quick_retry, WAIT};

/// Three readings of one twin (one partition), with event ids starting at `first`.
fn records(first: usize) -> Records {
    let messages: Vec<EventHubMessage> = (first..first + 3)
        .map(|i| EventHubMessage {
            body: json!({"patch": [{"op": "replace", "path": "/Value", "value": i}]})
                .to_string()
                .into_bytes(),
            properties: json!({
                "cloudEvents:id": format!("evt-{i}"),
                "cloudEvents:type": "Microsoft.DigitalTwins.Twin.Update",
                "cloudEvents:subject": "GrindingStep",
                "cloudEvents:time": format!("2026-05-01T12:00:{i:02}Z"),
            })
            .as_object()
            .unwrap()
            .clone(),
            enqueued_time: None,
        })
        .collect();
    let now = Timestamp::parse("2026-05-01T12:01:00Z").unwrap();
    process(&messages, &TransformOptions::default(), now).records
}

#[test]
fn a_request_read_while_a_lane_takes_its_first_job_joins_that_jobs_transfer() {
    // The peer on runtime threads of its own; the sink on one thread, as a worker runs it.
    let peer_runtime = tokio::runtime::Runtime::new().unwrap();
    let peer = peer_runtime.block_on(Peer::start(peer_config())).unwrap();
    let connection = emulator_connection(peer.addr(), "RootManageSharedAccessKey");
    let settings = BTreeMap::from([
        ("TsiEventHubConnection", connection.as_str()),
        ("TSI_EVENTHUB_NAME", "records"),
    ]);
    let worker = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (records_sent, transfers) = worker.block_on(async {
        let sink = Arc::new(EventHubsSink::new(
            hub_settings(&settings, RECORDS_HUB).unwrap(),
            None,
            quick_retry(),
            Packing::default(),
        ));
        // Opens the producer and its lanes.
        sink.send(&records(0)).await.unwrap();
        let before = peer.transfer_count();

        // A request that arrives on a socket: the runtime sees it only when it polls its driver.
        let (arriving, arrived) = tokio::net::UnixStream::pair().unwrap();
        let second = tokio::spawn({
            let sink = sink.clone();
            async move {
                arrived.readable().await.unwrap();
                sink.send(&records(10)).await
            }
        });
        // `second` waits on its socket before anything is written to it.
        tokio::task::yield_now().await;
        arriving.try_write(b"a request").unwrap();
        // The first job reaches the lane before the runtime has looked at the socket again.
        let first = sink.send(&records(20)).await.unwrap();
        let second = second.await.unwrap().unwrap();
        (first.sent + second.sent, peer.transfer_count() - before)
    });
    assert_eq!(records_sent, 6);
    assert_eq!(
        transfers, 1,
        "both jobs for the partition went out in one transfer"
    );
    let received = peer_runtime.block_on(peer.wait_for_events("records", 3, WAIT));
    assert_eq!(
        received.len(),
        3,
        "the first send's event, then each job's own in the shared transfer"
    );
    peer_runtime.block_on(peer.stop());
}
