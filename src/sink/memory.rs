//! An in-memory sink for tests: keeps what it is given, fails on request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use futures_util::future::{BoxFuture, FutureExt};

use super::{DeadLetter, Delivery, RecordSink, SinkError};
use crate::records::{OwnedRecord, Records};

/// Holds every record and dead letter it accepts.
#[derive(Debug, Default)]
pub struct MemorySink {
    records: Mutex<Records>,
    dead_letters: Mutex<Vec<DeadLetter>>,
    failures_left: AtomicUsize,
    max_record_bytes: Option<usize>,
}

impl MemorySink {
    /// A sink that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink that treats records longer than `bytes` as too large to send.
    pub fn with_max_record_bytes(bytes: usize) -> Self {
        MemorySink {
            max_record_bytes: Some(bytes),
            ..Self::default()
        }
    }

    /// Makes the next `count` sends fail as if the hub were unreachable.
    pub fn fail_next(&self, count: usize) {
        self.failures_left.store(count, Ordering::SeqCst);
    }

    /// Every record accepted so far.
    pub fn records(&self) -> Vec<OwnedRecord> {
        self.records
            .lock()
            .expect("not poisoned")
            .to_owned_records()
    }

    /// Every dead letter accepted so far.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.dead_letters.lock().expect("not poisoned").clone()
    }

    fn take_failure(&self) -> bool {
        self.failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl RecordSink for MemorySink {
    fn send<'a>(&'a self, records: &'a Records) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        async move {
            if self.take_failure() {
                return Err(SinkError::Unreachable(
                    "the in-memory sink was told to fail".into(),
                ));
            }
            let mut delivery = Delivery::default();
            let mut kept = self.records.lock().expect("not poisoned");
            for (index, record) in records.iter().enumerate() {
                if self.max_record_bytes.is_some_and(|max| record.len() > max) {
                    delivery.too_large.push(index);
                } else {
                    kept.push_from(records, record);
                    delivery.sent += 1;
                    delivery.events += 1;
                }
            }
            Ok(delivery)
        }
        .boxed()
    }

    fn dead_letter<'a>(
        &'a self,
        letters: &'a [DeadLetter],
    ) -> BoxFuture<'a, Result<usize, SinkError>> {
        async move {
            self.dead_letters
                .lock()
                .expect("not poisoned")
                .extend_from_slice(letters);
            Ok(letters.len())
        }
        .boxed()
    }
}
