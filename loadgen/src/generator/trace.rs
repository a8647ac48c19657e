//! The shape of a trace: a root SERVER span, HTTP calls between services (a CLIENT span and its
//! callee's SERVER span), database calls and internal work, grouped by service and scope.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use skein_schemas::jaeger::TraceIdFormat;

use super::workload::Workload;

/// A trace of a request, as the probe looks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TraceRef {
    /// The trace id as Jaeger 1.x writes it into `traceID`.
    pub(crate) trace_id: String,
    /// Spans of the trace in this request.
    pub(crate) spans: usize,
}

/// Instrumentation scopes, one per kind of span.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    HttpServer,
    HttpClient,
    Database,
    Internal,
}

impl Flavor {
    const ALL: [Flavor; 4] = [Flavor::HttpServer, Flavor::HttpClient, Flavor::Database, Flavor::Internal];

    fn index(self) -> usize {
        self as usize
    }

    fn scope(self) -> InstrumentationScope {
        let (name, version) = match self {
            Flavor::HttpServer => ("io.opentelemetry.http-server", "2.9.0"),
            Flavor::HttpClient => ("io.opentelemetry.http-client", "2.9.0"),
            Flavor::Database => ("io.opentelemetry.jdbc", "2.9.0-alpha"),
            Flavor::Internal => ("shop.app", "1.0.0"),
        };
        InstrumentationScope { name: name.into(), version: version.into(), ..Default::default() }
    }
}

/// A span of the trace being built, as later spans need it.
struct Node {
    span_id: [u8; 8],
    service: usize,
    start: u64,
    end: u64,
    /// SERVER and INTERNAL spans can have children; CLIENT spans only their SERVER callee.
    can_parent: bool,
}

/// Builds requests of realistic traces; one per thread, each with its own seed.
pub(crate) struct Generator {
    pub(super) workload: Arc<Workload>,
    pub(super) rng: SmallRng,
}

impl Generator {
    pub(crate) fn new(workload: Arc<Workload>, seed: u64) -> Self {
        Self { workload, rng: SmallRng::seed_from_u64(seed) }
    }

    /// A request of `spans` spans as whole traces (the last one cut short if needed), with each
    /// trace's Jaeger id and span count.
    pub(crate) fn request(&mut self, spans: usize) -> (ExportTraceServiceRequest, Vec<TraceRef>) {
        let services = self.workload.services.len();
        let mut groups: Vec<Vec<Span>> = vec![Vec::new(); services * Flavor::ALL.len()];
        let mut traces = Vec::new();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
        let mut left = spans;
        while left > 0 {
            let count = left.min(self.workload.spans_per_trace);
            let trace_id = self.trace(count, now, &mut groups);
            traces.push(TraceRef { trace_id: TraceIdFormat::default().format(&trace_id), spans: count });
            left -= count;
        }
        let mut resource_spans = Vec::new();
        for (service, info) in self.workload.services.iter().enumerate() {
            let scope_spans: Vec<ScopeSpans> = Flavor::ALL
                .iter()
                .filter_map(|flavor| {
                    let spans = std::mem::take(&mut groups[service * Flavor::ALL.len() + flavor.index()]);
                    (!spans.is_empty()).then(|| ScopeSpans {
                        scope: Some(flavor.scope()),
                        spans,
                        schema_url: String::new(),
                    })
                })
                .collect();
            if !scope_spans.is_empty() {
                resource_spans.push(ResourceSpans {
                    resource: Some(info.resource.clone()),
                    scope_spans,
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                });
            }
        }
        (ExportTraceServiceRequest { resource_spans }, traces)
    }

    /// One of `traces`, picked at random, for the probe to poll.
    pub(crate) fn pick(&mut self, traces: &[TraceRef]) -> Option<TraceRef> {
        traces.choose(&mut self.rng).cloned()
    }

