//! The API's logs and its optional trace export.
//!
//! Logs go to stderr, as text or JSON lines. Traces go to an OpenTelemetry
//! collector over OTLP/HTTP (protobuf) only when the operator names one with
//! the standard variables (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`; the SDK reads the rest of the `OTEL_*`
//! settings itself): off by default, so nothing leaves the server unless its
//! operator says where. A request's span carries the route template, method,
//! status and request id, joined to the caller's trace when it sends a W3C
//! `traceparent`; never a query string, header value, body or token, and
//! only `tend_api`'s own spans are exported (not a library's, which could
//! carry SQL or URLs).

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// The standard variables naming the collector, most specific first.
const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
const PROTOCOL_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{variable}={value:?}: {fix}")]
    Setting {
        variable: &'static str,
        value: String,
        fix: &'static str,
    },
    #[error("trace export could not start: {0}")]
    Exporter(String),
}

/// Where traces go, when the environment asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The variable that named the collector, and its value.
    pub variable: &'static str,
    pub endpoint: String,
}

impl TraceExport {
    /// Reads the standard OpenTelemetry variables through `get`: `None`
    /// unless an endpoint is set (and the SDK or trace export is not
    /// disabled); an error for a setting this server cannot honour, so a
    /// misconfigured export fails at start instead of silently sending
    /// nothing.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, TelemetryError> {
        let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        if let Some(exporter) = set("OTEL_TRACES_EXPORTER") {
            match exporter.trim() {
                "none" => return Ok(None),
                "otlp" => {}
                _ => {
                    return Err(TelemetryError::Setting {
                        variable: "OTEL_TRACES_EXPORTER",
                        value: exporter,
                        fix: "tend-api exports traces with \"otlp\" only (or \"none\")",
                    })
                }
            }
        }
        let Some((variable, endpoint)) = ENDPOINT_VARIABLES
            .iter()
            .find_map(|name| set(name).map(|value| (*name, value)))
        else {
            return Ok(None);
        };
        for name in PROTOCOL_VARIABLES {
            if let Some(protocol) = set(name) {
                if protocol.trim() != "http/protobuf" {
                    return Err(TelemetryError::Setting {
                        variable: name,
                        value: protocol,
                        fix: "tend-api speaks OTLP over HTTP with protobuf only: use \"http/protobuf\" (the collector's port 4318)",
                    });
                }
                break;
            }
        }
        if !endpoint.trim().starts_with("http://") {
            return Err(TelemetryError::Setting {
                variable,
                value: endpoint,
                fix: "give an http:// address of a collector on this host or its private network (e.g. http://127.0.0.1:4318); OTLP over TLS is not built in",
            });
        }
        Ok(Some(Self { variable, endpoint }))
    }
}

/// Keeps the trace exporter alive; dropping it sends what is still queued.
#[derive(Debug, Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn exporting_traces(&self) -> bool {
        self.traces.is_some()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take() {
            // Flushes the batch; a collector that is gone costs at most the
            // exporter's timeout.
            let _ = provider.shutdown();
        }
    }
}

/// Installs the process's logging (`filter` in tracing's EnvFilter syntax)
/// and, when `export` is given, the OTLP trace exporter. A second call in
/// one process (tests) keeps the first subscriber.
pub fn init(
    filter: &str,
    json: bool,
    export: Option<&TraceExport>,
) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    let logs = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    let provider = export.map(|_| tracer_provider()).transpose()?;
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("tend-api"))
            .with_filter(
                Targets::new()
                    .with_target("tend_api", LevelFilter::INFO)
                    .with_default(LevelFilter::OFF),
            )
    });
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    }
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .try_init();
    if let Some(export) = export {
        tracing::info!(
            variable = export.variable,
            endpoint = %export.endpoint,
            "exporting traces over OTLP/HTTP"
        );
    }
    Ok(Telemetry { traces: provider })
}

fn tracer_provider() -> Result<SdkTracerProvider, TelemetryError> {
    // The endpoint comes from the environment the SDK reads itself (the
    // per-signal variable is used as given, the general one gets
    // `/v1/traces` appended), as every OpenTelemetry SDK does.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("tend-api");
    }
    Ok(SdkTracerProvider::builder()
        .with_resource(resource.build())
        .with_batch_exporter(exporter)
        .build())
}

/// Joins `span` to the caller's trace when the request carries a valid W3C
/// `traceparent` and traces are exported (otherwise the propagator is a
/// no-op and this costs one lookup).
pub fn join_callers_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let context = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Headers(headers))
    });
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn no_endpoint_means_no_export() {
        assert_eq!(TraceExport::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            TraceExport::from_env(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])).unwrap(),
            None
        );
    }

    #[test]
    fn the_traces_endpoint_wins_over_the_general_one() {
        let export = TraceExport::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:4318/v1/traces",
            ),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(export.variable, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    }

    #[test]
    fn disabled_sdk_or_no_trace_exporter_turns_export_off() {
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            let pairs = [
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                off,
            ];
            assert_eq!(TraceExport::from_env(env(&pairs)).unwrap(), None, "{off:?}");
        }
    }

    #[test]
    fn settings_it_cannot_honour_are_refused_with_the_fix() {
        let grpc = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ];
        let err = TraceExport::from_env(env(&grpc)).unwrap_err().to_string();
        assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && err.contains("http/protobuf"));

        let tls = [("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")];
        let err = TraceExport::from_env(env(&tls)).unwrap_err().to_string();
        assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT") && err.contains("http://"));

        let zipkin = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
        ];
        assert!(TraceExport::from_env(env(&zipkin)).is_err());
    }
}
