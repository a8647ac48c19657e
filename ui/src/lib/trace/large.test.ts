// A 10,000-span trace through everything the view computes: it must complete and stay consistent
// (the browser test measures the time to first render; here we only print how long it took).
import { describe, expect, it } from 'vitest';
import { criticalPath } from './criticalPath';
import { findSpans } from './find';
import { flameLayout } from './flamegraph';
import { generateTrace } from './generate';
import { traceModel } from './model';
import { traceStatistics } from './statistics';
import { visibleRows } from './tree';

describe('a 10,000-span trace', () => {
  const trace = generateTrace({ spans: 10_000, seed: 7 });

  it('is generated deterministically with one root and every span reachable', () => {
    expect(generateTrace({ spans: 10_000, seed: 7 })).toEqual(trace);
    const model = traceModel(trace);
    expect(model.tree.roots).toHaveLength(1);
    expect(model.tree.ordered).toHaveLength(10_000);
    expect(model.depth).toBeGreaterThan(5);
  });

  it('goes through model, rows, critical path, statistics, flame graph and find', () => {
    const t0 = performance.now();
    const model = traceModel(trace);
    const t1 = performance.now();
    const rows = visibleRows(model.tree, new Set([model.tree.roots[0].children[0].span.spanID]));
    const segments = criticalPath(model.tree);
    const t2 = performance.now();
    const stats = traceStatistics(model);
    const t3 = performance.now();
    const flame = flameLayout(model.tree);
    const t4 = performance.now();
    const found = findSpans(trace, model.tree, 'retry');
    const t5 = performance.now();
    console.log(
      `10k spans: model ${(t1 - t0).toFixed(1)}ms, critical path ${(t2 - t1).toFixed(1)}ms, statistics ${(t3 - t2).toFixed(1)}ms, flame layout ${(t4 - t3).toFixed(1)}ms, find ${(t5 - t4).toFixed(1)}ms`,
    );
    expect(rows.length).toBeLessThan(10_000);
    expect(segments.reduce((s, x) => s + x.end - x.start, 0)).toBe(model.tree.roots[0].span.duration);
    expect(stats.reduce((s, g) => s + g.count, 0)).toBe(10_000);
    expect(flame.rects.length + flame.hidden).toBe(10_000);
    expect(found!.ids.length).toBeGreaterThan(0);
  });

  it('lays the flame graph out with no two boxes on a row overlapping', () => {
    const flame = flameLayout(traceModel(trace).tree);
    const rows = new Map<number, { x: number; width: number }[]>();
    for (const r of flame.rects) rows.set(r.level, [...(rows.get(r.level) ?? []), r]);
    let overlaps = 0;
    for (const boxes of rows.values()) {
      boxes.sort((a, b) => a.x - b.x);
      for (let i = 1; i < boxes.length; i++) if (boxes[i - 1].x + boxes[i - 1].width > boxes[i].x + 1e-12) overlaps++;
    }
    expect(overlaps).toBe(0);
  });
});
