//! The HTTP surface the Functions host talks to, as a warp filter.
//!
//! `GET /` answers at once (readiness); `POST /<FunctionName>` invokes a function. The body is
//! bounded by counting bytes as they arrive: the host sends no `Content-Length` in Azure, so a
//! guard that demands one would refuse every invocation.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{Stream, TryStreamExt};
use tracing::{info_span, Instrument};
use warp::http::Method;
use warp::Filter;

use super::answer::{Answer, Refusal};
use super::invoke::{self, App, EVENT_GRID_FUNCTION, EVENT_HUB_FUNCTION, SERVICE_BUS_FUNCTION};
use super::logged::log_request;
use super::request::{EnvelopeError, InvocationRequest};
use super::timer::{factory_simulator, SIMULATOR_FUNCTION};

/// Header carrying the invocation id.
const INVOCATION_ID: &str = "x-azure-functions-invocationid";

/// Everything the routes need.
pub struct Server {
    /// The functions' shared state.
    pub app: App,
    /// Largest request body read, in bytes.
    pub max_request_bytes: usize,
}

/// The handler's routes. Every answer, including refusals, is a JSON object.
pub fn routes(server: Arc<Server>) -> impl Filter<Extract = (Answer,), Error = Infallible> + Clone {
    let ready = warp::get().and(warp::path::end()).map(Answer::ready);
    let invoke = warp::post()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::header::optional::<String>(INVOCATION_ID))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and(warp::any().map(move || server.clone()))
        .then(
            |function: String,
             invocation_id: Option<String>,
             declared: Option<u64>,
             body,
             server: Arc<Server>| async move {
                // A declared length past the bound is refused before a byte of the body is read.
                if declared.is_some_and(|length| length > server.max_request_bytes as u64) {
                    return Refusal::TooLarge(server.max_request_bytes).into();
                }
                let expected = declared.map_or(0, |length| length as usize);
                let body = match read_bounded(body, server.max_request_bytes, expected).await {
                    Ok(body) => body,
                    Err(answer) => return answer,
                };
                invoke_function(
                    &server,
                    &function,
                    body,
                    invocation_id.as_deref().unwrap_or("-"),
                )
                .await
            },
        );
    ready
        .or(invoke)
        .unify()
        .or(warp::method().and(warp::path::full()).map(not_routed))
        .unify()
}

/// The functions this handler serves (their folders under `functions/`).
const FUNCTIONS: [&str; 4] = [
    EVENT_HUB_FUNCTION,
    EVENT_GRID_FUNCTION,
    SERVICE_BUS_FUNCTION,
    SIMULATOR_FUNCTION,
];

