//! How many spans each request carries: whole traces, and exactly `--total` spans in all.

use crate::args::LoadgenArgs;

pub(crate) struct Plan {
    /// Spans of each request, in order.
    pub(crate) requests: Vec<usize>,
    pub(crate) traces_per_request: usize,
}

impl Plan {
    pub(crate) fn new(args: &LoadgenArgs) -> Self {
        let traces_per_request = (args.batch / args.spans_per_trace).max(1);
        let per_request = (traces_per_request * args.spans_per_trace) as u64;
        let mut requests = Vec::with_capacity((args.total / per_request + 1) as usize);
        let mut left = args.total;
        while left > 0 {
            let spans = left.min(per_request);
            requests.push(spans as usize);
            left -= spans;
        }
        Self { requests, traces_per_request }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse;

    #[test]
    fn requests_hold_whole_traces_and_the_exact_total() {
        let plan = Plan::new(&parse(&["--total", "95", "--batch", "50", "--spans-per-trace", "10"]));
        assert_eq!(plan.requests, vec![50, 45], "whole traces per request, exact total");
        assert_eq!(plan.traces_per_request, 5);
    }

    #[test]
    fn a_batch_smaller_than_a_trace_still_holds_one_trace() {
        let plan = Plan::new(&parse(&["--total", "25", "--batch", "3", "--spans-per-trace", "10"]));
        assert_eq!(plan.requests, vec![10, 10, 5]);
        assert_eq!(plan.traces_per_request, 1);
    }
}
