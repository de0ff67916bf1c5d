//! One hub's producer: opened on first use (the port is bound long before), reopened after a
//! failure, and switched to the secondary connection string when the primary is refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use azure_messaging_eventhubs::{ProducerClient, RetryOptions};
use tokio::sync::Mutex;
use tracing::{info, warn};

use super::batching::link_max_size;
use super::errors::classify;
use super::lanes::Lanes;
use crate::config::delivery::Packing;
use crate::config::eventhubs::{Connection, HubSettings};
use crate::config::CredentialChoice;
use crate::sink::SinkError;

/// An open client, the hub's partition ids and a lane per partition.
pub(super) struct Opened {
    pub client: Arc<ProducerClient>,
    pub partitions: Vec<String>,
    pub lanes: Lanes,
    /// The largest transfer the partition links take.
    pub link_max: u64,
    /// When the partition ids were read.
    read_at: Instant,
}

/// How long one attempt of a send may take before its connection is given up and a fresh one
/// tried: a connection that drops mid-transfer is never reported by the SDK, so without this
/// every send in flight would wait the whole deadline.
pub(super) const ATTEMPT_LIMIT: Duration = Duration::from_secs(5);
/// The first pause between attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// How often the partition count is read again: Premium and Dedicated hubs can grow.
const PARTITION_REFRESH: Duration = Duration::from_secs(300);

impl Opened {
    /// The body bound of packed events: the setting, or less when the link takes less.
    pub fn packed_event_bound(&self, packing: Packing) -> usize {
        let link = super::batching::largest_single_body(self.link_max);
        match packing {
            Packing::Array { max_event_bytes } => max_event_bytes.min(link),
            Packing::None => link,
        }
    }

