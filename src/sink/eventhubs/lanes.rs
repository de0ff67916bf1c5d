//! One lane per partition: the records of every invocation in flight go out together.
//!
//! The SDK sends one transfer per partition link at a time and waits for its outcome, so a send
//! per invocation would line invocations up behind each other's round trips. A lane instead takes
//! everything handed to it while its previous transfer was in flight and sends it as one transfer
//! (a few, past the link's `max-message-size`): an idle hub sends at once, a busy one sends fewer,
//! larger transfers. Every invocation in a round shares the round's outcome, so an invocation
//! answers success only once the transfers holding its records were accepted. A lane runs on its
//! own task: an invocation that stops waiting (its deadline passed) cannot leave a send half done.

use std::sync::Arc;
use std::time::Duration;

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{EventDataBatchOptions, ProducerClient};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::batching::{send_in_batches, Batched};
use super::within;
use crate::sink::SinkError;

/// One invocation's events for one partition, in order, and where to report their fate.
struct Job {
    events: Vec<EventData>,
    reply: oneshot::Sender<Result<Batched, SinkError>>,
}

/// The lanes of one open producer, one per partition id.
pub(super) struct Lanes {
    queues: Vec<mpsc::UnboundedSender<Job>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Lanes {
    /// Starts a lane for each of `partitions` on `client`; a round that takes longer than
    /// `deadline` fails, so a transfer the SDK never settles cannot stall a lane for good.
    pub fn start(client: &Arc<ProducerClient>, partitions: &[String], deadline: Duration) -> Self {
        let (queues, tasks) = partitions
            .iter()
            .map(|partition| {
                let (queue, jobs) = mpsc::unbounded_channel();
                let lane = Lane {
                    client: client.clone(),
                    partition: partition.clone(),
                    deadline,
                };
                let task = tokio::spawn(lane.run(jobs));
                (queue, task)
            })
            .unzip();
        Lanes { queues, tasks }
    }

    /// Sends `events` on lane `lane` with whatever else is queued there; resolves when the
    /// transfers holding them are settled. Positions in the result are positions in `events`.
    pub async fn send(&self, lane: usize, events: Vec<EventData>) -> Result<Batched, SinkError> {
        let stopped = || SinkError::Unreachable("the partition's sender has stopped".into());
        let (reply, outcome) = oneshot::channel();
        self.queues[lane]
            .send(Job { events, reply })
            .map_err(|_| stopped())?;
        outcome.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Stops taking work and waits for the rounds in flight to finish.
    pub async fn stop(self) {
        drop(self.queues);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// What a lane's task owns.
struct Lane {
    client: Arc<ProducerClient>,
    partition: String,
    deadline: Duration,
}

impl Lane {
    /// One round at a time, each round everything queued when the last one ended.
    async fn run(self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(first) = jobs.recv().await {
            let mut round = vec![first];
            while let Ok(job) = jobs.try_recv() {
                round.push(job);
            }
            self.send_round(round).await;
        }
    }

    /// Sends a round's events in order and tells every job how its part went. A failure anywhere
    /// in the round fails every job in it: which of its transfers landed is not known, and the
    /// host's redelivery resends them with the same message ids.
    #[tracing::instrument(level = "debug", skip_all, fields(partition = %self.partition, invocations = round.len()))]
    async fn send_round(&self, round: Vec<Job>) {
        let mut events = Vec::with_capacity(round.iter().map(|job| job.events.len()).sum());
        let mut replies = Vec::with_capacity(round.len());
        for job in round {
            replies.push((events.len(), job.events.len(), job.reply));
            events.extend(job.events);
        }
        let options = || {
            Some(EventDataBatchOptions {
                partition_id: Some(self.partition.clone()),
                ..Default::default()
            })
        };
        let sent = send_in_batches(&self.client, options, events);
        let result = within(self.deadline, sent).await;
        for (start, count, reply) in replies {
            let part = match &result {
                Ok(done) => Ok(share(done, start, count)),
                Err(error) => Err(error.clone()),
            };
            // A job whose invocation stopped waiting has no one to tell.
            let _ = reply.send(part);
        }
    }
}

/// One job's share of a round that went through: its events, less those too large to send.
fn share(done: &Batched, start: usize, count: usize) -> Batched {
    let too_large: Vec<usize> = done
        .too_large
        .iter()
        .filter(|&&position| (start..start + count).contains(&position))
        .map(|&position| position - start)
        .collect();
    Batched {
        sent: count - too_large.len(),
        too_large,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_share_counts_only_its_own_events() {
        let done = Batched {
            sent: 7,
            too_large: vec![1, 5, 9],
        };
        // Jobs of 3, 4 and 3 events: positions 0..3, 3..7, 7..10.
        assert_eq!(
            (share(&done, 0, 3).sent, share(&done, 0, 3).too_large),
            (2, vec![1])
        );
        assert_eq!(
            (share(&done, 3, 4).sent, share(&done, 3, 4).too_large),
            (3, vec![2])
        );
        assert_eq!(
            (share(&done, 7, 3).sent, share(&done, 7, 3).too_large),
            (2, vec![2])
        );
        assert_eq!(share(&done, 10, 0).sent, 0);
    }
}
