import { describe, expect, it } from 'vitest';
import {
  atLimit,
  apiSearch,
  emptyForm,
  formatLogfmt,
  fromDateTimeLocal,
  parseGoDuration,
  parseLogfmt,
  parseSearchUrl,
  resolveRange,
  submitSearch,
  tagsFromJson,
  toDateTimeLocal,
  validateForm,
  withSortBy,
  type SearchForm,
} from './searchUrl';

const NOW = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z in µs
const HOUR = 3_600_000_000;

const form = (overrides: Partial<SearchForm>): SearchForm => ({ ...emptyForm(), service: 'frontend', ...overrides });

describe('logfmt tags', () => {
  it('reads plain and quoted values', () => {
    expect(parseLogfmt('http.status_code=200 error=true')).toEqual({
      ok: true,
      tags: { 'http.status_code': '200', error: 'true' },
    });
    expect(parseLogfmt('db.statement="select * from User" k2="v 2"')).toEqual({
      ok: true,
      tags: { 'db.statement': 'select * from User', k2: 'v 2' },
    });
  });

  it('unescapes quotes and backslashes inside quotes and keeps other escapes as typed', () => {
    expect(parseLogfmt('msg="say \\"hi\\"" path="a\\\\b" url="x\\?y=1"')).toEqual({
      ok: true,
      tags: { msg: 'say "hi"', path: 'a\\b', url: 'x\\?y=1' },
    });
  });

  it('accepts empty input, extra spaces and an explicitly empty value', () => {
    expect(parseLogfmt('')).toEqual({ ok: true, tags: {} });
    expect(parseLogfmt('   a=1    b=""  ')).toEqual({ ok: true, tags: { a: '1', b: '' } });
  });

  it('refuses bad input with a message that says what to write', () => {
    const error = (text: string) => {
      const result = parseLogfmt(text);
      if (result.ok) throw new Error(`accepted ${text}`);
      return result.error;
    };
    expect(error('http.status_code 200')).toBe('"http.status_code" has no value: write http.status_code=value');
    expect(error('a=')).toContain('"a" has no value');
    expect(error('=5')).toContain('a value without a key');
    expect(error('msg="unterminated')).toBe('the value of "msg" has no closing quote');
    expect(error('a=b"c')).toContain('contains a quote');
    expect(error('a=b=c')).toContain('contains "="');
    expect(error('a="x"b=1')).toContain('put a space after the quoted value of "a"');
    expect(error('"a"=1')).toContain('keys are not quoted');
  });

  it('writes tags back to logfmt that reads as the same tags', () => {
    const tags = { a: '1', b: 'v 2', c: 'say "hi"', d: 'back\\slash', e: '', f: 'x=y' };
    const text = formatLogfmt(tags);
    expect(text).toBe('a=1 b="v 2" c="say \\"hi\\"" d="back\\\\slash" e="" f="x=y"');
    expect(parseLogfmt(text)).toEqual({ ok: true, tags });
  });

  it("reads the URL's JSON tags as strings and refuses what is not an object", () => {
    expect(tagsFromJson('{"http.status_code":200,"error":true}')).toEqual({
      ok: true,
      tags: { 'http.status_code': '200', error: 'true' },
    });
    expect(tagsFromJson('{oops')).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
    expect(tagsFromJson('["a"]')).toMatchObject({ ok: false, error: expect.stringContaining('JSON object') });
    expect(tagsFromJson('{"a b":"1"}')).toMatchObject({ ok: false });
  });
});

describe('Go durations', () => {
  it('reads what the query role reads, in µs', () => {
    expect(parseGoDuration('100ms')).toBe(100_000);
    expect(parseGoDuration('1.5s')).toBe(1_500_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000_000);
    expect(parseGoDuration('300us')).toBe(300);
    expect(parseGoDuration('300µs')).toBe(300);
    expect(parseGoDuration('0')).toBe(0);
  });

  it('refuses numbers without units and unknown units', () => {
    expect(parseGoDuration('100')).toBeNull();
    expect(parseGoDuration('5 parsecs')).toBeNull();
    expect(parseGoDuration('-1s')).toBeNull();
    expect(parseGoDuration('')).toBeNull();
  });
});

