// Two traces compared by structure, as Jaeger UI's trace diff does: every span is placed at the
// path of (service, operation) pairs from its root, spans at the same path in one trace merge
// into one node (counting calls), and the two traces' nodes merge by path. A node only in B was
// added, only in A removed; in both, its mean duration says slower, faster or about the same.

import type { Trace } from './types';
import { buildSpanTree, isError } from './trace/tree';

export interface DiffSide {
  /** Spans at this path. */
  count: number;
  /** µs, summed and averaged over those spans. */
  totalDuration: number;
  meanDuration: number;
  errors: number;
}

export type DiffState = 'added' | 'removed' | 'slower' | 'faster' | 'same';
export type CountChange = 'more' | 'fewer' | 'same';

export interface DiffNode {
  /** Stable for the same two traces: the key of collapsed nodes in the view. */
  key: string;
  service: string;
  operation: string;
  depth: number;
  a: DiffSide | null;
  b: DiffSide | null;
  state: DiffState;
  /** Calls in B against A; `same` when the node is only in one of them. */
  countChange: CountChange;
  children: DiffNode[];
  /** Some node below this one differs. */
  changedBelow: boolean;
}

export interface DiffSummary {
  added: number;
  removed: number;
  slower: number;
  faster: number;
  /** Nodes in both traces with a different number of calls (they may also be slower/faster). */
  countChanged: number;
  unchanged: number;
  nodes: number;
}

export interface TraceDiff {
  roots: DiffNode[];
  summary: DiffSummary;
}

export interface DiffThreshold {
  /** A change smaller than this fraction of A's mean is noise. */
  relative: number;
  /** …and so is one smaller than this many µs. */
  absoluteMicros: number;
}

export const DEFAULT_THRESHOLD: DiffThreshold = { relative: 0.1, absoluteMicros: 1000 };

export function isChanged(node: DiffNode): boolean {
  return node.state !== 'same' || node.countChange !== 'same';
}

/** B's mean against A's: a change must pass both the relative and the absolute threshold. */
export function classifyDuration(
  meanA: number,
  meanB: number,
  threshold: DiffThreshold = DEFAULT_THRESHOLD,
): 'slower' | 'faster' | 'same' {
  const delta = meanB - meanA;
  if (Math.abs(delta) < threshold.absoluteMicros) return 'same';
  if (meanA > 0 && Math.abs(delta) / meanA < threshold.relative) return 'same';
  return delta > 0 ? 'slower' : 'faster';
}

interface PathInfo {
  parent: number; // -1 for a root
  service: string;
  operation: string;
}

interface Aggregate {
  count: number;
  total: number;
  errors: number;
  /** Position of the first span at this path in the trace's depth-first order. */
  order: number;
}

/**
 * Paths are interned to small integers shared by both traces: a path's id stands for its whole
 * chain of ancestors, so a 10,000-deep trace costs O(spans), not O(depth²) in path strings.
 */
class PathTable {
  readonly paths: PathInfo[] = [];
  private readonly ids = new Map<string, number>();

