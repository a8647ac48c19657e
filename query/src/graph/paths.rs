//! Jaeger UI's deep dependency graph from operation links: paths through a focal
//! service[:operation], as Jaeger UI's "Deep Dependency Graph" view reads them
//! (`{dependencies: [{path: [{service, operation}], attributes: [{key, value}]}]}`, each path
//! ordered caller first and holding the focal node).
//!
//! Links are aggregates, not traces: that X calls the focal node and the focal node calls Y does
//! not mean a request went X → focal → Y. So the paths are the upstream chains that end at a
//! focal node and the downstream chains that start at one, never a splice of the two. A chain
//! stops where it would revisit a node (cycles), at `max_hops` links, and the whole answer at
//! `max_paths` paths. A path that lies inside another one (e.g. `HTTP GET → GET /customer` inside
//! `GET /dispatch → HTTP GET → GET /customer`) is left out: it adds no node and no edge.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use super::aggregate::{LinkTotals, OperationRef};

/// The attribute key Jaeger UI reads a path's example traces from.
const EXEMPLAR_KEY: &str = "exemplar_trace_id";

/// Most example traces listed per path.
const EXEMPLARS_PER_PATH: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Most links in one direction from the focal node.
    pub max_hops: usize,
    /// Most paths in the answer.
    pub max_paths: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self { max_hops: 6, max_paths: 500 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub key: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DdgPath {
    pub path: Vec<OperationRef>,
    pub attributes: Vec<Attribute>,
}

/// `GET /analytics/v1/dependencies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DdgPayload {
    pub dependencies: Vec<DdgPath>,
}

/// Walks chains over node indices.
struct Walk<'a> {
    next: &'a [Vec<usize>],
    bounds: Bounds,
    found: &'a mut Vec<Vec<usize>>,
    budget: &'a mut usize,
}

impl Walk<'_> {
    /// Every maximal simple chain from `chain`'s last node along `next`.
    fn extend(&mut self, chain: &mut Vec<usize>) {
        if *self.budget == 0 {
            return;
        }
        let last = *chain.last().expect("chains start with the focal node");
        let onward: Vec<usize> = if chain.len() > self.bounds.max_hops {
            Vec::new()
        } else {
            self.next[last].iter().copied().filter(|n| !chain.contains(n)).collect()
        };
        if onward.is_empty() {
            if chain.len() > 1 {
                self.found.push(chain.clone());
                *self.budget -= 1;
            }
            return;
        }
        for node in onward {
            chain.push(node);
            self.extend(chain);
            chain.pop();
            if *self.budget == 0 {
                return;
            }
        }
    }
}

