//! The answer policy, in one place: what status and JSON body each outcome gets.
//!
//! - Records delivered (unusable events reported, not failed): 200 with `Outputs`, `Logs`, `ReturnValue`.
//! - Delivery failed: 500 with a JSON body, so the host retries (the body itself is discarded).
//! - A request that is not an invocation: 400/404/405/413 with a JSON body naming the problem.
//!
//! Never an empty body, never 204, never `null`: the host would leave the invocation hanging.

use serde_json::{json, Value};
use warp::http::StatusCode;

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

    /// Delivery failed: the host must retry the invocation.
    pub fn failed(error: &str, logs: Vec<String>) -> Self {
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({"Outputs": {}, "Logs": logs, "ReturnValue": null, "Error": error}),
        }
    }

    /// The request cannot be served; `status` is a 4xx.
    pub fn refused(status: StatusCode, error: &str) -> Self {
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
