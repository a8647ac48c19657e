//! The summary of a run: printed as aligned lines (scripts read the JSON form, people the lines).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::args::LoadgenArgs;
use crate::error::LoadgenError;
use crate::plan::Plan;
use crate::probe::ProbeSummary;
use crate::stats::Stats;

/// How long the timed phase took and what it cost this process.
pub(crate) struct Timing {
    pub(crate) elapsed: Duration,
    pub(crate) generation_secs: f64,
    pub(crate) cpu_ticks: Option<u64>,
}

/// What was sent, what was acknowledged, how fast, and (probing) how soon it was searchable.
#[derive(Serialize)]
pub(crate) struct Summary {
    protocol: String,
    endpoint: String,
    spans_per_request: usize,
    spans_per_trace: usize,
    attributes: usize,
    services: usize,
    concurrency: usize,
    rate_limit: u64,
    requests: u64,
    acked_requests: u64,
    sent_spans: u64,
    bytes_per_span: f64,
    acked_spans: u64,
    rejected_spans: u64,
    failed_429: u64,
    failed_503: u64,
    failed_unreachable: u64,
    failed_other: u64,
    /// Resends after backpressure or no answer (`--retry-secs`); the failures above are the
    /// requests that still failed after them.
    resends: u64,
    first_error: Option<String>,
    elapsed_secs: f64,
    spans_per_sec: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
    generation_secs: f64,
    /// CPU time of this process while the clock ran, in clock ticks of `/proc/self/stat`
    /// (`getconf CLK_TCK`, usually 100 per second); absent off Linux.
    cpu_ticks: Option<u64>,
    probe: Option<ProbeSummary>,
}

