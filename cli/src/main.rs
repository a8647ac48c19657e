//! The `skein` command: runs any role of the pipeline, or all of them in one process.

mod indices;
mod options;
mod status;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use skein_core::SkeinConfig;
use tokio_util::sync::CancellationToken;

use options::ConfigArgs;

#[derive(Parser)]
#[command(
    name = "skein",
    version,
    about = "Kafka-centered tracing pipeline: OTLP → Kafka → Elasticsearch (Jaeger schema)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive spans (OTLP :4317/:4318, Jaeger gRPC :14250, Thrift HTTP :14268, agent UDP
    /// :6831/:6832, Zipkin :9411), publish them to Kafka, and serve sampling strategies (:5778).
    Collector(ConfigArgs),
    /// Jaeger agent for a host or a pod: UDP :6831/:6832 and sampling :5778, forwarded to
    /// collectors over Jaeger gRPC (agent.collector_endpoint).
    Agent(ConfigArgs),
    /// Consume the spans topic and index Jaeger documents into Elasticsearch.
    Ingester(ConfigArgs),
    /// Assemble traces from the spans topic into dependency links and latency aggregates in
    /// Elasticsearch; with --from, recompute a past range and exit.
    Analytics(AnalyticsArgs),
    /// Serve Jaeger's HTTP API (:16686) over the indices, for Jaeger UI and Grafana.
    Query(ConfigArgs),
    /// Run every role in one process.
    AllInOne(ConfigArgs),
    /// Create the Kafka topics and install the Elasticsearch index templates, then exit (the
    /// docker compose init service and the Helm hook Job). Retries until both servers answer,
    /// for at most --wait-secs.
    Init(InitArgs),
    /// Load the configuration (file, SKEIN_* variables, flags), check it, and print the result as
    /// YAML with secrets masked; exits non-zero naming the option when it is invalid.
    Config(ConfigArgs),
    /// Exit 0 when URL answers 2xx within a second, else 1: a container health check without curl
    /// (`skein probe http://127.0.0.1:14269/readyz`).
    Probe { url: String },
    /// Reset the ingester group's offsets so the spans topic is indexed again.
    Replay(ReplayArgs),
    /// Send realistic OTLP traces to a collector and report throughput and latency.
    Loadgen(skein_loadgen::LoadgenArgs),
    /// Print the pipeline's health (receivers, consumer lag per partition, dead letters,
    /// Elasticsearch indices, analytics watermarks) from a running query role; exits non-zero
    /// when it cannot be reached. --json prints the report as JSON.
    Status(status::StatusArgs),
    /// Index maintenance: `clean --older-than-days N [--dry-run]` deletes this prefix's indices
    /// older than N days (UTC), as Jaeger's es-index-cleaner does; `rollover init | rollover |
    /// lookback` for Jaeger's alias mode (elasticsearch.use_aliases).
    Indices(indices::IndicesArgs),
}

#[derive(clap::Args)]
struct InitArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    wait_secs: u64,
}

#[derive(clap::Args)]
struct AnalyticsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Backfill: recompute links and aggregates from this time (RFC 3339, or ms since the epoch),
    /// widened to the start of its dependencies bucket, using consumer group
    /// `<analytics.group_id>-backfill`, then exit. Documents of the range are overwritten.
    #[arg(long)]
    from: Option<String>,
    /// Backfill end (exclusive, narrowed to a dependencies bucket boundary). Default: now.
    #[arg(long, requires = "from")]
    to: Option<String>,
}

#[derive(clap::Args)]
struct ReplayArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Start again from the oldest record of every partition.
    #[arg(long, conflicts_with_all = ["to_timestamp", "to_offset"])]
    to_earliest: bool,
    /// Start again from the first record at or after this time (RFC 3339, or ms since the epoch).
    #[arg(long, conflicts_with = "to_offset")]
    to_timestamp: Option<String>,
    /// Start again from this offset in every partition (clamped to what the partition holds).
    #[arg(long)]
    to_offset: Option<i64>,
    /// Consumer group to reset. Default: ingester.group_id.
    #[arg(long)]
    group: Option<String>,
}

