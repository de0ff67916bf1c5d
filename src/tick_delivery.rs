//! Where a timer tick of the simulator goes, by `SIMULATOR_MODE`: as PATCHes to ADT (which raises
//! the real notifications), as ADT-shaped notifications straight into the twins hub, or nowhere.
//! The I/O edge beside the sink: the simulator itself only generates the updates.

use azure_messaging_eventhubs::models::EventData;
use futures_util::future::{join_all, BoxFuture, FutureExt};

pub use crate::config::SimulatorMode;
use crate::digital_twins::DigitalTwinsClient;
use crate::simulator::{twin_update_event, Factory, FactoryConfig, Tick};
use crate::sink::eventhubs::KeyedWriter;

/// A tick delivery failed; the timer will try again at its next occurrence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// Delivers the updates of one tick; returns how many were delivered.
pub trait TickDelivery: Send + Sync {
    /// Delivers every update of `tick`.
    fn deliver<'a>(&'a self, tick: &'a Tick) -> BoxFuture<'a, Result<usize, DeliveryError>>;
}

/// `adt` mode: one PATCH per step twin, sent together.
pub struct AdtPatches(pub DigitalTwinsClient);

impl TickDelivery for AdtPatches {
    fn deliver<'a>(&'a self, tick: &'a Tick) -> BoxFuture<'a, Result<usize, DeliveryError>> {
        async move {
            let patches = tick
                .updates
                .iter()
                .map(|u| self.0.patch_twin(u.twin_id, &u.patch));
            for result in join_all(patches).await {
                result.map_err(|e| DeliveryError(e.to_string()))?;
            }
            Ok(tick.updates.len())
        }
        .boxed()
    }
}

/// `eventhub` mode: each update as ADT would route it, keyed by twin id.
pub struct TwinsHubNotifications {
    /// Writer to the twins hub.
    pub writer: KeyedWriter,
    /// The `cloudEvents:source` to claim: the ADT instance's host name.
    pub instance_host: String,
}

impl TickDelivery for TwinsHubNotifications {
    fn deliver<'a>(&'a self, tick: &'a Tick) -> BoxFuture<'a, Result<usize, DeliveryError>> {
        async move {
            let sends = tick.updates.iter().map(|update| {
                let event = twin_update_event(update, &self.instance_host, tick.time);
                let mut builder = EventData::builder()
                    .with_body(event.body)
                    .with_content_type(event.content_type.to_owned());
                for (name, value) in event.properties {
                    builder = builder.add_property(name, value);
                }
                let data = vec![builder.build()];
                async move { self.writer.send(update.twin_id, data).await }
            });
            for result in join_all(sends).await {
                result.map_err(|e| DeliveryError(e.to_string()))?;
            }
            Ok(tick.updates.len())
        }
        .boxed()
    }
}

/// The simulator as the timer function runs it: the factory (readings are a pure function of
/// seed and time, so nothing carries over between ticks) and where ticks go.
pub struct Simulator {
    /// The seeded factory.
    pub factory: Factory,
    /// The configured mode.
    pub mode: SimulatorMode,
    /// Where ticks go; `None` when the mode is `off`.
    pub delivery: Option<std::sync::Arc<dyn TickDelivery>>,
}

/// Stands in for the delivery when the simulator's settings cannot be used: every tick fails
/// with the setting's error, so the timer function answers 500 naming it while the other
/// functions keep serving.
pub struct Misconfigured(pub String);

impl TickDelivery for Misconfigured {
    fn deliver<'a>(&'a self, _: &'a Tick) -> BoxFuture<'a, Result<usize, DeliveryError>> {
        async move { Err(DeliveryError(self.0.clone())) }.boxed()
    }
}

impl Simulator {
    /// A simulator whose every tick fails with `error` (a setting it needs is missing or bad).
    pub fn misconfigured(error: String) -> Self {
        Simulator {
            factory: Factory::new(FactoryConfig::with_seed(0)),
            mode: SimulatorMode::Off,
            delivery: Some(std::sync::Arc::new(Misconfigured(error))),
        }
    }
}
