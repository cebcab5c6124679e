//! Trace export: the real `tend-api serve` with the standard OTEL_* variables
//! sends its request spans over OTLP/HTTP to a collector stand-in that
//! decodes them with the protocol's own definitions (opentelemetry-proto).
//! A span arrives named by its route, joined to the caller's W3C trace, with
//! its status, and carries nothing of the query string, headers or body.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use prost::Message as _;
use reqwest::StatusCode;

use crate::helpers::{spawn_app, world};

/// One exported span, with its resource's attributes.
#[derive(Debug, Clone)]
struct Received {
    service: Vec<KeyValue>,
    name: String,
    kind: i32,
    trace_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: Vec<KeyValue>,
    status: i32,
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            Value::IntValue(i) => Some(i.to_string()),
            other => Some(format!("{other:?}")),
        }
    })
}

/// An OTLP/HTTP receiver on a free port: `POST /v1/traces` with protobuf.
async fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut sink = sink.lock().unwrap();
                for resource_spans in request.resource_spans {
                    let service = resource_spans
                        .resource
                        .map(|r| r.attributes)
                        .unwrap_or_default();
                    for scope in resource_spans.scope_spans {
                        for span in scope.spans {
                            sink.push(Received {
                                service: service.clone(),
                                name: span.name,
                                kind: span.kind,
                                trace_id: span.trace_id,
                                parent_span_id: span.parent_span_id,
                                attributes: span.attributes,
                                status: span.status.map(|s| s.code).unwrap_or_default(),
                            });
                        }
                    }
                }
                // An empty ExportTraceServiceResponse: everything accepted.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn request_spans_reach_an_otlp_collector_joined_to_the_callers_trace() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (collector_url, received) = collector().await;
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tend-api"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("TEND_DATABASE_URL", &app.app_url)
        .env("TEND_LOG", "warn")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_url)
        .env("OTEL_SERVICE_NAME", "tend-api-test")
        // Send batches quickly instead of every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A caller in the middle of its own trace lists patients with a search
    // term in the query string.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let token = w.token(tend_domain::Role::Rn).to_owned();
    let listed = client
        .get(format!("{base}/api/patients?search=Whitfield"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let missing = client
        .get(format!("{base}/api/patients/999999999"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Batches arrive within moments; wait for both spans (bounded).
    let wanted = |spans: &[Received]| {
        spans.iter().any(|s| s.name == "GET /api/patients")
            && spans.iter().any(|s| s.name == "GET /api/patients/{id}")
    };
    for _ in 0..100 {
        if wanted(&received.lock().unwrap()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    let spans = received.lock().unwrap().clone();
    assert!(wanted(&spans), "spans received: {spans:#?}");

    let list = spans
        .iter()
        .find(|s| s.name == "GET /api/patients")
        .unwrap();
    assert_eq!(list.kind, SpanKind::Server as i32);
    assert_eq!(
        hex(&list.trace_id),
        trace_id,
        "joined to the caller's trace"
    );
    assert_eq!(hex(&list.parent_span_id), caller_span);
    assert_eq!(
        text(&list.attributes, "http.route").as_deref(),
        Some("/api/patients")
    );
    assert_eq!(
        text(&list.attributes, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        text(&list.attributes, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(text(&list.attributes, "request_id").is_some());
    assert_eq!(
        text(&list.service, "service.name").as_deref(),
        Some("tend-api-test")
    );
    assert!(text(&list.service, "service.version").is_some());

    let not_found = spans
        .iter()
        .find(|s| s.name == "GET /api/patients/{id}")
        .unwrap();
    assert_ne!(
        hex(&not_found.trace_id),
        trace_id,
        "a new trace without traceparent"
    );
    assert_eq!(
        text(&not_found.attributes, "http.response.status_code").as_deref(),
        Some("404")
    );
    // A client's mistake is not the server's error.
    assert_ne!(not_found.status, SpanStatus::Error as i32);

    // Nothing the caller sent beyond the route: no search term, no token,
    // and only tend-api's own spans (no library's SQL).
    let everything = format!("{spans:?}");
    assert!(!everything.contains("Whitfield"), "query string exported");
    assert!(!everything.contains(&token), "token exported");
    assert!(
        !everything.to_lowercase().contains("select "),
        "SQL exported"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
