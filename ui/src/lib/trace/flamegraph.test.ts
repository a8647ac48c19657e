import { describe, expect, it } from 'vitest';
import { span, trace } from './fixtures';
import { flameLayout } from './flamegraph';
import { buildSpanTree } from './tree';

const tree = buildSpanTree(
  trace([
    span('a', 0, 100),
    span('b', 0, 50, 'a'),
    span('c', 50, 100, 'a'),
    span('d', 60, 80, 'c'),
    span('late', 90, 140, 'c'),
    span('tiny', 10, 10.01, 'b'),
  ]),
);

const boxes = (layout: ReturnType<typeof flameLayout>) =>
  Object.fromEntries(layout.rects.map((r) => [r.node.span.spanID, [r.level, r.x, r.width, r.ancestor]]));

describe('flame graph layout', () => {
  it('puts time on x and depth on y over the whole trace', () => {
    const layout = flameLayout(tree, null, 0.001);
    const b = boxes(layout);
    expect(b.a).toEqual([0, 0, 1, false]);
    expect(b.b).toEqual([1, 0, 0.5, false]);
    expect(b.c).toEqual([1, 0.5, 0.5, false]);
    expect(b.d[0]).toBe(2);
    expect(b.d[1]).toBeCloseTo(0.6);
    expect(b.d[2]).toBeCloseTo(0.2);
    expect(layout.levels).toBe(3);
  });

  it('clips a child that outlives its parent to the parent', () => {
    const late = flameLayout(tree).rects.find((r) => r.node.span.spanID === 'late')!;
    expect([late.start, late.end]).toEqual([90, 100]);
  });

  it('drops boxes narrower than the minimum width and counts them', () => {
    const layout = flameLayout(tree, null, 0.001);
    expect(layout.rects.some((r) => r.node.span.spanID === 'tiny')).toBe(false);
    expect(layout.hidden).toBe(1);
  });

  it('zooms into a subtree: it fills the width, ancestors span it above', () => {
    const layout = flameLayout(tree, 'c', 0.001);
    const b = boxes(layout);
    expect(b.a).toEqual([0, 0, 1, true]);
    expect(b.c).toEqual([1, 0, 1, false]);
    expect(b.d[1]).toBeCloseTo(0.2);
    expect(b.d[2]).toBeCloseTo(0.4);
    expect(b.b).toBeUndefined();
    expect([layout.start, layout.end]).toEqual([50, 100]);
  });
});

describe('flame graph lanes', () => {
  it('gives siblings that overlap in time their own lanes, and reuses a lane once it is free', () => {
    const layout = flameLayout(
      buildSpanTree(
        trace([
          span('p', 0, 100),
          span('c1', 0, 60, 'p'),
          span('g1', 10, 20, 'c1'),
          span('c2', 40, 80, 'p'),
          span('c3', 70, 90, 'p'),
        ]),
      ),
      null,
      0.001,
    );
    const level = (id: string) => layout.rects.find((r) => r.node.span.spanID === id)!.level;
    // c1 and c3 share lane 0 (c1 ends before c3 starts); c2 overlaps c1, so it goes below c1's subtree.
    expect([level('p'), level('c1'), level('g1'), level('c3'), level('c2')]).toEqual([0, 1, 2, 1, 3]);
    expect(layout.levels).toBe(4);
  });

  it('keeps sequential children one row under their parent', () => {
    const layout = flameLayout(buildSpanTree(trace([span('p', 0, 100), span('a', 0, 50, 'p'), span('b', 50, 100, 'p')])));
    expect(layout.rects.map((r) => r.level)).toEqual([0, 1, 1]);
  });

  it('stacks a root that overlaps another below its tree, and keeps a later one on the top row', () => {
    const layout = flameLayout(
      buildSpanTree(
        trace([
          span('a', 0, 100),
          span('b', 10, 50, 'a'),
          span('orphan', 20, 40, 'missing'),
          span('late', 200, 300, 'missing'),
        ]),
      ),
      null,
      0.001,
    );
    const level = (id: string) => layout.rects.find((r) => r.node.span.spanID === id)!.level;
    expect([level('a'), level('b'), level('orphan'), level('late')]).toEqual([0, 1, 2, 0]);
    expect(layout.levels).toBe(3);
  });
});
