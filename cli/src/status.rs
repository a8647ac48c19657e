//! `skein status`: the pipeline report of a running query role (`GET /api/skein/pipeline`), as
//! tables in the terminal, or as its JSON with `--json`.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use skein_query::pipeline::{ConsumerGroupReport, PipelineReport};

use crate::options::ConfigArgs;

#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Base URL of a running query role, e.g. http://skein-query:16686. Default: http://<query.listen>.
    #[arg(long)]
    url: Option<String>,
    /// Print the report's JSON as the query role answered it, for scripts.
    #[arg(long)]
    json: bool,
}

/// The report takes up to about 5 s when a server is down; leave it room.
const TIMEOUT: Duration = Duration::from_secs(15);

pub async fn run(args: StatusArgs) -> Result<()> {
    let base = match &args.url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", crate::browsable(args.config.load()?.query.listen)),
    };
    let endpoint = format!("{base}/api/skein/pipeline");
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().context("cannot build an HTTP client")?;
    let response = match client.get(&endpoint).send().await {
        Ok(response) => response,
        Err(error) => bail!(
            "cannot reach the query role at {base}: {}\n\
             start it (`skein query`, or `skein all-in-one`), or pass --url to point at a running one",
            skein_core::errors::with_causes(&error)
        ),
    };
    let status = response.status();
    let body = response.text().await.with_context(|| format!("cannot read the answer of {endpoint}"))?;
    if !status.is_success() {
        let excerpt: String = body.chars().take(300).collect();
        bail!("{endpoint} answered {status}: {excerpt}\nis {base} a skein query role? pass --url to point at one");
    }
    if args.json {
        println!("{body}");
        return Ok(());
    }
    let report: PipelineReport = serde_json::from_str(&body)
        .with_context(|| format!("{endpoint} did not answer a pipeline report (is {base} a skein query role?)"))?;
    print!("{}", render(&report, &base));
    Ok(())
}

