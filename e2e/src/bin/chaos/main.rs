//! The chaos suite (`make chaos`, `make chaos-short`; see RELIABILITY.md): real `skein` processes
//! on a three-node Kafka and an Elasticsearch of their own, a fixed load, and faults while it
//! runs — ingesters SIGKILLed and replaced (the group going 1 → 3 → 1), a Kafka node SIGKILLed
//! and restarted, Elasticsearch stopped, collectors restarted, analytics SIGKILLed. Then it checks
//! that every span a collector acknowledged is in Elasticsearch exactly once, that analytics wrote
//! exactly what an uninterrupted run over the same records writes, and that nothing was
//! dead-lettered; it prints the figures and exits non-zero on any violation.
//!
//! A binary, not a `#[test]`: it runs for minutes, reports as it goes, and owns servers it starts
//! and stops, none of which suits the test harness (captured output, shared dev servers).
//!
//! `chaos [--short]`; SKEIN_CHAOS_KEEP=1 leaves the servers running at the end.

mod assignments;
mod children;
mod infra;
mod offsets;
mod plan;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use children::Children;
use infra::{Servers, BOOTSTRAP};
use offsets::{consumed_again, largest_lag, longest_stall, written_again, Sample, Sampler};
use plan::{Fault, Profile, Then};

const PARTITIONS: i32 = 6;
/// Sampler group indices.
const INGESTERS: usize = 0;
const ANALYTICS: usize = 1;
const REFERENCE: usize = 2;
/// How long a load generator resends a request it could not deliver: longer than any fault.
const LOADGEN_RETRY_SECS: u64 = 120;
/// Longest wait for every partition to be consumed again after a stage of faults; longer is a
/// violation (a take-over that does not happen).
const RECOVERY_CAP: Duration = Duration::from_secs(90);
/// Pause between one stage's recovery and the next stage.
const STAGE_GAP: Duration = Duration::from_secs(3);

/// The current-thread runtime is deliberate: every child is spawned from the main thread, which
/// `PR_SET_PDEATHSIG` ties the children's lives to (see `children`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let short = std::env::args().any(|a| a == "--short");
    let profile = if short { Profile::short() } else { Profile::full() };
    let budget = Duration::from_secs(profile.budget_secs);
    let mut run = match Run::new(profile) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("[chaos] cannot start: {error:#}");
            return ExitCode::from(2);
        }
    };
    let outcome = {
        let suite = tokio::time::timeout(budget, run.suite());
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            outcome = suite => outcome.unwrap_or_else(|_| Err(anyhow::anyhow!("the run did not end within its budget of {budget:?}"))),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
            _ = terminate.recv() => Err(anyhow::anyhow!("terminated")),
        }
    };
    if let Err(error) = &outcome {
        run.violations.push(format!("the run failed: {error:#}"));
    }
    let report = run.report();
    println!("{report}");
    let _ = std::fs::write(run.dir.join("report.txt"), &report);
    run.children.kill_all();
    run.servers.stop();
    if run.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What one fault was, when, and what to measure after it.
struct Event {
    /// Seconds on the run's clock.
    t: f64,
    label: String,
    ingesters: bool,
    analytics: bool,
    writes: bool,
    note: Option<String>,
    /// Applied while the load generators were still sending.
    under_load: bool,
    /// A consumer was killed: its partitions have to be taken over.
    member_died: bool,
}

/// Figures of the load generators, from their `--summary-json`.
#[derive(Default)]
struct Load {
    sent: u64,
    acked: u64,
    resends: u64,
    failed: u64,
    first_error: Option<String>,
    /// Slowest acknowledgement (a request held up by a fault, resends included), ms.
    latency_max_ms: f64,
    latency_p99_ms: f64,
}

