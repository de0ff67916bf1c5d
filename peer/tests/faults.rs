//! The fault knobs, driven by the real Event Hubs SDK: authentication failures, rejected and
//! unsettled transfers, a connection dropped mid-batch, refused connections.

mod common;

use std::time::Duration;

use azure_messaging_eventhubs::EventDataBatchOptions;
use common::*;

/// How long the test waits for a send whose connection the peer dropped.
const DROPPED_SEND_DEADLINE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_token_401_fails_the_send() {
    let peer = default_peer().await;
    peer.faults().set_put_token_status(401);
    let producer = producer(&peer).await; // connects; authentication is lazy

    let batch = within("create_batch", producer.create_batch(None)).await;
    assert!(
        batch.is_err(),
        "create_batch authorizes the hub and must fail"
    );
    let sent = within("send_event", producer.send_event(event("x", 1), None)).await;
    let error = sent.expect_err("send_event must fail too");
    assert!(format!("{error:?}").contains("401"), "{error:?}");

    assert!(peer.events(HUB).is_empty());
    let tokens = peer.token_requests();
    assert!(!tokens.is_empty());
    for token in &tokens {
        assert_eq!(token.name, "amqps://localhost/records");
        assert_eq!(token.token_type, "servicebus.windows.net:sastoken");
        assert!(token.token.contains("skn=dev"), "{}", token.token);
        assert_eq!(token.status_code, 401);
    }

    peer.faults().set_put_token_status(202);
    within("send_event", producer.send_event(event("y", 2), None))
        .await
        .expect("a later send authenticates again");
    assert_eq!(ids(&peer.events(HUB)), ["y"]);
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_token_containing_lets_another_key_name_through() {
    let peer = default_peer().await;
    peer.faults()
        .set_reject_token_containing(Some("skn=primary".to_string()));

    let primary = open_producer(&peer, "primary", HUB).await.expect("opens");
    let sent = within("send_event", primary.send_event(event("p", 1), None)).await;
    assert!(sent.is_err(), "the primary key is refused");
    close_after_failure(primary).await;

    let secondary = open_producer(&peer, "secondary", HUB).await.expect("opens");
    within("send_event", secondary.send_event(event("s", 2), None))
        .await
        .expect("the secondary key is accepted");
    close(secondary).await;

    assert_eq!(ids(&peer.events(HUB)), ["s"]);
    let statuses: Vec<(bool, u16)> = peer
        .token_requests()
        .iter()
        .map(|t| (t.token.contains("skn=primary"), t.status_code))
        .collect();
    assert!(statuses.contains(&(true, 401)), "{statuses:?}");
    assert!(statuses.contains(&(false, 202)), "{statuses:?}");
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_transfers_fail_the_send_and_record_nothing() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;
    peer.faults().set_reject_transfers(true);

    let batch = within("create_batch", producer.create_batch(None))
        .await
        .unwrap();
    assert!(batch.try_add_event_data(event("r-1", 1), None).unwrap());
    assert!(batch.try_add_event_data(event("r-2", 2), None).unwrap());
    let sent = within("send_batch", producer.send_batch(batch, None)).await;
    let error = sent.expect_err("a rejected batch is an error");
    assert!(format!("{error:?}").contains("NotAllowed"), "{error:?}");
    assert!(peer.events(HUB).is_empty());

    peer.faults().set_reject_transfers(false);
    let batch = within("create_batch", producer.create_batch(None))
        .await
        .unwrap();
    assert!(batch.try_add_event_data(event("ok", 3), None).unwrap());
    within("send_batch", producer.send_batch(batch, None))
        .await
        .expect("accepted again");
    assert_eq!(ids(&peer.events(HUB)), ["ok"]);
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_dropped_mid_batch_leaves_no_partial_events() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;
    let send = |ids: &'static [&'static str]| {
        let producer = &producer;
        async move {
            let batch = producer
                .create_batch(Some(EventDataBatchOptions {
                    partition_key: Some("k".to_string()),
                    ..Default::default()
                }))
                .await?;
            for (n, id) in ids.iter().enumerate() {
                assert!(batch.try_add_event_data(event(id, n as i32), None)?);
            }
            producer.send_batch(batch, None).await
        }
    };
    // Open the sender link first, so the drop hits the batch transfer itself.
    within("warm-up", send(&["warm"])).await.expect("warm-up");

    peer.faults().drop_connection_after_transfers(Some(0));
    // fe2o3 0.16 never fails a delivery whose connection died before its disposition, so the
    // SDK's send waits forever: a caller needs its own deadline, as here.
    let dropped = tokio::time::timeout(DROPPED_SEND_DEADLINE, send(&["d-1", "d-2", "d-3"])).await;

    let batch_ids: Vec<String> = ids(&peer.events(HUB))
        .into_iter()
        .filter(|id| id.starts_with("d-"))
        .collect();
    match dropped {
        // Had the SDK reconnected and sent again, the batch would be there once, whole.
        Ok(Ok(())) => assert_eq!(batch_ids, ["d-1", "d-2", "d-3"]),
        Ok(Err(_)) | Err(_) => assert!(batch_ids.is_empty(), "partial batch: {batch_ids:?}"),
    }

    within("send after the drop", send(&["after"]))
        .await
        .expect("the SDK reconnects for the next send");
    assert_eq!(
        ids(&peer.events(HUB)).last().map(String::as_str),
        Some("after")
    );
    close(producer).await;
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_settled_send_stays_pending_but_is_recorded() {
    let peer = default_peer().await;
    let producer = producer(&peer).await;
    peer.faults().set_never_settle(true);

    let pending = tokio::time::timeout(
        Duration::from_millis(500),
        producer.send_event(event("limbo", 1), None),
    )
    .await;
    assert!(
        pending.is_err(),
        "no disposition, so the send cannot finish"
    );
    assert_eq!(ids(&peer.events(HUB)), ["limbo"]);
    // The abandoned send leaves the client's link waiting; just stop the peer.
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_fail_open_until_allowed_again() {
    let peer = default_peer().await;
    peer.faults().set_refuse_connections(true);

    let refused = open_producer(&peer, "dev", HUB).await;
    assert!(
        refused.is_err(),
        "the TCP connection is closed before AMQP starts"
    );

    peer.faults().set_refuse_connections(false);
    let producer = producer(&peer).await;
    within("send_event", producer.send_event(event("in", 1), None))
        .await
        .expect("send once connections are allowed");
    close(producer).await;
    peer.stop().await;
}