// Spans are many small allocations freed on other threads; glibc malloc spent ~30% of CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Collector(args) => run_roles(args.load()?, Roles { collector: true, ..Roles::NONE }).await,
            Command::Agent(args) => run_agent(args.load()?).await,
            Command::Ingester(args) => run_roles(args.load()?, Roles { ingester: true, ..Roles::NONE }).await,
            Command::Analytics(AnalyticsArgs { config, from: Some(from), to }) => backfill(config, &from, to).await,
            Command::Analytics(args) => run_roles(args.config.load()?, Roles { analytics: true, ..Roles::NONE }).await,
            Command::Query(args) => run_roles(args.load()?, Roles { query: true, ..Roles::NONE }).await,
            Command::AllInOne(args) => {
                run_roles(args.load()?, Roles { collector: true, ingester: true, analytics: true, query: true }).await
            }
            Command::Init(args) => init(args).await,
            Command::Config(args) => print_config(args.load()?),
            Command::Probe { url } => probe(&url).await,
            Command::Replay(args) => replay(args),
            Command::Loadgen(args) => Ok(skein_loadgen::run(args).await?),
            Command::Status(args) => status::run(args).await,
            Command::Indices(args) => indices::run(args).await,
        }
    })
}

struct Roles {
    collector: bool,
    ingester: bool,
    analytics: bool,
    query: bool,
}

impl Roles {
    const NONE: Roles = Roles { collector: false, ingester: false, analytics: false, query: false };
}

async fn run_roles(config: SkeinConfig, roles: Roles) -> Result<()> {
    skein_core::telemetry::init_logging(&config.log);
    skein_core::telemetry::prometheus();
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));

    let collector = if roles.collector {
        Some(skein_collector::start(&config, shutdown.clone()).await.context("collector failed to start")?)
    } else {
        None
    };
    let ingester = if roles.ingester {
        Some(skein_ingester::start(&config, shutdown.clone()).await.context("ingester failed to start")?)
    } else {
        None
    };
    let analytics = if roles.analytics {
        Some(skein_analytics::start(&config, shutdown.clone()).await.context("analytics failed to start")?)
    } else {
        None
    };
    let query = if roles.query {
        Some(skein_query::start(&config, shutdown.clone()).await.context("query failed to start")?)
    } else {
        None
    };
    print_endpoints(&config, collector.as_ref(), query.as_ref(), &roles);

    // Every role is waited for (each drains what it holds); the first that failed decides the
    // exit status, so a supervisor restarts the process.
    let mut failed = Vec::new();
    if let Some(collector) = collector {
        failed.extend(collector.join().await.err().map(|e| format!("collector: {e}")));
    }
    if let Some(ingester) = ingester {
        failed.extend(ingester.join().await.err().map(|e| format!("ingester: {e}")));
    }
    if let Some(analytics) = analytics {
        failed.extend(analytics.join().await.err().map(|e| format!("analytics: {e}")));
    }
    if let Some(query) = query {
        failed.extend(query.join().await.err().map(|e| format!("query: {e}")));
    }
    if !failed.is_empty() {
        anyhow::bail!("stopped because a role failed: {}", failed.join("; "));
    }
    Ok(())
}

async fn init(args: InitArgs) -> Result<()> {
    use skein_core::retry::{until_ok, Backoff};
    use std::cell::RefCell;
    use std::time::Duration;
    let config = args.config.load()?;
    skein_core::telemetry::init_logging(&config.log);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.wait_secs);
    let names = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    let es = &config.elasticsearch;
    let mut templates = names.templates(es.shards, es.replicas);
    templates.extend(names.analytics_templates(es.shards, es.replicas));
    let client = skein_core::elasticsearch::client(es).context("cannot build the Elasticsearch client")?;
    // Both are retried side by side until the deadline; the attempts in progress then still end.
    let give_up = CancellationToken::new();
    tokio::spawn({
        let give_up = give_up.clone();
        async move {
            tokio::time::sleep_until(deadline).await;
            give_up.cancel();
        }
    });
    let every_3_s = Backoff { initial: Duration::from_secs(3), max: Duration::from_secs(3) };
    // The last failure of each, for the message when init gives up.
    let (topics_error, templates_error) = (RefCell::new(String::new()), RefCell::new(String::new()));
    let create = || async {
        skein_core::kafka::ensure_topics(&config.kafka).await.inspect_err(|error| {
            topics_error.replace(error.to_string());
        })
    };
    let install = || async {
        skein_core::elasticsearch::install_templates(&client, es, &templates).await.inspect_err(|error| {
            templates_error.replace(error.to_string());
        })
    };
    let (topics, installed) = tokio::join!(
        until_ok("create topics", every_3_s, &give_up, create),
        until_ok("install index templates", every_3_s, &give_up, install),
    );
    if topics.is_none() || installed.is_none() {
        let reason = [(topics, topics_error), (installed, templates_error)]
            .into_iter()
            .filter(|(done, _)| done.is_none())
            .map(|(_, error)| error.into_inner())
            .collect::<Vec<_>>()
            .join("; ");
        anyhow::bail!("init gave up after {} s: {reason}", args.wait_secs);
    }
    println!(
        "init done: topics {} ({} partitions) and {}; {} index templates in {}",
        config.kafka.spans_topic,
        config.kafka.partitions,
        config.kafka.dlq_topic,
        templates.len(),
        es.url
    );
    Ok(())
}

