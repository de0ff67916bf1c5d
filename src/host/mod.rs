//! The Azure Functions custom-handler protocol: the request envelope and its encoding quirks, the
//! answer policy, the routes, and the server.

pub mod answer;
pub mod encoding;
pub mod invoke;
pub mod logged;
pub mod request;
pub mod routes;
pub mod server;
pub mod timer;

pub use answer::Answer;
pub use invoke::{App, EVENT_GRID_FUNCTION, EVENT_HUB_FUNCTION};
pub use request::{EnvelopeError, EventHubBatch, InvocationRequest};
pub use routes::{routes, Server};
pub use server::serve;
pub use timer::SIMULATOR_FUNCTION;