async fn invoke_function(
    server: &Server,
    function: &str,
    body: Bytes,
    invocation_id: &str,
) -> Answer {
    let app = &server.app;
    if !FUNCTIONS.contains(&function) {
        return Refusal::NoSuchFunction(function.to_owned()).into();
    }
    // The body stays as sent (for the log of a request it refuses); a request of an unusual
    // shape is read from a copy.
    let mut copy = Vec::new();
    let request = match InvocationRequest::parse(&body, &mut copy) {
        Ok(request) => request,
        Err(e) => return unreadable(app, function, &body, e),
    };
    let (span, reader): (_, fn(&App, &InvocationRequest<'_>) -> _) = match function {
        EVENT_HUB_FUNCTION => (
            info_span!("TwinUpdatesEventHub", invocation_id = %invocation_id),
            invoke::event_hub,
        ),
        EVENT_GRID_FUNCTION => (
            info_span!("TwinUpdatesEventGrid", invocation_id = %invocation_id),
            invoke::event_grid,
        ),
        SERVICE_BUS_FUNCTION => (
            info_span!("TwinUpdatesServiceBus", invocation_id = %invocation_id),
            invoke::service_bus,
        ),
        _ => return factory_simulator(app.simulator.as_ref(), &request, invocation_id).await,
    };
    let read = span.in_scope(|| reader(app, &request));
    // The request and its body go before the network is waited on: what is sent owns its data.
    drop(request);
    drop(copy);
    drop(body);
    match read {
        Ok(delivery) => delivery.send(app).instrument(span).await,
        Err(answer) => answer,
    }
}

/// A request that is not an invocation: refused on early attempts, so the host retries it; from
/// `BRIDGE_DEADLETTER_ATTEMPTS` on, written to the error log and answered as done, so that it
/// cannot hold an Event Hubs partition for good.
fn unreadable(app: &App, function: &str, body: &[u8], problem: EnvelopeError) -> Answer {
    if app.attempts.of_request(body) < app.deadletter_attempts {
        return Refusal::from(problem).into();
    }
    log_request(function, body, &problem.to_string());
    Answer::delivered(vec![format!(
        "{function}: the request could not be read and was kept in the log: {problem}"
    )])
}

/// 405 for a path that is served with another method (`/` with GET, a function with POST),
/// 404 for any other path.
fn not_routed(method: Method, path: warp::path::FullPath) -> Answer {
    let name = path.as_str().trim_matches('/');
    let path = path.as_str().to_owned();
    if name.is_empty() || FUNCTIONS.contains(&name) {
        Refusal::WrongMethod { method, path }.into()
    } else {
        Refusal::UnknownPath { method, path }.into()
    }
}

/// Reads the body, refusing it with 413 once it passes `limit` bytes. A body that comes in one
/// chunk (hyper reads a whole request at once where it can) is kept as that chunk, not copied;
/// chunks are joined into a buffer that `expected` (the declared length, already checked against
/// the bound) sizes once.
async fn read_bounded<S, B>(body: S, limit: usize, expected: usize) -> Result<Bytes, Answer>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut read = Read::Nothing;
    let mut body = std::pin::pin!(body);
    loop {
        let chunk = body
            .try_next()
            .await
            .map_err(|e| Answer::from(Refusal::Unreadable(e.to_string())))?;
        let Some(mut chunk) = chunk else {
            return Ok(read.into_bytes());
        };
        if read.len() + chunk.remaining() > limit {
            return Err(Refusal::TooLarge(limit).into());
        }
        read = match read {
            Read::Nothing => Read::One(chunk.copy_to_bytes(chunk.remaining())),
            Read::One(first) => {
                let room = expected.min(limit).max(first.len() + chunk.remaining());
                let mut joined = BytesMut::with_capacity(room);
                joined.put(first);
                joined.put(chunk);
                Read::Joined(joined)
            }
            Read::Joined(mut joined) => {
                joined.put(chunk);
                Read::Joined(joined)
            }
        };
    }
}

/// A body as read so far.
enum Read {
    Nothing,
    One(Bytes),
    Joined(BytesMut),
}

impl Read {
    fn len(&self) -> usize {
        match self {
            Read::Nothing => 0,
            Read::One(bytes) => bytes.len(),
            Read::Joined(joined) => joined.len(),
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Read::Nothing => Bytes::new(),
            Read::One(bytes) => bytes,
            Read::Joined(joined) => joined.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::TransformOptions;
    use crate::sink::memory::MemorySink;

    fn server() -> Arc<Server> {
        Arc::new(Server {
            app: App::new(TransformOptions::default(), Arc::new(MemorySink::new())),
            max_request_bytes: 1024,
        })
    }

    #[tokio::test]
    async fn a_wrong_method_on_a_served_path_is_405_and_an_unknown_path_404() {
        let routes = routes(server());
        for (method, path, status) in [
            ("GET", "/TwinUpdatesEventHub", 405),
            ("PUT", "/TwinUpdatesEventGrid", 405),
            ("POST", "/", 405),
            ("GET", "/nothing", 404),
            ("DELETE", "/nothing", 404),
        ] {
            let reply = warp::test::request()
                .method(method)
                .path(path)
                .reply(&routes)
                .await;
            assert_eq!(reply.status(), status, "{method} {path}");
        }
    }

    #[tokio::test]
    async fn a_body_is_read_whole_from_one_chunk_or_many_and_refused_past_its_bound() {
        let read = |parts: &[&'static str], limit| {
            let chunks: Vec<Result<Bytes, warp::Error>> = parts
                .iter()
                .map(|part| Ok(Bytes::from_static(part.as_bytes())))
                .collect();
            read_bounded(futures_util::stream::iter(chunks), limit, 4)
        };
        assert_eq!(read(&["abc"], 10).await.ok(), Some(Bytes::from("abc")));
        assert_eq!(
            read(&["ab", "c", "de"], 10).await.ok(),
            Some(Bytes::from("abcde"))
        );
        assert_eq!(read(&[], 10).await.ok(), Some(Bytes::new()));
        assert_eq!(read(&["abcde"], 5).await.ok(), Some(Bytes::from("abcde")));
        assert!(read(&["abc", "def"], 5).await.is_err());
        assert!(read(&["abcdef"], 5).await.is_err());
    }
}