fn print_config(mut config: SkeinConfig) -> Result<()> {
    for secret in [&mut config.elasticsearch.password, &mut config.kafka.sasl_password] {
        if secret.is_some() {
            *secret = Some("********".into());
        }
    }
    print!("{}", serde_yaml::to_string(&config).context("cannot print the configuration")?);
    Ok(())
}

async fn probe(url: &str) -> Result<()> {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(1)).build()?;
    let response = client.get(url).send().await.with_context(|| format!("{url} did not answer"))?;
    anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
    Ok(())
}

async fn run_agent(config: SkeinConfig) -> Result<()> {
    skein_core::telemetry::init_logging(&config.log);
    skein_core::telemetry::prometheus();
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let agent = skein_agent::start(&config, shutdown).await.context("agent failed to start")?;
    let (r, adm) = (scheme(&config.listeners.receivers), scheme(&config.listeners.admin));
    let mut lines = vec!["skein agent is running:".to_string()];
    if let Some(addr) = agent.addresses.compact_udp {
        lines.push(format!("  Jaeger UDP compact  {addr}   (JAEGER_AGENT_HOST / OTEL_EXPORTER_JAEGER_AGENT_PORT)"));
    }
    if let Some(addr) = agent.addresses.binary_udp {
        lines.push(format!("  Jaeger UDP binary   {addr}"));
    }
    if let Some(addr) = agent.addresses.sampling_http {
        lines.push(format!("  sampling            {r}://{addr}/sampling?service=NAME"));
    }
    lines.push(format!("  forwarding to       {} (Jaeger gRPC)", config.agent.collector_endpoint));
    lines.push(format!("  admin               {adm}://{}/metrics  /healthz  /readyz", config.agent.admin_listen));
    println!("{}", lines.join("\n"));
    agent.join().await.context("agent failed")?;
    Ok(())
}

async fn backfill(args: ConfigArgs, from: &str, to: Option<String>) -> Result<()> {
    let config = args.load()?;
    skein_core::telemetry::init_logging(&config.log);
    skein_core::telemetry::prometheus();
    let from_ms = parse_time(from).context("--from")?;
    let to_ms = match to {
        Some(to) => parse_time(&to).context("--to")?,
        None => chrono::Utc::now().timestamp_millis(),
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let report = skein_analytics::backfill(&config, from_ms, to_ms, shutdown).await?;
    println!(
        "backfill done: {} partitions, {} records read, {} documents written",
        report.partitions, report.records, report.documents
    );
    Ok(())
}

/// `https` when a listener group serves TLS, else `http`.
fn scheme(group: &skein_core::config::ListenerGroupConfig) -> &'static str {
    if group.tls.enabled() {
        "https"
    } else {
        "http"
    }
}

/// An address a browser can open: a wildcard listen address is reached on loopback.
fn browsable(address: std::net::SocketAddr) -> std::net::SocketAddr {
    match address.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => (std::net::Ipv4Addr::LOCALHOST, address.port()).into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => (std::net::Ipv6Addr::LOCALHOST, address.port()).into(),
        _ => address,
    }
}

