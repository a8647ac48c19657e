import { describe, expect, it } from 'vitest';
import {
  LOOKBACKS,
  chooseRatePer,
  chooseStep,
  lookbackToMs,
  rangeFromParams,
  rangeToParams,
  linkTracesLink,
  searchLink,
  searchRange,
} from './timeRange';

const NOW = 1_767_225_600_000;

describe('lookback', () => {
  it('reads Jaeger UI notation into ms', () => {
    expect(lookbackToMs('5m')).toBe(300_000);
    expect(lookbackToMs('1h')).toBe(3_600_000);
    expect(lookbackToMs('24h')).toBe(86_400_000);
    expect(lookbackToMs('7d')).toBe(604_800_000);
    expect(lookbackToMs('custom')).toBeNull();
    expect(lookbackToMs('0m')).toBeNull();
  });

  it('offers 5m to 7d, every one readable', () => {
    expect(LOOKBACKS[0]).toBe('5m');
    expect(LOOKBACKS[LOOKBACKS.length - 1]).toBe('7d');
    for (const l of LOOKBACKS) expect(lookbackToMs(l)).toBeGreaterThan(0);
  });
});

describe('range in the URL', () => {
  it('ends now when the URL names no end', () => {
    expect(rangeFromParams(new URLSearchParams('lookback=2h'), NOW)).toEqual({
      lookback: '2h',
      lookbackMs: 7_200_000,
      endTs: NOW,
      live: true,
    });
  });

  it('reads a fixed end in ms', () => {
    const range = rangeFromParams(new URLSearchParams('lookback=15m&endTs=1700000000000'), NOW);
    expect(range).toMatchObject({ lookbackMs: 900_000, endTs: 1_700_000_000_000, live: false });
  });

  it('falls back to 1h ending now for unreadable values', () => {
    expect(rangeFromParams(new URLSearchParams('lookback=soon&endTs=yesterday'), NOW)).toEqual({
      lookback: '1h',
      lookbackMs: 3_600_000,
      endTs: NOW,
      live: true,
    });
  });

  it('round-trips through the query string and keeps other parameters', () => {
    const written = rangeToParams(new URLSearchParams('service=api&endTs=5'), { lookback: '6h', endTs: 1_700_000_000_000 });
    expect(written.get('service')).toBe('api');
    expect(rangeFromParams(written, NOW)).toMatchObject({ lookback: '6h', endTs: 1_700_000_000_000, live: false });
    const live = rangeToParams(written, { lookback: '6h', endTs: null });
    expect(live.has('endTs')).toBe(false);
    expect(rangeFromParams(live, NOW).live).toBe(true);
  });
});

describe('chart step', () => {
  it('gives 60 to 120 points for every lookback offered', () => {
    for (const l of LOOKBACKS) {
      const ms = lookbackToMs(l) as number;
      const points = ms / chooseStep(ms);
      expect(points, l).toBeGreaterThanOrEqual(60);
      expect(points, l).toBeLessThanOrEqual(120);
    }
  });

  it('picks round steps', () => {
    expect(chooseStep(300_000)).toBe(5_000);
    expect(chooseStep(3_600_000)).toBe(30_000);
    expect(chooseStep(86_400_000)).toBe(900_000);
    expect(chooseStep(604_800_000)).toBe(7_200_000);
  });

  it('stays within 120 points beyond the largest round step', () => {
    const ninetyDays = 90 * 86_400_000;
    expect(ninetyDays / chooseStep(ninetyDays)).toBeLessThanOrEqual(120);
  });

  it('never asks for a rate over less than a minute (analytics buckets are per minute)', () => {
    expect(chooseRatePer(5_000)).toBe(60_000);
    expect(chooseRatePer(60_000)).toBe(60_000);
    expect(chooseRatePer(900_000)).toBe(900_000);
  });
});

describe('search links', () => {
  const range = { endTs: 1_700_000_000_000, lookbackMs: 3_600_000, lookback: '1h' };

  it('give the search view µs start and end', () => {
    expect(searchRange(range)).toEqual({ start: '1699996400000000', end: '1700000000000000', lookback: '1h' });
  });

  it('name the service and operation, escaped', () => {
    const url = new URL(searchLink('api', range, 'GET /users?id'), 'http://x');
    expect(url.pathname).toBe('/search');
    expect(url.searchParams.get('service')).toBe('api');
    expect(url.searchParams.get('operation')).toBe('GET /users?id');
    expect(url.searchParams.get('end')).toBe('1700000000000000');
    expect(new URL(searchLink('api', range), 'http://x').searchParams.has('operation')).toBe(false);
  });
});

describe('traces across a link', () => {
  const range = { endTs: 1_700_000_000_000, lookbackMs: 3_600_000, lookback: '1h' };

  it('lists the exemplar traces by id, as Jaeger UI searches traceID=', () => {
    const url = new URL(linkTracesLink({ child: 'payment', exemplarTraceIds: ['aa', 'bb'] }, range), 'http://x');
    expect(url.pathname).toBe('/search');
    expect(url.searchParams.getAll('traceID')).toEqual(['aa', 'bb']);
    expect(url.searchParams.has('service')).toBe(false);
  });

  it("falls back to the child's traces in the range without exemplars", () => {
    expect(linkTracesLink({ child: 'payment', exemplarTraceIds: [] }, range)).toBe(searchLink('payment', range));
    expect(linkTracesLink({ child: 'payment' }, range)).toBe(searchLink('payment', range));
  });
});
