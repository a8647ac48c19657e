import { describe, expect, it } from 'vitest';
import type { Span, Trace } from './types';
import { classifyDuration, diffTraces, flattenDiff, rootsDiffer, type DiffNode } from './traceDiff';

// A hand-made trace: [spanID, parentID | null, service, operation, duration µs, error?]
type Row = [string, string | null, string, string, number, boolean?];

function trace(id: string, rows: Row[]): Trace {
  const services = [...new Set(rows.map((r) => r[2]))];
  const spans: Span[] = rows.map(([spanID, parent, service, operationName, duration, error], i) => ({
    traceID: id,
    spanID,
    operationName,
    references: parent ? [{ refType: 'CHILD_OF', traceID: id, spanID: parent }] : [],
    startTime: 1_000_000 + i * 10,
    duration,
    tags: error ? [{ key: 'error', type: 'bool', value: true }] : [],
    logs: [],
    processID: `p${services.indexOf(service) + 1}`,
    warnings: null,
  }));
  const processes = Object.fromEntries(services.map((s, i) => [`p${i + 1}`, { serviceName: s, tags: [] }]));
  return { traceID: id, spans, processes, warnings: null };
}

const BASE: Row[] = [
  ['1', null, 'frontend', 'GET /dispatch', 100_000],
  ['2', '1', 'customer', 'GET /customer', 40_000],
  ['3', '2', 'mysql', 'SQL SELECT', 30_000],
  ['4', '1', 'driver', 'FindNearest', 20_000],
  ['5', '4', 'redis', 'GetDriver', 5_000],
  ['6', '4', 'redis', 'GetDriver', 7_000],
];

/** `service operation` of each drawn row, indented by depth. */
const outline = (rows: DiffNode[]) => rows.map((n) => `${'  '.repeat(n.depth)}${n.service} ${n.operation}`);

describe('duration change', () => {
  it('needs both 10% and 1 ms to call a node slower or faster', () => {
    expect(classifyDuration(100_000, 150_000)).toBe('slower');
    expect(classifyDuration(100_000, 50_000)).toBe('faster');
    expect(classifyDuration(100_000, 105_000)).toBe('same'); // 5 ms but only 5%
    expect(classifyDuration(2_000, 2_900)).toBe('same'); // 45% but under 1 ms
    expect(classifyDuration(2_000, 3_000)).toBe('slower'); // 50% and 1 ms
    expect(classifyDuration(0, 5_000)).toBe('slower');
  });

  it('takes other thresholds', () => {
    expect(classifyDuration(100_000, 105_000, { relative: 0.01, absoluteMicros: 0 })).toBe('slower');
  });
});

