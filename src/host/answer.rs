//! The answer policy, in one place: what status and JSON body each outcome gets.
//!
//! - Records delivered (unusable events reported, not failed): 200 with `Outputs`, `Logs`, `ReturnValue`.
//! - A downstream failure (the records hub, the dead-letter hub, the simulator's target, a
//!   setting the function needs): 500 with a JSON body, so the host retries (the body itself is
//!   discarded).
//! - A request that is not an invocation ([`Refusal`]): 400/404/405/413 with a JSON body naming
//!   the problem; retrying the same request cannot help.
//!
//! Never an empty body, never 204, never `null`: the host would leave the invocation hanging.

use std::fmt::Display;

use serde_json::{json, Value};
use warp::http::{Method, StatusCode};

use super::request::EnvelopeError;

/// Why a request is refused before any of its events is read.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A served path asked with another method (`/` takes GET, a function POST).
    #[error("{method} {path} is not served here")]
    WrongMethod {
        /// The method asked.
        method: Method,
        /// The path asked.
        path: String,
    },
    /// A path that is neither `/` nor a function of this handler.
    #[error("{method} {path} is not served here")]
    UnknownPath {
        /// The method asked.
        method: Method,
        /// The path asked.
        path: String,
    },
    /// `POST /<name>` for a function this handler does not have.
    #[error("no function named {0:?}")]
    NoSuchFunction(String),
    /// The body is past `BRIDGE_MAX_REQUEST_BYTES` (declared or counted).
    #[error("the request body is larger than {0} bytes (BRIDGE_MAX_REQUEST_BYTES)")]
    TooLarge(usize),
    /// The body could not be read off the connection.
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
    /// The body is no invocation envelope, or lacks the function's binding.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

impl Refusal {
    /// The status the host gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::WrongMethod { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::UnknownPath { .. } | Refusal::NoSuchFunction(_) => StatusCode::NOT_FOUND,
            Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Unreadable(_) | Refusal::Envelope(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Self {
        Answer::refused(refusal.status(), &refusal.to_string())
    }
}

impl From<EnvelopeError> for Answer {
    fn from(error: EnvelopeError) -> Self {
        Refusal::from(error).into()
    }
}

/// A status and JSON object to send back to the host.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON object.
    pub body: Value,
}

impl Answer {
    /// The invocation's records were all delivered.
    pub fn delivered(logs: Vec<String>) -> Self {
        Answer {
            status: StatusCode::OK,
            body: json!({"Outputs": {}, "Logs": logs, "ReturnValue": null}),
        }
    }

    fn failed(error: &str, logs: Vec<String>) -> Self {
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({"Outputs": {}, "Logs": logs, "ReturnValue": null, "Error": error}),
        }
    }

    /// A downstream failure: `function`'s work (`what`) did not happen because of `error`
    /// (a hub, the simulator's target, a setting it needs). A 500, so the host tries again.
    pub fn downstream_failure(function: &str, what: &str, error: &impl Display) -> Self {
        Answer::failed(
            &error.to_string(),
            vec![format!("{function}: {what}: {error}")],
        )
    }

    fn refused(status: StatusCode, error: &str) -> Self {
        Answer {
            status,
            body: json!({"Error": error}),
        }
    }

    /// The readiness answer to `GET /`.
    pub fn ready() -> Self {
        Answer {
            status: StatusCode::OK,
            body: json!({"status": "ready"}),
        }
    }
}

impl warp::Reply for Answer {
    fn into_response(self) -> warp::reply::Response {
        warp::reply::with_status(warp::reply::json(&self.body), self.status).into_response()
    }
}