describe('time range', () => {
  it('ends a lookback now and starts it one lookback earlier', () => {
    expect(resolveRange({ lookback: '1h', start: null, end: null }, NOW)).toEqual({ start: NOW - HOUR, end: NOW });
    expect(resolveRange({ lookback: '2d', start: null, end: null }, NOW)).toEqual({ start: NOW - 48 * HOUR, end: NOW });
    expect(resolveRange({ lookback: '2w', start: null, end: null }, NOW)).toEqual({
      start: NOW - 14 * 24 * HOUR,
      end: NOW,
    });
  });

  it('recomputes a lookback from now unless asked to keep the range a link carries', () => {
    const old = { lookback: '1h', start: NOW - 10 * HOUR, end: NOW - 9 * HOUR };
    expect(resolveRange(old, NOW)).toEqual({ start: NOW - HOUR, end: NOW });
    expect(resolveRange(old, NOW, true)).toEqual({ start: NOW - 10 * HOUR, end: NOW - 9 * HOUR });
  });

  it('uses a custom range as given and says what is missing or reversed', () => {
    expect(resolveRange({ lookback: 'custom', start: 5, end: 9 }, NOW)).toEqual({ start: 5, end: 9 });
    expect(resolveRange({ lookback: 'custom', start: 5, end: null }, NOW)).toEqual({
      error: 'a custom time range needs a start and an end',
    });
    expect(resolveRange({ lookback: 'custom', start: 9, end: 5 }, NOW)).toEqual({
      error: 'the start of the time range is after its end',
    });
    expect(resolveRange({ lookback: 'soon', start: null, end: null }, NOW)).toMatchObject({
      error: expect.stringContaining('"soon" is not a time span'),
    });
  });

  it('converts datetime-local input values to µs and back in local time', () => {
    const micros = fromDateTimeLocal('2026-03-04T05:06:07');
    expect(micros).not.toBeNull();
    expect(toDateTimeLocal(micros!)).toBe('2026-03-04T05:06:07');
    expect(new Date(micros! / 1000).getHours()).toBe(5);
    expect(fromDateTimeLocal('2026-03-04T05:06')).toBe(fromDateTimeLocal('2026-03-04T05:06:00'));
    expect(fromDateTimeLocal('')).toBeNull();
    expect(fromDateTimeLocal('yesterday')).toBeNull();
  });
});

