import { describe, expect, it } from 'vitest';
import { span, trace } from './fixtures';
import { traceModel } from './model';
import { selfTime, sortStatistics, traceStatistics } from './statistics';

describe('self time', () => {
  it('subtracts the union of overlapping children once', () => {
    const model = traceModel(trace([span('a', 0, 100), span('b', 10, 50, 'a'), span('c', 30, 70, 'a')]));
    expect(selfTime(model.tree.byId.get('a')!)).toBe(40); // children cover 10–70
  });

  it('clips children to the span', () => {
    const model = traceModel(trace([span('a', 0, 100), span('b', -20, 10, 'a'), span('c', 90, 300, 'a')]));
    expect(selfTime(model.tree.byId.get('a')!)).toBe(80);
  });

  it('is the whole duration for a leaf', () => {
    const model = traceModel(trace([span('a', 5, 25)]));
    expect(selfTime(model.tree.byId.get('a')!)).toBe(20);
  });
});

describe('trace statistics', () => {
  const model = traceModel(
    trace([
      span('root', 0, 1000, undefined, { service: 'p1', operation: 'GET /' }),
      span('q1', 100, 300, 'root', { service: 'p3', operation: 'SELECT' }),
      span('q2', 400, 500, 'root', { service: 'p3', operation: 'SELECT' }),
      span('call', 500, 900, 'root', {
        service: 'p2',
        operation: 'rpc',
        tags: [{ key: 'error', type: 'bool', value: true }],
      }),
      span('q3', 600, 700, 'call', { service: 'p3', operation: 'INSERT' }),
    ]),
  );
  const stats = traceStatistics(model);

  it('groups by service then operation with count, total, self, avg, min, max and share of the trace', () => {
    const db = stats.find((s) => s.service === 'db')!;
    expect(db).toMatchObject({ count: 3, total: 400, self: 400, min: 100, max: 200, errors: 0 });
    const select = db.operations.find((o) => o.operation === 'SELECT')!;
    expect(select).toMatchObject({ count: 2, total: 300, self: 300, avg: 150, min: 100, max: 200 });
    expect(select.totalShare).toBeCloseTo(0.3);
    const frontend = stats.find((s) => s.service === 'frontend')!;
    expect(frontend).toMatchObject({ count: 1, total: 1000, self: 300 });
    expect(frontend.selfShare).toBeCloseTo(0.3);
    expect(stats.find((s) => s.service === 'backend')).toMatchObject({ total: 400, self: 300, errors: 1 });
  });

  it('self times add up to the trace duration when nothing runs in parallel', () => {
    expect(stats.reduce((sum, s) => sum + s.self, 0)).toBe(1000);
  });

  it('sorts services and their operations by the chosen column', () => {
    const byCount = sortStatistics(stats, 'count', 'desc');
    expect(byCount.map((s) => s.service)).toEqual(['db', 'backend', 'frontend']);
    expect(byCount[0].operations.map((o) => o.operation)).toEqual(['SELECT', 'INSERT']);
    const byName = sortStatistics(stats, 'name', 'asc');
    expect(byName.map((s) => s.service)).toEqual(['backend', 'db', 'frontend']);
    expect(byName[1].operations.map((o) => o.operation)).toEqual(['INSERT', 'SELECT']);
  });
});