    /// One trace of `count` spans, appended to `groups` (by service and flavor); returns its id.
    fn trace(&mut self, count: usize, now: u64, groups: &mut [Vec<Span>]) -> [u8; 16] {
        let mut trace_id: [u8; 16] = self.rng.random();
        trace_id[0] |= 0x10; // never all zero, and always 32 hex characters in Jaeger
        let services = self.workload.services.len();
        let root_service = if self.rng.random_bool(0.6) { 0 } else { self.rng.random_range(0..services) };
        let duration = self.rng.random_range(5_000_000..1_500_000_000u64);
        let start = now - duration - self.rng.random_range(0..500_000_000u64);
        let (method, route) = *self.workload.services[root_service].routes.choose(&mut self.rng).expect("routes");
        let mut nodes: Vec<Node> = Vec::with_capacity(count);
        let root =
            self.span(trace_id, None, root_service, Flavor::HttpServer, start, start + duration, Some((method, route)));
        nodes.push(Node {
            span_id: id8(&root.span_id),
            service: root_service,
            start,
            end: start + duration,
            can_parent: true,
        });
        groups[root_service * Flavor::ALL.len()].push(root);

        while nodes.len() < count {
            let parents: Vec<usize> = (0..nodes.len()).filter(|i| nodes[*i].can_parent).collect();
            let parent = *parents.choose(&mut self.rng).expect("the root can always be a parent");
            let (p_start, p_end, p_service, p_id) =
                (nodes[parent].start, nodes[parent].end, nodes[parent].service, nodes[parent].span_id);
            let start = p_start + self.rng.random_range(0..=(p_end - p_start) / 2);
            let end = start + self.rng.random_range(1_000..=(p_end - start).max(1_001));
            let roll = self.rng.random_range(0..100);
            if roll < 40 && nodes.len() + 2 <= count {
                // An HTTP call to another service: CLIENT here, SERVER there.
                let callee =
                    if services > 1 { (p_service + self.rng.random_range(1..services)) % services } else { p_service };
                let (method, route) = *self.workload.services[callee].routes.choose(&mut self.rng).expect("routes");
                let client =
                    self.span(trace_id, Some(p_id), p_service, Flavor::HttpClient, start, end, Some((method, route)));
                let client_id = id8(&client.span_id);
                nodes.push(Node { span_id: client_id, service: p_service, start, end, can_parent: false });
                groups[p_service * Flavor::ALL.len() + Flavor::HttpClient.index()].push(client);
                let latency = (end - start) / 10;
                let (s_start, s_end) = (start + latency / 2, end - latency / 2);
                let server = self.span(
                    trace_id,
                    Some(client_id),
                    callee,
                    Flavor::HttpServer,
                    s_start,
                    s_end,
                    Some((method, route)),
                );
                nodes.push(Node {
                    span_id: id8(&server.span_id),
                    service: callee,
                    start: s_start,
                    end: s_end,
                    can_parent: true,
                });
                groups[callee * Flavor::ALL.len()].push(server);
            } else {
                let flavor = if roll < 70 { Flavor::Database } else { Flavor::Internal };
                let span = self.span(trace_id, Some(p_id), p_service, flavor, start, end, None);
                let can_parent = flavor == Flavor::Internal;
                nodes.push(Node { span_id: id8(&span.span_id), service: p_service, start, end, can_parent });
                groups[p_service * Flavor::ALL.len() + flavor.index()].push(span);
            }
        }
        trace_id
    }
}

fn id8(bytes: &[u8]) -> [u8; 8] {
    bytes.try_into().expect("span ids are 8 bytes")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

    use super::*;
    use crate::args::parse;

    fn spans_of(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect()
    }

    #[test]
    fn requests_hold_whole_realistic_traces() {
        let args = parse(&["--spans-per-trace", "10", "--attributes", "12"]);
        let mut generator = Generator::new(Arc::new(Workload::new(&args, 7)), 8);
        let (request, traces) = generator.request(45);
        let spans = spans_of(&request);
        assert_eq!(spans.len(), 45);
        assert_eq!(traces.len(), 5);
        assert_eq!(traces.iter().map(|t| t.spans).collect::<Vec<_>>(), vec![10, 10, 10, 10, 5]);
        for span in &spans {
            assert_eq!(span.attributes.len(), 12);
            assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
            assert_eq!(span.trace_id.len(), 16);
            assert_eq!(span.span_id.len(), 8);
        }
        let roots: Vec<_> = spans.iter().filter(|s| s.parent_span_id.is_empty()).collect();
        assert_eq!(roots.len(), 5, "one root per trace");
        assert!(roots.iter().all(|s| s.kind == SpanKind::Server as i32));
        let ids: HashSet<_> = spans.iter().map(|s| s.span_id.clone()).collect();
        assert!(spans.iter().filter(|s| !s.parent_span_id.is_empty()).all(|s| ids.contains(&s.parent_span_id)));
        for resource in &request.resource_spans {
            let names: Vec<_> = resource.resource.as_ref().unwrap().attributes.iter().map(|a| a.key.as_str()).collect();
            assert!(names.contains(&"service.name") && names.contains(&"host.name"));
        }
    }

    #[test]
    fn trace_refs_name_each_trace_in_jaeger_form() {
        let args = parse(&["--spans-per-trace", "3"]);
        let mut generator = Generator::new(Arc::new(Workload::new(&args, 1)), 2);
        let (request, traces) = generator.request(6);
        let ids: HashSet<String> =
            spans_of(&request).iter().map(|s| TraceIdFormat::default().format(&s.trace_id)).collect();
        assert_eq!(ids, traces.iter().map(|t| t.trace_id.clone()).collect::<HashSet<_>>());
        assert!(traces.iter().all(|t| t.trace_id.len() == 32));
        let picked = generator.pick(&traces).expect("two traces to pick from");
        assert!(traces.contains(&picked));
    }
}
