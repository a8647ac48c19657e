//! `skein-metrics-*` documents → the service graph and a service's operation graph: calls and
//! errors summed over buckets and partitions, quantiles from the merged duration sketches.
//! Pure functions over the documents, so every answer can be checked without Elasticsearch.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use skein_schemas::analytics::MetricsFields;
use skein_schemas::sketch::DurationSketch;
use skein_schemas::span_kind::{self, SERVING};

/// Exemplar traces kept per operation link (the slowest buckets').
const EXEMPLARS_PER_LINK: usize = 3;

/// Exemplar traces kept per service link: the UI's "traces across this edge" search lists them.
pub const EXEMPLARS_PER_SERVICE_LINK: usize = 10;

/// Exemplar trace ids per (parent service, child service), slowest first.
pub type ServiceLinkExemplars = BTreeMap<(String, String), Vec<String>>;

/// Latency quantiles in µs; `null` when no call was measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl Latency {
    fn of(sketch: &DurationSketch) -> Self {
        let micros = |q: f64| sketch.quantile(q).map(|nanos| nanos / 1000.0);
        Self { p50: micros(0.5), p95: micros(0.95), p99: micros(0.99) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceNode {
    pub service: String,
    pub calls: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceLink {
    pub parent: String,
    pub child: String,
    pub calls: u64,
    pub errors: u64,
    #[serde(flatten)]
    pub latency: Latency,
    /// Traces with a call over this link (the slowest calls of their buckets, from the operation
    /// link series), slowest first; empty when none was recorded.
    #[serde(rename = "exemplarTraceIds")]
    pub exemplar_trace_ids: Vec<String>,
}

/// `GET /api/skein/graph`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceGraph {
    pub services: Vec<ServiceNode>,
    pub links: Vec<ServiceLink>,
}

/// One end of an operation link. For a `peer.service` leaf the operation is empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct OperationRef {
    pub service: String,
    pub operation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationNode {
    #[serde(flatten)]
    pub operation: OperationRef,
    pub calls: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationLink {
    pub parent: OperationRef,
    pub child: OperationRef,
    pub calls: u64,
    pub errors: u64,
    #[serde(flatten)]
    pub latency: Latency,
}

/// `GET /api/skein/graph/operations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationGraph {
    pub operations: Vec<OperationNode>,
    pub links: Vec<OperationLink>,
}

/// Sums over the documents of one link.
#[derive(Debug, Default)]
pub struct LinkTotals {
    pub calls: u64,
    pub errors: u64,
    pub sketch: DurationSketch,
    /// (slowest call of a bucket in ns, trace id), slowest first, at most [`EXEMPLARS_PER_LINK`].
    pub exemplars: Vec<(u64, String)>,
}

impl LinkTotals {
    fn add(&mut self, doc: &MetricsFields) {
        self.calls += doc.calls;
        self.errors += doc.errors;
        if let Some(sketch) = &doc.duration_sketch {
            self.sketch.merge(sketch);
        }
        if let Some(trace) = doc.exemplar_trace_id.as_deref().filter(|t| !t.is_empty()) {
            let slowest = doc.duration_max_nanos;
            if !self.exemplars.iter().any(|(_, t)| t == trace) {
                self.exemplars.push((slowest, trace.to_string()));
                // Slowest first; the trace id breaks ties so the answer does not depend on order.
                self.exemplars.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                self.exemplars.truncate(EXEMPLARS_PER_LINK);
            }
        }
    }
}

/// Calls and errors per service of the operation series' serving spans ([`SERVING`]).
fn serving_totals(operation_docs: &[MetricsFields]) -> BTreeMap<String, (u64, u64)> {
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for doc in operation_docs {
        let serving = doc.span_kind.as_deref().and_then(span_kind::from_name).is_some_and(|k| SERVING.contains(&k));
        let Some(service) = doc.service.clone().filter(|_| serving) else { continue };
        let entry = totals.entry(service).or_default();
        entry.0 += doc.calls;
        entry.1 += doc.errors;
    }
    totals
}

/// The service graph from operation series documents, link series documents and the exemplar
/// traces of the operation link series.
pub fn service_graph(
    operation_docs: &[MetricsFields],
    link_docs: &[MetricsFields],
    exemplars: &ServiceLinkExemplars,
) -> ServiceGraph {
    let mut services = serving_totals(operation_docs);
    let mut links: BTreeMap<(String, String), LinkTotals> = BTreeMap::new();
    for doc in link_docs {
        let (Some(parent), Some(child)) = (doc.parent.clone(), doc.child.clone()) else { continue };
        links.entry((parent, child)).or_default().add(doc);
    }
    for (parent, child) in links.keys() {
        services.entry(parent.clone()).or_default();
        services.entry(child.clone()).or_default();
    }
    ServiceGraph {
        services: services
            .into_iter()
            .map(|(service, (calls, errors))| ServiceNode { service, calls, errors })
            .collect(),
        links: links
            .into_iter()
            .map(|((parent, child), totals)| ServiceLink {
                exemplar_trace_ids: exemplars.get(&(parent.clone(), child.clone())).cloned().unwrap_or_default(),
                parent,
                child,
                calls: totals.calls,
                errors: totals.errors,
                latency: Latency::of(&totals.sketch),
            })
            .collect(),
    }
}

/// Operation link series documents summed per (parent, child) operation.
pub fn operation_links(docs: &[MetricsFields]) -> BTreeMap<(OperationRef, OperationRef), LinkTotals> {
    let mut links: BTreeMap<(OperationRef, OperationRef), LinkTotals> = BTreeMap::new();
    for doc in docs {
        let (Some(service), Some(child)) = (doc.service.clone(), doc.child.clone()) else { continue };
        let parent = OperationRef { service, operation: doc.operation.clone().unwrap_or_default() };
        let child = OperationRef { service: child, operation: doc.child_operation.clone().unwrap_or_default() };
        links.entry((parent, child)).or_default().add(doc);
    }
    links
}

/// The services an operation graph needs operation series of: `service` and every service at
/// either end of `links`.
pub fn involved_services(service: &str, links: &BTreeMap<(OperationRef, OperationRef), LinkTotals>) -> Vec<String> {
    let mut services: BTreeSet<String> =
        links.keys().flat_map(|(p, c)| [p.service.clone(), c.service.clone()]).collect();
    services.insert(service.to_string());
    services.into_iter().collect()
}

/// The operation graph of `service`: the operation links with either end in it (from
/// `link_docs`, which may hold more), and the operations at their ends plus every operation of
/// `service`, with their calls and errors over every span kind (from `operation_docs`).
pub fn operation_graph(service: &str, link_docs: &[MetricsFields], operation_docs: &[MetricsFields]) -> OperationGraph {
    let mut links = operation_links(link_docs);
    links.retain(|(parent, child), _| parent.service == service || child.service == service);
    let mut operations: BTreeMap<OperationRef, (u64, u64)> = BTreeMap::new();
    for (parent, child) in links.keys() {
        operations.entry(parent.clone()).or_default();
        operations.entry(child.clone()).or_default();
    }
    for doc in operation_docs {
        let (Some(s), Some(operation)) = (doc.service.clone(), doc.operation.clone()) else { continue };
        let key = OperationRef { service: s, operation };
        let counted =
            if key.service == service { Some(operations.entry(key).or_default()) } else { operations.get_mut(&key) };
        if let Some(entry) = counted {
            entry.0 += doc.calls;
            entry.1 += doc.errors;
        }
    }
    OperationGraph {
        operations: operations
            .into_iter()
            .map(|(operation, (calls, errors))| OperationNode { operation, calls, errors })
            .collect(),
        links: links
            .into_iter()
            .map(|((parent, child), totals)| OperationLink {
                parent,
                child,
                calls: totals.calls,
                errors: totals.errors,
                latency: Latency::of(&totals.sketch),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A document as the metrics index holds it.
    fn stored(document: Value) -> MetricsFields {
        serde_json::from_value(document).expect("a metrics document")
    }

    fn sketch(durations_ns: &[u64]) -> Value {
        let mut sketch = DurationSketch::new();
        for d in durations_ns {
            sketch.add(*d);
        }
        serde_json::to_value(&sketch).unwrap()
    }

    fn operation(service: &str, operation: &str, kind: &str, calls: u64, errors: u64) -> MetricsFields {
        stored(json!({"series": "operation", "service": service, "operation": operation, "spanKind": kind,
                      "calls": calls, "errors": errors}))
    }

    fn link(parent: &str, child: &str, durations_ns: &[u64], errors: u64) -> MetricsFields {
        stored(json!({"series": "link", "service": parent, "parent": parent, "child": child,
                      "calls": durations_ns.len(), "errors": errors, "durationSketch": sketch(durations_ns)}))
    }

    fn op_link(
        parent: (&str, &str),
        child: (&str, &str),
        durations_ns: &[u64],
        errors: u64,
        trace: &str,
    ) -> MetricsFields {
        stored(json!({"series": "operation_link", "service": parent.0, "operation": parent.1, "parent": parent.0,
                      "child": child.0, "childOperation": child.1, "calls": durations_ns.len(), "errors": errors,
                      "durationSketch": sketch(durations_ns), "durationMaxNanos": durations_ns.iter().max(),
                      "exemplarTraceId": trace}))
    }

    fn close(actual: Option<f64>, expected_us: f64) -> bool {
        actual.is_some_and(|v| (v - expected_us).abs() <= 0.01 * expected_us)
    }

    #[test]
    fn services_count_serving_spans_and_links_sum_over_buckets_and_partitions() {
        let ops = [
            operation("frontend", "GET /dispatch", "server", 3, 1),
            operation("frontend", "GET /dispatch", "server", 2, 0), // another bucket or partition
            operation("frontend", "HTTP GET", "client", 5, 1),      // calls it made, not served
            operation("customer", "GET /customer", "server", 5, 1),
            operation("queue-reader", "read", "consumer", 4, 0),
        ];
        let links = [
            link("frontend", "customer", &[1_000_000, 2_000_000, 3_000_000], 1),
            link("frontend", "customer", &[4_000_000, 5_000_000], 0),
            link("customer", "mysql", &[500_000], 0),
        ];
        let exemplars = ServiceLinkExemplars::from([(("frontend".into(), "customer".into()), vec!["ab".repeat(16)])]);
        let graph = service_graph(&ops, &links, &exemplars);
        let services: Vec<(&str, u64, u64)> =
            graph.services.iter().map(|s| (s.service.as_str(), s.calls, s.errors)).collect();
        assert_eq!(
            services,
            [("customer", 5, 1), ("frontend", 5, 1), ("mysql", 0, 0), ("queue-reader", 4, 0)],
            "server and consumer spans only; a service seen only in links has 0 calls"
        );
        assert_eq!(graph.links.len(), 2);
        let fc = &graph.links[1];
        assert_eq!((fc.parent.as_str(), fc.child.as_str(), fc.calls, fc.errors), ("frontend", "customer", 5, 1));
        assert!(close(fc.latency.p50, 3_000.0), "p50 of 1..5 ms is 3 ms, in µs: {:?}", fc.latency);
        // Lower rank ⌊q·(n−1)⌋ of 1..5 ms: p95 and p99 are the 4th value.
        assert!(close(fc.latency.p95, 4_000.0) && close(fc.latency.p99, 4_000.0), "{:?}", fc.latency);
        assert_eq!(fc.exemplar_trace_ids, ["ab".repeat(16)], "a link's exemplars come with it");
        assert!(graph.links[0].exemplar_trace_ids.is_empty(), "a link without exemplars has none");
    }

    #[test]
    fn a_link_without_measurements_has_null_latencies_and_answers_in_the_ui_shape() {
        let empty = stored(json!({"series": "link", "parent": "a", "child": "b", "calls": 0, "errors": 0}));
        let graph = service_graph(&[], &[empty], &ServiceLinkExemplars::new());
        assert_eq!(graph.links[0].latency, Latency { p50: None, p95: None, p99: None });
        assert_eq!(
            serde_json::to_value(&graph).unwrap(),
            json!({"services": [{"service": "a", "calls": 0, "errors": 0}, {"service": "b", "calls": 0, "errors": 0}],
                   "links": [{"parent": "a", "child": "b", "calls": 0, "errors": 0,
                              "p50": null, "p95": null, "p99": null, "exemplarTraceIds": []}]})
        );
    }

    #[test]
    fn operation_graph_keeps_links_touching_the_service_and_counts_their_operations() {
        let links = [
            op_link(("frontend", "GET /dispatch"), ("frontend", "HTTP GET"), &[9_000_000], 0, "t1"),
            op_link(("frontend", "HTTP GET"), ("customer", "GET /customer"), &[8_000_000, 2_000_000], 1, "t1"),
            op_link(("frontend", "HTTP GET"), ("customer", "GET /customer"), &[4_000_000], 0, "t2"),
            op_link(("customer", "GET /customer"), ("mysql", ""), &[1_000_000], 0, "t1"),
            op_link(("driver", "find"), ("redis", "GET"), &[1_000_000], 0, "t3"),
        ];
        let ops = [
            operation("frontend", "GET /dispatch", "server", 1, 0),
            operation("frontend", "HTTP GET", "client", 3, 1),
            operation("frontend", "/health", "server", 7, 0), // no links, still frontend's
            operation("customer", "GET /customer", "server", 3, 1),
            operation("customer", "other", "server", 4, 0), // not at a link's end
        ];
        let graph = operation_graph("customer", &links, &ops);
        let pairs: Vec<String> = graph
            .links
            .iter()
            .map(|l| {
                format!(
                    "{}:{} → {}:{} {}/{}",
                    l.parent.service, l.parent.operation, l.child.service, l.child.operation, l.calls, l.errors
                )
            })
            .collect();
        assert_eq!(pairs, ["customer:GET /customer → mysql: 1/0", "frontend:HTTP GET → customer:GET /customer 3/1"]);
        assert!(close(graph.links[1].latency.p50, 4_000.0), "{:?}", graph.links[1].latency);
        let operations: Vec<(String, u64, u64)> = graph
            .operations
            .iter()
            .map(|o| (format!("{}:{}", o.operation.service, o.operation.operation), o.calls, o.errors))
            .collect();
        assert_eq!(
            operations,
            [
                ("customer:GET /customer".to_string(), 3, 1),
                ("customer:other".to_string(), 4, 0),
                ("frontend:HTTP GET".to_string(), 3, 1),
                ("mysql:".to_string(), 0, 0),
            ]
        );
        assert_eq!(
            serde_json::to_value(&graph.operations[3]).unwrap(),
            json!({"service": "mysql", "operation": "", "calls": 0, "errors": 0})
        );
        assert_eq!(
            serde_json::to_value(&graph.links[0]).unwrap()["child"],
            json!({"service": "mysql", "operation": ""})
        );
    }

    #[test]
    fn exemplars_are_the_slowest_buckets_traces_whatever_the_document_order() {
        let docs = [
            op_link(("a", "x"), ("b", "y"), &[1_000], 0, "t-fast"),
            op_link(("a", "x"), ("b", "y"), &[9_000], 0, "t-slow"),
            op_link(("a", "x"), ("b", "y"), &[5_000], 0, "t-mid"),
            op_link(("a", "x"), ("b", "y"), &[5_000], 0, "t-mid"),
            op_link(("a", "x"), ("b", "y"), &[3_000], 0, "t-third"),
        ];
        let mut reversed = docs.to_vec();
        reversed.reverse();
        for order in [docs.to_vec(), reversed] {
            let links = operation_links(&order);
            let totals = links.values().next().unwrap();
            let traces: Vec<&str> = totals.exemplars.iter().map(|(_, t)| t.as_str()).collect();
            assert_eq!(traces, ["t-slow", "t-mid", "t-third"]);
            assert_eq!(totals.calls, 5);
        }
    }

    #[test]
    fn involved_services_are_the_service_and_both_ends_of_its_links() {
        let links = operation_links(&[op_link(("a", "x"), ("b", "y"), &[1], 0, "t")]);
        assert_eq!(involved_services("c", &links), ["a", "b", "c"]);
    }
}
