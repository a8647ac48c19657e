//! Logs, Prometheus metrics and the `/metrics`, `/healthz`, `/readyz` admin endpoints every role serves.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::config::{LogConfig, LogFormat};

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Renders extra Prometheus text appended to `/metrics`.
pub type MetricsText = Box<dyn Fn() -> String + Send + Sync>;

/// Families rendered by a role itself rather than through the `metrics` registry (for example
/// histograms with their own buckets, aggregated before they are exposed).
static EXTRA_METRICS: Mutex<Vec<MetricsText>> = Mutex::new(Vec::new());

/// Add a renderer to `/metrics`.
pub fn register_metrics_text(render: MetricsText) {
    EXTRA_METRICS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(render);
}

/// Everything `/metrics` serves.
pub fn render_metrics() -> String {
    let mut text = prometheus().render();
    for render in EXTRA_METRICS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter() {
        text.push_str(&render());
    }
    text
}

/// Gauge: 1 while a role's `/readyz` answers 200.
pub const READY: &str = "skein_ready";
/// Gauge: 1 while one readiness condition of a role is met.
pub const READINESS_CONDITION: &str = "skein_readiness_condition";

/// Describe the metrics every role shares (their `# HELP` lines on `/metrics`).
pub fn describe() {
    metrics::describe_gauge!(READY, "1 while the role's /readyz answers 200 (every readiness condition met)");
    metrics::describe_gauge!(
        READINESS_CONDITION,
        "1 while a readiness condition of the role is met; 0 names what /readyz waits for"
    );
}

/// Buckets for latency histograms in seconds: 0.5 ms up to 60 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Install the process-wide Prometheus recorder (once; later calls return the same handle), so
/// all roles running in one process share one registry.
pub fn prometheus() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests in one process); ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Install the global `tracing` subscriber. Safe to call more than once.
pub fn init_logging(config: &LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Named readiness conditions of a role; `/readyz` answers 200 only when all are true. A role's
/// readiness ([`Readiness::of_role`]) is also on `/metrics`, so alerts need no probe of their own:
/// `skein_ready{role}` (1 when `/readyz` answers 200) and `skein_readiness_condition{role,
/// condition}` (which condition is waiting).
#[derive(Clone, Default)]
pub struct Readiness {
    conditions: Arc<Mutex<BTreeMap<&'static str, bool>>>,
    role: Option<&'static str>,
}

impl Readiness {
    /// The readiness of `role`, published as gauges (a role without conditions is ready).
    pub fn of_role(role: &'static str) -> Self {
        let readiness = Self { conditions: Arc::default(), role: Some(role) };
        readiness.publish(&readiness.lock());
        readiness
    }

    /// Declare a condition, initially not met.
    pub fn register(&self, name: &'static str) {
        let mut conditions = self.lock();
        conditions.entry(name).or_insert(false);
        self.publish(&conditions);
    }

    /// Set a condition.
    pub fn set(&self, name: &'static str, ready: bool) {
        let mut conditions = self.lock();
        conditions.insert(name, ready);
        self.publish(&conditions);
    }

    /// Mirror the conditions in the gauges (under the lock, so two updates cannot interleave).
    fn publish(&self, conditions: &BTreeMap<&'static str, bool>) {
        let Some(role) = self.role else { return };
        let value = |ready: bool| if ready { 1.0 } else { 0.0 };
        for (condition, ready) in conditions {
            metrics::gauge!(READINESS_CONDITION, "role" => role, "condition" => *condition).set(value(*ready));
        }
        metrics::gauge!(READY, "role" => role).set(value(conditions.values().all(|ready| *ready)));
    }

    /// True when every declared condition is met.
    pub fn is_ready(&self) -> bool {
        self.lock().values().all(|ready| *ready)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, bool>> {
        self.conditions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn report(&self) -> String {
        self.lock().iter().map(|(name, ready)| format!("{name}: {}\n", if *ready { "ok" } else { "waiting" })).collect()
    }
}

/// Admin paths served without credentials: probes of load balancers and kubelets carry none.
pub const OPEN_ADMIN_PATHS: &[&str] = &["/healthz", "/readyz"];

/// The admin router: `/metrics`, `/healthz`, `/readyz`; with `auth`, `/metrics` needs credentials.
pub fn admin_router(readiness: Readiness, auth: Option<crate::auth::Authenticator>) -> Router {
    Router::new()
        .route("/metrics", get(|| async { render_metrics() }))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(readiness)
        .layer(crate::auth::AuthLayer::new(auth).with_open_paths(OPEN_ADMIN_PATHS))
}

async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    let status = if readiness.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, readiness.report())
}

/// Bind the admin endpoints and serve them with `group`'s TLS and limits until `shutdown`.
pub async fn serve_admin(
    addr: SocketAddr,
    group: crate::net::ListenerGroup,
    readiness: Readiness,
    auth: Option<crate::auth::Authenticator>,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, std::io::Error> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(tokio::spawn(group.serve_http(admin_router(readiness, auth), listener, "admin endpoints", shutdown)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_every_condition() {
        let readiness = Readiness::default();
        assert!(readiness.is_ready(), "no conditions means ready");
        readiness.register("kafka");
        readiness.register("templates");
        assert!(!readiness.is_ready());
        readiness.set("kafka", true);
        assert!(!readiness.is_ready());
        readiness.set("templates", true);
        assert!(readiness.is_ready());
        assert_eq!(readiness.report(), "kafka: ok\ntemplates: ok\n");
    }

    #[test]
    fn a_roles_readiness_is_on_metrics_with_the_condition_it_waits_for() {
        prometheus();
        let readiness = Readiness::of_role("telemetry_test_role");
        readiness.register("kafka");
        readiness.register("templates");
        readiness.set("kafka", true);
        let text = render_metrics();
        assert!(text.contains(r#"skein_ready{role="telemetry_test_role"} 0"#), "{text}");
        assert!(
            text.contains(r#"skein_readiness_condition{role="telemetry_test_role",condition="kafka"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"skein_readiness_condition{role="telemetry_test_role",condition="templates"} 0"#),
            "{text}"
        );
        readiness.set("templates", true);
        assert!(render_metrics().contains(r#"skein_ready{role="telemetry_test_role"} 1"#));
    }
}
