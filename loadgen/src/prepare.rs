//! Requests ready to send: generated, encoded for the protocol, and marked for probing. With
//! `--rate 0` all of them are prepared on every core before the clock starts.

use std::sync::Arc;

use crate::generator::{Generator, TraceRef, Workload};
use crate::plan::Plan;
use crate::senders::{Encoder, Payload};

/// One request ready to send.
pub(crate) struct Prepared {
    pub(crate) payload: Payload,
    pub(crate) spans: usize,
    /// Encoded size of the request body.
    pub(crate) bytes: usize,
    /// A trace of this request to poll for once it is acknowledged.
    pub(crate) probe: Option<TraceRef>,
}

/// Generate and encode one request of `spans` spans; with `probe`, pick one of its traces.
pub(crate) fn prepare(generator: &mut Generator, encoder: &Encoder, spans: usize, probe: bool) -> Prepared {
    let (request, traces) = generator.request(spans);
    let probe = if probe { generator.pick(&traces) } else { None };
    let (payload, bytes) = encoder.encode(request);
    Prepared { payload, spans, bytes, probe }
}

/// Every planned request, prepared on all cores (one generator per thread, seeded from `seed`).
pub(crate) fn pregenerate(
    workload: &Arc<Workload>,
    encoder: &Encoder,
    plan: &Plan,
    probe_every: Option<usize>,
    seed: u64,
) -> Vec<Prepared> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(plan.requests.len().max(1));
    let chunk = plan.requests.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .requests
            .chunks(chunk)
            .enumerate()
            .map(|(part, sizes)| {
                let workload = workload.clone();
                scope.spawn(move || {
                    let mut generator =
                        Generator::new(workload, seed ^ (part as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    sizes
                        .iter()
                        .enumerate()
                        .map(|(i, spans)| {
                            let probe = probed(part * chunk + i, probe_every);
                            prepare(&mut generator, encoder, *spans, probe)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("generator thread panicked")).collect()
    })
}

/// Whether request `index` carries a probed trace: one of every `probe_every` when probing.
pub(crate) fn probed(index: usize, probe_every: Option<usize>) -> bool {
    probe_every.is_some_and(|every| index.is_multiple_of(every.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse;

    #[test]
    fn every_planned_request_is_prepared_in_order_with_its_probe() {
        let args = parse(&["--total", "70", "--batch", "20", "--spans-per-trace", "5", "--protocol", "http-json"]);
        let plan = Plan::new(&args);
        let workload = Arc::new(Workload::new(&args, 1));
        let prepared = pregenerate(&workload, &Encoder::new(&args), &plan, Some(2), 9);
        assert_eq!(prepared.iter().map(|p| p.spans).collect::<Vec<_>>(), plan.requests);
        assert!(prepared.iter().all(|p| p.bytes > 0));
        let probes: Vec<bool> = prepared.iter().map(|p| p.probe.is_some()).collect();
        assert_eq!(probes, vec![true, false, true, false]);
    }

    #[test]
    fn only_every_nth_request_is_probed_and_none_without_a_probe() {
        assert!(probed(0, Some(3)) && probed(3, Some(3)) && !probed(4, Some(3)));
        assert!(probed(5, Some(0)), "--probe-every 0 probes every request");
        assert!(!probed(0, None));
    }
}