  id(parent: number, service: string, operation: string): number {
    const key = `${parent}\u0000${service}\u0000${operation}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push({ parent, service, operation });
      this.ids.set(key, id);
    }
    return id;
  }
}

function aggregate(trace: Trace, table: PathTable): Map<number, Aggregate> {
  const tree = buildSpanTree(trace);
  const pathOf = new Map<string, number>();
  const out = new Map<number, Aggregate>();
  tree.ordered.forEach((node, index) => {
    const parent = node.parent ? pathOf.get(node.parent.span.spanID)! : -1;
    const id = table.id(parent, node.service, node.span.operationName);
    pathOf.set(node.span.spanID, id);
    let agg = out.get(id);
    if (!agg) {
      agg = { count: 0, total: 0, errors: 0, order: index };
      out.set(id, agg);
    }
    agg.count += 1;
    agg.total += node.span.duration;
    if (isError(node.span)) agg.errors += 1;
  });
  return out;
}

function side(agg: Aggregate | undefined): DiffSide | null {
  if (!agg) return null;
  return { count: agg.count, totalDuration: agg.total, meanDuration: agg.total / agg.count, errors: agg.errors };
}

export function diffTraces(a: Trace, b: Trace, threshold: DiffThreshold = DEFAULT_THRESHOLD): TraceDiff {
  const table = new PathTable();
  const inA = aggregate(a, table);
  const inB = aggregate(b, table);
  const summary: DiffSummary = { added: 0, removed: 0, slower: 0, faster: 0, countChanged: 0, unchanged: 0, nodes: 0 };
  // A path is interned after its parent, so ascending ids visit parents first.
  const nodes: DiffNode[] = table.paths.map((path, id) => {
    const sa = side(inA.get(id));
    const sb = side(inB.get(id));
    let state: DiffState;
    let countChange: CountChange = 'same';
    if (sa && sb) {
      state = classifyDuration(sa.meanDuration, sb.meanDuration, threshold);
      countChange = sb.count > sa.count ? 'more' : sb.count < sa.count ? 'fewer' : 'same';
    } else {
      state = sa ? 'removed' : 'added';
    }
    return {
      key: `p${id}`,
      service: path.service,
      operation: path.operation,
      depth: 0,
      a: sa,
      b: sb,
      state,
      countChange,
      children: [],
      changedBelow: false,
    };
  });
  const roots: DiffNode[] = [];
  table.paths.forEach((path, id) => {
    const node = nodes[id];
    if (path.parent < 0) roots.push(node);
    else {
      node.depth = nodes[path.parent].depth + 1;
      nodes[path.parent].children.push(node);
    }
    summary.nodes += 1;
    if (node.state === 'same' && node.countChange === 'same') summary.unchanged += 1;
    else if (node.state !== 'same') summary[node.state] += 1;
    if (node.countChange !== 'same') summary.countChanged += 1;
  });
  for (let id = table.paths.length - 1; id >= 0; id--) {
    const parent = table.paths[id].parent;
    if (parent >= 0 && (nodes[id].changedBelow || isChanged(nodes[id]))) nodes[parent].changedBelow = true;
  }
  // A's order first (as its timeline reads), then what only B has, in B's order.
  const order = (id: number): [number, number] => {
    const agg = inA.get(id);
    return agg ? [0, agg.order] : [1, inB.get(id)!.order];
  };
  const byOrder = (x: DiffNode, y: DiffNode) => {
    const [gx, ox] = order(Number(x.key.slice(1)));
    const [gy, oy] = order(Number(y.key.slice(1)));
    return gx - gy || ox - oy;
  };
  roots.sort(byOrder);
  for (const node of nodes) node.children.sort(byOrder);
  return { roots, summary };
}

/**
 * The rows to draw, depth first: below a collapsed node nothing, and with `onlyChanges` only the
 * nodes that differ and their ancestors.
 */
export function flattenDiff(
  roots: DiffNode[],
  options: { collapsed?: ReadonlySet<string>; onlyChanges?: boolean } = {},
): DiffNode[] {
  const { collapsed = new Set<string>(), onlyChanges = false } = options;
  const keep = (node: DiffNode) => !onlyChanges || isChanged(node) || node.changedBelow;
  const out: DiffNode[] = [];
  const stack = roots.filter(keep).reverse();
  while (stack.length) {
    const node = stack.pop()!;
    out.push(node);
    if (collapsed.has(node.key)) continue;
    for (let i = node.children.length - 1; i >= 0; i--) if (keep(node.children[i])) stack.push(node.children[i]);
  }
  return out;
}

/** No root of A is at a root of B: the traces start at different operations and nothing lines up. */
export function rootsDiffer(diff: TraceDiff): boolean {
  return diff.roots.length > 0 && diff.roots.every((r) => !r.a || !r.b);
}