/// The report as text tables, one section per part.
pub fn render(report: &PipelineReport, source: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "skein pipeline at {} (from {source})", report.generated_at);

    let receivers = &report.receivers;
    section(&mut out, "Receivers (spans since each collector started)");
    for source in receivers.sources.iter().filter(|s| !s.reachable) {
        let _ = writeln!(out, "  {} unreachable: {}", source.url, source.error.as_deref().unwrap_or("no reason given"));
    }
    if receivers.transports.is_empty() {
        let _ = writeln!(out, "  no spans received yet");
    } else {
        let rows = receivers
            .transports
            .iter()
            .map(|t| vec![t.transport.clone(), t.received.to_string(), t.accepted.to_string(), t.refused.to_string()])
            .collect();
        table(&mut out, &[("TRANSPORT", Left), ("RECEIVED", Right), ("ACCEPTED", Right), ("REFUSED", Right)], rows);
    }
    if !receivers.refused_by_reason.is_empty() {
        let reasons: Vec<String> =
            receivers.refused_by_reason.iter().map(|r| format!("{} {}", r.reason, r.spans)).collect();
        let _ = writeln!(out, "  refused by reason: {}", reasons.join(", "));
    }

    let kafka = &report.kafka;
    section(
        &mut out,
        &format!("Kafka {}: topic {}, {} partitions", kafka.brokers, kafka.spans_topic, kafka.partitions),
    );
    if !kafka.reachable {
        let _ = writeln!(out, "  unreachable: {}", kafka.error.as_deref().unwrap_or("no reason given"));
    } else if let Some(error) = &kafka.error {
        let _ = writeln!(out, "  error: {error}");
    }
    for group in &kafka.groups {
        consumer_group(&mut out, group);
    }

    let letters = &kafka.dead_letters;
    let plural = if letters.records == 1 { "" } else { "s" };
    section(&mut out, &format!("Dead letters: {} record{plural} in {}", letters.records, letters.topic));
    if !letters.latest.is_empty() {
        let rows = letters
            .latest
            .iter()
            .map(|l| {
                let origin = match (l.origin_partition, l.origin_offset) {
                    (Some(partition), Some(offset)) => format!("{partition}/{offset}"),
                    _ => "-".into(),
                };
                vec![
                    l.timestamp.clone(),
                    format!("{}/{}", l.partition, l.offset),
                    origin,
                    l.error_kind.clone(),
                    l.error.clone(),
                ]
            })
            .collect();
        table(&mut out, &[("TIME", Left), ("AT", Right), ("FROM", Right), ("KIND", Left), ("ERROR", Left)], rows);
    }

    let es = &report.elasticsearch;
    let status = es.status.as_deref().unwrap_or("unknown");
    section(&mut out, &format!("Elasticsearch {}: {}", es.url, if es.reachable { status } else { "unreachable" }));
    if let Some(error) = &es.error {
        let _ = writeln!(out, "  {}{error}", if es.reachable { "error: " } else { "" });
    }
    if es.reachable && es.indices.is_empty() {
        let _ = writeln!(out, "  no skein indices yet");
    } else if !es.indices.is_empty() {
        let rows = es
            .indices
            .iter()
            .map(|i| vec![i.name.clone(), i.health.clone(), i.docs.to_string(), bytes(i.bytes)])
            .collect();
        table(&mut out, &[("INDEX", Left), ("HEALTH", Left), ("DOCS", Right), ("SIZE", Right)], rows);
    }

    let analytics = &report.analytics;
    section(&mut out, &format!("Analytics watermarks (group {})", analytics.group));
    if analytics.watermarks.is_empty() {
        let _ = writeln!(out, "  no partitions known");
    } else {
        let rows = analytics
            .watermarks
            .iter()
            .map(|w| {
                vec![
                    w.partition.to_string(),
                    w.watermark.clone().unwrap_or_else(|| "-".into()),
                    w.behind_seconds.map_or_else(|| "-".into(), seconds),
                ]
            })
            .collect();
        table(&mut out, &[("PARTITION", Right), ("WATERMARK", Left), ("BEHIND", Right)], rows);
    }
    out
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}");
}

fn consumer_group(out: &mut String, group: &ConsumerGroupReport) {
    let members = if group.members == 1 { "1 member".to_string() } else { format!("{} members", group.members) };
    let behind = group.max_lag_seconds.map_or_else(|| "unknown".into(), seconds);
    let _ = writeln!(
        out,
        "  group {} ({}): {}, {members}; lag {} records, oldest uncommitted {behind}",
        group.group,
        group.role.as_str(),
        group.state,
        group.total_lag,
    );
    let rows = group
        .partitions
        .iter()
        .map(|p| {
            vec![
                p.partition.to_string(),
                p.committed.map_or_else(|| "-".into(), |c| c.to_string()),
                p.high_watermark.to_string(),
                p.lag.to_string(),
                p.lag_seconds.map_or_else(|| "-".into(), seconds),
            ]
        })
        .collect();
    table(out, &[("PARTITION", Right), ("COMMITTED", Right), ("END", Right), ("LAG", Right), ("BEHIND", Right)], rows);
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}
use Align::{Left, Right};

