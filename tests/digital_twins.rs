//! The simulator's `adt` mode and `twins setup` against a local stand-in for ADT's REST API.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use adt_bridge::digital_twins::setup::setup;
use adt_bridge::digital_twins::{DigitalTwinsClient, StaticToken, API_VERSION};
use adt_bridge::simulator::models::models;
use adt_bridge::simulator::{relationships, twins};
use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, ReplaceOperation};
use serde_json::{json, Value};
use warp::http::{Method, StatusCode};
use warp::Filter;

/// One request as the stand-in saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    authorization: Option<String>,
    content_type: Option<String>,
    if_none_match: Option<String>,
    body: Value,
    /// The body as it came, for byte comparisons.
    text: String,
}

#[derive(Default)]
struct Instance {
    models: BTreeSet<String>,
    twins: BTreeMap<String, Value>,
    relationships: BTreeSet<String>,
    seen: Vec<Seen>,
}

/// Serves the subset of the data plane the bridge uses, refusing requests without the bearer token.
async fn stand_in() -> (String, Arc<Mutex<Instance>>) {
    let state = Arc::new(Mutex::new(Instance::default()));
    let shared = state.clone();
    let route = warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .map(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: warp::http::HeaderMap,
                  body: bytes::Bytes| {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let seen = Seen {
                    method: method.clone(),
                    path: path.as_str().to_owned(),
                    query,
                    authorization: header("authorization"),
                    content_type: header("content-type"),
                    if_none_match: header("if-none-match"),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    text: String::from_utf8_lossy(&body).into_owned(),
                };
                let mut instance = shared.lock().unwrap();
                instance.seen.push(seen.clone());
                let status = answer(&mut instance, &seen);
                warp::reply::with_status(warp::reply::json(&json!({})), status)
            },
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    (format!("http://{addr}"), state)
}

fn answer(instance: &mut Instance, seen: &Seen) -> StatusCode {
    if seen.authorization.as_deref() != Some("Bearer test-token") {
        return StatusCode::UNAUTHORIZED;
    }
    let parts: Vec<&str> = seen.path.trim_start_matches('/').split('/').collect();
    match (seen.method.as_str(), parts.as_slice()) {
        ("GET", ["models", id]) => {
            if instance.models.contains(*id) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            }
        }
        ("POST", ["models"]) => {
            for model in seen.body.as_array().unwrap() {
                instance
                    .models
                    .insert(model["@id"].as_str().unwrap().to_owned());
            }
            StatusCode::CREATED
        }
        ("PUT", ["digitaltwins", id]) if instance.twins.contains_key(*id) => {
            StatusCode::PRECONDITION_FAILED
        }
        ("PUT", ["digitaltwins", id]) => {
            instance.twins.insert((*id).to_owned(), seen.body.clone());
            StatusCode::OK
        }
        ("PUT", ["digitaltwins", source, "relationships", id]) => {
            if instance.relationships.insert(format!("{source}/{id}")) {
                StatusCode::OK
            } else {
                StatusCode::PRECONDITION_FAILED
            }
        }
        ("PATCH", ["digitaltwins", id]) if instance.twins.contains_key(*id) => {
            StatusCode::NO_CONTENT
        }
        _ => StatusCode::NOT_FOUND,
    }
}

fn client(base: &str) -> DigitalTwinsClient {
    DigitalTwinsClient::new(base, Arc::new(StaticToken("test-token".into()))).unwrap()
}

#[tokio::test]
async fn twins_setup_creates_the_factory_and_a_second_run_changes_nothing() {
    let (base, state) = stand_in().await;
    let client = client(&base);
    let first = setup(&client, &models(), &twins(), &relationships())
        .await
        .unwrap();
    assert_eq!(first.models_uploaded, models().len());
    assert_eq!(first.twins_created, twins().len());
    assert_eq!(first.relationships_created, relationships().len());
    let writes_after_first = state
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|s| s.method != Method::GET)
        .count();

    let second = setup(&client, &models(), &twins(), &relationships())
        .await
        .unwrap();
    assert_eq!(
        (
            second.models_uploaded,
            second.twins_created,
            second.relationships_created
        ),
        (0, 0, 0)
    );
    assert_eq!(second.models_present, models().len());
    assert_eq!(second.twins_present, twins().len());
    assert_eq!(second.relationships_present, relationships().len());

    let instance = state.lock().unwrap();
    assert_eq!(
        instance.twins.len(),
        twins().len(),
        "no twin was added or replaced"
    );
    let second_run = &instance.seen[writes_after_first..];
    assert!(
        second_run
            .iter()
            .filter(|s| s.method == Method::POST)
            .count()
            == 0,
        "no model upload on the second run"
    );
    for seen in instance.seen.iter().filter(|s| s.method == Method::PUT) {
        assert_eq!(
            seen.if_none_match.as_deref(),
            Some("*"),
            "creates never overwrite: {}",
            seen.path
        );
    }
    for seen in instance.seen.iter() {
        assert!(
            seen.query.contains(&format!("api-version={API_VERSION}")),
            "{}",
            seen.query
        );
    }
}