struct Run {
    profile: Profile,
    tag: String,
    dir: PathBuf,
    // Declared before `servers`: roles are killed before the servers stop.
    children: Children,
    servers: Servers,
    sampler: Option<Sampler>,
    clock: Instant,
    /// The wall time of `clock`'s start: the roles' logs are stamped in UTC.
    clock_utc: chrono::DateTime<chrono::Utc>,
    load_started: f64,
    setup_secs: f64,
    events: Vec<Event>,
    violations: Vec<String>,
    figures: Vec<String>,
    ingesters: Vec<usize>,
    next_ingester: usize,
    samples: Vec<Sample>,
}

impl Run {
    fn new(profile: Profile) -> Result<Self> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("repo root")?.to_path_buf();
        let binary = repo.join("target/debug/skein");
        if !binary.exists() {
            bail!("{} is missing: run `cargo build -p skein` first (make chaos does)", binary.display());
        }
        plan::ingester_groups(&profile.faults())
            .map_err(|e| anyhow::anyhow!("the {} profile is inconsistent: {e}", profile.name))?;
        let tag = format!("chaos-{:x}", chrono::Utc::now().timestamp());
        let dir = repo.join("target/chaos").join(&tag);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            children: Children::new(&binary, &dir),
            servers: Servers::new(&repo),
            profile,
            tag,
            dir,
            sampler: None,
            clock: Instant::now(),
            clock_utc: chrono::Utc::now(),
            load_started: 0.0,
            setup_secs: 0.0,
            events: Vec::new(),
            violations: Vec::new(),
            figures: Vec::new(),
            ingesters: Vec::new(),
            next_ingester: 1,
            samples: Vec::new(),
        })
    }

    fn now(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    fn say(&self, message: &str) {
        eprintln!("[chaos {:>6.1}s] {message}", self.now() - self.load_started);
    }

    fn topic(&self) -> String {
        format!("{}-spans", self.tag)
    }
    fn dlq(&self) -> String {
        format!("{}-dlq", self.tag)
    }
    fn group(&self, role: &str) -> String {
        format!("{}-{role}", self.tag)
    }
    fn reference_prefix(&self) -> String {
        format!("{}-reference", self.tag)
    }

    /// What every role shares: the cluster, the topics, the chaos Elasticsearch.
    fn common_env(&self) -> Vec<(String, String)> {
        [
            ("SKEIN_KAFKA__BROKERS", BOOTSTRAP.to_string()),
            ("SKEIN_KAFKA__SPANS_TOPIC", self.topic()),
            ("SKEIN_KAFKA__DLQ_TOPIC", self.dlq()),
            ("SKEIN_KAFKA__PARTITIONS", PARTITIONS.to_string()),
            ("SKEIN_KAFKA__REPLICATION_FACTOR", "3".into()),
            ("SKEIN_ELASTICSEARCH__URL", infra::es_url()),
            ("SKEIN_ELASTICSEARCH__INDEX_PREFIX", self.tag.clone()),
            ("SKEIN_LOG__LEVEL", "info".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn collector_ports(which: usize) -> (u16, u16, u16) {
        let offset = 100 * (which as u16 - 1);
        (19317 + offset, 19318 + offset, 19269 + offset)
    }

    async fn start_collector(&mut self, which: usize) -> Result<f64> {
        let started = Instant::now();
        let (grpc, http, admin) = Self::collector_ports(which);
        let mut env = self.common_env();
        for (key, value) in [
            ("OTLP_GRPC_LISTEN", format!("127.0.0.1:{grpc}")),
            ("OTLP_HTTP_LISTEN", format!("127.0.0.1:{http}")),
            ("ADMIN_LISTEN", format!("127.0.0.1:{admin}")),
            ("JAEGER_GRPC_LISTEN", "off".into()),
            ("JAEGER_THRIFT_HTTP_LISTEN", "off".into()),
            ("JAEGER_COMPACT_UDP_LISTEN", "off".into()),
            ("JAEGER_BINARY_UDP_LISTEN", "off".into()),
            ("ZIPKIN_LISTEN", "off".into()),
            ("SAMPLING_HTTP_LISTEN", "off".into()),
        ] {
            env.push((format!("SKEIN_COLLECTOR__{key}"), value));
        }
        self.children.spawn(&format!("collector-{which}"), &["collector"], &env)?;
        wait_ready(&format!("collector-{which}"), admin, Duration::from_secs(60)).await?;
        Ok(started.elapsed().as_secs_f64())
    }

    fn ingester_admin(n: usize) -> u16 {
        19270 + n as u16
    }

    fn start_ingester(&mut self, n: usize) -> Result<()> {
        let mut env = self.common_env();
        env.push(("SKEIN_INGESTER__GROUP_ID".into(), self.group("ingester")));
        // Static membership: ingester N keeps its id across restarts, a new one gets a new id.
        env.push(("SKEIN_KAFKA__GROUP_INSTANCE_ID".into(), format!("ingester-{n}")));
        env.push(("SKEIN_INGESTER__ADMIN_LISTEN".into(), format!("127.0.0.1:{}", Self::ingester_admin(n))));
        self.children.spawn(&format!("ingester-{n}"), &["ingester"], &env)?;
        Ok(())
    }

    fn analytics_env(&self, group: &str, prefix: &str, admin: u16) -> Vec<(String, String)> {
        let mut env = self.common_env();
        env.retain(|(k, _)| k != "SKEIN_ELASTICSEARCH__INDEX_PREFIX");
        for (key, value) in [
            ("SKEIN_ELASTICSEARCH__INDEX_PREFIX", prefix.to_string()),
            ("SKEIN_ANALYTICS__GROUP_ID", group.to_string()),
            ("SKEIN_ANALYTICS__ADMIN_LISTEN", format!("127.0.0.1:{admin}")),
            // Short windows so a few minutes of load give many closed traces and buckets.
            ("SKEIN_ANALYTICS__TRACE_IDLE_MS", "2000".into()),
            ("SKEIN_ANALYTICS__TRACE_MAX_AGE_MS", "30000".into()),
            ("SKEIN_ANALYTICS__BUCKET_SECONDS", "10".into()),
            ("SKEIN_ANALYTICS__DEPENDENCIES_BUCKET_SECONDS", "60".into()),
            ("SKEIN_ANALYTICS__IDLE_PARTITION_MS", "1000".into()),
        ] {
            env.push((key.to_string(), value));
        }
        env
    }

    fn start_analytics(&mut self) -> Result<()> {
        let mut env = self.analytics_env(&self.group("analytics"), &self.tag.clone(), 19290);
        env.push(("SKEIN_KAFKA__GROUP_INSTANCE_ID".into(), "analytics-1".into()));
        self.children.spawn("analytics", &["analytics"], &env)?;
        Ok(())
    }

    fn start_loadgen(&mut self, which: usize) -> Result<()> {
        let collectors = self.profile.collectors as u64;
        let (_, http, _) = Self::collector_ports(which);
        let rate = (self.profile.rate / collectors).to_string();
        let total = (self.profile.total / collectors).to_string();
        let summary = self.dir.join(format!("loadgen-{which}.json"));
        let endpoint = format!("http://127.0.0.1:{http}");
        let seed = (1000 + which).to_string();
        let retry = LOADGEN_RETRY_SECS.to_string();
        let args = [
            "loadgen",
            "--protocol",
            "http-protobuf",
            "--endpoint",
            &endpoint,
            "--rate",
            &rate,
            "--total",
            &total,
            "--batch",
            "100",
            "--concurrency",
            "8",
            "--retry-secs",
            &retry,
            "--seed",
            &seed,
            "--summary-json",
            summary.to_str().context("UTF-8 path")?,
        ];
        self.children.spawn(&format!("loadgen-{which}"), &args, &[])?;
        Ok(())
    }

    fn event(&mut self, label: String, ingesters: bool, analytics: bool, writes: bool, note: Option<String>) {
        self.say(&format!("{label}{}", note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()));
        let under_load = (1..=self.profile.collectors).any(|w| self.children.alive(&format!("loadgen-{w}")));
        let member_died = label.starts_with("SIGKILL ingester") || label.starts_with("SIGKILL analytics");
        self.events.push(Event { t: self.now(), label, ingesters, analytics, writes, note, under_load, member_died });
    }

    /// Wait until the partitions are consumed (and written) again after `events[first..]`, as
    /// each asks; past [`RECOVERY_CAP`] that is a violation.
    async fn wait_recovered(&mut self, first: usize) {
        let started = Instant::now();
        loop {
            let samples = self.sampler.as_ref().map(Sampler::samples).unwrap_or_default();
            let pending: Vec<String> = self.events[first..]
                .iter()
                .filter(|e| {
                    (e.ingesters && consumed_again(&samples, INGESTERS, e.t).is_none())
                        || (e.analytics && consumed_again(&samples, ANALYTICS, e.t).is_none())
                        || (e.writes && written_again(&samples, e.t).is_none())
                })
                .map(|e| e.label.clone())
                .collect();
            if pending.is_empty() {
                return;
            }
            if started.elapsed() > RECOVERY_CAP {
                self.violations.push(format!("not recovered within {RECOVERY_CAP:?}: {}", pending.join("; ")));
                return;
            }
            self.check_roles();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn check_roles(&mut self) {
        for (name, status) in self.children.exited_by_themselves("loadgen") {
            let log = self.children.log_path(&name);
            self.violations.push(format!("{name} exited by itself ({status}); see {}", log.display()));
        }
    }

    async fn suite(&mut self) -> Result<()> {
        self.say(&format!("profile {}: logs and report in {}", self.profile.name, self.dir.display()));
        self.say("starting the three-node Kafka (fresh) and the chaos Elasticsearch on 127.0.0.1:19200");
        self.servers.start().await?;
        let http = reqwest::Client::new();
        // Indices of earlier runs would only slow the checks down.
        let _ = http.delete(format!("{}/chaos-*", infra::es_url())).send().await;

        let kafka = skein_core::config::KafkaConfig {
            brokers: BOOTSTRAP.into(),
            spans_topic: self.topic(),
            dlq_topic: self.dlq(),
            partitions: PARTITIONS,
            replication_factor: 3,
            ..Default::default()
        };
        skein_core::kafka::ensure_topics(&kafka).await?;
        let replicas = verify::replication(BOOTSTRAP, &self.topic())?;
        if replicas.len() != PARTITIONS as usize || replicas.iter().any(|&r| r != 3) {
            bail!("the spans topic should have {PARTITIONS} partitions of 3 replicas: {replicas:?}");
        }

        let groups = [self.group("ingester"), self.group("analytics"), self.group("reference")];
        self.sampler = Some(Sampler::start(BOOTSTRAP, &self.topic(), PARTITIONS, &groups, self.clock));

        for which in 1..=self.profile.collectors {
            self.start_collector(which).await?;
        }
        self.start_ingester(1)?;
        self.ingesters.push(1);
        self.next_ingester = 2;
        self.start_analytics()?;
        wait_ready("ingester-1", Self::ingester_admin(1), Duration::from_secs(60)).await?;
        wait_ready("analytics", 19290, Duration::from_secs(60)).await?;

        self.load_started = self.now();
        self.setup_secs = self.load_started;
        self.say(&format!(
            "load: {} spans at {} spans/s over {} collectors (set-up took {:.0} s)",
            self.profile.total, self.profile.rate, self.profile.collectors, self.setup_secs
        ));
        for which in 1..=self.profile.collectors {
            self.start_loadgen(which)?;
        }
        for stage in self.profile.stages.clone() {
            self.check_roles();
            let first = self.events.len();
            for fault in stage {
                self.apply(fault).await?;
            }
            self.wait_recovered(first).await;
            tokio::time::sleep(STAGE_GAP).await;
        }
        if self.events.iter().any(|e| !e.under_load) {
            self.figures.push("note         some faults came after the load had ended (see the table)".into());
        }

        let load = self.wait_load().await?;
        self.check_roles();
        self.figures.push(format!(
            "load         {} spans sent, {} acknowledged, {} resends, {} requests given up; ack latency p99 {:.0} ms, max {:.0} ms{}",
            load.sent,
            load.acked,
            load.resends,
            load.failed,
            load.latency_p99_ms,
            load.latency_max_ms,
            load.first_error.as_ref().map(|e| format!(" (first error: {e})")).unwrap_or_default()
        ));
        if load.failed > 0 {
            self.violations.push(format!(
                "the load generators gave up on {} requests: acknowledged and stored spans cannot be compared",
                load.failed
            ));
        }
        if load.acked != self.profile.total {
            self.violations.push(format!("{} spans acknowledged of {} sent", load.acked, self.profile.total));
        }

        self.say("load done; waiting for the ingesters to commit everything");
        self.wait_caught_up(INGESTERS, "ingester", Duration::from_secs(3), Duration::from_secs(240)).await?;
        self.check_spans(&load).await?;

        self.say("waiting for analytics to close every trace and bucket (no more watermark markers)");
        self.wait_caught_up(ANALYTICS, "analytics", Duration::from_secs(10), Duration::from_secs(240)).await?;
        self.children.terminate("analytics", Duration::from_secs(30)).await?;
        self.check_roles();
        self.check_analytics().await?;

        let dead = verify::topic_records(BOOTSTRAP, &self.dlq())?;
        self.figures.push(format!("dead letters {dead}"));
        if dead != 0 {
            self.violations.push(format!("{dead} records were dead-lettered"));
        }
        Ok(())
    }

    async fn apply(&mut self, fault: Fault) -> Result<()> {
        match fault {
            Fault::ScaleIngestersTo(n) => {
                let before = self.ingesters.len();
                while self.ingesters.len() < n {
                    let next = self.next_ingester;
                    self.start_ingester(next)?;
                    self.ingesters.push(next);
                    self.next_ingester += 1;
                }
                self.event(format!("ingesters {before} → {n}"), true, false, false, None);
            }
            Fault::KillIngester(n, then) => {
                self.children.kill(&format!("ingester-{n}"))?;
                let position = self.ingesters.iter().position(|&i| i == n).context("ingester tracked")?;
                let label = match then {
                    Then::Same => {
                        self.start_ingester(n)?;
                        format!("SIGKILL ingester-{n}, started again")
                    }
                    Then::New => {
                        let next = self.next_ingester;
                        self.start_ingester(next)?;
                        self.ingesters[position] = next;
                        self.next_ingester += 1;
                        format!("SIGKILL ingester-{n}, replaced by ingester-{next}")
                    }
                    Then::Gone => {
                        self.ingesters.remove(position);
                        format!("SIGKILL ingester-{n}, not replaced ({} left)", self.ingesters.len())
                    }
                };
                self.event(label, true, false, false, None);
            }
            Fault::BrokerCrash { node, down_secs } => {
                self.servers.kill_broker(node).await?;
                self.event(format!("SIGKILL Kafka node {node}"), true, true, true, None);
                tokio::time::sleep(Duration::from_secs(down_secs)).await;
                let started = Instant::now();
                self.servers.start_broker(node).await?;
                let note = format!(
                    "down {down_secs} s; answering metadata {:.1} s after its start",
                    started.elapsed().as_secs_f64()
                );
                self.event(format!("Kafka node {node} started again"), true, true, true, Some(note));
            }
            Fault::ElasticsearchOutage { secs } => {
                let stopping = Instant::now();
                self.servers.stop_es().await?;
                let note = format!("stopping took {:.1} s", stopping.elapsed().as_secs_f64());
                self.event("Elasticsearch stopped".into(), false, false, false, Some(note));
                tokio::time::sleep(Duration::from_secs(secs)).await;
                let started = Instant::now();
                self.servers.start_es().await?;
                let note = format!("down {secs} s; healthy {:.1} s after its start", started.elapsed().as_secs_f64());
                self.event("Elasticsearch back".into(), true, true, false, Some(note));
            }
            Fault::RestartCollector { which, sigkill } => {
                let name = format!("collector-{which}");
                let stopped = Instant::now();
                let how = if sigkill {
                    self.children.kill(&name)?;
                    "SIGKILL"
                } else {
                    let status = self.children.terminate(&name, Duration::from_secs(30)).await?;
                    if !status.is_some_and(|s| s.success()) {
                        self.violations.push(format!("{name} did not drain and exit cleanly on SIGTERM: {status:?}"));
                    }
                    "SIGTERM"
                };
                self.start_collector(which).await?;
                let note = format!("accepting again {:.1} s after the signal", stopped.elapsed().as_secs_f64());
                self.event(format!("{how} {name}, started again"), false, false, true, Some(note));
            }
            Fault::KillAnalytics => {
                self.children.kill("analytics")?;
                self.start_analytics()?;
                self.event("SIGKILL analytics, started again".into(), false, true, false, None);
            }
        }
        Ok(())
    }

    /// Wait for the load generators; add up their summaries.
    async fn wait_load(&mut self) -> Result<Load> {
        let mut load = Load::default();
        let timeout = Duration::from_secs(self.profile.load_secs() + LOADGEN_RETRY_SECS + 30);
        for which in 1..=self.profile.collectors {
            let name = format!("loadgen-{which}");
            let status = self.children.wait_exit(&name, timeout).await?;
            if !status.success() {
                bail!("{name} failed ({status}); see {}", self.children.log_path(&name).display());
            }
            let path = self.dir.join(format!("{name}.json"));
            let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
            let count = |key: &str| summary[key].as_u64().unwrap_or(0);
            load.sent += count("sent_spans");
            load.acked += count("acked_spans");
            load.resends += count("resends");
            load.failed +=
                count("failed_429") + count("failed_503") + count("failed_unreachable") + count("failed_other");
            load.latency_max_ms = load.latency_max_ms.max(summary["latency_max_ms"].as_f64().unwrap_or(0.0));
            load.latency_p99_ms = load.latency_p99_ms.max(summary["latency_p99_ms"].as_f64().unwrap_or(0.0));
            if load.first_error.is_none() {
                load.first_error = summary["first_error"].as_str().map(str::to_string);
            }
        }
        Ok(load)
    }

    /// Wait until group `g` has committed the whole topic and the topic has not grown for
    /// `quiet` (analytics: no watermark markers any more, so nothing is left open).
    async fn wait_caught_up(&mut self, g: usize, what: &str, quiet: Duration, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut since: Option<(f64, Vec<i64>)> = None;
        loop {
            if let Some(sample) = self.sampler.as_ref().and_then(Sampler::latest) {
                let done = sample.lag(g) == 0;
                match &since {
                    Some((t, end)) if done && *end == sample.end => {
                        if sample.t - t >= quiet.as_secs_f64() {
                            return Ok(());
                        }
                    }
                    _ => since = done.then(|| (sample.t, sample.end.clone())),
                }
            }
            if Instant::now() > deadline {
                let lag = self.sampler.as_ref().and_then(Sampler::latest).map(|s| s.lag(g));
                bail!("the {what} group did not catch up within {timeout:?} (lag {lag:?})");
            }
            self.check_roles();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn check_spans(&mut self, load: &Load) -> Result<()> {
        let census = verify::span_census(&infra::es_url(), &format!("{}-jaeger-span-*", self.tag)).await?;
        let lost = load.acked.saturating_sub(census.distinct);
        let duplicated = census.documents - census.distinct;
        let unexpected = census.distinct.saturating_sub(load.acked);
        self.figures.push(format!(
            "stored       {} span documents, {} distinct spans: {lost} lost, {duplicated} duplicated, {unexpected} not acknowledged",
            census.documents, census.distinct
        ));
        if lost > 0 {
            self.violations.push(format!("{lost} acknowledged spans are missing from Elasticsearch"));
        }
        if duplicated > 0 {
            self.violations.push(format!("{duplicated} spans stored more than once, e.g. {:?}", census.duplicated));
        }
        if unexpected > 0 {
            self.violations.push(format!("{unexpected} spans stored that no collector acknowledged"));
        }
        Ok(())
    }

    /// A reference analytics worker, uninterrupted, over the same records (watermark markers of the
    /// chaos worker included) into its own prefix, must write the very same documents.
    async fn check_analytics(&mut self) -> Result<()> {
        self.say("reference run: a fresh analytics group over the same topic, uninterrupted");
        let env = self.analytics_env(&self.group("reference"), &self.reference_prefix(), 19291);
        let end_before = self.sampler.as_ref().and_then(Sampler::latest).map(|s| s.end);
        self.children.spawn("analytics-reference", &["analytics"], &env)?;
        self.wait_caught_up(REFERENCE, "reference analytics", Duration::from_secs(10), Duration::from_secs(240))
            .await?;
        self.children.terminate("analytics-reference", Duration::from_secs(30)).await?;
        let end_after = self.sampler.as_ref().and_then(Sampler::latest).map(|s| s.end);
        if end_before != end_after {
            self.figures.push("note         the reference worker wrote watermark markers of its own".into());
        }
        let es = skein_e2e::Es::at(&infra::es_url());
        let chaos = es.analytics_documents(&self.tag).await;
        let reference = es.analytics_documents(&self.reference_prefix()).await;
        let missing: Vec<_> = reference.keys().filter(|k| !chaos.contains_key(*k)).collect();
        let extra: Vec<_> = chaos.keys().filter(|k| !reference.contains_key(*k)).collect();
        let differ: Vec<_> =
            reference.iter().filter(|(k, d)| chaos.get(*k).is_some_and(|c| c != *d)).map(|(k, _)| k).collect();
        self.figures.push(format!(
            "analytics    {} documents; an uninterrupted run wrote {}: {} missing, {} extra, {} different",
            chaos.len(),
            reference.len(),
            missing.len(),
            extra.len(),
            differ.len()
        ));
        if reference.is_empty() {
            self.violations.push("analytics wrote no documents at all".into());
        }
        if !missing.is_empty() || !extra.is_empty() || !differ.is_empty() {
            let first =
                |v: &[&(String, String)]| v.iter().take(3).map(|k| format!("{}/{}", k.0, k.1)).collect::<Vec<_>>();
            self.violations.push(format!(
                "analytics documents differ from an uninterrupted run's: missing {:?}, extra {:?}, different {:?}",
                first(&missing),
                first(&extra),
                first(&differ)
            ));
        }
        Ok(())
    }

    fn report(&mut self) -> String {
        if let Some(mut sampler) = self.sampler.take() {
            sampler.stop();
            self.samples = sampler.samples();
            let lines: Vec<String> = self.samples.iter().filter_map(|s| serde_json::to_string(s).ok()).collect();
            let _ = std::fs::write(self.dir.join("samples.jsonl"), lines.join("\n") + "\n");
        }
        let samples = &self.samples;
        let t0 = self.load_started;
        let mut lines = vec![
            String::new(),
            format!("chaos suite ({}), run {} — {}", self.profile.name, self.tag, chrono::Utc::now().to_rfc3339()),
            format!(
                "workload     {} spans at {} spans/s over {} collectors, {PARTITIONS} partitions, replication 3, min ISR 2",
                self.profile.total, self.profile.rate, self.profile.collectors
            ),
        ];
        lines.extend(self.figures.iter().cloned());
        for (g, name) in [(INGESTERS, "ingesters"), (ANALYTICS, "analytics")] {
            let (lag, at) = largest_lag(samples, g);
            let (stall, from) = longest_stall(samples, g);
            lines.push(format!(
                "{name:<12} largest lag {lag} records (at {:.0} s); longest time without any commit while behind {stall:.1} s (from {:.0} s)",
                at - t0,
                from - t0
            ));
        }
        lines.push(String::new());
        lines.push(
            "faults (seconds after the load started; for each group: taken over = until every partition was".into(),
        );
        lines.push(
            "assigned to a live member again, from the roles' logs; consumed = until every partition's committed"
                .into(),
        );
        lines
            .push("offset moved again, catching up included; writes = until every partition was written again)".into());
        lines.push(format!("{:>7}  {:<50} {:>21} {:>21} {:>8}", "at", "fault", "ingesters", "analytics", "writes"));
        lines.push(format!(
            "{:>7}  {:<50} {:>10} {:>10} {:>10} {:>10} {:>8}",
            "", "", "taken over", "consumed", "taken over", "consumed", ""
        ));
        let holders = |prefix: &str, exact: bool| {
            let names = self.children.names(prefix);
            let mut all = Vec::new();
            for name in names.iter().filter(|n| !exact || n.as_str() == prefix) {
                let log = std::fs::read_to_string(self.children.log_path(name)).unwrap_or_default();
                all.extend(assignments::timelines(&log, &self.children.lives_of(name)));
            }
            all
        };
        let (ingester_lines, analytics_lines) = (holders("ingester-", false), holders("analytics", true));
        let taken_over = |wanted: bool, lines: &[assignments::Timeline], t: f64| {
            // Only a member's death leaves partitions without a holder.
            if !wanted {
                return "-".to_string();
            }
            let at = self.clock_utc + chrono::Duration::milliseconds((t * 1000.0) as i64);
            match assignments::assigned_again(lines, PARTITIONS, at) {
                (false, _) => "-".to_string(),
                (true, Some(v)) => format!("{v:.1} s"),
                (true, None) => "never".to_string(),
            }
        };
        let figure = |wanted: bool, value: Option<f64>| match (wanted, value) {
            (false, _) => "-".to_string(),
            (true, Some(v)) => format!("{v:.1} s"),
            (true, None) => "never".to_string(),
        };
        for e in &self.events {
            let mut notes: Vec<&str> = e.note.iter().map(String::as_str).collect();
            if !e.under_load {
                notes.push("after the load ended");
            }
            lines.push(format!(
                "{:>7.1}  {:<50} {:>10} {:>10} {:>10} {:>10} {:>8}{}",
                e.t - t0,
                e.label,
                taken_over(e.ingesters && e.member_died, &ingester_lines, e.t),
                figure(e.ingesters, consumed_again(samples, INGESTERS, e.t)),
                taken_over(e.analytics && e.member_died, &analytics_lines, e.t),
                figure(e.analytics, consumed_again(samples, ANALYTICS, e.t)),
                figure(e.writes, written_again(samples, e.t)),
                if notes.is_empty() { String::new() } else { format!("  ({})", notes.join("; ")) }
            ));
        }
        lines.push(String::new());
        if self.violations.is_empty() {
            lines.push("verdict      OK: nothing lost, nothing duplicated, analytics exact, no dead letters".into());
        } else {
            lines.push(format!("verdict      {} violation(s):", self.violations.len()));
            lines.extend(self.violations.iter().map(|v| format!("  - {v}")));
        }
        lines.push(format!(
            "took         {:.0} s in all ({:.0} s set-up, then load, faults and checks)",
            self.now(),
            self.setup_secs
        ));
        lines.push(format!("logs         {}", self.dir.display()));
        lines.join("\n")
    }
}

/// Poll a role's `/readyz` until it answers 200.
async fn wait_ready(name: &str, admin_port: u16, timeout: Duration) -> Result<()> {
    let url = format!("http://127.0.0.1:{admin_port}/readyz");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{name} was not ready within {timeout:?} ({url})")
}