/// Columns padded to their widest cell, two spaces apart, indented; the last column is not padded.
fn table(out: &mut String, columns: &[(&str, Align)], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = columns.iter().map(|(name, _)| name.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = columns.iter().map(|(name, _)| name.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from("  ");
        for (index, ((cell, width), (_, align))) in row.iter().zip(&widths).zip(columns).enumerate() {
            let last = index + 1 == columns.len();
            let cell = match (align, last) {
                (Right, _) => format!("{cell:>width$}"),
                (Left, false) => format!("{cell:<width$}"),
                (Left, true) => cell.clone(),
            };
            line.push_str(&cell);
            if !last {
                line.push_str("  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn seconds(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.1} s")
    } else {
        format!("{value:.0} s")
    }
}

/// Bytes in binary units, as `_cat` would round them.
fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut size = value as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skein_query::pipeline::*;

    fn report() -> PipelineReport {
        PipelineReport {
            generated_at: "2026-01-02T03:04:05.678Z".into(),
            kafka: KafkaReport {
                brokers: "127.0.0.1:9092".into(),
                reachable: true,
                error: None,
                spans_topic: "skein-spans".into(),
                partitions: 2,
                groups: vec![
                    ConsumerGroupReport {
                        group: "skein-ingester".into(),
                        role: GroupRole::Ingester,
                        state: "Stable".into(),
                        members: 1,
                        total_lag: 0,
                        max_lag_seconds: Some(0.0),
                        partitions: vec![
                            PartitionLag {
                                partition: 0,
                                committed: Some(1200),
                                high_watermark: 1200,
                                lag: 0,
                                lag_seconds: Some(0.0),
                            },
                            PartitionLag {
                                partition: 1,
                                committed: Some(7),
                                high_watermark: 7,
                                lag: 0,
                                lag_seconds: Some(0.0),
                            },
                        ],
                    },
                    ConsumerGroupReport {
                        group: "skein-analytics".into(),
                        role: GroupRole::Analytics,
                        state: "Empty".into(),
                        members: 0,
                        total_lag: 35,
                        max_lag_seconds: Some(72.4),
                        partitions: vec![
                            PartitionLag {
                                partition: 0,
                                committed: Some(1165),
                                high_watermark: 1200,
                                lag: 35,
                                lag_seconds: Some(72.4),
                            },
                            PartitionLag {
                                partition: 1,
                                committed: None,
                                high_watermark: 0,
                                lag: 0,
                                lag_seconds: Some(0.0),
                            },
                        ],
                    },
                ],
                dead_letters: DeadLetters {
                    topic: "skein-spans-dlq".into(),
                    records: 1,
                    latest: vec![DeadLetter {
                        partition: 0,
                        offset: 0,
                        timestamp: "2026-01-02T03:00:00.000Z".into(),
                        error: "record value is not a valid OTLP TracesData protobuf".into(),
                        error_kind: "decode".into(),
                        origin_partition: Some(1),
                        origin_offset: Some(4),
                    }],
                },
            },
            elasticsearch: ElasticsearchReport {
                url: "http://127.0.0.1:9200".into(),
                reachable: true,
                error: None,
                status: Some("green".into()),
                indices: vec![
                    IndexReport {
                        name: "jaeger-service-2026-01-02".into(),
                        docs: 12,
                        bytes: 6032,
                        health: "green".into(),
                    },
                    IndexReport {
                        name: "jaeger-span-2026-01-02".into(),
                        docs: 1200,
                        bytes: 3_500_000,
                        health: "green".into(),
                    },
                ],
            },
            analytics: AnalyticsReport {
                group: "skein-analytics".into(),
                watermarks: vec![
                    PartitionWatermark {
                        partition: 0,
                        watermark: Some("2026-01-02T03:02:53.278Z".into()),
                        behind_seconds: Some(72.4),
                    },
                    PartitionWatermark { partition: 1, watermark: None, behind_seconds: None },
                ],
            },
            receivers: ReceiversReport {
                sources: vec![
                    MetricsSource { url: "http://127.0.0.1:14269/metrics".into(), reachable: true, error: None },
                    MetricsSource {
                        url: "http://10.0.0.9:14269/metrics".into(),
                        reachable: false,
                        error: Some("connection refused".into()),
                    },
                ],
                transports: vec![
                    TransportCounts { transport: "otlp_grpc".into(), received: 1206, accepted: 1200, refused: 6 },
                    TransportCounts { transport: "zipkin".into(), received: 0, accepted: 0, refused: 0 },
                ],
                refused_by_reason: vec![ReasonCount { reason: "invalid_trace_id".into(), spans: 6 }],
            },
        }
    }

    #[test]
    fn a_report_renders_as_aligned_tables_per_section() {
        let expected = "\
skein pipeline at 2026-01-02T03:04:05.678Z (from http://127.0.0.1:16686)

Receivers (spans since each collector started)
  http://10.0.0.9:14269/metrics unreachable: connection refused
  TRANSPORT  RECEIVED  ACCEPTED  REFUSED
  otlp_grpc      1206      1200        6
  zipkin            0         0        0
  refused by reason: invalid_trace_id 6

Kafka 127.0.0.1:9092: topic skein-spans, 2 partitions
  group skein-ingester (ingester): Stable, 1 member; lag 0 records, oldest uncommitted 0.0 s
  PARTITION  COMMITTED   END  LAG  BEHIND
          0       1200  1200    0   0.0 s
          1          7     7    0   0.0 s
  group skein-analytics (analytics): Empty, 0 members; lag 35 records, oldest uncommitted 72 s
  PARTITION  COMMITTED   END  LAG  BEHIND
          0       1165  1200   35    72 s
          1          -     0    0   0.0 s

Dead letters: 1 record in skein-spans-dlq
  TIME                       AT  FROM  KIND    ERROR
  2026-01-02T03:00:00.000Z  0/0   1/4  decode  record value is not a valid OTLP TracesData protobuf

Elasticsearch http://127.0.0.1:9200: green
  INDEX                      HEALTH  DOCS     SIZE
  jaeger-service-2026-01-02  green     12  5.9 KiB
  jaeger-span-2026-01-02     green   1200  3.3 MiB

Analytics watermarks (group skein-analytics)
  PARTITION  WATERMARK                 BEHIND
          0  2026-01-02T03:02:53.278Z    72 s
          1  -                              -
";
        let rendered = render(&report(), "http://127.0.0.1:16686");
        assert_eq!(rendered, expected, "got:\n{rendered}");
    }

    #[test]
    fn unreachable_servers_say_why_instead_of_tables() {
        let mut report = report();
        report.kafka.reachable = false;
        report.kafka.error = Some("cannot read the metadata of topic skein-spans: timed out".into());
        report.kafka.groups.clear();
        report.kafka.partitions = 0;
        report.elasticsearch.reachable = false;
        report.elasticsearch.status = None;
        report.elasticsearch.indices.clear();
        report.elasticsearch.error = Some("cannot reach Elasticsearch at http://127.0.0.1:9200".into());
        let rendered = render(&report, "http://q:16686");
        assert!(rendered.contains(
            "Kafka 127.0.0.1:9092: topic skein-spans, 0 partitions\n  unreachable: cannot read the metadata of topic skein-spans: timed out\n"
        ), "{rendered}");
        assert!(rendered.contains(
            "Elasticsearch http://127.0.0.1:9200: unreachable\n  cannot reach Elasticsearch at http://127.0.0.1:9200\n"
        ), "{rendered}");
        assert!(!rendered.contains("PARTITION  COMMITTED"), "{rendered}");
    }

    #[test]
    fn the_json_form_round_trips_through_the_report_type() {
        let json = serde_json::to_value(report()).unwrap();
        assert_eq!(json["kafka"]["groups"][1]["maxLagSeconds"], 72.4);
        assert_eq!(json["kafka"]["deadLetters"]["latest"][0]["errorKind"], "decode");
        assert_eq!(json["receivers"]["refusedByReason"][0]["reason"], "invalid_trace_id");
        assert_eq!(json["analytics"]["watermarks"][1]["behindSeconds"], serde_json::Value::Null);
        let back: PipelineReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report());
    }

    #[tokio::test]
    async fn an_unreachable_query_role_is_an_error_naming_what_to_do() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let args = StatusArgs { config: ConfigArgs::default(), url: Some(format!("http://{closed}")), json: false };
        let error = run(args).await.unwrap_err().to_string();
        assert!(error.contains(&format!("cannot reach the query role at http://{closed}")), "{error}");
        assert!(error.contains("skein query") && error.contains("--url"), "{error}");
    }
}
