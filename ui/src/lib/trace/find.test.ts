import { describe, expect, it } from 'vitest';
import { span, trace } from './fixtures';
import { findSpans, stepMatch } from './find';
import { buildSpanTree } from './tree';

const t = trace([
  span('a1', 0, 100, undefined, { operation: 'GET /checkout' }),
  span('b2', 10, 50, 'a1', { service: 'p2', tags: [{ key: 'http.status_code', type: 'int64', value: 503 }] }),
  span('c3', 20, 40, 'b2', { service: 'p3', operation: 'SELECT orders' }),
  span('d4', 60, 90, 'a1', { service: 'p2' }),
]);
t.spans[3].logs = [{ timestamp: 70, fields: [{ key: 'event', type: 'string', value: 'cache miss' }] }];
const tree = buildSpanTree(t);
const find = (q: string) => findSpans(t, tree, q)?.ids ?? null;

describe('find within trace', () => {
  it('is off for an empty query', () => {
    expect(find('  ')).toBeNull();
  });

  it('matches operation, service and span id case-insensitively', () => {
    expect(find('checkout')).toEqual(['a1']);
    expect(find('BACKEND')).toEqual(['b2', 'd4']);
    expect(find('c3')).toEqual(['c3']);
  });

  it('matches tag keys, tag values and key=value exactly', () => {
    expect(find('status_code')).toEqual(['b2']);
    expect(find('503')).toEqual(['b2']);
    expect(find('http.status_code=503')).toEqual(['b2']);
  });

  it('matches log fields and process tags', () => {
    expect(find('miss')).toEqual(['d4']);
    expect(find('web-1')).toEqual(['a1']); // frontend's host.name
  });

  it('matches any of several terms, in tree order', () => {
    expect(find('d4 a1')).toEqual(['a1', 'd4']);
    expect(find('nothing-like-this')).toEqual([]);
  });

  it('steps to the next and previous match, wrapping around', () => {
    const result = findSpans(t, tree, 'backend')!;
    const order = new Map(tree.ordered.map((n, i) => [n.span.spanID, i]));
    expect(stepMatch(result, order, null, 1)).toBe('b2');
    expect(stepMatch(result, order, 'b2', 1)).toBe('d4');
    expect(stepMatch(result, order, 'd4', 1)).toBe('b2');
    expect(stepMatch(result, order, 'b2', -1)).toBe('d4');
    expect(stepMatch(result, order, 'c3', -1)).toBe('b2'); // not itself a match: the one before it
    expect(stepMatch(result, order, 'c3', 1)).toBe('d4');
    expect(stepMatch(result, order, null, -1)).toBe('d4');
  });
});
