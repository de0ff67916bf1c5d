//! `adt-bridge`: Azure Digital Twins notifications in, time-series records out.
//!
//! The modules follow one invocation through the pipeline:
//!
//! - [`host`]: the Azure Functions custom-handler protocol: envelopes, their encoding quirks, routes.
//! - [`adt`]: what Azure Digital Twins sends, decoded into one [`adt::Notification`] per event.
//! - [`records`]: the pure transform from notifications to `tsi` or `data-history` records;
//!   [`records::process`] is the one entry every caller uses (decode, then transform).
//! - [`sink`]: where records go: packed into Event Hubs events, sent by partition, dead letters
//!   for unusable input; behind a trait tests can swap.
//! - [`simulator`]: the chocolate factory that makes the pipeline watchable: a pure generator.
//! - [`tick_delivery`]: where its ticks go (ADT PATCHes, the twins hub): an edge like the sink.
//! - [`digital_twins`]: ADT's REST API, for the simulator's `adt` mode and `twins setup`.
//! - [`demo`]: a simulated day through the same decode, transform and packing, answered and charted.
//!
//! Alongside: [`config`] (typed settings), [`time`] (UTC timestamps that keep their precision),
//! [`text`] (input quoted in logs and errors, cut to a bound) and [`worker`] (which serving thread
//! is running).

pub mod adt;
pub mod config;
pub mod demo;
pub mod digital_twins;
pub mod host;
pub mod records;
pub mod simulator;
pub mod sink;
pub mod text;
pub mod tick_delivery;
pub mod time;
pub mod worker;
