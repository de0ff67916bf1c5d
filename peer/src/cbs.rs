//! The claims-based-security node (`$cbs`): answers put-token requests with the status the fault
//! knobs choose (202 unless told otherwise) and records each request.
//!
//! The SDK authorizes every path it uses (the hub, each partition, `<hub>/$management`) with one
//! put-token each, on a fresh session, before it attaches there.

use fe2o3_amqp::types::messaging::Body;
use fe2o3_amqp::types::primitives::Value;
use tracing::info;

use crate::record::TokenRequest;
use crate::requests::{status_reply, string_property, NodeMessage};
use crate::server::Shared;

/// The only operation `$cbs` supports.
const PUT_TOKEN: &str = "put-token";

/// The reply to one `$cbs` request.
pub(crate) fn answer(request: &NodeMessage, shared: &Shared) -> NodeMessage {
    let operation = string_property(request, "operation");
    if operation != Some(PUT_TOKEN) {
        info!(?operation, "unsupported $cbs operation");
        return status_reply(400, Value::Null);
    }
    let token = token_text(&request.body);
    let status_code = shared.faults.put_token_status_for(&token);
    let audience = string_property(request, "name").unwrap_or_default();
    let token_type = string_property(request, "type").unwrap_or_default();
    // The token itself is a credential: it is recorded for tests, never logged.
    info!(%audience, %token_type, status_code, "put-token");
    shared.recorder.record_token(TokenRequest {
        name: audience.to_string(),
        token_type: token_type.to_string(),
        token,
        status_code,
    });
    status_reply(status_code, Value::Null)
}

/// The token of a put-token request: its amqp-value string body.
fn token_text(body: &Body<Value>) -> String {
    match body {
        Body::Value(value) => match &value.0 {
            Value::String(token) => token.clone(),
            Value::Symbol(token) => token.as_str().to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}