impl Summary {
    pub(crate) fn new(
        args: &LoadgenArgs,
        endpoint: &str,
        plan: &Plan,
        stats: &Stats,
        timing: Timing,
        probe: Option<ProbeSummary>,
    ) -> Self {
        let Timing { elapsed, generation_secs, cpu_ticks } = timing;
        let ms = |us: u64| us as f64 / 1000.0;
        let secs = elapsed.as_secs_f64().max(1e-9);
        Self {
            protocol: format!("{:?}", args.protocol),
            endpoint: endpoint.to_string(),
            spans_per_request: plan.traces_per_request * args.spans_per_trace,
            spans_per_trace: args.spans_per_trace,
            attributes: args.attributes,
            services: args.services,
            concurrency: args.concurrency,
            rate_limit: args.rate,
            requests: stats.requests,
            acked_requests: stats.acked_requests,
            sent_spans: stats.sent_spans,
            bytes_per_span: stats.sent_bytes as f64 / stats.sent_spans.max(1) as f64,
            acked_spans: stats.acked_spans,
            rejected_spans: stats.rejected_spans,
            failed_429: stats.too_many_requests,
            failed_503: stats.unavailable,
            failed_unreachable: stats.unreachable,
            failed_other: stats.other,
            resends: stats.resends,
            first_error: stats.first_error.clone(),
            elapsed_secs: secs,
            spans_per_sec: stats.acked_spans as f64 / secs,
            latency_p50_ms: ms(stats.latency_us.value_at_quantile(0.5)),
            latency_p99_ms: ms(stats.latency_us.value_at_quantile(0.99)),
            latency_max_ms: ms(stats.latency_us.max()),
            generation_secs,
            cpu_ticks,
            probe,
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut lines = vec![
            format!("loadgen {} → {}", self.protocol, self.endpoint),
            format!(
                "  workload     {} spans/request, {} spans/trace, {} attributes/span, {} services, concurrency {}, rate {}",
                self.spans_per_request,
                self.spans_per_trace,
                self.attributes,
                self.services,
                self.concurrency,
                if self.rate_limit == 0 { "unlimited".to_string() } else { format!("{}/s", self.rate_limit) }
            ),
            format!(
                "  sent         {} spans in {} requests ({:.0} bytes per span encoded)",
                self.sent_spans, self.requests, self.bytes_per_span
            ),
            format!(
                "  acked        {} requests, {} spans ({} spans rejected inside acked requests)",
                self.acked_requests, self.acked_spans, self.rejected_spans
            ),
            format!(
                "  failed       429: {}  503: {}  unreachable: {}  other: {}",
                self.failed_429, self.failed_503, self.failed_unreachable, self.failed_other
            ),
        ];
        if self.resends > 0 {
            lines.push(format!("  resent       {} times after backpressure or no answer", self.resends));
        }
        if let Some(error) = &self.first_error {
            lines.push(format!("  first error  {error}"));
        }
        lines.push(format!(
            "  elapsed      {:.2} s (generation before the clock: {:.2} s)",
            self.elapsed_secs, self.generation_secs
        ));
        lines.push(format!("  throughput   {:.0} acked spans/s", self.spans_per_sec));
        lines.push(format!(
            "  latency      p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (per request)",
            self.latency_p50_ms, self.latency_p99_ms, self.latency_max_ms
        ));
        if let Some(probe) = &self.probe {
            lines.push(format!(
                "  searchable   {} of {} probed traces; ack → searchable p50 {:.0} ms  p90 {:.0} ms  p99 {:.0} ms  max {:.0} ms; {} timed out",
                probe.found, probe.probed, probe.p50_ms, probe.p90_ms, probe.p99_ms, probe.max_ms, probe.timed_out
            ));
        }
        lines.join("\n")
    }

    /// The summary as pretty JSON, for `--summary-json`.
    pub(crate) fn write_json(&self, path: &Path) -> Result<(), LoadgenError> {
        let json = serde_json::to_string_pretty(self).expect("summary serializes");
        std::fs::write(path, json + "\n")
            .map_err(|source| LoadgenError::WriteSummary { path: path.to_path_buf(), source })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::args::parse;
    use crate::senders::{Outcome, SendOutcome};

    fn summary(probe: Option<ProbeSummary>) -> Summary {
        let args = parse(&["--total", "1000", "--rate", "500"]);
        let mut stats = Stats::new();
        stats.sent_bytes = 250_000;
        for result in [Outcome::Acked { rejected: 0 }, Outcome::Other("HTTP 400: bad".into())] {
            stats.add((500, SendOutcome { result, latency: Duration::from_millis(4), finished: Instant::now() }, 0));
        }
        let timing = Timing { elapsed: Duration::from_secs(2), generation_secs: 0.0, cpu_ticks: Some(12) };
        Summary::new(&args, "http://127.0.0.1:4317", &Plan::new(&args), &stats, timing, probe)
    }

    #[test]
    fn the_printed_summary_keeps_its_lines_and_labels() {
        let text = summary(None).render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "loadgen Grpc → http://127.0.0.1:4317");
        assert_eq!(
            lines[1],
            "  workload     500 spans/request, 10 spans/trace, 10 attributes/span, 5 services, concurrency 8, rate 500/s"
        );
        assert_eq!(lines[2], "  sent         1000 spans in 2 requests (250 bytes per span encoded)");
        assert_eq!(lines[3], "  acked        1 requests, 500 spans (0 spans rejected inside acked requests)");
        assert_eq!(lines[4], "  failed       429: 0  503: 0  unreachable: 0  other: 1");
        assert_eq!(lines[5], "  first error  HTTP 400: bad");
        assert_eq!(lines[6], "  elapsed      2.00 s (generation before the clock: 0.00 s)");
        assert_eq!(lines[7], "  throughput   250 acked spans/s");
        assert!(lines[8].starts_with("  latency      p50 4.0 ms  p99 4.0 ms  max 4.0 ms"), "{}", lines[8]);
        assert_eq!(lines.len(), 9);
    }

    #[test]
    fn a_probe_adds_the_searchable_line_and_the_json_names_every_field() {
        let probe = ProbeSummary {
            probed: 4,
            found: 3,
            timed_out: 1,
            query_errors: 0,
            p50_ms: 120.0,
            p90_ms: 300.0,
            p99_ms: 310.0,
            max_ms: 311.0,
        };
        let summary = summary(Some(probe));
        assert!(summary.render().ends_with(
            "  searchable   3 of 4 probed traces; ack → searchable p50 120 ms  p90 300 ms  p99 310 ms  max 311 ms; 1 timed out"
        ));
        let json = serde_json::to_value(&summary).unwrap();
        // The fields scripts/bench.sh reads.
        for key in [
            "acked_spans",
            "sent_spans",
            "rejected_spans",
            "spans_per_sec",
            "elapsed_secs",
            "failed_429",
            "failed_503",
            "failed_unreachable",
            "failed_other",
            "resends",
            "latency_p50_ms",
            "latency_p99_ms",
            "cpu_ticks",
        ] {
            assert!(json[key].is_number(), "{key}");
        }
        for key in ["probed", "found", "timed_out", "p50_ms", "p90_ms", "p99_ms", "max_ms"] {
            assert!(json["probe"][key].is_number(), "probe.{key}");
        }
        assert_eq!(json["probe"]["p50_ms"], 120.0);
    }
}
