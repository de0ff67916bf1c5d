//! The FactorySimulator's `adt` mode sends a bearer token to ADT's REST API. A stand-in that
//! fails and echoes the token in its error body must not get the token into an answer or a log.

use std::sync::Arc;

use adt_bridge::digital_twins::{DigitalTwinsClient, StaticToken};
use adt_bridge::host::{serve, App, Server};
use adt_bridge::records::TransformOptions;
use adt_bridge::simulator::{Factory, FactoryConfig};
use adt_bridge::sink::memory::MemorySink;
use adt_bridge::tick_delivery::{AdtPatches, Simulator, SimulatorMode};
use warp::http::StatusCode;
use warp::Filter;

const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.ZmFjdG9yeS1zaW11bGF0b3ItYmVhcmVy.c2lnbmVkLWJ5LWVudHJh";

/// An ADT stand-in that answers every request with `status` and a body quoting the
/// Authorization header, as a careless proxy or gateway might.
async fn echoing_stand_in(status: StatusCode) -> String {
    let route = warp::header::optional::<String>("authorization").map(
        move |authorization: Option<String>| {
            let body = format!(
                r#"{{"error": {{"code": "Unauthorized", "message": "token rejected: {}"}}}}"#,
                authorization.unwrap_or_default()
            );
            warp::reply::with_status(body, status)
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    format!("http://{addr}")
}

async fn tick_against(base: &str) -> (u16, String) {
    let client = DigitalTwinsClient::new(base, Arc::new(StaticToken(TOKEN.into()))).unwrap();
    let server = Arc::new(Server {
        app: App::new(TransformOptions::default(), Arc::new(MemorySink::new())).with_simulator(
            Simulator {
                factory: Factory::new(FactoryConfig::with_seed(3)),
                mode: SimulatorMode::Adt,
                delivery: Some(Arc::new(AdtPatches(client))),
            },
        ),
        max_request_bytes: 1 << 20,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, server, std::future::pending()));
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/FactorySimulator"))
        .body(super::timer())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_bearer_token_echoed_by_a_failing_adt_never_reaches_logs_or_answers() {
    let logs = super::captured_logs();
    for status in [StatusCode::UNAUTHORIZED, StatusCode::INTERNAL_SERVER_ERROR] {
        let base = echoing_stand_in(status).await;
        let (answered, body) = tick_against(&base).await;
        assert_eq!(answered, 500, "{body}");
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let error = parsed["Error"].as_str().unwrap();
        assert!(error.contains(&status.as_u16().to_string()), "{error}");
        assert!(
            error.contains("token rejected"),
            "the rest of ADT's message stays: {error}"
        );
        assert!(!body.contains(TOKEN), "the answer holds the token: {body}");
    }
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("simulator tick not delivered"), "{logged}");
    assert!(
        !logged.contains(TOKEN),
        "a log line holds the token:\n{logged}"
    );
}
