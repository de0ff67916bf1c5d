//! The Azure Functions custom-handler protocol: the request envelope and its encoding quirks, the
//! answer policy, the routes, and the server.

pub mod answer;
mod batch;
mod bodies;
pub mod encoding;
mod envelope;
pub mod hold;
pub mod invoke;
mod items;
mod literal;
pub mod logged;
pub mod members;
pub mod quoted;
pub mod request;
pub mod routes;
mod sent_bodies;
pub mod server;
pub mod timer;
pub mod workers;

pub use answer::Answer;
pub use batch::MessageBatch;
pub use invoke::{App, EVENT_GRID_FUNCTION, EVENT_HUB_FUNCTION, SERVICE_BUS_FUNCTION};
pub use members::{Member, Members};
pub use request::{EnvelopeError, InvocationRequest};
pub use routes::{routes, Server};
pub use server::serve;
pub use timer::SIMULATOR_FUNCTION;
