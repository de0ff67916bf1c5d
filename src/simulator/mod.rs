//! The chocolate factory: its models and a seeded generator of twin updates.
//!
//! - [`models`]: the DTDL models, twins and relationships `twins setup` creates.
//! - [`FactoryConfig`] and [`Factory`]: readings as a pure function of (seed, instant), so the
//!   simulator needs no state between timer invocations and a restart leaves no seam in a chart.
//! - [`Incident`]: the seeded incidents (roasting overheating, grinding vibration bursts, moulding
//!   temperature excursions), listed as ground truth by [`Factory::incidents`].
//! - [`notify`]: the updates as ADT delivers them through an Event Hub, for the `eventhub` mode.

mod config;
mod factory;
mod incidents;
pub mod models;
mod noise;
pub mod notify;

pub use config::{
    Band, FactoryConfig, GrindingConfig, IncidentConfig, MouldingConfig, RoastingConfig,
};
pub use factory::{Factory, StepUpdate, Tick};
pub use incidents::{Incident, IncidentKind};
pub use models::{relationships, twins, RelationshipSpec, Step, TwinSpec};
pub use notify::{twin_update_event, AdtEvent};
