//! `GET /api/skein/pipeline`: the pipeline's own health, for the UI's Pipeline view and
//! `skein status`. It reads Kafka, Elasticsearch and the collectors' `/metrics` directly, so it is
//! right whichever processes run the other roles. Parts are fetched concurrently, each bounded by a
//! timeout; a part that fails says why (`reachable: false`, `error`) and the answer is still 200.

pub mod elasticsearch;
pub mod format;
pub mod kafka;
pub mod receivers;
pub mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use skein_core::config::KafkaConfig;
use skein_core::SkeinConfig;
use skein_schemas::elasticsearch::IndexNames;

pub use format::rfc3339;
pub use kafka::LATEST_DEAD_LETTERS;
pub use report::*;

/// Everything Kafka is asked must be done by then (its calls are bounded by what is left).
const KAFKA_BUDGET: Duration = Duration::from_millis(4300);
/// One Elasticsearch request.
const ELASTICSEARCH_TIMEOUT: Duration = Duration::from_secs(3);
/// One collector's `/metrics`.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// A report younger than this is answered again: every open Pipeline view polls every 5 s, and a
/// report costs Kafka clients and Elasticsearch searches; requests that arrive while one is being
/// made wait for it instead of making their own.
const SHARED_FOR: Duration = Duration::from_secs(2);

/// What the report is made from.
pub struct Pipeline {
    kafka: KafkaConfig,
    groups: Vec<(String, GroupRole)>,
    analytics_group: String,
    elasticsearch: elasticsearch::Reader,
    metrics_urls: Vec<String>,
    latest: tokio::sync::Mutex<Option<(Instant, Arc<PipelineReport>)>>,
}

impl Pipeline {
    pub fn new(config: &SkeinConfig, client: ::elasticsearch::Elasticsearch) -> Self {
        Self {
            kafka: config.kafka.clone(),
            groups: vec![
                (config.ingester.group_id.clone(), GroupRole::Ingester),
                (config.analytics.group_id.clone(), GroupRole::Analytics),
            ],
            analytics_group: config.analytics.group_id.clone(),
            elasticsearch: elasticsearch::Reader {
                client,
                names: IndexNames::new(&config.elasticsearch.index_prefix),
                url: elasticsearch::redact(&config.elasticsearch.url),
                timeout: ELASTICSEARCH_TIMEOUT,
            },
            metrics_urls: config.query.collector_metrics_urls.clone(),
            latest: tokio::sync::Mutex::new(None),
        }
    }

    /// The latest report when it is younger than [`SHARED_FOR`], else a new one (made once for
    /// all the requests waiting on it).
    pub async fn shared_report(&self) -> Arc<PipelineReport> {
        let mut latest = self.latest.lock().await;
        if let Some((made, report)) = latest.as_ref() {
            if made.elapsed() < SHARED_FOR {
                return report.clone();
            }
        }
        let report = Arc::new(self.report().await);
        *latest = Some((Instant::now(), report.clone()));
        report
    }

    /// Read every part (concurrently) and put the report together.
    pub async fn report(&self) -> PipelineReport {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let budget = kafka::Budget { deadline: Instant::now() + KAFKA_BUDGET };
        let spans = {
            let (config, groups) = (self.kafka.clone(), self.groups.clone());
            blocking(move || kafka::spans_topic(&config, &groups, budget, now_ms))
        };
        let dead_letters = {
            let config = self.kafka.clone();
            blocking(move || kafka::dead_letters(&config, budget))
        };
        let cluster = self.elasticsearch.cluster();
        let checkpoints = self.elasticsearch.checkpoints(&self.analytics_group, &self.kafka.spans_topic);
        let receivers = receivers::scrape(&self.metrics_urls, SCRAPE_TIMEOUT);
        let (spans, dead_letters, mut cluster, checkpoints, receivers) =
            tokio::join!(spans, dead_letters, cluster, checkpoints, receivers);

        let spans = spans.unwrap_or_else(|| kafka::SpansTopic {
            errors: vec![format!("Kafka at {} did not answer within {KAFKA_BUDGET:?}", self.kafka.brokers)],
            ..Default::default()
        });
        let (dead_letters, dlq_error) = dead_letters.unwrap_or_else(|| {
            let empty = DeadLetters { topic: self.kafka.dlq_topic.clone(), records: 0, latest: vec![] };
            (empty, Some(format!("reading topic {} did not finish within {KAFKA_BUDGET:?}", self.kafka.dlq_topic)))
        });
        let mut errors = spans.errors;
        // An unreachable broker says so once, not once per topic.
        if spans.reachable {
            errors.extend(dlq_error.map(|e| format!("dead letters: {e}")));
        }

        let checkpoints = match checkpoints {
            Ok(checkpoints) => checkpoints,
            Err(error) => {
                if cluster.reachable && cluster.error.is_none() {
                    cluster.error = Some(format!("analytics checkpoints: {error}"));
                }
                Default::default()
            }
        };
        let partitions: Vec<i32> =
            if spans.partitions.is_empty() { checkpoints.keys().copied().collect() } else { spans.partitions.clone() };
        let watermarks = partitions
            .iter()
            .map(|&partition| {
                // A partition that has seen no record yet has the watermark i64::MIN: no clock at all.
                let watermark_ms = checkpoints.get(&partition).map(|c| c.watermark_ms).filter(|ms| *ms > 0);
                PartitionWatermark {
                    partition,
                    watermark: watermark_ms.map(rfc3339),
                    behind_seconds: watermark_ms.map(|ms| (now_ms - ms).max(0) as f64 / 1000.0),
                }
            })
            .collect();

        PipelineReport {
            generated_at: rfc3339(now_ms),
            kafka: KafkaReport {
                brokers: self.kafka.brokers.clone(),
                reachable: spans.reachable,
                error: (!errors.is_empty()).then(|| errors.join("; ")),
                spans_topic: self.kafka.spans_topic.clone(),
                partitions: spans.partitions.len(),
                groups: spans.groups,
                dead_letters,
            },
            elasticsearch: cluster,
            analytics: AnalyticsReport { group: self.analytics_group.clone(), watermarks },
            receivers,
        }
    }
}

/// Run librdkafka's blocking calls off the async threads; `None` if they overran their budget.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (send, receive) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let _ = send.send(work());
    });
    // A little beyond the budget: every call inside is bounded by it.
    tokio::time::timeout(KAFKA_BUDGET + Duration::from_millis(500), receive).await.ok()?.ok()
}

/// `GET /api/skein/pipeline`.
pub async fn pipeline_report(State(pipeline): State<Arc<Pipeline>>) -> Response {
    let report = pipeline.shared_report().await;
    // A health report is only true now: no cache beyond the query role's own two seconds.
    ([(header::CACHE_CONTROL, "no-store")], Json(&*report)).into_response()
}
