//! Riding out a records-hub outage inside one invocation, for triggers that must not fail fast.
//!
//! Service Bus abandons every message of a failed invocation and redelivers it at once, with no
//! backoff, dead-lettering it after `MaxDeliveryCount` deliveries: answering 500 on the first
//! failed send would burn through those deliveries in seconds. So such an invocation keeps
//! retrying its send, with backoff, for as long as its hold lasts (within the message lock),
//! and only then fails.

use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

use crate::records::Records;
use crate::sink::{Delivery, RecordSink, SinkError};

/// The first wait after a failed send; each next wait doubles, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two sends.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Sends `records`; with a `hold`, a failed send is tried again with backoff until it succeeds or
/// the next attempt would start after the hold has passed (counted from the first attempt). The
/// last failure is returned.
pub async fn send_holding(
    sink: &dyn RecordSink,
    records: &Records,
    hold: Option<Duration>,
) -> Result<Delivery, SinkError> {
    let Some(hold) = hold else {
        return sink.send(records).await;
    };
    let deadline = Instant::now() + hold;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let error = match sink.send(records).await {
            Ok(delivery) => return Ok(delivery),
            Err(error) => error,
        };
        if Instant::now() + backoff > deadline {
            return Err(error);
        }
        warn!(attempt, error = %error, wait_ms = backoff.as_millis() as u64, "records not delivered; holding the invocation and trying again");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::future::BoxFuture;

    use crate::sink::DeadLetter;

    /// Refuses the first `failures` sends, then accepts; records when each send happened.
    struct Flaky {
        failures: usize,
        calls: AtomicUsize,
        at: std::sync::Mutex<Vec<Instant>>,
    }

    impl Flaky {
        fn new(failures: usize) -> Self {
            Flaky {
                failures,
                calls: AtomicUsize::new(0),
                at: std::sync::Mutex::new(Vec::new()),
            }
        }
    }

    impl RecordSink for Flaky {
        fn send<'a>(&'a self, records: &'a Records) -> BoxFuture<'a, Result<Delivery, SinkError>> {
            self.at.lock().unwrap().push(Instant::now());
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            let result = if call < self.failures {
                Err(SinkError::Unreachable(format!("down ({call})")))
            } else {
                Ok(Delivery {
                    sent: records.len(),
                    events: records.len(),
                    too_large: Vec::new(),
                })
            };
            Box::pin(async move { result })
        }

        fn dead_letter<'a>(
            &'a self,
            _: &'a [DeadLetter],
        ) -> BoxFuture<'a, Result<usize, SinkError>> {
            Box::pin(async { Ok(0) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_hold_one_failure_fails() {
        let sink = Flaky::new(1);
        let result = send_holding(&sink, &Records::new(), None).await;
        assert_eq!(result, Err(SinkError::Unreachable("down (0)".into())));
        assert_eq!(sink.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_rides_out_failures_with_doubling_waits_capped() {
        let sink = Flaky::new(6);
        let started = Instant::now();
        let result = send_holding(&sink, &Records::new(), Some(Duration::from_secs(45))).await;
        assert_eq!(result.map(|d| d.sent), Ok(0));
        let waits: Vec<u64> = sink
            .at
            .lock()
            .unwrap()
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_millis() as u64)
            .collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 4000]);
        assert_eq!(started.elapsed(), Duration::from_millis(11_750));
    }

    #[tokio::test(start_paused = true)]
    async fn the_hold_ends_with_the_last_error() {
        let sink = Flaky::new(usize::MAX);
        let started = Instant::now();
        let result = send_holding(&sink, &Records::new(), Some(Duration::from_secs(10))).await;
        // Waits 0.25 + 0.5 + 1 + 2 + 4 = 7.75 s; the next 4 s wait would end past 10 s.
        assert_eq!(result, Err(SinkError::Unreachable("down (5)".into())));
        assert_eq!(started.elapsed(), Duration::from_millis(7_750));
    }
}