describe('search URL', () => {
  it('reads a link Jaeger UI wrote', () => {
    const state = parseSearchUrl(
      '?end=1767225600000000&limit=50&lookback=2h&maxDuration=1.5s&minDuration=100ms&operation=GET%20%2Fdispatch' +
        '&service=frontend&start=1767218400000000&tags=%7B%22http.status_code%22%3A%22200%22%2C%22error%22%3A%22true%22%7D',
    );
    expect(state.problems).toEqual([]);
    expect(state.form).toEqual({
      service: 'frontend',
      operation: 'GET /dispatch',
      tags: 'http.status_code=200 error=true',
      lookback: '2h',
      start: 1767218400000000,
      end: 1767225600000000,
      minDuration: '100ms',
      maxDuration: '1.5s',
      limit: '50',
    });
    expect(state.sortBy).toBe('MOST_RECENT');
  });

  it('defaults an empty URL to the last hour, 20 traces, every operation', () => {
    const state = parseSearchUrl('');
    expect(state.form).toEqual(emptyForm());
    expect(state.form.lookback).toBe('1h');
    expect(state.form.limit).toBe('20');
    expect(apiSearch(state, NOW)).toEqual({ kind: 'none' });
  });

  it('round-trips a submitted form through the URL', () => {
    const submitted = form({
      operation: 'HTTP GET /customer',
      tags: 'error=true msg="a b"',
      lookback: '6h',
      minDuration: '10ms',
      maxDuration: '2s',
      limit: '100',
    });
    const result = submitSearch(submitted, 'LONGEST_FIRST', NOW);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const params = new URLSearchParams(result.search);
    expect(params.get('tags')).toBe('{"error":"true","msg":"a b"}');
    expect(params.get('start')).toBe(String(NOW - 6 * HOUR));
    expect(params.get('end')).toBe(String(NOW));
    const state = parseSearchUrl(result.search);
    expect(state.form).toEqual({ ...submitted, start: NOW - 6 * HOUR, end: NOW });
    expect(state.sortBy).toBe('LONGEST_FIRST');
  });

  it('leaves "all operations", empty tags, empty durations and the default sort out of the URL', () => {
    const result = submitSearch(form({}), 'MOST_RECENT', NOW);
    if (!result.ok) throw new Error('refused');
    expect([...new URLSearchParams(result.search).keys()].sort()).toEqual([
      'end',
      'limit',
      'lookback',
      'service',
      'start',
    ]);
  });

  it('keeps a custom range exactly', () => {
    const result = submitSearch(form({ lookback: 'custom', start: 1000, end: 5000 }), 'MOST_RECENT', NOW);
    if (!result.ok) throw new Error('refused');
    const params = new URLSearchParams(result.search);
    expect([params.get('lookback'), params.get('start'), params.get('end')]).toEqual(['custom', '1000', '5000']);
  });

  it('refuses to submit a form with bad fields and names each one', () => {
    const result = submitSearch(
      form({ service: '', tags: 'error', minDuration: '5', maxDuration: '1s', limit: '0' }),
      'MOST_RECENT',
      NOW,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(['limit', 'minDuration', 'service', 'tags']);
    expect(result.errors.tags).toBe('"error" has no value: write error=value');
    expect(validateForm(form({ minDuration: '2s', maxDuration: '1s' })).maxDuration).toBe(
      'Must be at least the min duration',
    );
    expect(validateForm(form({ lookback: 'custom', start: 10, end: 5 })).end).toBe('Must be after the start');
  });

  it('asks the API with exactly Jaeger parameters and repeats the range a link carries', () => {
    const state = parseSearchUrl(
      '?service=frontend&operation=GET%20%2Fdispatch&tags=%7B%22error%22%3A%22true%22%7D&lookback=1h' +
        `&start=${NOW - 3 * HOUR}&end=${NOW - 2 * HOUR}&minDuration=1ms&limit=20`,
    );
    expect(apiSearch(state, NOW)).toEqual({
      kind: 'query',
      query: {
        service: 'frontend',
        operation: 'GET /dispatch',
        tags: '{"error":"true"}',
        start: NOW - 3 * HOUR,
        end: NOW - 2 * HOUR,
        minDuration: '1ms',
        maxDuration: undefined,
        limit: '20',
      },
    });
  });

  it('computes the range from the lookback when a hand-written link has no start and end', () => {
    const search = apiSearch(parseSearchUrl('?service=frontend&lookback=2h'), NOW);
    expect(search).toMatchObject({ kind: 'query', query: { start: NOW - 2 * HOUR, end: NOW, limit: '20' } });
  });

  it('reads older tag=key:value links and merges them with JSON tags', () => {
    const state = parseSearchUrl('?service=s&tag=error:true&tag=http.url:http://x/y&tags=%7B%22a%22%3A%221%22%7D');
    expect(state.form.tags).toBe('error=true http.url=http://x/y a=1');
    expect(apiSearch(state, NOW)).toMatchObject({ query: { tags: '{"error":"true","http.url":"http://x/y","a":"1"}' } });
  });

  it('reports unreadable tags in a link instead of searching without them', () => {
    const state = parseSearchUrl('?service=s&tags=%7Boops');
    expect(state.problems).toEqual(["the link's tags are not valid JSON: {oops"]);
    expect(state.form.tags).toBe('{oops');
    expect(apiSearch(state, NOW)).toEqual({ kind: 'invalid', error: "the link's tags are not valid JSON: {oops" });
  });

  it('refuses a link whose fields are invalid, naming the field', () => {
    expect(apiSearch(parseSearchUrl('?service=s&minDuration=fast'), NOW)).toMatchObject({
      kind: 'invalid',
      error: expect.stringContaining('minDuration'),
    });
  });

  it('looks traces up by id, repeatable or comma-separated, ignoring other filters', () => {
    const state = parseSearchUrl('?traceID=abc,def&traceID=123&service=s');
    expect(state.traceIDs).toEqual(['abc', 'def', '123']);
    expect(apiSearch(state, NOW)).toEqual({ kind: 'query', query: { traceID: ['abc', 'def', '123'] } });
  });

  it('changes only the sort order of a URL', () => {
    expect(withSortBy('?service=s&limit=20', 'MOST_SPANS')).toBe('?service=s&limit=20&sortBy=MOST_SPANS');
    expect(withSortBy('?service=s&sortBy=MOST_SPANS', 'MOST_RECENT')).toBe('?service=s');
    expect(parseSearchUrl('?sortBy=NONSENSE').sortBy).toBe('MOST_RECENT');
  });
});

describe('the result limit', () => {
  it('is reached when the search found as many traces as it asked for', () => {
    expect(atLimit(20, '20', 0)).toBe(true);
    expect(atLimit(19, '20', 0)).toBe(false);
    expect(atLimit(20, ' 20 ', 0)).toBe(true);
  });

  it('is never said of a lookup by trace id or an unreadable limit', () => {
    expect(atLimit(2, '2', 2)).toBe(false);
    expect(atLimit(20, 'lots', 0)).toBe(false);
  });
});
