//! Sending batches: a fixed number of invocations in flight (closed loop), or a steady rate with a
//! cap on what is in flight. With `retry`, a failed invocation is sent again after the host's
//! backoff (function.json: 2 s, doubling, at most 5 min), as the Event Hub trigger does; without
//! it, a failure is final and fails the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::batches::BatchTemplate;
use crate::Target;

const FUNCTION: &str = "TwinUpdatesEventHub";
/// The host's first retry interval (function.json `minimumInterval`).
const RETRY_FIRST: Duration = Duration::from_secs(2);
/// The host's longest retry interval (function.json `maximumInterval`).
const RETRY_MAX: Duration = Duration::from_secs(300);

/// How batches are sent.
pub struct Plan {
    /// Invocations in flight at once (the cap, with `rate`).
    pub concurrency: usize,
    /// Stop taking new batches at this instant (unless `batch_limit` is set).
    pub deadline: Instant,
    /// Send exactly this many batches.
    pub batch_limit: Option<u64>,
    /// Batches per second, instead of as fast as answers come back.
    pub rate: Option<f64>,
    /// Retry failed invocations as the host does, until `give_up`.
    pub retry: bool,
    /// No retry starts after this instant; a batch still failing then is abandoned.
    pub give_up: Instant,
}

/// What every sender shares.
pub struct Load {
    pub client: reqwest::Client,
    pub url: String,
    pub target: Target,
    pub template: BatchTemplate,
    pub plan: Plan,
    next_batch: AtomicU64,
    results: Mutex<Results>,
}

/// What came back.
#[derive(Default)]
pub struct Results {
    /// Every attempt's latency, failed ones included.
    pub latencies: Vec<Duration>,
    /// Batches answered 200, each once.
    pub delivered: Vec<u64>,
    /// Records accounted for in answers (the reference's `Outputs`; the handler's events).
    pub records_answered: u64,
    /// Failed attempts, and the first few reasons.
    pub failed_attempts: u64,
    pub first_failures: Vec<String>,
    /// Batches that never got a 200.
    pub abandoned: Vec<u64>,
}

impl Load {
    pub fn new(
        server: std::net::SocketAddr,
        target: Target,
        template: BatchTemplate,
        plan: Plan,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(plan.concurrency)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Load {
            client,
            url: format!("http://{server}/{FUNCTION}"),
            target,
            template,
            plan,
            next_batch: AtomicU64::new(0),
            results: Mutex::new(Results::default()),
        })
    }

    /// Takes the results once the run is over.
    pub fn take_results(&self) -> Results {
        std::mem::take(&mut *self.results.lock().unwrap())
    }

    /// The next batch number, or `None` once the run is over.
    fn take_batch(&self) -> Option<u64> {
        if self.plan.batch_limit.is_none() && Instant::now() >= self.plan.deadline {
            return None;
        }
        let batch = self.next_batch.fetch_add(1, Ordering::Relaxed);
        match self.plan.batch_limit {
            Some(limit) if batch >= limit => None,
            _ => Some(batch),
        }
    }
}

/// Sends until the deadline or the batch limit; returns how long sending took (retries of the
/// last batches included).
pub async fn drive(load: &Arc<Load>) -> Duration {
    let began = Instant::now();
    match load.plan.rate {
        None => {
            let workers: Vec<_> = (0..load.plan.concurrency.max(1))
                .map(|_| {
                    let load = load.clone();
                    tokio::spawn(async move {
                        while let Some(batch) = load.take_batch() {
                            send_batch(&load, batch).await;
                        }
                    })
                })
                .collect();
            for worker in workers {
                let _ = worker.await;
            }
        }
        Some(rate) => paced(load, rate).await,
    }
    began.elapsed()
}

/// A batch every `1 / rate` seconds, at most `concurrency` in flight (a full pipe delays the next).
async fn paced(load: &Arc<Load>, rate: f64) {
    let slots = Arc::new(Semaphore::new(load.plan.concurrency.max(1)));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    loop {
        ticks.tick().await;
        let Some(batch) = load.take_batch() else {
            break;
        };
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        let load = load.clone();
        in_flight.spawn(async move {
            send_batch(&load, batch).await;
            drop(slot);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// One batch, retried as the plan says.
async fn send_batch(load: &Load, batch: u64) {
    let body = bytes::Bytes::from(load.template.render(batch));
    let mut backoff = RETRY_FIRST;
    loop {
        let sent = Instant::now();
        let outcome = invoke(load, body.clone())
            .await
            .and_then(|answer| check_answer(load.target, &answer, load.template.size()));
        let latency = sent.elapsed();
        if !load.record(batch, latency, outcome, backoff) {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

impl Load {
    /// Notes one attempt; true when the batch is to be sent again after `backoff`.
    fn record(
        &self,
        batch: u64,
        latency: Duration,
        outcome: Result<usize, String>,
        backoff: Duration,
    ) -> bool {
        let mut results = self.results.lock().unwrap();
        results.latencies.push(latency);
        match outcome {
            Ok(records) => {
                results.records_answered += records as u64;
                results.delivered.push(batch);
                false
            }
            Err(error) => {
                results.failed_attempts += 1;
                if results.first_failures.len() < 5 {
                    results
                        .first_failures
                        .push(format!("batch {batch}: {error}"));
                }
                let again = self.plan.retry && Instant::now() + backoff <= self.plan.give_up;
                if !again {
                    results.abandoned.push(batch);
                }
                again
            }
        }
    }
}

/// One invocation; the answer's JSON when the status is 200.
async fn invoke(load: &Load, body: bytes::Bytes) -> Result<Value, String> {
    let response = load
        .client
        .post(&load.url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("User-Agent", "Azure-Functions-Host/4.1037.0.0")
        .header("X-Azure-Functions-HostVersion", "4.1037.0.0")
        .header(
            "X-Azure-Functions-InvocationId",
            "4f1d6c3e-2b1a-4d7e-9c8f-0a1b2c3d4e5f",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&text)
        ));
    }
    serde_json::from_slice(&text).map_err(|e| format!("invalid JSON answer: {e}"))
}

/// Checks an answer; returns the records it accounts for. The handler sends its records itself
/// (the peer is checked at the end); the reference must hold one record per event in `Outputs`.
fn check_answer(target: Target, answer: &Value, events: usize) -> Result<usize, String> {
    if !answer.is_object() {
        return Err(format!("answer is not a JSON object: {answer}"));
    }
    if target == Target::Handler {
        return Ok(events);
    }
    let records = answer
        .pointer("/Outputs/records")
        .and_then(Value::as_array)
        .ok_or("no Outputs.records array")?;
    if records.len() != events {
        return Err(format!("{} records for {events} events", records.len()));
    }
    // A cheap shape check, so the generator does not spend the CPU it is measuring: each record
    // is JSON text of an object keyed by `$dtId`.
    let well_formed = records.iter().all(|r| {
        r.as_str()
            .is_some_and(|text| text.starts_with("{\"$dtId\":\"") && text.ends_with('}'))
    });
    if !well_formed {
        return Err("a record is not JSON text of an object starting with $dtId".into());
    }
    Ok(events)
}
