//! Dependency links of one assembled trace, with spark-dependencies' rules (documented in
//! ARCHITECTURE.md, "Dependency links"):
//!
//! 1. Exact duplicate spans count once.
//! 2. Spans sharing one span id (Zipkin's client and server halves): the client/producer half's
//!    service → the server/consumer half's service.
//! 3. Every span with references (its parent, and its links), unless it shares its id and is not
//!    the client half: for each referenced span id found in the trace, that span's service → this
//!    span's service. When several spans carry the referenced id, the server half is the parent
//!    (none: no link). Referenced ids not in the trace (orphans) give nothing.
//! 4. A span with references that no span references (a leaf) and a `peer.service` attribute:
//!    its service → the peer.
//!
//! Self-links (A → A, e.g. a client span under its own service's server span) are kept, as
//! spark-dependencies keeps them. Beyond spark: each call carries an error flag, a duration
//! measured on the calling side, and the operations at both ends (the parent span's and the child
//! span's names; for a `peer.service` leaf the child operation is unknown: [`NO_NAME`], written
//! as an empty string).

use skein_schemas::span_summary::kind;

/// Interned name id meaning "none".
pub const NO_NAME: u32 = u32::MAX;

/// A span as buffered while its trace is open: only what links need (48 bytes: the interned
/// operation fits in what was padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactSpan {
    pub span_id: u64,
    /// 0 for a root.
    pub parent: u64,
    /// Hash of the encoded span, to drop exact duplicates.
    pub hash: u64,
    pub duration_nanos: u64,
    pub service: u32,
    /// The span's name (its operation).
    pub operation: u32,
    /// `peer.service`, or [`NO_NAME`].
    pub peer: u32,
    pub kind: u8,
    pub error: bool,
}

impl CompactSpan {
    fn is_calling_side(&self) -> bool {
        matches!(i32::from(self.kind), kind::CLIENT | kind::PRODUCER)
    }

    fn is_called_side(&self) -> bool {
        matches!(i32::from(self.kind), kind::SERVER | kind::CONSUMER)
    }
}

// Memory is bounded by counting buffered spans: keep the figure in ARCHITECTURE.md true.
const _: () = assert!(std::mem::size_of::<CompactSpan>() == 48);

/// One call over a link: services, and the operations at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCall {
    pub parent: u32,
    pub child: u32,
    pub parent_operation: u32,
    /// [`NO_NAME`] for a `peer.service` leaf (the peer's operation is not known).
    pub child_operation: u32,
    pub error: bool,
    pub duration_nanos: u64,
}

/// Reusable buffers, so closing a trace does not allocate in steady state.
#[derive(Default)]
pub struct LinkScratch {
    unique: Vec<CompactSpan>,
    seen: rustc_hash::FxHashSet<u64>,
    by_id: Vec<(u64, u32)>,
    referenced: Vec<u64>,
    refs: Vec<u64>,
}

