import { describe, expect, it } from 'vitest';
import type { Span, Trace } from '../types';
import { buildSpanTree, visibleRows } from './tree';

function span(id: string, start: number, parent?: string, refType: 'CHILD_OF' | 'FOLLOWS_FROM' = 'CHILD_OF'): Span {
  return {
    traceID: 't',
    spanID: id,
    operationName: `op-${id}`,
    references: parent ? [{ refType, traceID: 't', spanID: parent }] : [],
    startTime: start,
    duration: 10,
    tags: [],
    logs: [],
    processID: 'p1',
    warnings: null,
  };
}

const trace = (spans: Span[]): Trace => ({
  traceID: 't',
  spans,
  processes: { p1: { serviceName: 'svc', tags: [] } },
  warnings: null,
});

describe('span tree', () => {
  it('orders spans depth first with children by start time', () => {
    const tree = buildSpanTree(trace([span('c', 30, 'a'), span('a', 0), span('b', 20, 'a'), span('d', 25, 'b')]));
    expect(tree.ordered.map((n) => n.span.spanID)).toEqual(['a', 'b', 'd', 'c']);
    expect(tree.ordered.map((n) => n.depth)).toEqual([0, 1, 2, 1]);
  });

  it('makes a span whose parent is missing a root and reports it as an orphan', () => {
    const tree = buildSpanTree(trace([span('a', 0), span('x', 5, 'gone')]));
    expect(tree.roots.map((n) => n.span.spanID)).toEqual(['a', 'x']);
    expect(tree.orphans.map((n) => n.span.spanID)).toEqual(['x']);
  });

  it('prefers a CHILD_OF reference over a FOLLOWS_FROM one', () => {
    const s = span('c', 10, 'b');
    s.references.unshift({ refType: 'FOLLOWS_FROM', traceID: 't', spanID: 'a' });
    const tree = buildSpanTree(trace([span('a', 0), span('b', 1), s]));
    expect(tree.byId.get('c')!.parent!.span.spanID).toBe('b');
  });

  it('hides the descendants of a collapsed span only', () => {
    const tree = buildSpanTree(trace([span('a', 0), span('b', 1, 'a'), span('c', 2, 'b'), span('d', 3, 'a')]));
    expect(visibleRows(tree, new Set(['b'])).map((n) => n.span.spanID)).toEqual(['a', 'b', 'd']);
  });

  it('builds a 10,000-deep chain without recursion', () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => span(`s${i}`, i, i ? `s${i - 1}` : undefined));
    expect(buildSpanTree(trace(spans)).ordered).toHaveLength(10_000);
  });
});
