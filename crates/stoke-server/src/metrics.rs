//! Prometheus `/metrics` (admins' tokens; a Prometheus scrape job sends one as a bearer token):
//! requests by route and status, their latency, and what the workspace holds. Routes are labelled
//! by their pattern (`/api/v1/contacts/{id}`), never by the ids in them, so the number of series
//! stays bounded.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::{ApiError, AppState, Caller};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// This node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    stored: Family<KindLabels, Gauge>,
}

impl Metrics {
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let stored = Family::<KindLabels, Gauge>::default();
        let mut registry = Registry::with_prefix("stoke");
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            latency.clone(),
        );
        registry.register(
            "stored",
            "What the workspace holds, by kind (read at scrape time)",
            stored.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            stored,
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts and times every request.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics` in the OpenMetrics text format.
pub(crate) async fn handler(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let counts = state.store.counts().await?;
    for (kind, value) in [
        ("contacts", counts.contacts),
        ("accounts", counts.accounts),
        ("conversations", counts.conversations),
        ("messages", counts.messages),
        ("events", counts.events),
        ("tags", counts.tags),
        ("users", counts.users),
    ] {
        state
            .metrics
            .stored
            .get_or_create(&KindLabels { kind })
            .set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry).map_err(|e| {
        tracing::error!(%e, "cannot encode metrics");
        ApiError::unavailable("the metrics could not be written; try again")
    })?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