describe('trace diff', () => {
  it('finds no change between two traces of the same structure and timing', () => {
    const diff = diffTraces(trace('a', BASE), trace('b', BASE));
    expect(diff.summary).toEqual({ added: 0, removed: 0, slower: 0, faster: 0, countChanged: 0, unchanged: 5, nodes: 5 });
    const rows = flattenDiff(diff.roots);
    expect(rows.every((n) => n.state === 'same' && n.countChange === 'same' && !n.changedBelow)).toBe(true);
    expect(flattenDiff(diff.roots, { onlyChanges: true })).toEqual([]);
  });

  it('merges spans at the same path into one node counting the calls and averaging the durations', () => {
    const diff = diffTraces(trace('a', BASE), trace('b', BASE));
    const redis = flattenDiff(diff.roots).find((n) => n.service === 'redis')!;
    expect(redis.a).toEqual({ count: 2, totalDuration: 12_000, meanDuration: 6_000, errors: 0 });
    expect(redis.depth).toBe(2);
    expect(outline(flattenDiff(diff.roots))).toEqual([
      'frontend GET /dispatch',
      '  customer GET /customer',
      '    mysql SQL SELECT',
      '  driver FindNearest',
      '    redis GetDriver',
    ]);
  });

  it('keys nodes by their path: the same operation under different parents is two nodes', () => {
    const rows: Row[] = [
      ['1', null, 'frontend', 'GET /', 10_000],
      ['2', '1', 'a', 'call', 1_000],
      ['3', '2', 'redis', 'GET', 100],
      ['4', '1', 'b', 'call', 1_000],
      ['5', '4', 'redis', 'GET', 100],
    ];
    const nodes = flattenDiff(diffTraces(trace('a', rows), trace('b', rows)).roots);
    expect(nodes.filter((n) => n.service === 'redis')).toHaveLength(2);
  });

  it('marks a call only in B as added, with its whole subtree, and its ancestors as changed below', () => {
    const b = trace('b', [...BASE, ['7', '1', 'route', 'FindRoute', 3_000], ['8', '7', 'cache', 'Get', 1_000]]);
    const diff = diffTraces(trace('a', BASE), b);
    expect(diff.summary).toMatchObject({ added: 2, removed: 0, slower: 0, faster: 0, unchanged: 5, nodes: 7 });
    const rows = flattenDiff(diff.roots);
    const route = rows.find((n) => n.service === 'route')!;
    expect([route.state, route.a, route.b?.count]).toEqual(['added', null, 1]);
    expect(rows.find((n) => n.service === 'cache')!.state).toBe('added');
    expect(rows[0].changedBelow).toBe(true);
    // What only B has comes after A's children, so A's order is kept.
    expect(outline(rows).slice(-2)).toEqual(['  route FindRoute', '    cache Get']);
  });

  it('marks a call only in A as removed', () => {
    const b = trace('b', BASE.filter((r) => r[0] !== '3'));
    const diff = diffTraces(trace('a', BASE), b);
    expect(diff.summary).toMatchObject({ added: 0, removed: 1, unchanged: 4 });
    const mysql = flattenDiff(diff.roots).find((n) => n.service === 'mysql')!;
    expect([mysql.state, mysql.a?.count, mysql.b]).toEqual(['removed', 1, null]);
  });

  it('marks nodes slower or faster by mean duration and counts changed call numbers', () => {
    const b = trace('b', [
      ['1', null, 'frontend', 'GET /dispatch', 200_000], // slower
      ['2', '1', 'customer', 'GET /customer', 41_000], // +2.5%: same
      ['3', '2', 'mysql', 'SQL SELECT', 10_000], // faster
      ['4', '1', 'driver', 'FindNearest', 20_000],
      ['5', '4', 'redis', 'GetDriver', 5_000, true],
      ['6', '4', 'redis', 'GetDriver', 7_000],
      ['7', '4', 'redis', 'GetDriver', 6_000], // a third call, same mean
    ]);
    const diff = diffTraces(trace('a', BASE), b);
    expect(diff.summary).toMatchObject({ added: 0, removed: 0, slower: 1, faster: 1, countChanged: 1, unchanged: 2 });
    const byService = new Map(flattenDiff(diff.roots).map((n) => [n.service, n]));
    expect(byService.get('frontend')!.state).toBe('slower');
    expect(byService.get('customer')!.state).toBe('same');
    expect(byService.get('mysql')!.state).toBe('faster');
    const redis = byService.get('redis')!;
    expect([redis.state, redis.countChange, redis.a?.count, redis.b?.count, redis.b?.errors]).toEqual([
      'same',
      'more',
      2,
      3,
      1,
    ]);
  });

  it('shows only what changed and its ancestors, and nothing below a collapsed node', () => {
    const b = trace('b', BASE.map(([id, parent, service, op, duration]): Row => [id, parent, service, op, id === '5' || id === '6' ? 50_000 : duration]));
    const diff = diffTraces(trace('a', BASE), b);
    const changed = flattenDiff(diff.roots, { onlyChanges: true });
    expect(outline(changed)).toEqual(['frontend GET /dispatch', '  driver FindNearest', '    redis GetDriver']);
    const driver = changed[1];
    expect(outline(flattenDiff(diff.roots, { collapsed: new Set([driver.key]) }))).toEqual([
      'frontend GET /dispatch',
      '  customer GET /customer',
      '    mysql SQL SELECT',
      '  driver FindNearest',
    ]);
  });

  it('compares traces with several roots (a missing parent) root by root', () => {
    const a = trace('a', [['1', null, 'web', 'GET', 1_000], ['2', 'gone', 'worker', 'job', 1_000]]);
    const b = trace('b', [['1', null, 'web', 'GET', 1_000]]);
    const diff = diffTraces(a, b);
    expect(diff.roots.map((n) => [n.service, n.state])).toEqual([
      ['web', 'same'],
      ['worker', 'removed'],
    ]);
  });

  it('handles a 10,000-deep chain without deep recursion', () => {
    const rows: Row[] = Array.from({ length: 10_000 }, (_, i) => [`s${i}`, i ? `s${i - 1}` : null, 'svc', 'op', 10]);
    const started = Date.now();
    const diff = diffTraces(trace('a', rows), trace('b', rows));
    const flat = flattenDiff(diff.roots);
    expect(flat).toHaveLength(10_000);
    expect(flat[9_999].depth).toBe(9_999);
    expect(diff.summary.unchanged).toBe(10_000);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('traces that start differently', () => {
  it('are told apart from traces that share their root', () => {
    const other: Row[] = [
      ['1', null, 'cart', 'GET /profile', 90_000],
      ['2', '1', 'customer', 'GET /customer', 40_000],
    ];
    expect(rootsDiffer(diffTraces(trace('a', BASE), trace('b', other)))).toBe(true);
    expect(rootsDiffer(diffTraces(trace('a', BASE), trace('b', BASE.slice(0, 3))))).toBe(false);
  });
});
