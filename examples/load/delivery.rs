//! The loss check: every record of every answered batch must be at the peer, once.
//!
//! The handler sends one record per event (message id `<event id>:<index>`, as with
//! `BRIDGE_PACKING=none`) or packs many records into one event (a JSON array, application property
//! `recordCount`, message id `<first record's message id>+<count>`). Message ids do not map one to
//! one onto records in the second shape, so the check reads records, not ids: each event is
//! unrolled into its records (`ReceivedEvent::records`, which also rejects a packed event whose
//! array, `recordCount` and message id disagree), and each record is known by its `$dtId` and
//! `timestamp` ([`RecordKey`]). The batch template makes that pair unique in a run (the batch number
//! is in every event's time, the event's place in the batch in its minutes and seconds), so:
//!
//! - a record lost in transit is an expected key that never arrived (`missing`),
//! - a record sent twice is a key seen twice (`duplicates`),
//! - a record of a batch that was never answered, or a record the template cannot have produced,
//!   is a key nobody expected (`unexpected`; records of abandoned batches are not counted there),
//! - an event that does not unroll, or a record without a twin id or timestamp, is `malformed`,
//! - a twin whose records arrived on more than one partition is `split` (the twin is the
//!   partition key, so its records must stay on one partition to stay in order).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use eventhubs_peer::{Peer, ReceivedEvent};
use serde::Deserialize;

use crate::batches::{BatchTemplate, RecordKey};
use crate::drive::Results;

/// What reached the peer, against what was expected.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Events the peer holds.
    pub events: u64,
    /// Records in them, duplicates included.
    pub records: u64,
    pub missing: usize,
    pub unexpected: usize,
    pub duplicates: usize,
    pub malformed: usize,
    pub split: usize,
}

impl Delivery {
    /// Whether every expected record arrived once and nothing else did.
    pub fn complete(&self) -> bool {
        self.complete_at_least_once() && self.duplicates == 0
    }

    /// Whether every expected record arrived, and nothing else, counting duplicates as fine:
    /// what a peer that drops connections mid-transfer allows (a transfer that landed but whose
    /// outcome was lost is sent again, with the same message ids).
    pub fn complete_at_least_once(&self) -> bool {
        self.missing == 0 && self.unexpected == 0 && self.malformed == 0 && self.split == 0
    }
}

/// The fields of a record that identify it.
#[derive(Deserialize)]
struct Stamp {
    #[serde(rename = "$dtId")]
    twin: String,
    timestamp: String,
}

/// The records found at the peer, by key.
#[derive(Default)]
struct Arrivals {
    events: u64,
    records: u64,
    keys: HashSet<RecordKey>,
    duplicates: usize,
    malformed: usize,
    /// Each twin's first partition, and the twins seen on another one.
    partitions: HashMap<String, Option<String>>,
    split: HashSet<String>,
}

impl Arrivals {
    fn add(&mut self, event: &ReceivedEvent) {
        self.events += 1;
        let Ok(records) = event.records() else {
            self.malformed += 1;
            return;
        };
        for record in records {
            self.records += 1;
            let Ok(stamp) = serde_json::from_slice::<Stamp>(record) else {
                self.malformed += 1;
                continue;
            };
            if !self
                .keys
                .insert(RecordKey::new(&stamp.twin, &stamp.timestamp))
            {
                self.duplicates += 1;
            }
            match self.partitions.get(&stamp.twin) {
                Some(first) if *first != event.partition_id => {
                    self.split.insert(stamp.twin);
                }
                Some(_) => {}
                None => {
                    self.partitions
                        .insert(stamp.twin, event.partition_id.clone());
                }
            }
        }
    }

    /// Compares with the records of `results`' answered batches (and forgives those of its
    /// abandoned ones).
    fn compare(mut self, results: &Results, template: &BatchTemplate) -> Delivery {
        let missing = results
            .delivered
            .iter()
            .flat_map(|&batch| template.expected_records(batch))
            .filter(|key| !self.keys.remove(key))
            .count();
        for &batch in &results.abandoned {
            for key in template.expected_records(batch) {
                self.keys.remove(&key);
            }
        }
        Delivery {
            events: self.events,
            records: self.records,
            missing,
            unexpected: self.keys.len(),
            duplicates: self.duplicates,
            malformed: self.malformed,
            split: self.split.len(),
        }
    }
}