    /// Lets the lanes finish their rounds, then closes the connection.
    async fn close(self) {
        let closing = async move {
            self.lanes.stop().await;
            if let Ok(client) = Arc::try_unwrap(self.client) {
                let _ = client.close().await;
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
    }
}

/// How long closing a producer may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily opened, self-healing producer for one hub.
pub(super) struct HubProducer {
    settings: HubSettings,
    retry: RetryOptions,
    /// How long one lane round may take.
    deadline: Duration,
    current: Mutex<Option<Arc<Opened>>>,
    on_secondary: AtomicBool,
}

impl HubProducer {
    pub fn new(settings: HubSettings, retry: RetryOptions) -> Self {
        HubProducer {
            deadline: super::deadline(&retry),
            settings,
            retry,
            current: Mutex::new(None),
            on_secondary: AtomicBool::new(false),
        }
    }

    /// Runs `send` on the open client until it succeeds or the hub's deadline passes. Each
    /// attempt gets at most [`ATTEMPT_LIMIT`]; a failed attempt gives up its connection (the
    /// next opens a fresh one, which also reads the partitions again), an authorization failure
    /// switches connection strings once, an unreachable hub is tried again after a pause, and a
    /// refusal or a missing entity is the caller's to answer.
    pub async fn run<T, F, Fut>(&self, send: F) -> Result<T, SinkError>
    where
        F: Fn(Arc<Opened>) -> Fut,
        Fut: std::future::Future<Output = Result<T, SinkError>>,
    {
        let started = Instant::now();
        let (mut switched, mut pause, mut attempts) = (false, FIRST_PAUSE, 0u32);
        loop {
            attempts += 1;
            let limit = self
                .deadline
                .saturating_sub(started.elapsed())
                .min(ATTEMPT_LIMIT);
            let opened = super::within(limit, self.get()).await;
            let result = match &opened {
                Ok(opened) => super::within(limit, send(opened.clone())).await,
                Err(error) => Err(error.clone()),
            };
            let error = match result {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            if let Ok(opened) = &opened {
                self.discard(opened).await;
            }
            let time_left = started.elapsed() + pause < self.deadline;
            match &error {
                SinkError::Unauthorized(_) if !switched && self.switch_credential() => {
                    switched = true;
                }
                // A fresh connection reads the partitions again: once is enough to tell a
                // partition that went away from a hub that is not there.
                SinkError::Missing(_) if attempts == 1 && time_left => {}
                SinkError::Unreachable(_) if time_left => {
                    warn!(hub = %self.settings.hub, attempts, %error, "send attempt failed; trying a fresh connection");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                _ => return Err(error),
            }
        }
    }

    /// The open client, opening it first if needed, with the partition ids read again when
    /// they are older than [`PARTITION_REFRESH`].
    pub async fn get(&self) -> Result<Arc<Opened>, SinkError> {
        let mut current = self.current.lock().await;
        if let Some(opened) = current.as_ref() {
            if opened.read_at.elapsed() < PARTITION_REFRESH {
                return Ok(opened.clone());
            }
            let refreshed = Arc::new(self.refresh(opened).await);
            *current = Some(refreshed.clone());
            return Ok(refreshed);
        }
        let opened = Arc::new(self.open().await?);
        *current = Some(opened.clone());
        Ok(opened)
    }

    /// Reads the partition ids again on the open client: the same ids keep their lanes' client
    /// and get fresh lanes (the old ones finish their rounds and stop); a failed read keeps
    /// the ids it had and tries again after the next interval.
    async fn refresh(&self, opened: &Opened) -> Opened {
        let read = tokio::time::timeout(self.deadline, partition_ids(&opened.client)).await;
        let partitions = match read {
            Ok(Ok(ids)) => {
                if ids != opened.partitions {
                    info!(
                        before = opened.partitions.len(),
                        now = ids.len(),
                        "the hub's partitions changed"
                    );
                }
                ids
            }
            Ok(Err(error)) => {
                warn!(%error, "could not read the hub's partitions again; keeping the ones known");
                opened.partitions.clone()
            }
            Err(_) => {
                warn!("no answer reading the hub's partitions again; keeping the ones known");
                opened.partitions.clone()
            }
        };
        let lanes = Lanes::start(&opened.client, &partitions, opened.link_max, ATTEMPT_LIMIT);
        Opened {
            client: opened.client.clone(),
            partitions,
            lanes,
            link_max: opened.link_max,
            read_at: Instant::now(),
        }
    }

    /// Forgets a client that failed, so the next use opens a fresh one; closes it in the background.
    pub async fn discard(&self, failed: &Arc<Opened>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, failed)) {
            if let Some(opened) = current.take() {
                tokio::spawn(async move {
                    if let Ok(opened) = Arc::try_unwrap(opened) {
                        opened.close().await;
                    }
                });
            }
        }
    }

    /// After an authorization failure: switch between primary and secondary connection strings.
    /// Returns false when there is no other credential to try.
    pub fn switch_credential(&self) -> bool {
        let Connection::ConnectionString {
            secondary: Some(_), ..
        } = &self.settings.connection
        else {
            return false;
        };
        let now_secondary = !self.on_secondary.fetch_xor(true, Ordering::SeqCst);
        warn!(hub = %self.settings.hub, using = if now_secondary { "secondary" } else { "primary" }, "authorization refused; switching connection string");
        true
    }

    /// Closes the current client, if any.
    pub async fn close(&self) {
        if let Some(opened) = self.current.lock().await.take() {
            if let Ok(opened) = Arc::try_unwrap(opened) {
                opened.close().await;
            }
        }
    }

    #[tracing::instrument(skip_all, fields(hub = %self.settings.hub, namespace = %self.settings.connection.namespace()))]
    async fn open(&self) -> Result<Opened, SinkError> {
        let builder = ProducerClient::builder()
            .with_application_id("adt-bridge".to_owned())
            .with_retry_options(self.retry.clone());
        let client = match &self.settings.connection {
            Connection::ConnectionString {
                primary,
                secondary,
                emulator,
                ..
            } => {
                let secret = match secondary {
                    Some(secondary) if self.on_secondary.load(Ordering::SeqCst) => secondary,
                    _ => primary,
                };
                let builder = match emulator {
                    Some(emulator) => builder.with_custom_endpoint(emulator.url()),
                    None => builder,
                };
                builder
                    .open_with_connection_string(secret.expose(), Some(&self.settings.hub))
                    .await
                    .map_err(|e| classify(&e, Some(secret)))?
            }
            Connection::Identity {
                namespace,
                credential: choice,
            } => {
                let credential = credential(choice.clone())?;
                builder
                    .open(namespace, &self.settings.hub, credential)
                    .await
                    .map_err(|e| classify(&e, None))?
            }
        };
        let links = async {
            let partitions = partition_ids(&client).await?;
            let options = azure_messaging_eventhubs::EventDataBatchOptions {
                partition_id: Some(partitions[0].clone()),
                ..Default::default()
            };
            let link_max = link_max_size(&client, Some(options)).await?;
            Ok::<_, SinkError>((partitions, link_max))
        };
        let (partitions, link_max) = match links.await {
            Ok(found) => found,
            Err(error) => {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, client.close()).await;
                return Err(error);
            }
        };
        info!(
            partitions = partitions.len(),
            link_max, "opened the event hub producer"
        );
        let client = Arc::new(client);
        let lanes = Lanes::start(&client, &partitions, link_max, ATTEMPT_LIMIT);
        Ok(Opened {
            client,
            partitions,
            lanes,
            link_max,
            read_at: Instant::now(),
        })
    }
}

/// The hub's partition ids, at least one.
async fn partition_ids(client: &ProducerClient) -> Result<Vec<String>, SinkError> {
    let properties = client
        .get_eventhub_properties()
        .await
        .map_err(|e| classify(&e, None))?;
    if properties.partition_ids.is_empty() {
        return Err(SinkError::Unreachable(
            "the hub reported no partitions".into(),
        ));
    }
    Ok(properties.partition_ids)
}

/// The Azure credential for a choice.
pub fn credential(choice: CredentialChoice) -> Result<Arc<dyn TokenCredential>, SinkError> {
    let credential: Arc<dyn TokenCredential> = match choice {
        CredentialChoice::ManagedIdentity { client_id } => {
            let options = azure_identity::ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.map(azure_identity::UserAssignedId::ClientId),
                ..Default::default()
            };
            azure_identity::ManagedIdentityCredential::new(Some(options))
                .map_err(|e| SinkError::Unauthorized(e.to_string()))?
        }
        CredentialChoice::DeveloperTools => azure_identity::DeveloperToolsCredential::new(None)
            .map_err(|e| SinkError::Unauthorized(e.to_string()))?,
    };
    Ok(credential)
}
