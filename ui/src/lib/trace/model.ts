// The trace as the trace view reads it, computed once per fetched trace: the span tree and the
// header's facts. Components read this, never the raw API JSON.

import type { Trace } from '../types';
import { buildSpanTree, isError, traceBounds, type SpanNode, type SpanTree } from './tree';

export interface TraceModel {
  trace: Trace;
  tree: SpanTree;
  /** µs since the epoch. */
  start: number;
  end: number;
  duration: number;
  /** Distinct service names, sorted. */
  services: string[];
  /** Levels of the tree: 1 for a lone span. */
  depth: number;
  errorCount: number;
  /** The earliest root: what the trace is named after. */
  root: SpanNode | null;
  /** Spans that carry adjuster warnings (clock skew, shared ids), in tree order. */
  spansWithWarnings: SpanNode[];
}

export function traceModel(trace: Trace): TraceModel {
  const tree = buildSpanTree(trace);
  const { start, end, duration } = traceBounds(trace);
  const services = new Set<string>();
  let depth = 0;
  let errorCount = 0;
  const spansWithWarnings: SpanNode[] = [];
  for (const node of tree.ordered) {
    services.add(node.service);
    depth = Math.max(depth, node.depth + 1);
    if (isError(node.span)) errorCount++;
    if (node.span.warnings?.length) spansWithWarnings.push(node);
  }
  return {
    trace,
    tree,
    start,
    end,
    duration,
    services: [...services].sort(),
    depth,
    errorCount,
    root: tree.roots[0] ?? null,
    spansWithWarnings,
  };
}

/** A span's end in µs. */
export function spanEnd(node: SpanNode): number {
  return node.span.startTime + node.span.duration;
}

/** Whether the child waits on its parent's clock (CHILD_OF) rather than being fired off (FOLLOWS_FROM). */
export function isChildOf(node: SpanNode): boolean {
  const parent = node.parent;
  if (!parent) return false;
  return (node.span.references ?? []).some((r) => r.refType === 'CHILD_OF' && r.spanID === parent.span.spanID);
}
