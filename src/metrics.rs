//! Prometheus metrics (`GET /metrics`). Label values are closed sets (results,
//! outcomes, rejection codes, route patterns), never user input.
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
        Self {
            registry,
            challenges_created,
            verifications,
            mails,
            request_rejections,
            http_duration,
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
