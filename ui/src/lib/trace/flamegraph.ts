// Flame-graph layout: x is time within the window (the focused span, or the whole trace), y is the
// span's depth. Each span is clipped to its parent's clipped interval, so boxes nest as a flame
// graph's must even when a child outlives its parent or starts before it (clock skew). Boxes
// narrower than `minWidth` (a fraction of the window) are dropped with their subtrees: they would
// be sub-pixel and only cost DOM nodes.

import { spanEnd } from './model';
import type { SpanNode, SpanTree } from './tree';

export interface FlameRect {
  node: SpanNode;
  /** Row from the top: the span's depth in the tree (ancestors of the focus keep theirs). */
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

export function flameLayout(tree: SpanTree, focusId: string | null = null, minWidth = 0.0005): FlameLayout {
  const focus = (focusId && tree.byId.get(focusId)) || null;
  const rects: FlameRect[] = [];
  let start: number;
  let end: number;
  let tops: SpanNode[];
  if (focus) {
    start = focus.span.startTime;
    end = spanEnd(focus);
    tops = [focus];
    const ancestors: SpanNode[] = [];
    for (let p = focus.parent; p; p = p.parent) ancestors.unshift(p);
    ancestors.forEach((node, level) =>
      rects.push({ node, level, x: 0, width: 1, start, end, ancestor: true }),
    );
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
  const span = end - start;
  let hidden = 0;
  let levels = focus ? focus.depth : 0;
  const stack: { node: SpanNode; lo: number; hi: number }[] = [];
  for (let i = tops.length - 1; i >= 0; i--) {
    const node = tops[i];
    stack.push({ node, lo: Math.max(node.span.startTime, start), hi: Math.min(spanEnd(node), end) });
  }
  while (stack.length) {
    const { node, lo, hi } = stack.pop()!;
    const width = span > 0 ? (hi - lo) / span : 1;
    // A zero-length window (one zero-duration span) still shows that span across the width.
    if (span > 0 && width < minWidth) {
      hidden += countSubtree(node);
      continue;
    }
    const level = node.depth;
    rects.push({ node, level, x: span > 0 ? (lo - start) / span : 0, width, start: lo, end: hi, ancestor: false });
    levels = Math.max(levels, level + 1);
    for (let i = node.children.length - 1; i >= 0; i--) {
      const child = node.children[i];
      const clo = Math.max(child.span.startTime, lo);
      const chi = Math.min(spanEnd(child), hi);
      if (chi <= clo) {
        hidden += countSubtree(child);
        continue;
      }
      stack.push({ node: child, lo: clo, hi: chi });
    }
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
