//! The happy paths, driven by the real Event Hubs SDK: batches with keys and partitions, batch
//! sizing, hub properties, and a restart on the same port.

mod common;

use std::time::Duration;

use azure_messaging_eventhubs::{EventDataBatchOptions, ProducerClient};
use common::*;
use eventhubs_peer::{Peer, PeerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_with_partition_key_arrives_with_every_field() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;

    let batch = producer
        .create_batch(Some(EventDataBatchOptions {
            partition_key: Some("twin-7".to_string()),
            ..Default::default()
        }))
        .await
        .expect("batch");
    for (sequence, id) in ["m-1", "m-2", "m-3"].into_iter().enumerate() {
        assert!(batch
            .try_add_event_data(event(id, sequence as i32), None)
            .unwrap());
    }
    within("send_batch", producer.send_batch(batch, None))
        .await
        .expect("send");

    let events = peer.events(HUB);
    assert_eq!(ids(&events), ["m-1", "m-2", "m-3"]);
    for (sequence, event) in events.iter().enumerate() {
        assert_eq!(event.hub, HUB);
        assert_eq!(event.partition_id, None);
        assert_eq!(event.partition_key.as_deref(), Some("twin-7"));
        assert_eq!(event.content_type.as_deref(), Some("application/json"));
        assert_eq!(event.properties["twinId"], "twin-7");
        assert_eq!(event.properties["sequence"], sequence.to_string());
        assert_eq!(event.properties.len(), 2);
        let id = event.message_id.as_deref().unwrap();
        let body = format!("{{\"id\":\"{id}\",\"sequence\":{sequence}}}");
        assert_eq!(event.body, body.as_bytes());
    }
    assert!(peer.events("deadletter").is_empty());

    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_event_is_recorded_as_one_event() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;

    within("send_event", producer.send_event(event("single", 9), None))
        .await
        .expect("send_event");

    let events = peer.wait_for_events(HUB, 1, STEP).await;
    assert_eq!(ids(&events), ["single"]);
    assert_eq!(events[0].properties["sequence"], "9");
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_to_a_partition_is_recorded_with_its_partition() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;

    let batch = producer
        .create_batch(Some(EventDataBatchOptions {
            partition_id: Some("2".to_string()),
            ..Default::default()
        }))
        .await
        .expect("batch");
    assert!(batch.try_add_event_data(event("p-1", 1), None).unwrap());
    within("send_batch", producer.send_batch(batch, None))
        .await
        .expect("send");

    let events = peer.events(HUB);
    assert_eq!(ids(&events), ["p-1"]);
    assert_eq!(events[0].partition_id.as_deref(), Some("2"));
    assert_eq!(events[0].partition_key, None);
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_partition_and_unknown_hub_fail_at_the_client() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;

    let unknown_partition = producer
        .create_batch(Some(EventDataBatchOptions {
            partition_id: Some("9".to_string()),
            ..Default::default()
        }))
        .await;
    let error = unknown_partition.err().expect("partition 9 does not exist");
    assert!(format!("{error:?}").contains("NotFound"), "{error:?}");

    // The producer still works for partitions that exist.
    within("send_event", producer.send_event(event("after", 1), None))
        .await
        .expect("send after a refused link");
    close(producer).await;

    let nowhere = open_producer(&peer, "dev", "nope").await.expect("opens");
    let error = tokio::time::timeout(STEP, nowhere.create_batch(None))
        .await
        .expect("no hang")
        .err()
        .expect("hub 'nope' does not exist");
    assert!(format!("{error:?}").contains("NotFound"), "{error:?}");
    close_after_failure(nowhere).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_batch_respects_a_small_max_message_size() {
    let peer = start_peer(
        PeerConfig::new("localhost")
            .hub(HUB, 1)
            .max_message_size(2048),
    )
    .await;
    let producer = producer(&peer).await;

    let batch = producer.create_batch(None).await.expect("batch");
    let big = azure_messaging_eventhubs::models::EventData::builder()
        .with_body(vec![b'x'; 4096])
        .build();
    assert!(
        !batch.try_add_event_data(big, None).unwrap(),
        "4 KB does not fit in 2 KB"
    );
    assert!(batch.try_add_event_data(event("small", 1), None).unwrap());
    assert!(batch.size() <= 2048);
    within("send_batch", producer.send_batch(batch, None))
        .await
        .expect("send");

    assert_eq!(ids(&peer.events(HUB)), ["small"]);
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_and_partition_properties_come_from_the_config() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;

    let hub = producer
        .get_eventhub_properties()
        .await
        .expect("hub properties");
    assert_eq!(hub.name, HUB);
    assert_eq!(hub.partition_ids, ["0", "1", "2", "3"]);
    assert!(hub.created_on.is_some());

    let batch = producer
        .create_batch(Some(EventDataBatchOptions {
            partition_id: Some("1".to_string()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(batch.try_add_event_data(event("a", 1), None).unwrap());
    assert!(batch.try_add_event_data(event("b", 2), None).unwrap());
    within("send_batch", producer.send_batch(batch, None))
        .await
        .unwrap();

    let partition = producer
        .get_partition_properties("1")
        .await
        .expect("partition");
    assert_eq!(partition.id, "1");
    assert_eq!(partition.eventhub, HUB);
    assert!(!partition.is_empty);
    assert_eq!(partition.last_enqueued_sequence_number, 1);
    let empty = producer
        .get_partition_properties("0")
        .await
        .expect("partition");
    assert!(empty.is_empty);

    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_peer_restarts_on_the_same_address() {
    let peer = default_peer().await;
    let addr = peer.addr();
    let producer = producer(&peer).await;
    within("send_event", producer.send_event(event("before", 1), None))
        .await
        .unwrap();
    peer.stop().await;
    // An outage, long enough for the old producer to see its connection end. A send issued before
    // it notices goes out on the dead connection, and fe2o3 0.16 then waits for its outcome forever.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let peer = Peer::start_on(PeerConfig::new("localhost").hub(HUB, 4), addr)
        .await
        .expect("the port is free again");
    assert_eq!(peer.addr(), addr);

    let fresh = common::producer(&peer).await;
    within("send_event", fresh.send_event(event("fresh", 3), None))
        .await
        .expect("a new producer sends to the restarted peer");
    assert_eq!(ids(&peer.events(HUB)), ["fresh"]);

    // The producer from before the restart reconnects by itself.
    within(
        "send after restart",
        producer.send_event(event("after", 2), None),
    )
    .await
    .expect("send after restart");
    assert_eq!(ids(&peer.events(HUB)), ["fresh", "after"]);

    close(fresh).await;
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_events_returns_what_it_has_at_timeout() {
    let peer = default_peer().await;
    let events = peer
        .wait_for_events(HUB, 1, Duration::from_millis(50))
        .await;
    assert!(events.is_empty());
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_each_event_as_a_json_line() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_eventhubs-peer"))
            .args(["--port", "0", "--hub", "records:2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let connection_string = next_line(&mut lines).await;
    let endpoint = next_line(&mut lines).await;
    let endpoint = endpoint.trim_start_matches("custom endpoint:").trim();
    let connection_string = connection_string
        .trim_start_matches("connection string:")
        .trim();
    assert!(connection_string.ends_with("UseDevelopmentEmulator=true"));

    let producer = ProducerClient::builder()
        .with_custom_endpoint(endpoint.to_string())
        .open_with_connection_string(connection_string, Some(HUB))
        .await
        .expect("opens against the binary");
    within("send_event", producer.send_event(event("cli-1", 7), None))
        .await
        .expect("send");
    let line: serde_json::Value = serde_json::from_str(&next_line(&mut lines).await).expect("JSON");
    assert_eq!(line["hub"], HUB);
    assert_eq!(line["message_id"], "cli-1");
    assert_eq!(line["properties"]["sequence"], "7");
    assert_eq!(line["body"], "{\"id\":\"cli-1\",\"sequence\":7}");

    close(producer).await;
}

/// Stops the binary when the test ends, passing or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn next_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    within("a line from the binary", lines.recv())
        .await
        .expect("the binary's stdout is open")
}
