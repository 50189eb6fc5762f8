//! `GET /metrics` in Prometheus text format: requests and latency by route,
//! the writer's commits and group sizes, the sync queue's depth and lag,
//! password checks and refused logins, WebSocket connections, backup age.
//! Counters move as traffic does; gauges are read when scraped.

use super::AppState;
use crate::domain::value::age_seconds;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use std::time::Instant;

/// Every metric the hub exports, registered once per hub (no global registry,
/// so two hubs in one process keep their own).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// argon2 password checks made by login (a refused, rate-limited attempt
    /// makes none).
    pub password_checks: IntCounter,
    /// Logins refused by the rate limiter.
    pub logins_limited: IntCounter,
    /// Open tablet WebSockets.
    pub websockets: IntGauge,
    queue_waiting: IntGauge,
    queue_failed: IntGauge,
    queue_lag: Gauge,
    /// Seconds since the last good local backup (-1: none yet).
    pub backup_age: Gauge,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    r.expect("a fixed metric definition is valid and registered once")
}

impl Metrics {
    pub fn new(store: &crate::store::Store) -> Metrics {
        let registry = Registry::new();
        let requests = must(IntCounterVec::new(
            Opts::new("collisionos_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        ));
        let latency = must(HistogramVec::new(
            HistogramOpts::new(
                "collisionos_http_request_seconds",
                "Time from a request's arrival to its answer",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        ));
        let password_checks = must(IntCounter::new(
            "collisionos_password_checks_total",
            "argon2 password checks made for logins",
        ));
        let logins_limited = must(IntCounter::new(
            "collisionos_logins_rate_limited_total",
            "Logins refused by the rate limiter without a password check",
        ));
        let websockets = must(IntGauge::new(
            "collisionos_websocket_connections",
            "Open tablet WebSocket connections",
        ));
        let queue_waiting = must(IntGauge::new(
            "collisionos_sync_queue_waiting",
            "Sync-queue items not yet in the cloud",
        ));
        let queue_failed = must(IntGauge::new(
            "collisionos_sync_queue_failed",
            "Sync-queue items that failed and wait for a person",
        ));
        let queue_lag = must(Gauge::new(
            "collisionos_sync_lag_seconds",
            "Age of the oldest sync-queue item not yet in the cloud",
        ));
        let backup_age = must(Gauge::new(
            "collisionos_backup_age_seconds",
            "Seconds since the last good local backup (-1: none yet)",
        ));
        backup_age.set(-1.0);
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(password_checks.clone()),
            Box::new(logins_limited.clone()),
            Box::new(websockets.clone()),
            Box::new(queue_waiting.clone()),
            Box::new(queue_failed.clone()),
            Box::new(queue_lag.clone()),
            Box::new(backup_age.clone()),
        ]
        .into_iter()
        .chain(store.stats().collectors())
        {
            must(registry.register(c));
        }
        Metrics {
            registry,
            requests,
            latency,
            password_checks,
            logins_limited,
            websockets,
            queue_waiting,
            queue_failed,
            queue_lag,
            backup_age,
        }
    }
}

/// Counts each request by its route (the pattern, never the ids in the path).
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        // `/api/{table}/{id}` is labelled `/api/:table/:id`: the pattern, in the
        // form most Prometheus tools (and text parsers) take without quoting.
        .map(|p| p.as_str().replace('{', ":").replace('}', ""))
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let m = &st.metrics;
    m.latency
        .with_label_values(&[route.as_str()])
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[route.as_str(), method.as_str(), res.status().as_str()])
        .inc();
    res
}

/// `GET /metrics`.
pub async fn render(State(st): State<AppState>) -> Response {
    let m = &st.metrics;
    if let Ok(q) = st.sync.queue().counts().await {
        m.queue_waiting.set(q.waiting());
        m.queue_failed.set(q.failed);
        m.queue_lag
            .set(age_seconds(q.oldest_open.as_deref()).unwrap_or(0.0));
    }
    m.websockets.set(*st.tablets.connections().borrow() as i64);
    let backup_age = st
        .backups
        .last()
        .and_then(|l| l.last_good_at)
        .and_then(|at| age_seconds(Some(&at)));
    m.backup_age.set(backup_age.unwrap_or(-1.0));
    let mut out = Vec::new();
    let encoder = TextEncoder::new();
    match encoder.encode(&m.registry.gather(), &mut out) {
        Ok(()) => ([(CONTENT_TYPE, encoder.format_type().to_string())], out).into_response(),
        Err(e) => super::ApiError::Internal(anyhow::anyhow!("metrics: {e}")).into_response(),
    }
}
