//! One lane per partition: the records of every invocation in flight go out together.
//!
//! The SDK sends one transfer per partition link at a time and waits for its outcome, so a send
//! per invocation would line invocations up behind each other's round trips. A lane instead takes
//! everything handed to it while its previous transfer was in flight, and what the requests that
//! have already arrived add before it sends, and sends it as one transfer (a few, past the link's
//! `max-message-size`): an idle hub sends at once, a busy one sends fewer, larger transfers. An
//! invocation answers success only once the transfers holding its events were accepted, and a
//! failure belongs to the invocation whose events caused it: when a shared transfer is refused,
//! each invocation's events are sent again on their own, so one poisoned invocation cannot fail
//! another. A job whose invocation stopped waiting is not sent. A lane runs on its own task: an
//! invocation that gives up cannot leave a send half done.

use std::sync::Arc;
use std::time::Duration;

use azure_messaging_eventhubs::models::EventData;
use azure_messaging_eventhubs::{EventDataBatchOptions, ProducerClient};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::batching::{send_in_batches, Batched};
use super::within;
use crate::sink::packing::OutEvent;
use crate::sink::SinkError;

/// One invocation's events for one partition, in order, and where to report their fate.
struct Job {
    events: Vec<OutEvent>,
    reply: oneshot::Sender<Result<Batched, SinkError>>,
}

/// The lanes of one open producer, one per partition id.
pub(super) struct Lanes {
    queues: Vec<mpsc::UnboundedSender<Job>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Lanes {
    /// Starts a lane for each of `partitions` on `client`, whose links take transfers of up to
    /// `link_max` bytes; a round that takes longer than `deadline` fails, so a transfer the SDK
    /// never settles cannot stall a lane for good.
    pub fn start(
        client: &Arc<ProducerClient>,
        partitions: &[String],
        link_max: u64,
        deadline: Duration,
    ) -> Self {
        let (queues, tasks) = partitions
            .iter()
            .map(|partition| {
                let (queue, jobs) = mpsc::unbounded_channel();
                let lane = Lane {
                    client: client.clone(),
                    partition: partition.clone(),
                    link_max,
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
    pub async fn send(&self, lane: usize, events: Vec<OutEvent>) -> Result<Batched, SinkError> {
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
    link_max: u64,
    deadline: Duration,
}

impl Lane {
    /// One round at a time, each round everything queued when the last one ended and what the
    /// requests already arrived add, less the jobs whose invocations no longer wait.
    async fn run(self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(first) = jobs.recv().await {
            // Let the runtime look at its sockets once before the round is made: a request that
            // has already arrived is read and transformed first, and its events join this round
            // instead of waiting for the next one (fewer, larger transfers for the same events).
            tokio::task::yield_now().await;
            let mut round = vec![first];
            while let Ok(job) = jobs.try_recv() {
                round.push(job);
            }
            round.retain(|job| !job.reply.is_closed());
            match round.len() {
                0 => {}
                1 => self.send_alone(round.pop().expect("one job")).await,
                _ => self.send_shared(round).await,
            }
        }
    }

    /// Sends several jobs' events as one round. The events are made from copies of the
    /// bodies, so that if the hub refuses the round each job can be sent alone.
    #[tracing::instrument(level = "debug", skip_all, fields(partition = %self.partition, invocations = round.len()))]
    async fn send_shared(&self, round: Vec<Job>) {
        let events: Vec<EventData> = round
            .iter()
            .flat_map(|job| job.events.iter().map(OutEvent::to_event_data))
            .collect();
        let result = self.send(events).await;
        if let Err(SinkError::NotAccepted(error)) = &result {
            tracing::warn!(%error, "a shared transfer was refused; sending each invocation's events alone");
            for job in round.into_iter().filter(|job| !job.reply.is_closed()) {
                self.send_alone(job).await;
            }
            return;
        }
        let mut start = 0;
        for job in round {
            let count = job.events.len();
            let part = match &result {
                Ok(done) => Ok(share(done, start, count)),
                Err(error) => Err(error.clone()),
            };
            start += count;
            // A job whose invocation stopped waiting has no one to tell.
            let _ = job.reply.send(part);
        }
    }

    /// Sends one job's events, moved into the SDK's events, and tells its invocation.
    async fn send_alone(&self, job: Job) {
        let events = job.events.into_iter().map(OutEvent::into_event_data);
        let result = self.send(events.collect()).await;
        // A job whose invocation stopped waiting has no one to tell.
        let _ = job.reply.send(result);
    }

    async fn send(&self, events: Vec<EventData>) -> Result<Batched, SinkError> {
        let options = || {
            Some(EventDataBatchOptions {
                partition_id: Some(self.partition.clone()),
                ..Default::default()
            })
        };
        let sent = send_in_batches(&self.client, options, self.link_max, events);
        within(self.deadline, sent).await
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
