// One search result as the table shows it, computed once from the API's trace.

import type { Trace } from '../../lib/types';
import type { SortBy } from '../../lib/searchUrl';
import { buildSpanTree, isError, traceBounds } from '../../lib/trace/tree';

export interface TraceSummary {
  traceID: string;
  rootService: string;
  rootOperation: string;
  /** No span of the trace lacks a parent reference: its root never arrived (yet). */
  rootMissing: boolean;
  spanCount: number;
  errorCount: number;
  /** Services with their span counts, most spans first. */
  services: { name: string; count: number }[];
  start: number; // µs
  duration: number; // µs, first start to last end
}

export function summarizeTrace(trace: Trace): TraceSummary {
  const tree = buildSpanTree(trace);
  // The root is a span without references; when every root is an orphan, the earliest stands in.
  const root = tree.roots.find((n) => (n.span.references ?? []).length === 0) ?? tree.roots[0];
  const counts = new Map<string, number>();
  let errorCount = 0;
  for (const node of tree.byId.values()) {
    counts.set(node.service, (counts.get(node.service) ?? 0) + 1);
    if (isError(node.span)) errorCount += 1;
  }
  const { start, duration } = traceBounds(trace);
  return {
    traceID: trace.traceID,
    rootService: root?.service ?? 'unknown',
    rootOperation: root?.span.operationName ?? '',
    rootMissing: !root || (root.span.references ?? []).length > 0,
    spanCount: tree.byId.size,
    errorCount,
    services: [...counts.entries()]
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)),
    start,
    duration,
  };
}

const ORDERS: Record<SortBy, (a: TraceSummary, b: TraceSummary) => number> = {
  MOST_RECENT: (a, b) => b.start - a.start,
  LONGEST_FIRST: (a, b) => b.duration - a.duration,
  SHORTEST_FIRST: (a, b) => a.duration - b.duration,
  MOST_SPANS: (a, b) => b.spanCount - a.spanCount,
  MOST_ERRORS: (a, b) => b.errorCount - a.errorCount,
};

/** A sorted copy; ties fall back to most recent, then trace id, so the order is stable. */
export function sortTraces(traces: readonly TraceSummary[], sortBy: SortBy): TraceSummary[] {
  const primary = ORDERS[sortBy];
  return [...traces].sort((a, b) => primary(a, b) || b.start - a.start || a.traceID.localeCompare(b.traceID));
}