/// The calls of one trace. `extra_refs` are (index into `spans`, referenced span id) for links
/// beyond the parent.
pub fn dependency_calls(
    spans: &[CompactSpan],
    extra_refs: &[(u32, u64)],
    scratch: &mut LinkScratch,
    out: &mut Vec<LinkCall>,
) {
    let LinkScratch { unique, seen, by_id, referenced, refs } = scratch;
    unique.clear();
    seen.clear();
    // Keep the extra references attached to the surviving copy of each span.
    let mut kept_index = Vec::with_capacity(spans.len());
    for span in spans {
        if seen.insert(span.hash) {
            kept_index.push(Some(unique.len() as u32));
            unique.push(*span);
        } else {
            kept_index.push(None);
        }
    }
    let mut extras: Vec<(u32, u64)> =
        extra_refs.iter().filter_map(|(i, id)| kept_index[*i as usize].map(|k| (k, *id))).collect();
    extras.sort_unstable();

    by_id.clear();
    by_id.extend(unique.iter().enumerate().map(|(i, s)| (s.span_id, i as u32)));
    by_id.sort_unstable();
    referenced.clear();
    referenced.extend(unique.iter().filter(|s| s.parent != 0).map(|s| s.parent));
    referenced.extend(extras.iter().map(|(_, id)| *id));
    referenced.sort_unstable();

    let group = |id: u64| -> &[(u64, u32)] {
        let start = by_id.partition_point(|(s, _)| *s < id);
        let end = by_id.partition_point(|(s, _)| *s <= id);
        &by_id[start..end]
    };

    // Rule 2: shared span ids.
    let mut i = 0;
    while i < by_id.len() {
        let id = by_id[i].0;
        let members = group(id);
        i += members.len();
        if members.len() < 2 {
            continue;
        }
        // Members are sorted by arrival, the order spark-dependencies scans them in.
        let (mut client, mut server) = (None, None);
        for (_, index) in members {
            let span = &unique[*index as usize];
            if span.is_calling_side() {
                client = Some(span);
            } else if span.is_called_side() {
                server = Some(span);
            }
            if let (Some(client), Some(server)) = (client, server) {
                out.push(LinkCall {
                    parent: client.service,
                    child: server.service,
                    parent_operation: client.operation,
                    child_operation: server.operation,
                    error: client.error || server.error,
                    duration_nanos: client.duration_nanos,
                });
                break;
            }
        }
    }

    // Rules 3 and 4.
    for (index, span) in unique.iter().enumerate() {
        refs.clear();
        if span.parent != 0 {
            refs.push(span.parent);
        }
        let from = extras.partition_point(|(i, _)| (*i as usize) < index);
        refs.extend(extras[from..].iter().take_while(|(i, _)| *i as usize == index).map(|(_, id)| *id));
        if refs.is_empty() {
            continue;
        }
        if group(span.span_id).len() > 1 && i32::from(span.kind) != kind::CLIENT {
            continue;
        }
        for reference in refs.iter() {
            let parents = group(*reference);
            let parent = match parents.len() {
                0 => None,
                1 => Some(&unique[parents[0].1 as usize]),
                // Group members are sorted by arrival: the first server half is the parent.
                _ => parents.iter().map(|(_, i)| &unique[*i as usize]).find(|p| i32::from(p.kind) == kind::SERVER),
            };
            if let Some(parent) = parent {
                let calling = if parent.is_calling_side() { parent } else { span };
                out.push(LinkCall {
                    parent: parent.service,
                    child: span.service,
                    parent_operation: parent.operation,
                    child_operation: span.operation,
                    error: span.error || (parent.is_calling_side() && parent.error),
                    duration_nanos: calling.duration_nanos,
                });
            }
        }
        if span.peer != NO_NAME && referenced.binary_search(&span.span_id).is_err() {
            out.push(LinkCall {
                parent: span.service,
                child: span.peer,
                parent_operation: span.operation,
                child_operation: NO_NAME,
                error: span.error,
                duration_nanos: span.duration_nanos,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u32 = 0;
    const B: u32 = 1;
    const C: u32 = 2;
    const DB: u32 = 3;

    fn span(id: u64, parent: u64, service: u32, k: i32) -> CompactSpan {
        op_span(id, parent, service, 100 + id as u32, k)
    }

    fn op_span(id: u64, parent: u64, service: u32, operation: u32, k: i32) -> CompactSpan {
        CompactSpan {
            span_id: id,
            parent,
            hash: id * 1000 + u64::from(service) * 10 + k as u64,
            duration_nanos: id * 100,
            service,
            operation,
            peer: NO_NAME,
            kind: k as u8,
            error: false,
        }
    }

    fn pairs(spans: &[CompactSpan], extra: &[(u32, u64)]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        dependency_calls(spans, extra, &mut LinkScratch::default(), &mut out);
        let mut pairs: Vec<(u32, u32)> = out.iter().map(|c| (c.parent, c.child)).collect();
        pairs.sort_unstable();
        pairs
    }

    /// (parent service, parent operation, child service, child operation), sorted.
    fn operation_pairs(spans: &[CompactSpan]) -> Vec<(u32, u32, u32, u32)> {
        let mut out = Vec::new();
        dependency_calls(spans, &[], &mut LinkScratch::default(), &mut out);
        let mut pairs: Vec<_> =
            out.iter().map(|c| (c.parent, c.parent_operation, c.child, c.child_operation)).collect();
        pairs.sort_unstable();
        pairs
    }

    const DISPATCH: u32 = 10;
    const HTTP_GET: u32 = 11;
    const CUSTOMER: u32 = 12;
    const QUERY: u32 = 13;

    #[test]
    fn client_to_server_gives_operation_links_at_both_hops_timed_by_the_client() {
        // A:GET /dispatch (server) → A:HTTP GET (client) → B:GET /customer (server)
        let mut client = op_span(2, 1, A, HTTP_GET, kind::CLIENT);
        client.error = true;
        let spans = [op_span(1, 0, A, DISPATCH, kind::SERVER), client, op_span(3, 2, B, CUSTOMER, kind::SERVER)];
        assert_eq!(operation_pairs(&spans), vec![(A, DISPATCH, A, HTTP_GET), (A, HTTP_GET, B, CUSTOMER)]);
        let mut out = Vec::new();
        dependency_calls(&spans, &[], &mut LinkScratch::default(), &mut out);
        let call = out.iter().find(|c| c.child_operation == CUSTOMER).expect("client → server call");
        assert_eq!(
            (call.duration_nanos, call.error),
            (client.duration_nanos, true),
            "calling side's duration and error"
        );
    }

    #[test]
    fn shared_span_id_links_the_client_halfs_operation_to_the_server_halfs() {
        // A:in (server 1); shared id 2: A:call client half and B:serve server half; C:work under it.
        let spans = [
            op_span(1, 0, A, DISPATCH, kind::SERVER),
            op_span(2, 1, A, HTTP_GET, kind::CLIENT),
            op_span(2, 1, B, CUSTOMER, kind::SERVER),
            op_span(3, 2, C, QUERY, kind::SERVER),
        ];
        assert_eq!(
            operation_pairs(&spans),
            vec![(A, DISPATCH, A, HTTP_GET), (A, HTTP_GET, B, CUSTOMER), (B, CUSTOMER, C, QUERY)]
        );
    }

    #[test]
    fn peer_service_leaf_links_to_the_peer_with_no_operation() {
        let mut leaf = op_span(2, 1, A, QUERY, kind::CLIENT);
        leaf.peer = DB;
        let spans = [op_span(1, 0, A, DISPATCH, kind::SERVER), leaf];
        assert_eq!(operation_pairs(&spans), vec![(A, DISPATCH, A, QUERY), (A, QUERY, DB, NO_NAME)]);
    }

    #[test]
    fn self_links_are_kept_at_operation_level_even_for_the_same_operation() {
        // A:dispatch → A:dispatch (a recursive server call), then → A:query under it.
        let spans = [
            op_span(1, 0, A, DISPATCH, kind::SERVER),
            op_span(2, 1, A, DISPATCH, kind::SERVER),
            op_span(3, 2, A, QUERY, kind::INTERNAL),
        ];
        assert_eq!(operation_pairs(&spans), vec![(A, DISPATCH, A, DISPATCH), (A, DISPATCH, A, QUERY)]);
    }

    #[test]
    fn chain_across_services_links_each_hop_and_keeps_self_links() {
        // A server(1) → A client(2) → B server(3) → B client(4) → C server(5)
        let spans = [
            span(1, 0, A, kind::SERVER),
            span(2, 1, A, kind::CLIENT),
            span(3, 2, B, kind::SERVER),
            span(4, 3, B, kind::CLIENT),
            span(5, 4, C, kind::SERVER),
        ];
        assert_eq!(pairs(&spans, &[]), vec![(A, A), (A, B), (B, B), (B, C)]);
    }

    #[test]
    fn zipkin_shared_span_gives_client_to_server_once() {
        // A server(1); shared id 2: A client half and B server half, both with parent 1.
        let spans = [span(1, 0, A, kind::SERVER), span(2, 1, A, kind::CLIENT), span(2, 1, B, kind::SERVER)];
        // shared rule: A → B; A client half's parent: A → A; the server half is skipped.
        assert_eq!(pairs(&spans, &[]), vec![(A, A), (A, B)]);
        // A child of the shared id hangs off the server half: B → C.
        let mut with_child = spans.to_vec();
        with_child.push(span(3, 2, C, kind::SERVER));
        assert_eq!(pairs(&with_child, &[]), vec![(A, A), (A, B), (B, C)]);
    }

    #[test]
    fn follows_from_links_count_like_parents_and_orphans_give_nothing() {
        let spans = [span(1, 0, A, kind::PRODUCER), span(2, 0, B, kind::CONSUMER), span(3, 99, C, kind::SERVER)];
        // span 2 (index 1) follows from span 1; span 3's parent 99 is missing.
        assert_eq!(pairs(&spans, &[(1, 1)]), vec![(A, B)]);
    }

    #[test]
    fn leaf_with_peer_service_links_to_the_peer_but_a_root_does_not() {
        let mut leaf = span(2, 1, A, kind::CLIENT);
        leaf.peer = DB;
        let mut root = span(7, 0, B, kind::CLIENT);
        root.peer = DB;
        assert_eq!(pairs(&[span(1, 0, A, kind::SERVER), leaf, root], &[]), vec![(A, A), (A, DB)]);
    }

    #[test]
    fn duplicates_count_once_and_errors_and_durations_come_from_the_calling_side() {
        let mut client = span(2, 1, A, kind::CLIENT);
        client.error = true;
        let server = span(3, 2, B, kind::SERVER);
        let spans = [span(1, 0, A, kind::SERVER), client, client, server, server];
        let mut out = Vec::new();
        dependency_calls(&spans, &[], &mut LinkScratch::default(), &mut out);
        let ab: Vec<&LinkCall> = out.iter().filter(|c| (c.parent, c.child) == (A, B)).collect();
        assert_eq!(ab.len(), 1);
        assert!(ab[0].error, "the client saw the error");
        assert_eq!(ab[0].duration_nanos, client.duration_nanos);
    }
}
