// Flame-graph layout: x is time within the window (the focused span, or the whole trace), y is
// depth. Each span is clipped to its parent's clipped interval, so boxes nest as a flame graph's
// must even when a child outlives its parent or starts before it (clock skew). Siblings that run
// at the same time would cover each other on one row, so they are given lanes: a child goes to
// the first lane free at its start, and each lane is as tall as the deepest subtree in it. A
// span whose children run one after another stays exactly one row above them. Boxes narrower
// than `minWidth` (a fraction of the window) are dropped with their subtrees: they would be
// sub-pixel and only cost DOM nodes.

import { spanEnd } from './model';
import type { SpanNode, SpanTree } from './tree';

export interface FlameRect {
  node: SpanNode;
  /** Row from the top: depth, plus the lanes of overlapping siblings above it. */
  level: number;
  /** Fractions of the window, 0–1. */
  x: number;
  width: number;
  /** The clipped interval, µs since the epoch. */
  start: number;
  end: number;
  /** An ancestor of the focused span, drawn across the full width above it. */
  ancestor: boolean;
}

export interface FlameLayout {
  rects: FlameRect[];
  levels: number;
  /** Spans left out because they would be narrower than `minWidth`. */
  hidden: number;
  /** The window, µs since the epoch. */
  start: number;
  end: number;
  focus: SpanNode | null;
}

interface Item {
  node: SpanNode | null; // null: the virtual parent of the top spans
  lo: number;
  hi: number;
  kids: Item[];
  lane: number;
  laneHeights: number[];
  height: number;
  row: number;
}

export function flameLayout(tree: SpanTree, focusId: string | null = null, minWidth = 0.0005): FlameLayout {
  const focus = (focusId && tree.byId.get(focusId)) || null;
  const rects: FlameRect[] = [];
  let start: number;
  let end: number;
  let tops: SpanNode[];
  let base = 0;
  if (focus) {
    start = focus.span.startTime;
    end = spanEnd(focus);
    tops = [focus];
    let level = 0;
    const ancestors: SpanNode[] = [];
    for (let p = focus.parent; p; p = p.parent) ancestors.unshift(p);
    for (const node of ancestors) rects.push({ node, level: level++, x: 0, width: 1, start, end, ancestor: true });
    base = ancestors.length;
  } else {
    start = Infinity;
    end = -Infinity;
    for (const r of tree.roots) {
      start = Math.min(start, r.span.startTime);
      end = Math.max(end, spanEnd(r));
    }
    tops = tree.roots;
    if (!tops.length) return { rects, levels: 0, hidden: 0, start: 0, end: 0, focus };
  }
  const length = end - start;
  let hidden = 0;

  // Build the drawn tree top-down (parents before children in `all`), pruning narrow boxes.
  const top: Item = { node: null, lo: start, hi: end, kids: [], lane: 0, laneHeights: [], height: 0, row: base - 1 };
  const all: Item[] = [top];
  for (let i = 0; i < all.length; i++) {
    const item = all[i];
    const children = item.node ? item.node.children : tops;
    for (const child of children) {
      const lo = Math.max(child.span.startTime, item.lo);
      const hi = Math.min(spanEnd(child), item.hi);
      // A zero-length window (one zero-duration span) still shows that span across the width.
      const tooNarrow = length > 0 ? hi <= lo || (hi - lo) / length < minWidth : false;
      if (tooNarrow) {
        hidden += countSubtree(child);
        continue;
      }
      const kid: Item = { node: child, lo, hi, kids: [], lane: 0, laneHeights: [], height: 1, row: 0 };
      item.kids.push(kid);
      all.push(kid);
    }
  }
  // Bottom-up: lanes and heights (children always come after their parent in `all`).
  for (let i = all.length - 1; i >= 0; i--) {
    const item = all[i];
    item.kids.sort((a, b) => a.lo - b.lo || b.hi - a.hi);
    const laneEnds: number[] = [];
    for (const kid of item.kids) {
      let lane = laneEnds.findIndex((e) => e <= kid.lo);
      if (lane < 0) lane = laneEnds.push(kid.hi) - 1;
      else laneEnds[lane] = kid.hi;
      kid.lane = lane;
      item.laneHeights[lane] = Math.max(item.laneHeights[lane] ?? 0, kid.height);
    }
    item.height = (item.node ? 1 : 0) + item.laneHeights.reduce((a, b) => a + b, 0);
  }
  // Top-down: rows.
  let levels = base;
  for (const item of all) {
    const laneRow: number[] = [];
    let row = item.row + 1;
    for (const h of item.laneHeights) {
      laneRow.push(row);
      row += h;
    }
    for (const kid of item.kids) kid.row = laneRow[kid.lane];
    if (!item.node) continue;
    rects.push({
      node: item.node,
      level: item.row,
      x: length > 0 ? (item.lo - start) / length : 0,
      width: length > 0 ? (item.hi - item.lo) / length : 1,
      start: item.lo,
      end: item.hi,
      ancestor: false,
    });
    levels = Math.max(levels, item.row + 1);
  }
  return { rects, levels, hidden, start, end, focus };
}

function countSubtree(node: SpanNode): number {
  let n = 0;
  const stack = [node];
  while (stack.length) {
    const x = stack.pop()!;
    n++;
    for (const c of x.children) stack.push(c);
  }
  return n;
}