/// Checks what `hub` holds against `results`; waits up to `drain` for stragglers while records
/// are missing (the handler answers after its send is accepted, so normally none are).
pub async fn check_peer(
    peer: &Peer,
    hub: &str,
    results: &Results,
    template: &BatchTemplate,
    drain: Duration,
) -> Delivery {
    let deadline = tokio::time::Instant::now() + drain;
    loop {
        let mut arrivals = Arrivals::default();
        peer.for_each_event(hub, |event| arrivals.add(event));
        let seen = arrivals.events as usize;
        let delivery = arrivals.compare(results, template);
        let now = tokio::time::Instant::now();
        if delivery.missing == 0 || now >= deadline {
            return delivery;
        }
        // Look again only once something new has arrived.
        if peer.wait_for_count(hub, seen + 1, deadline - now).await <= seen {
            return delivery;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWINS: usize = 2;

    fn results(delivered: &[u64], abandoned: &[u64]) -> Results {
        Results {
            delivered: delivered.to_vec(),
            abandoned: abandoned.to_vec(),
            ..Results::default()
        }
    }

    fn event(
        partition: &str,
        message_id: &str,
        count: Option<usize>,
        body: String,
    ) -> ReceivedEvent {
        ReceivedEvent {
            hub: "records".into(),
            partition_id: Some(partition.into()),
            partition_key: None,
            message_id: Some(message_id.into()),
            content_type: Some("application/json".into()),
            properties: count
                .map(|n| ("recordCount".to_string(), n.to_string()))
                .into_iter()
                .collect(),
            body: body.into_bytes(),
        }
    }

    /// The record the handler makes of event `index` of `batch`, as JSON text.
    fn record(template: &BatchTemplate, batch: u64, index: usize) -> String {
        let key = template.expected_records(batch).nth(index).unwrap();
        let (twin, timestamp) = key.parts();
        format!(r#"{{"$dtId":"{twin}","timestamp":"{timestamp}","ChasisTemperature":200.0}}"#)
    }

    /// Batch `batch` as the handler sends it: one event per record, or packed per twin (each
    /// twin on partition `twin index`).
    fn sent(template: &BatchTemplate, batch: u64, packed: bool) -> Vec<ReceivedEvent> {
        let records: Vec<String> = (0..template.size())
            .map(|i| record(template, batch, i))
            .collect();
        if !packed {
            return records
                .into_iter()
                .enumerate()
                .map(|(i, body)| {
                    event(
                        &(i % TWINS).to_string(),
                        &format!("e{batch}-{i}:0"),
                        None,
                        body,
                    )
                })
                .collect();
        }
        (0..TWINS)
            .map(|twin| {
                let mine: Vec<&str> = records
                    .iter()
                    .skip(twin)
                    .step_by(TWINS)
                    .map(String::as_str)
                    .collect();
                let id = format!("e{batch}-{twin}:0+{}", mine.len());
                event(
                    &twin.to_string(),
                    &id,
                    Some(mine.len()),
                    format!("[{}]", mine.join(",")),
                )
            })
            .collect()
    }

    fn check(events: &[ReceivedEvent], results: &Results, template: &BatchTemplate) -> Delivery {
        let mut arrivals = Arrivals::default();
        events.iter().for_each(|event| arrivals.add(event));
        arrivals.compare(results, template)
    }

    #[test]
    fn both_shapes_account_for_every_record() {
        let template = BatchTemplate::new(5, TWINS);
        for packed in [false, true] {
            let events: Vec<_> = (0..3)
                .flat_map(|batch| sent(&template, batch, packed))
                .collect();
            let delivery = check(&events, &results(&[0, 1, 2], &[]), &template);
            assert!(delivery.complete(), "packed {packed}: {delivery:?}");
            assert_eq!(delivery.records, 15);
        }
    }

    #[test]
    fn a_lost_record_inside_a_packed_event_is_missing() {
        let template = BatchTemplate::new(5, TWINS);
        let mut events = sent(&template, 0, true);
        // The first event loses its last record but stays consistent with itself.
        let records: Vec<String> = events[0]
            .records()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(r.to_vec()).unwrap())
            .collect();
        let kept = &records[..records.len() - 1];
        let id = format!("e0-0:0+{}", kept.len());
        events[0] = event("0", &id, Some(kept.len()), format!("[{}]", kept.join(",")));
        let delivery = check(&events, &results(&[0], &[]), &template);
        assert_eq!(delivery.missing, 1, "{delivery:?}");
        assert_eq!(delivery.malformed, 0, "{delivery:?}");
    }

    #[test]
    fn duplicates_strays_bad_packing_and_split_twins_are_each_counted() {
        let template = BatchTemplate::new(4, TWINS);
        let mut events = sent(&template, 0, false);
        events.push(events[1].clone()); // sent twice
        events.extend(sent(&template, 7, false)); // a batch never answered
        let mut packed = sent(&template, 1, true);
        packed[0]
            .properties
            .insert("recordCount".into(), "9".into());
        events.extend(packed); // the first event's records cannot be read: they go missing
        let mut moved = sent(&template, 2, false);
        moved[0].partition_id = Some("3".into()); // twin 0 on another partition
        events.extend(moved);
        let delivery = check(&events, &results(&[0, 1, 2], &[]), &template);
        assert_eq!(delivery.duplicates, 1);
        assert_eq!(delivery.unexpected, 4);
        assert_eq!(delivery.malformed, 1);
        assert_eq!(delivery.missing, 2, "batch 1's records of twin 0");
        assert_eq!(delivery.split, 1);

        let forgiven = check(&sent(&template, 7, false), &results(&[], &[7]), &template);
        assert!(forgiven.complete(), "{forgiven:?}");
    }
}
