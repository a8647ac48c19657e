import { describe, expect, it } from 'vitest';
import { criticalPath, segmentsBySpan } from './criticalPath';
import { span, trace } from './fixtures';
import { buildSpanTree } from './tree';

const path = (...spans: Parameters<typeof span>[]) =>
  criticalPath(buildSpanTree(trace(spans.map((s) => span(...s))))).map((s) => [s.spanID, s.start, s.end]);

describe('critical path', () => {
  it('follows a simple chain down and back up', () => {
    expect(path(['a', 0, 100], ['b', 10, 90, 'a'], ['c', 20, 80, 'b'])).toEqual([
      ['a', 0, 10],
      ['b', 10, 20],
      ['c', 20, 80],
      ['b', 80, 90],
      ['a', 90, 100],
    ]);
  });

  it('takes both of two sequential children, the gaps belonging to the parent', () => {
    expect(path(['a', 0, 100], ['b', 10, 40, 'a'], ['c', 50, 90, 'a'])).toEqual([
      ['a', 0, 10],
      ['b', 10, 40],
      ['a', 40, 50],
      ['c', 50, 90],
      ['a', 90, 100],
    ]);
  });

  it('of overlapping children takes the last to finish and skips those that ended after the point reached', () => {
    // b ends at 60, after c started (40): the parent was waiting on c, so b is off the path.
    expect(path(['a', 0, 100], ['b', 0, 60, 'a'], ['c', 40, 80, 'a'])).toEqual([
      ['a', 0, 40],
      ['c', 40, 80],
      ['a', 80, 100],
    ]);
  });

  it('of children ending together takes the one that started first', () => {
    expect(path(['a', 0, 100], ['b', 50, 100, 'a'], ['c', 10, 100, 'a'])).toEqual([
      ['a', 0, 10],
      ['c', 10, 100],
    ]);
  });

  it('clips a child that ends after its parent to the parent end', () => {
    expect(path(['a', 0, 100], ['b', 50, 150, 'a'])).toEqual([
      ['a', 0, 50],
      ['b', 50, 100],
    ]);
  });

  it('leaves out a child that starts after its parent ended', () => {
    expect(path(['a', 0, 100], ['b', 120, 150, 'a'])).toEqual([['a', 0, 100]]);
  });

  it('does not wait on a FOLLOWS_FROM child', () => {
    expect(
      path(['a', 0, 100], ['b', 10, 30, 'a'], ['async', 40, 95, 'a', { refType: 'FOLLOWS_FROM' }]),
    ).toEqual([
      ['a', 0, 10],
      ['b', 10, 30],
      ['a', 30, 100],
    ]);
  });

  it('leaves out an orphaned subtree: nothing says the trace waited on it', () => {
    expect(path(['a', 0, 100], ['b', 10, 40, 'a'], ['x', 50, 70, 'missing'])).toEqual([
      ['a', 0, 10],
      ['b', 10, 40],
      ['a', 40, 100],
    ]);
  });

  it('follows the orphan that ended last when the root span is missing', () => {
    expect(path(['x', 0, 30, 'missing'], ['y', 20, 80, 'missing'], ['z', 30, 60, 'y'])).toEqual([
      ['y', 20, 30],
      ['z', 30, 60],
      ['y', 60, 80],
    ]);
  });

  it('covers exactly the root duration, each instant once', () => {
    const segments = criticalPath(
      buildSpanTree(
        trace([
          span('a', 0, 1000),
          span('b', 100, 600, 'a'),
          span('c', 200, 700, 'a'),
          span('d', 250, 650, 'c'),
          span('e', 300, 1200, 'd'),
          span('f', 800, 900, 'a'),
        ]),
      ),
    );
    const total = segments.reduce((sum, s) => sum + (s.end - s.start), 0);
    expect(total).toBe(1000);
    for (let i = 1; i < segments.length; i++) expect(segments[i].start).toBe(segments[i - 1].end);
    expect(segmentsBySpan(segments).get('a')!.map((s) => [s.start, s.end])).toEqual([
      [0, 200],
      [700, 800],
      [900, 1000],
    ]);
  });
});
