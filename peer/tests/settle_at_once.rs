//! The peer settles each transfer as soon as it is recorded (its default, as the service does), and
//! the client must take an answer that fast: thousands of sends on one connection, none of them
//! waiting for an outcome that never comes.
//!
//! fe2o3-amqp 0.16.2 recorded a delivery as unsettled only after handing its transfer to the
//! session, and dropped a disposition that came back in between; that send then waited forever
//! (`patches/fe2o3-amqp-0.16.2/PATCH.md`). The gap is open when the session's and the peer's
//! tasks run on other threads while the sending task is between the two steps, so the runtime
//! keeps workers free for them: four sending tasks, one per partition, on four workers, each task
//! waiting for its outcome most of the time. Without the fix this hung in every one of nine runs, usually within the first
//! thousand sends. The bound per send is generous: a healthy send takes about a millisecond here,
//! a lost disposition never completes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use azure_messaging_eventhubs::{EventDataBatchOptions, ProducerClient};
use common::*;
use eventhubs_peer::PeerConfig;

/// Partitions of the hub, each sent to by its own task.
const PARTITIONS: u32 = 4;

/// Sends per partition.
const SENDS_PER_PARTITION: usize = 1000;

/// The longest any one send may take.
const SEND_BOUND: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_send_completes_when_the_peer_settles_at_once() {
    let peer = start_peer(PeerConfig::new("localhost").hub(HUB, PARTITIONS)).await;
    assert_eq!(peer.faults().settle_delay(), Duration::ZERO);
    assert!(!peer.faults().quick_acks());
    let producer = Arc::new(producer(&peer).await);
    let partitions = peer.config().find_hub(HUB).unwrap().partition_ids();

    let senders: Vec<_> = partitions
        .into_iter()
        .map(|partition| tokio::spawn(send_many(producer.clone(), partition)))
        .collect();
    let mut stuck = Vec::new();
    for sender in senders {
        if let Err(failure) = sender.await.expect("sender task") {
            stuck.push(failure);
        }
    }
    // A producer with a send stuck inside may not close; fail before trying.
    assert!(stuck.is_empty(), "{stuck:#?}");

    let expected = PARTITIONS as usize * SENDS_PER_PARTITION;
    assert_eq!(peer.event_count(HUB), expected);
    let Ok(producer) = Arc::try_unwrap(producer) else {
        panic!("the senders still hold the producer");
    };
    close(producer).await;
    peer.stop().await;
}

/// Sends one-event batches to `partition`, one at a time; the first failure or overlong send.
async fn send_many(producer: Arc<ProducerClient>, partition: String) -> Result<(), String> {
    for n in 0..SENDS_PER_PARTITION {
        let options = EventDataBatchOptions {
            partition_id: Some(partition.clone()),
            ..Default::default()
        };
        let batch = within("create_batch", producer.create_batch(Some(options)))
            .await
            .map_err(|e| format!("partition {partition}, send {n}: create_batch: {e}"))?;
        let id = format!("p{partition}-{n}");
        assert!(batch
            .try_add_event_data(event(&id, n as i32), None)
            .unwrap());
        match tokio::time::timeout(SEND_BOUND, producer.send_batch(batch, None)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(format!("partition {partition}, send {n}: {error}")),
            Err(_) => {
                return Err(format!(
                    "partition {partition}, send {n}: no outcome within {SEND_BOUND:?}"
                ))
            }
        }
    }
    Ok(())
}