fn print_endpoints(
    config: &SkeinConfig,
    collector: Option<&skein_core::role::RunningRole<skein_collector::CollectorAddresses>>,
    query: Option<&skein_core::role::RunningRole<skein_query::QueryAddresses>>,
    roles: &Roles,
) {
    let (r, q, adm) =
        (scheme(&config.listeners.receivers), scheme(&config.listeners.query), scheme(&config.listeners.admin));
    let mut lines = vec!["skein is running:".to_string()];
    if let Some(query) = query {
        // The one URL a person opens: search, traces, service graph, monitor and pipeline health.
        lines.push(format!("  open the UI        {q}://{}/", browsable(query.addresses.api)));
    }
    if let Some(collector) = collector {
        lines.push(format!(
            "  OTLP gRPC          {}   (OTEL_EXPORTER_OTLP_ENDPOINT={r}://{})",
            collector.addresses.otlp_grpc, collector.addresses.otlp_grpc
        ));
        lines.push(format!("  OTLP HTTP          {r}://{}/v1/traces", collector.addresses.otlp_http));
        let a = &collector.addresses;
        if let Some(addr) = a.jaeger_grpc {
            lines.push(format!("  Jaeger gRPC        {addr}   (PostSpans, SamplingManager)"));
        }
        if let Some(addr) = a.jaeger_thrift_http {
            lines.push(format!("  Jaeger Thrift HTTP {r}://{addr}/api/traces"));
        }
        match (a.jaeger_compact_udp, a.jaeger_binary_udp) {
            (Some(compact), Some(binary)) => {
                lines.push(format!("  Jaeger agent UDP   {compact} (compact)  {binary} (binary)"))
            }
            (Some(addr), None) | (None, Some(addr)) => lines.push(format!("  Jaeger agent UDP   {addr}")),
            (None, None) => {}
        }
        if let Some(addr) = a.zipkin {
            lines.push(format!("  Zipkin             {r}://{addr}/api/v2/spans"));
        }
        if let Some(addr) = a.sampling_http {
            lines.push(format!("  sampling           {r}://{addr}/sampling?service=NAME"));
        }
        lines
            .push(format!("  collector admin    {adm}://{}/metrics  /healthz  /readyz", config.collector.admin_listen));
    }
    if roles.ingester {
        lines.push(format!("  ingester admin     {adm}://{}/metrics  /healthz  /readyz", config.ingester.admin_listen));
    }
    if let Some(query) = query {
        lines.push(format!(
            "  Jaeger query API   {q}://{}/api/services   (the URL for Jaeger UI and Grafana's Jaeger data source)",
            query.addresses.api
        ));
        lines.push(format!("  query admin        {adm}://{}/metrics  /healthz  /readyz", config.query.admin_listen));
    }
    if roles.analytics {
        lines.push(format!(
            "  analytics admin    {adm}://{}/metrics  (RED metrics per service/operation)",
            config.analytics.admin_listen
        ));
    }
    lines.push(format!(
        "  Kafka              {}  topic {} (DLQ {})",
        config.kafka.brokers, config.kafka.spans_topic, config.kafka.dlq_topic
    ));
    let prefix = skein_schemas::elasticsearch::IndexNames::new(&config.elasticsearch.index_prefix);
    lines.push(format!(
        "  Elasticsearch      {}  indices {}, {}",
        config.elasticsearch.url,
        prefix.span_pattern(),
        prefix.service_pattern()
    ));
    lines.push(format!(
        "  look at spans      curl -s '{}/{}/_search?size=5&pretty'",
        config.elasticsearch.url.trim_end_matches('/'),
        prefix.span_pattern()
    ));
    if roles.analytics {
        lines.push(format!(
            "  dependency links   curl -s '{}/{}/_search?size=5&pretty'   (latency: {})",
            config.elasticsearch.url.trim_end_matches('/'),
            prefix.dependencies_pattern(),
            prefix.metrics_pattern()
        ));
    }
    lines.push("Press Ctrl-C to stop.".to_string());
    println!("{}", lines.join("\n"));
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: draining in-flight work");
    shutdown.cancel();
}

fn replay(args: ReplayArgs) -> Result<()> {
    use skein_ingester::replay::{reset_offsets, ReplayTarget};
    let config = args.config.load()?;
    skein_core::telemetry::init_logging(&config.log);
    let target = match (args.to_earliest, args.to_timestamp, args.to_offset) {
        (true, None, None) => ReplayTarget::Earliest,
        (false, Some(time), None) => ReplayTarget::Timestamp(parse_time(&time).context("--to-timestamp")?),
        (false, None, Some(offset)) => ReplayTarget::Offset(offset),
        _ => anyhow::bail!("say where to replay from: --to-earliest, --to-timestamp TIME or --to-offset N"),
    };
    let group = args.group.unwrap_or_else(|| config.ingester.group_id.clone());
    let offsets = reset_offsets(&config.kafka, &group, &config.kafka.spans_topic, target)?;
    println!("reset consumer group {group} on topic {}:", config.kafka.spans_topic);
    for (partition, offset) in offsets {
        println!("  partition {partition:>3} → offset {offset}");
    }
    println!("start the ingesters to re-index; documents are overwritten, not duplicated");
    Ok(())
}

/// RFC 3339 or milliseconds since the epoch.
fn parse_time(text: &str) -> Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let time = chrono::DateTime::parse_from_rfc3339(text).with_context(|| {
        format!("{text:?} is neither RFC 3339 (2024-05-01T12:00:00Z) nor milliseconds since the epoch")
    })?;
    Ok(time.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_time_accepts_rfc3339_and_epoch_millis() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000_000);
        assert!(parse_time("yesterday").unwrap_err().to_string().contains("RFC 3339"));
    }
}
