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
