// The span tree every trace view draws: a span's parent is its first CHILD_OF reference to a span
// of the same trace (else its first reference of any kind to one), as Jaeger UI decides it.
// Spans whose parent is absent are roots (the warning says so); children are ordered by start.

import type { Span, Trace } from '../types';

export interface SpanNode {
  span: Span;
  service: string;
  parent: SpanNode | null;
  children: SpanNode[];
  depth: number;
}

export interface SpanTree {
  roots: SpanNode[];
  byId: Map<string, SpanNode>;
  /** Every node in depth-first order, children by start time. */
  ordered: SpanNode[];
  /** Spans whose referenced parent is not in the trace. */
  orphans: SpanNode[];
}

export function serviceName(trace: Trace, span: Span): string {
  return trace.processes[span.processID]?.serviceName ?? 'unknown';
}

export function tagValue(span: Span, key: string): string | number | boolean | undefined {
  return span.tags.find((t) => t.key === key)?.value;
}

/** `server`, `client`, `producer`, `consumer`, `internal` or '' (Jaeger's `span.kind` tag). */
export function spanKind(span: Span): string {
  const kind = tagValue(span, 'span.kind');
  return typeof kind === 'string' ? kind : '';
}

/** Jaeger's error mark: `error=true` (what skein writes for OTLP status ERROR). */
export function isError(span: Span): boolean {
  const value = tagValue(span, 'error');
  return value === true || value === 'true';
}

function parentId(span: Span, present: (id: string) => boolean): string | undefined {
  const refs = span.references ?? [];
  const childOf = refs.find((r) => r.refType === 'CHILD_OF' && r.spanID !== span.spanID && present(r.spanID));
  if (childOf) return childOf.spanID;
  return refs.find((r) => r.spanID !== span.spanID && present(r.spanID))?.spanID;
}

export function buildSpanTree(trace: Trace): SpanTree {
  const byId = new Map<string, SpanNode>();
  for (const span of trace.spans) {
    // A repeated id (should not survive the adjusters) keeps its first span.
    if (!byId.has(span.spanID)) {
      byId.set(span.spanID, { span, service: serviceName(trace, span), parent: null, children: [], depth: 0 });
    }
  }
  const roots: SpanNode[] = [];
  const orphans: SpanNode[] = [];
  for (const node of byId.values()) {
    const parent = parentId(node.span, (id) => byId.has(id));
    const parentNode = parent ? byId.get(parent) : undefined;
    if (parentNode && !createsCycle(parentNode, node)) {
      node.parent = parentNode;
      parentNode.children.push(node);
    } else {
      roots.push(node);
      if ((node.span.references ?? []).length > 0) orphans.push(node);
    }
  }
  const byStart = (a: SpanNode, b: SpanNode) =>
    a.span.startTime - b.span.startTime || a.span.spanID.localeCompare(b.span.spanID);
  roots.sort(byStart);
  const ordered: SpanNode[] = [];
  // Iterative DFS: a 10,000-deep chain must not overflow the stack.
  const stack: SpanNode[] = [...roots].reverse();
  for (const r of roots) r.depth = 0;
  while (stack.length) {
    const node = stack.pop()!;
    ordered.push(node);
    node.children.sort(byStart);
    for (let i = node.children.length - 1; i >= 0; i--) {
      node.children[i].depth = node.depth + 1;
      stack.push(node.children[i]);
    }
  }
  return { roots, byId, ordered, orphans };
}

function createsCycle(parent: SpanNode, child: SpanNode): boolean {
  for (let p: SpanNode | null = parent; p; p = p.parent) if (p === child) return true;
  return false;
}

/** The visible rows when the subtrees under `collapsed` span ids are folded. */
export function visibleRows(tree: SpanTree, collapsed: ReadonlySet<string>): SpanNode[] {
  if (collapsed.size === 0) return tree.ordered;
  const out: SpanNode[] = [];
  let skipBelowDepth = Infinity;
  for (const node of tree.ordered) {
    if (node.depth > skipBelowDepth) continue;
    skipBelowDepth = Infinity;
    out.push(node);
    if (collapsed.has(node.span.spanID) && node.children.length) skipBelowDepth = node.depth;
  }
  return out;
}

/** The trace's time bounds in µs. */
export function traceBounds(trace: Trace): { start: number; end: number; duration: number } {
  let start = Infinity;
  let end = -Infinity;
  for (const s of trace.spans) {
    start = Math.min(start, s.startTime);
    end = Math.max(end, s.startTime + s.duration);
  }
  if (!Number.isFinite(start)) return { start: 0, end: 0, duration: 0 };
  return { start, end, duration: end - start };
}