#[tokio::test]
async fn a_patch_goes_to_the_twin_with_api_version_content_type_token_and_body() {
    let (base, state) = stand_in().await;
    let client = client(&base);
    setup(&client, &models(), &twins(), &relationships())
        .await
        .unwrap();
    let patch = Patch(vec![
        PatchOperation::Replace(ReplaceOperation {
            path: PointerBuf::from_tokens(["Vibration"]),
            value: json!(112.5),
        }),
        PatchOperation::Add(AddOperation {
            path: PointerBuf::from_tokens(["$metadata", "Vibration", "sourceTime"]),
            value: json!("2026-05-01T12:00:00Z"),
        }),
    ]);
    client.patch_twin("GrindingStep", &patch).await.unwrap();
    let instance = state.lock().unwrap();
    let seen = instance.seen.last().unwrap();
    assert_eq!(seen.method, Method::PATCH);
    assert_eq!(seen.path, "/digitaltwins/GrindingStep");
    assert_eq!(seen.query, "api-version=2023-10-31");
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/json-patch+json")
    );
    assert_eq!(seen.authorization.as_deref(), Some("Bearer test-token"));
    assert_eq!(
        seen.text,
        concat!(
            r#"[{"op":"replace","path":"/Vibration","value":112.5},"#,
            r#"{"op":"add","path":"/$metadata/Vibration/sourceTime","value":"2026-05-01T12:00:00Z"}]"#
        )
    );
}

#[tokio::test]
async fn errors_name_the_status_and_the_request() {
    let (base, _) = stand_in().await;
    let wrong_token =
        DigitalTwinsClient::new(&base, Arc::new(StaticToken("expired".into()))).unwrap();
    let error = wrong_token
        .patch_twin("GrindingStep", &Patch::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("401") && error.contains("PATCH /digitaltwins/GrindingStep"),
        "{error}"
    );
    assert!(
        !error.contains("expired"),
        "the token never appears in an error: {error}"
    );
    assert!(DigitalTwinsClient::new("not a url", Arc::new(StaticToken(String::new()))).is_err());
}

/// The `FactorySimulator` function in `adt` mode, invoked as the host invokes a timer: one PATCH
/// per step twin, with the tick's readings and their sourceTime.
#[tokio::test]
async fn a_timer_tick_in_adt_mode_patches_the_three_step_twins() {
    use adt_bridge::host::{serve, App, Server};
    use adt_bridge::records::TransformOptions;
    use adt_bridge::simulator::{Factory, FactoryConfig};
    use adt_bridge::sink::memory::MemorySink;
    use adt_bridge::tick_delivery::{AdtPatches, Simulator, SimulatorMode};

    let (base, state) = stand_in().await;
    setup(&client(&base), &models(), &twins(), &relationships())
        .await
        .unwrap();
    let before = state.lock().unwrap().seen.len();
    let simulator = Simulator {
        factory: Factory::new(FactoryConfig::with_seed(9)),
        mode: SimulatorMode::Adt,
        delivery: Some(Arc::new(AdtPatches(client(&base)))),
    };
    let server = Arc::new(Server {
        app: App::new(TransformOptions::default(), Arc::new(MemorySink::new()))
            .with_simulator(simulator),
        max_request_bytes: 1 << 20,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, server, std::future::pending()));
    let timer = json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": {"Last": "0001-01-01T00:00:00+00:00", "Next": "2026-05-01T12:00:05+00:00", "LastUpdated": "0001-01-01T00:00:00+00:00"}, "IsPastDue": false}},
                       "Metadata": {"sys": {"MethodName": "FactorySimulator", "UtcNow": "2026-05-01T12:00:00.0000000Z", "RandGuid": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}}});
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/FactorySimulator"))
        .json(&timer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["Logs"][0].as_str().unwrap().contains("updates=3"),
        "{body}"
    );
    let instance = state.lock().unwrap();
    let patches: Vec<&Seen> = instance.seen[before..]
        .iter()
        .filter(|s| s.method == Method::PATCH)
        .collect();
    let mut paths: Vec<&str> = patches.iter().map(|s| s.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/digitaltwins/FanningRoastingStep",
            "/digitaltwins/GrindingStep",
            "/digitaltwins/MouldingStep"
        ]
    );
    for patch in patches {
        assert_eq!(
            patch.content_type.as_deref(),
            Some("application/json-patch+json")
        );
        let ops = patch.body.as_array().unwrap();
        assert!(ops
            .iter()
            .any(|op| op["path"] == "/ChasisTemperature" && op["value"].is_number()));
        assert!(ops
            .iter()
            .any(|op| op["path"] == "/$metadata/ChasisTemperature/sourceTime"
                && op["value"]
                    .as_str()
                    .unwrap()
                    .starts_with("2026-05-01T12:00:00")));
    }
}
