import { describe, expect, it } from 'vitest';
import type { Span, Trace } from '../../lib/types';
import { sortTraces, summarizeTrace, type TraceSummary } from './summary';

function span(id: string, parent: string | null, processID: string, start: number, duration: number, error = false): Span {
  return {
    traceID: 't1',
    spanID: id,
    operationName: `op-${id}`,
    references: parent ? [{ refType: 'CHILD_OF', traceID: 't1', spanID: parent }] : [],
    startTime: start,
    duration,
    tags: error ? [{ key: 'error', type: 'bool', value: true }] : [],
    logs: [],
    processID,
    warnings: null,
  };
}

const processes = {
  p1: { serviceName: 'frontend', tags: [] },
  p2: { serviceName: 'redis', tags: [] },
};

describe('trace summary', () => {
  it('reads root, counts, services and bounds', () => {
    const trace: Trace = {
      traceID: 't1',
      processes,
      warnings: null,
      spans: [
        span('b', 'a', 'p2', 1_010, 30, true),
        span('a', null, 'p1', 1_000, 100),
        span('c', 'a', 'p2', 1_050, 80),
        span('d', 'c', 'p2', 1_060, 10, true),
      ],
    };
    expect(summarizeTrace(trace)).toEqual({
      traceID: 't1',
      rootService: 'frontend',
      rootOperation: 'op-a',
      rootMissing: false,
      spanCount: 4,
      errorCount: 2,
      services: [
        { name: 'redis', count: 3 },
        { name: 'frontend', count: 1 },
      ],
      start: 1_000,
      duration: 130, // c ends at 1,130
    });
  });

  it('says so when the root span is missing and uses the earliest orphan', () => {
    const trace: Trace = {
      traceID: 't1',
      processes,
      warnings: null,
      spans: [span('y', 'gone', 'p2', 20, 5), span('x', 'gone', 'p1', 10, 5)],
    };
    const summary = summarizeTrace(trace);
    expect([summary.rootMissing, summary.rootService, summary.rootOperation]).toEqual([true, 'frontend', 'op-x']);
  });
});

describe('result order', () => {
  const t = (traceID: string, start: number, duration: number, spanCount: number, errorCount: number): TraceSummary => ({
    traceID,
    rootService: 's',
    rootOperation: 'o',
    rootMissing: false,
    spanCount,
    errorCount,
    services: [],
    start,
    duration,
  });
  const results = [t('a', 100, 50, 3, 0), t('b', 300, 10, 9, 2), t('c', 200, 90, 1, 1)];
  const ids = (sorted: TraceSummary[]) => sorted.map((s) => s.traceID);

  it('sorts by each order the URL can ask for', () => {
    expect(ids(sortTraces(results, 'MOST_RECENT'))).toEqual(['b', 'c', 'a']);
    expect(ids(sortTraces(results, 'LONGEST_FIRST'))).toEqual(['c', 'a', 'b']);
    expect(ids(sortTraces(results, 'SHORTEST_FIRST'))).toEqual(['b', 'a', 'c']);
    expect(ids(sortTraces(results, 'MOST_SPANS'))).toEqual(['b', 'a', 'c']);
    expect(ids(sortTraces(results, 'MOST_ERRORS'))).toEqual(['b', 'c', 'a']);
  });

  it('breaks ties by most recent and leaves the input alone', () => {
    const tied = [t('x', 1, 5, 1, 0), t('y', 2, 5, 1, 0)];
    expect(ids(sortTraces(tied, 'LONGEST_FIRST'))).toEqual(['y', 'x']);
    expect(ids(tied)).toEqual(['x', 'y']);
  });
});