/// The paths through `service` (every operation of it when `operation` is `None`) over `links`.
pub fn deep_dependencies(
    links: &BTreeMap<(OperationRef, OperationRef), LinkTotals>,
    service: &str,
    operation: Option<&str>,
    bounds: Bounds,
) -> DdgPayload {
    let nodes: Vec<&OperationRef> =
        links.keys().flat_map(|(p, c)| [p, c]).collect::<BTreeSet<_>>().into_iter().collect();
    let index = |node: &OperationRef| nodes.binary_search(&node).expect("every end is a node");
    let mut callees = vec![Vec::new(); nodes.len()];
    let mut callers = vec![Vec::new(); nodes.len()];
    for (parent, child) in links.keys() {
        let (p, c) = (index(parent), index(child));
        if p != c {
            callees[p].push(c);
            callers[c].push(p);
        }
    }
    for list in callees.iter_mut().chain(callers.iter_mut()) {
        list.sort_unstable();
        list.dedup();
    }

    let mut chains: Vec<Vec<usize>> = Vec::new();
    let mut budget = bounds.max_paths;
    let focal = (0..nodes.len())
        .filter(|&i| nodes[i].service == service && operation.is_none_or(|op| nodes[i].operation == op));
    for f in focal {
        Walk { next: &callees, bounds, found: &mut chains, budget: &mut budget }.extend(&mut vec![f]);
        let before = chains.len();
        Walk { next: &callers, bounds, found: &mut chains, budget: &mut budget }.extend(&mut vec![f]);
        // Walked against the calls: put the callers first.
        chains[before..].iter_mut().for_each(|chain| chain.reverse());
    }

    // Leave out chains inside other chains (contiguous, in the same order).
    let mut inner: HashSet<&[usize]> = HashSet::new();
    for chain in &chains {
        for start in 0..chain.len() {
            for end in start + 1..=chain.len() {
                if end - start < chain.len() {
                    inner.insert(&chain[start..end]);
                }
            }
        }
    }
    let mut kept: Vec<&Vec<usize>> = chains.iter().filter(|c| !inner.contains(c.as_slice())).collect();
    kept.sort();
    kept.dedup();

    let dependencies = kept
        .into_iter()
        .map(|chain| {
            let mut traces: Vec<&str> = Vec::new();
            for pair in chain.windows(2) {
                let totals = &links[&(nodes[pair[0]].clone(), nodes[pair[1]].clone())];
                for (_, trace) in &totals.exemplars {
                    if !traces.contains(&trace.as_str()) && traces.len() < EXEMPLARS_PER_PATH {
                        traces.push(trace);
                    }
                }
            }
            DdgPath {
                path: chain.iter().map(|&i| nodes[i].clone()).collect(),
                attributes: traces.into_iter().map(|t| Attribute { key: EXEMPLAR_KEY, value: t.to_string() }).collect(),
            }
        })
        .collect();
    DdgPayload { dependencies }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(text: &str) -> OperationRef {
        let (service, operation) = text.split_once(':').expect("service:operation");
        OperationRef { service: service.into(), operation: operation.into() }
    }

    fn links(edges: &[(&str, &str, &str)]) -> BTreeMap<(OperationRef, OperationRef), LinkTotals> {
        edges
            .iter()
            .map(|(p, c, trace)| {
                let totals = LinkTotals { calls: 1, exemplars: vec![(1, trace.to_string())], ..Default::default() };
                ((node(p), node(c)), totals)
            })
            .collect()
    }

    fn paths(payload: &DdgPayload) -> Vec<String> {
        payload
            .dependencies
            .iter()
            .map(|p| p.path.iter().map(|n| format!("{}:{}", n.service, n.operation)).collect::<Vec<_>>().join(" → "))
            .collect()
    }

    /// HotROD's shape: frontend's server span calls out through its client span to customer and
    /// driver; driver calls redis.
    fn hotrod() -> BTreeMap<(OperationRef, OperationRef), LinkTotals> {
        links(&[
            ("frontend:GET /dispatch", "frontend:HTTP GET", "t1"),
            ("frontend:HTTP GET", "customer:GET /customer", "t1"),
            ("frontend:GET /dispatch", "driver:FindNearest", "t2"),
            ("driver:FindNearest", "redis:", "t2"),
            ("customer:GET /customer", "mysql:", "t3"),
        ])
    }

    #[test]
    fn paths_through_a_focal_operation_go_upstream_and_downstream_without_splicing() {
        let payload = deep_dependencies(&hotrod(), "customer", Some("GET /customer"), Bounds::default());
        assert_eq!(
            paths(&payload),
            ["customer:GET /customer → mysql:", "frontend:GET /dispatch → frontend:HTTP GET → customer:GET /customer",]
        );
        let values: Vec<&str> = payload.dependencies[1].attributes.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(values, ["t1"], "exemplars of the path's links, once each");
    }

    #[test]
    fn a_focal_service_covers_all_its_operations_and_drops_paths_inside_others() {
        let payload = deep_dependencies(&hotrod(), "frontend", None, Bounds::default());
        assert_eq!(
            paths(&payload),
            [
                "frontend:GET /dispatch → driver:FindNearest → redis:",
                "frontend:GET /dispatch → frontend:HTTP GET → customer:GET /customer → mysql:",
            ]
        );
        let attributes = serde_json::to_value(&payload.dependencies[1].attributes).unwrap();
        assert_eq!(
            attributes,
            json!([{"key": "exemplar_trace_id", "value": "t1"}, {"key": "exemplar_trace_id", "value": "t3"}])
        );
    }

    #[test]
    fn cycles_stop_before_a_node_repeats_and_self_links_add_no_path() {
        let cyclic = links(&[("a:x", "b:y", "t"), ("b:y", "a:x", "t"), ("b:y", "b:y", "t")]);
        let payload = deep_dependencies(&cyclic, "a", Some("x"), Bounds::default());
        assert_eq!(paths(&payload), ["a:x → b:y", "b:y → a:x"]);
    }

    #[test]
    fn hops_and_path_counts_are_bounded() {
        // A chain of 10 links below the focal node, and a fan-out of 20 leaves above it.
        let mut edges: Vec<(String, String)> =
            (0..10).map(|i| (format!("s{i}:op"), format!("s{}:op", i + 1))).collect();
        edges.extend((0..20).map(|i| (format!("caller{i:02}:op"), "s0:op".to_string())));
        let refs: Vec<(&str, &str, &str)> = edges.iter().map(|(p, c)| (p.as_str(), c.as_str(), "t")).collect();
        let graph = links(&refs);
        let payload = deep_dependencies(&graph, "s0", None, Bounds { max_hops: 3, max_paths: 100 });
        let down = &payload.dependencies.iter().find(|p| p.path[0].service == "s0").expect("downstream path").path;
        assert_eq!(down.len(), 4, "three hops below the focal node");
        assert_eq!(payload.dependencies.len(), 21);
        let capped = deep_dependencies(&graph, "s0", None, Bounds { max_hops: 3, max_paths: 5 });
        assert_eq!(capped.dependencies.len(), 5);
    }

    #[test]
    fn an_unknown_focal_node_has_no_paths_and_every_path_holds_the_focal_node() {
        assert!(deep_dependencies(&hotrod(), "nobody", None, Bounds::default()).dependencies.is_empty());
        assert!(deep_dependencies(&hotrod(), "frontend", Some("nothing"), Bounds::default()).dependencies.is_empty());
        for payload in [
            deep_dependencies(&hotrod(), "driver", None, Bounds::default()),
            deep_dependencies(&hotrod(), "redis", Some(""), Bounds::default()),
        ] {
            assert!(!payload.dependencies.is_empty());
            for path in &payload.dependencies {
                assert!(path.path.iter().any(|n| n.service == "driver" || n.service == "redis"), "{path:?}");
            }
        }
    }
}
