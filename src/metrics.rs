//! Prometheus metrics (`GET /metrics`). Label values are closed sets (results,
//! outcomes, rejection codes, route patterns), never user input.
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// Route pattern (`/api/v1/challenges/{id}/verify`), never the raw path.
    pub route: String,
    pub status: u16,
}

type HistogramFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub challenges_created: Counter,
    pub verifications: Family<ResultLabel, Counter>,
    pub mails: Family<OutcomeLabel, Counter>,
    pub request_rejections: Family<ReasonLabel, Counter>,
    pub http_duration: HistogramFamily,
    store_errors: Family<KindLabel, Counter>,
    mail_attempts: Family<OutcomeResult, Counter>,
    mail_attempt_duration: Histogram,
    mail_retries: Counter,
    mail_limited: Family<LimitLabel, Counter>,
    outbox_depth: Gauge,
    outbox_oldest: Gauge<f64, AtomicU64>,
    /// Connections over `server.max_connections_per_client`.
    pub connections_refused: Counter,
    /// Requests whose body missed `server.body_timeout_secs`.
    pub body_timeouts: Counter,
    in_flight: Arc<Mutex<InFlight>>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeResult {
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    pub limit: &'static str,
}

/// Deliveries this process is working on (the outbox it holds leases for).
#[derive(Debug, Default)]
struct InFlight {
    next: u64,
    started: HashMap<u64, Instant>,
}

/// Counts a delivery as in flight until dropped.
pub struct InFlightGuard {
    id: u64,
    in_flight: Arc<Mutex<InFlight>>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.started.remove(&self.id);
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let challenges_created = Counter::default();
        let verifications = Family::<ResultLabel, Counter>::default();
        let mails = Family::<OutcomeLabel, Counter>::default();
        let request_rejections = Family::<ReasonLabel, Counter>::default();
        let http_duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "challenges_created",
            "Challenges created (a code was generated)",
            challenges_created.clone(),
        );
        registry.register(
            "verifications",
            "Code verifications by result",
            verifications.clone(),
        );
        registry.register("mails", "Code mails by outcome", mails.clone());
        registry.register(
            "request_rejections",
            "Request JWTs refused, by reason",
            request_rejections.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            http_duration.clone(),
        );
        let mail_attempts = Family::<OutcomeResult, Counter>::default();
        registry.register(
            "mail_send",
            "Code mail delivery attempts by result (sent, transient, timeout, permanent)",
            mail_attempts.clone(),
        );
        let mail_attempt_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "mail_send_duration_seconds",
            "Duration of one delivery attempt",
            mail_attempt_duration.clone(),
        );
        let mail_retries = Counter::default();
        registry.register(
            "mail_retries",
            "Delivery attempts repeated after a transient failure",
            mail_retries.clone(),
        );
        let mail_limited = Family::<LimitLabel, Counter>::default();
        registry.register(
            "mail_limited",
            "Code mails refused by a send limit (address, global)",
            mail_limited.clone(),
        );
        let store_errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "store_errors",
            "Store operations that failed: unavailable (Redis unreachable, too slow, \
             a failover under way, or replicas not acknowledging), of which \
             unacknowledged (fewer replicas than store.min_replicas_ack acknowledged a \
             consuming write)",
            store_errors.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "mail_outbox_depth",
            "Deliveries this process is working on (sending or waiting to retry)",
            outbox_depth.clone(),
        );
        let outbox_oldest = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "mail_outbox_oldest_seconds",
            "Age of the oldest delivery this process is working on (0 when none)",
            outbox_oldest.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections refused: their client held server.max_connections_per_client already",
            connections_refused.clone(),
        );
        let body_timeouts = Counter::default();
        registry.register(
            "request_body_timeouts",
            "Requests cut because their body missed server.body_timeout_secs",
            body_timeouts.clone(),
        );
        Self {
            registry,
            connections_refused,
            body_timeouts,
            challenges_created,
            verifications,
            mails,
            request_rejections,
            http_duration,
            store_errors,
            mail_attempts,
            mail_attempt_duration,
            mail_retries,
            mail_limited,
            outbox_depth,
            outbox_oldest,
            in_flight: Arc::default(),
        }
    }

    /// The counters the store counts its failures into.
    pub fn store_counters(&self) -> crate::challenge::StoreCounters {
        let counter = |kind| self.store_errors.get_or_create(&KindLabel { kind }).clone();
        crate::challenge::StoreCounters {
            unavailable: counter("unavailable"),
            unacknowledged: counter("unacknowledged"),
        }
    }

    pub fn verification(&self, result: &'static str) {
        self.verifications
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub fn mail(&self, outcome: &'static str) {
        self.mails.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// One delivery attempt's result and duration.
    pub fn mail_attempt(&self, result: &'static str, seconds: f64) {
        self.mail_attempts
            .get_or_create(&OutcomeResult { result })
            .inc();
        self.mail_attempt_duration.observe(seconds);
    }

    pub fn mail_retry(&self) {
        self.mail_retries.inc();
    }

    pub fn mail_limited(&self, limit: &'static str) {
        self.mail_limited.get_or_create(&LimitLabel { limit }).inc();
    }

    /// Count a delivery as in flight until the guard is dropped.
    pub fn delivery_started(&self) -> InFlightGuard {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.next += 1;
        let id = in_flight.next;
        in_flight.started.insert(id, Instant::now());
        InFlightGuard {
            id,
            in_flight: Arc::clone(&self.in_flight),
        }
    }

    pub fn rejection(&self, reason: &'static str) {
        self.request_rejections
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    pub fn observe_http(&self, labels: HttpLabels, seconds: f64) {
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    /// Text exposition format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        {
            let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            self.outbox_depth
                .set(i64::try_from(in_flight.started.len()).unwrap_or(i64::MAX));
            let oldest = in_flight
                .started
                .values()
                .map(|t| t.elapsed().as_secs_f64())
                .fold(0.0, f64::max);
            self.outbox_oldest.set(oldest);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
