// The critical path: the chain of work that decided when the trace finished. From the root's end,
// walk back: the child that finished last before the current point was what the parent waited on,
// so the time after it belongs to the parent and the path descends into the child; back in the
// parent, the walk resumes from that child's start. Children are clipped to their parent (a child
// ending after its parent only counts up to the parent's end); FOLLOWS_FROM children are fired off
// and not waited on, so they are never on it. Overlapping children that ended after the point the
// walk has reached are skipped: the parent was already waiting on a later one.

import { isChildOf, spanEnd } from './model';
import type { SpanNode, SpanTree } from './tree';

export interface CriticalSegment {
  spanID: string;
  /** µs since the epoch. */
  start: number;
  end: number;
}

interface Clipped {
  node: SpanNode;
  lo: number;
  hi: number;
}

interface Frame extends Clipped {
  cursor: number;
  kids: Clipped[];
  next: number;
}

function frame(c: Clipped): Frame {
  const kids: Clipped[] = [];
  for (const child of c.node.children) {
    if (!isChildOf(child)) continue;
    const lo = Math.max(child.span.startTime, c.lo);
    const hi = Math.min(spanEnd(child), c.hi);
    if (hi > lo) kids.push({ node: child, lo, hi });
  }
  // Latest end first; of children ending together, the one that started first is what was waited on longest.
  kids.sort((a, b) => b.hi - a.hi || a.lo - b.lo);
  return { ...c, cursor: c.hi, kids, next: 0 };
}

/** The critical path of one root's tree, in time order. Iterative: a 10,000-deep chain is fine. */
export function criticalPathOf(root: SpanNode): CriticalSegment[] {
  const out: CriticalSegment[] = [];
  const stack: Frame[] = [frame({ node: root, lo: root.span.startTime, hi: spanEnd(root) })];
  while (stack.length) {
    const f = stack[stack.length - 1];
    // Kids are sorted by end, and the cursor only moves back: skip those ending after it.
    while (f.next < f.kids.length && f.kids[f.next].hi > f.cursor) f.next++;
    if (f.next < f.kids.length) {
      const kid = f.kids[f.next++];
      if (kid.hi < f.cursor) out.push({ spanID: f.node.span.spanID, start: kid.hi, end: f.cursor });
      f.cursor = kid.lo;
      stack.push(frame(kid));
    } else {
      if (f.cursor > f.lo) out.push({ spanID: f.node.span.spanID, start: f.lo, end: f.cursor });
      stack.pop();
    }
  }
  return out.reverse();
}

/**
 * The trace's critical path: that of its root span. A subtree whose parent is missing (an orphan,
 * shown as another root) is left out: nothing says the trace waited on it. When the root itself
 * is missing, the orphan that ended last stands in, since it decided when the trace finished.
 */
export function criticalPath(tree: SpanTree): CriticalSegment[] {
  const roots = tree.roots.filter((r) => (r.span.references ?? []).length === 0);
  if (roots.length) return roots.flatMap(criticalPathOf);
  const last = tree.roots.reduce<SpanNode | null>((best, r) => (!best || spanEnd(r) > spanEnd(best) ? r : best), null);
  return last ? criticalPathOf(last) : [];
}

/** Segments by span id, for drawing them on each span's bar. */
export function segmentsBySpan(segments: CriticalSegment[]): Map<string, CriticalSegment[]> {
  const by = new Map<string, CriticalSegment[]>();
  for (const s of segments) {
    const list = by.get(s.spanID);
    if (list) list.push(s);
    else by.set(s.spanID, [s]);
  }
  return by;
}
