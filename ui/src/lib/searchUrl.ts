// The search form lives in the URL exactly as Jaeger UI writes it, so its links and habits keep
// working: `/search?service=frontend&operation=GET%20%2Fdispatch&tags={"error":"true"}&lookback=1h
// &start=<µs>&end=<µs>&minDuration=100ms&maxDuration=1.5s&limit=20` (+ `sortBy`, skein's).
// The form types tags as logfmt (`key=value key2="v 2"`); the URL and the API carry them as a JSON
// object of strings. Everything here is pure: URL text in, form state and API query out.

import type { Query } from './api';
import { lookbackMicros } from './format';

export const DEFAULT_LOOKBACK = '1h';
export const DEFAULT_LIMIT = 20;
export const CUSTOM_LOOKBACK = 'custom';

export const LOOKBACK_OPTIONS: readonly { value: string; label: string }[] = [
  { value: '5m', label: 'Last 5 minutes' },
  { value: '15m', label: 'Last 15 minutes' },
  { value: '30m', label: 'Last 30 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '2h', label: 'Last 2 hours' },
  { value: '3h', label: 'Last 3 hours' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '12h', label: 'Last 12 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '2d', label: 'Last 2 days' },
  { value: '3d', label: 'Last 3 days' },
  { value: '5d', label: 'Last 5 days' },
  { value: '7d', label: 'Last 7 days' },
  { value: '2w', label: 'Last 2 weeks' },
  { value: CUSTOM_LOOKBACK, label: 'Custom time range' },
];

/** Jaeger UI's names for the result orders, so `sortBy` reads the same in both UIs. */
export const SORT_OPTIONS = [
  { value: 'MOST_RECENT', label: 'Most recent' },
  { value: 'LONGEST_FIRST', label: 'Longest first' },
  { value: 'SHORTEST_FIRST', label: 'Shortest first' },
  { value: 'MOST_SPANS', label: 'Most spans' },
  { value: 'MOST_ERRORS', label: 'Most errors' },
] as const;
export type SortBy = (typeof SORT_OPTIONS)[number]['value'];
export const DEFAULT_SORT: SortBy = 'MOST_RECENT';

export function isSortBy(value: unknown): value is SortBy {
  return SORT_OPTIONS.some((o) => o.value === value);
}

export interface SearchForm {
  service: string;
  /** '' means every operation (Jaeger UI's "all", which it leaves out of the URL). */
  operation: string;
  /** logfmt, as typed. */
  tags: string;
  lookback: string;
  /** µs since the epoch; the range itself when lookback is `custom`, else the last search's. */
  start: number | null;
  end: number | null;
  minDuration: string;
  maxDuration: string;
  limit: string;
}

export interface SearchUrlState {
  form: SearchForm;
  sortBy: SortBy;
  /** Traces asked for by id (`traceID=`, repeatable or comma-separated, as Jaeger UI writes it). */
  traceIDs: string[];
  /** What in the link itself could not be read, said so the person can fix it. */
  problems: string[];
}

export type FieldErrors = Partial<Record<keyof SearchForm, string>>;

export function emptyForm(): SearchForm {
  return {
    service: '',
    operation: '',
    tags: '',
    lookback: DEFAULT_LOOKBACK,
    start: null,
    end: null,
    minDuration: '',
    maxDuration: '',
    limit: String(DEFAULT_LIMIT),
  };
}

// ---- tags: logfmt ⇄ JSON ----

export type TagsResult = { ok: true; tags: Record<string, string> } | { ok: false; error: string };

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * `key=value key2="v 2"` → `{key: 'value', key2: 'v 2'}`. Inside quotes `\"` is a quote and `\\`
 * a backslash; any other backslash stays as typed (Elasticsearch reads regex escapes like `\?`).
 * A key without a value is refused rather than read as `true`: `http.status_code 200` is a typo,
 * not a search for two boolean tags.
 */
export function parseLogfmt(text: string): TagsResult {
  const tags: Record<string, string> = {};
  const n = text.length;
  let i = 0;
  const fail = (error: string): TagsResult => ({ ok: false, error });
  while (i < n) {
    while (i < n && isSpace(text[i])) i++;
    if (i >= n) break;
    let key = '';
    while (i < n && !isSpace(text[i]) && text[i] !== '=' && text[i] !== '"') key += text[i++];
    if (key === '') {
      return text[i] === '='
        ? fail(`a value without a key at character ${i + 1}: write key=value`)
        : fail(`a quote at character ${i + 1} where a key should start: keys are not quoted`);
    }
    if (i >= n || isSpace(text[i])) return fail(`"${key}" has no value: write ${key}=value`);
    if (text[i] === '"') return fail(`the key "${key}" is followed by a quote: write ${key}="value"`);
    i++; // '='
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return fail(`the value of "${key}" has no closing quote`);
      if (i < n && !isSpace(text[i])) {
        return fail(`put a space after the quoted value of "${key}" before the next tag`);
      }
    } else {
      while (i < n && !isSpace(text[i])) {
        if (text[i] === '"') return fail(`the value of "${key}" contains a quote: quote the whole value, ${key}="…"`);
        if (text[i] === '=') return fail(`the value of "${key}" contains "=": quote it, ${key}="…"`);
        value += text[i++];
      }
      if (value === '') return fail(`"${key}" has no value: write ${key}=value (or ${key}="" for an empty one)`);
    }
    tags[key] = value;
  }
  return { ok: true, tags };
}

function logfmtValue(value: string): string {
  if (value !== '' && !/[\s="\\]/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The form text for tags; keys in the order given. */
export function formatLogfmt(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([key, value]) => `${key}=${logfmtValue(value)}`)
    .join(' ');
}

/** The URL's `tags` JSON object; numbers and booleans become strings, as Jaeger UI makes them. */
export function tagsFromJson(text: string): TagsResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, error: `the link's tags are not valid JSON: ${text}` };
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, error: `the link's tags should be a JSON object like {"error":"true"}, not ${text}` };
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key === '' || /[\s="]/.test(key)) {
      return { ok: false, error: `the link's tag key ${JSON.stringify(key)} cannot be searched as key=value` };
    }
    if (value !== null && typeof value === 'object') {
      return { ok: false, error: `the link's tag "${key}" has a nested value: tag values are plain text` };
    }
    tags[key] = String(value);
  }
  return { ok: true, tags };
}

export function tagsToJson(tags: Record<string, string>): string {
  return JSON.stringify(tags);
}

// ---- durations and times ----

const GO_UNITS: Record<string, number> = { ns: 1e-3, us: 1, µs: 1, μs: 1, ms: 1e3, s: 1e6, m: 6e7, h: 3.6e9 };

/** A Go duration (`100ms`, `1.5s`, `1h30m`, `0`) in µs; null when it is not one. */
export function parseGoDuration(text: string): number | null {
  const t = text.trim();
  if (t === '0') return 0;
  if (!/^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.test(t)) return null;
  let total = 0;
  for (const [, number, unit] of t.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(number) * GO_UNITS[unit];
  }
  return total;
}

/**
 * The µs range a search covers. A custom range is used as given; any other lookback ends now —
 * unless `given` holds the range a previous search wrote to the URL, which a reloaded or shared
 * link repeats as it was.
 */
export function resolveRange(
  form: Pick<SearchForm, 'lookback' | 'start' | 'end'>,
  nowMicros: number,
  useGiven = false,
): { start: number; end: number } | { error: string } {
  if (form.lookback === CUSTOM_LOOKBACK || (useGiven && form.start !== null && form.end !== null)) {
    if (form.start === null || form.end === null) return { error: 'a custom time range needs a start and an end' };
    if (form.start > form.end) return { error: 'the start of the time range is after its end' };
    return { start: form.start, end: form.end };
  }
  const lookback = lookbackMicros(form.lookback);
  if (lookback === null || lookback <= 0) {
    return { error: `the lookback "${form.lookback}" is not a time span: use e.g. 1h, 2d or custom` };
  }
  return { start: nowMicros - lookback, end: nowMicros };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** µs → the value of an `<input type="datetime-local">` (the browser's time zone, to the second). */
export function toDateTimeLocal(micros: number): string {
  const d = new Date(Math.floor(micros / 1000));
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** An `<input type="datetime-local">` value (local time) → µs; null when empty or unreadable. */
export function fromDateTimeLocal(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) return null;
  const ms = new Date(text).getTime(); // no offset in the text: read as local time
  return Number.isFinite(ms) ? ms * 1000 : null;
}

// ---- URL ⇄ form ⇄ API ----

function intParam(params: URLSearchParams, key: string): number | null {
  const text = params.get(key);
  if (!text || !/^\d+$/.test(text.trim())) return null;
  return Number(text.trim());
}

export function parseSearchUrl(search: string | URLSearchParams): SearchUrlState {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const form = emptyForm();
  const problems: string[] = [];
  form.service = params.get('service') ?? '';
  const operation = params.get('operation') ?? '';
  form.operation = operation === 'all' ? '' : operation;
  form.lookback = params.get('lookback') || DEFAULT_LOOKBACK;
  form.start = intParam(params, 'start');
  form.end = intParam(params, 'end');
  form.minDuration = params.get('minDuration') ?? '';
  form.maxDuration = params.get('maxDuration') ?? '';
  form.limit = params.get('limit') || String(DEFAULT_LIMIT);

  // Older Jaeger links carry `tag=key:value` (repeatable); current ones a JSON `tags` object.
  const tags: Record<string, string> = {};
  for (const pair of params.getAll('tag')) {
    const colon = pair.indexOf(':');
    if (colon <= 0) problems.push(`the link's tag "${pair}" is not key:value`);
    else tags[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  const json = params.get('tags');
  let tagsText: string | null = null;
  if (json) {
    const parsed = tagsFromJson(json);
    if (parsed.ok) Object.assign(tags, parsed.tags);
    else {
      problems.push(parsed.error);
      tagsText = json; // shown as it was, so the person sees what to correct
    }
  }
  form.tags = tagsText ?? formatLogfmt(tags);

  const sortBy = params.get('sortBy');
  const traceIDs = params
    .getAll('traceID')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return { form, sortBy: isSortBy(sortBy) ? sortBy : DEFAULT_SORT, traceIDs, problems };
}

/** What is wrong with each field, in words that say what to type instead. */
export function validateForm(form: SearchForm): FieldErrors {
  const errors: FieldErrors = {};
  if (!form.service) errors.service = 'Pick a service';
  const tags = parseLogfmt(form.tags);
  if (!tags.ok) errors.tags = tags.error;
  const min = form.minDuration.trim() ? parseGoDuration(form.minDuration) : null;
  const max = form.maxDuration.trim() ? parseGoDuration(form.maxDuration) : null;
  const durationHint = 'use a number and a unit, e.g. 100ms, 1.5s, 2m';
  if (form.minDuration.trim() && min === null) errors.minDuration = `Not a duration: ${durationHint}`;
  if (form.maxDuration.trim() && max === null) errors.maxDuration = `Not a duration: ${durationHint}`;
  if (min !== null && max !== null && max < min) errors.maxDuration = 'Must be at least the min duration';
  if (!/^\d+$/.test(form.limit.trim()) || Number(form.limit) < 1) errors.limit = 'A whole number of traces, 1 or more';
  if (form.lookback === CUSTOM_LOOKBACK) {
    if (form.start === null) errors.start = 'Pick the start of the range';
    if (form.end === null) errors.end = 'Pick the end of the range';
    if (form.start !== null && form.end !== null && form.start > form.end) errors.end = 'Must be after the start';
  } else if (lookbackMicros(form.lookback) === null) {
    errors.lookback = `"${form.lookback}" is not a time span: pick one from the list`;
  }
  return errors;
}

/**
 * The query string a submitted form writes, Jaeger UI's way: start and end are always written
 * (for a lookback: now and now − lookback), so the link repeats this exact search.
 */
export function submitSearch(
  form: SearchForm,
  sortBy: SortBy,
  nowMicros: number,
): { ok: true; search: string } | { ok: false; errors: FieldErrors } {
  const errors = validateForm(form);
  const range = resolveRange(form, nowMicros);
  if ('error' in range && !errors.start && !errors.end && !errors.lookback) errors.lookback = range.error;
  if (Object.keys(errors).length > 0 || 'error' in range) return { ok: false, errors };
  const tags = parseLogfmt(form.tags) as { ok: true; tags: Record<string, string> };
  const params = new URLSearchParams();
  params.set('service', form.service);
  if (form.operation) params.set('operation', form.operation);
  if (Object.keys(tags.tags).length > 0) params.set('tags', tagsToJson(tags.tags));
  params.set('lookback', form.lookback);
  params.set('start', String(Math.round(range.start)));
  params.set('end', String(Math.round(range.end)));
  if (form.minDuration.trim()) params.set('minDuration', form.minDuration.trim());
  if (form.maxDuration.trim()) params.set('maxDuration', form.maxDuration.trim());
  params.set('limit', form.limit.trim());
  if (sortBy !== DEFAULT_SORT) params.set('sortBy', sortBy);
  return { ok: true, search: `?${params.toString()}` };
}

/** The same URL with another result order (the search itself is unchanged). */
export function withSortBy(search: string, sortBy: SortBy): string {
  const params = new URLSearchParams(search);
  if (sortBy === DEFAULT_SORT) params.delete('sortBy');
  else params.set('sortBy', sortBy);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export type ApiSearch = { kind: 'none' } | { kind: 'invalid'; error: string } | { kind: 'query'; query: Query };

/**
 * The `/api/traces` request a URL asks for: Jaeger's parameters (service, operation, tags as JSON,
 * start, end, minDuration, maxDuration, limit), or the traces by id. `none` when the URL names no
 * service (nothing was searched yet).
 */
export function apiSearch(state: SearchUrlState, nowMicros: number): ApiSearch {
  if (state.traceIDs.length > 0) return { kind: 'query', query: { traceID: state.traceIDs } };
  const { form } = state;
  if (!form.service) return { kind: 'none' };
  if (state.problems.length > 0) return { kind: 'invalid', error: state.problems.join('; ') };
  const errors = validateForm({ ...form, lookback: form.start !== null && form.end !== null ? CUSTOM_LOOKBACK : form.lookback });
  const first = Object.entries(errors)[0];
  if (first) return { kind: 'invalid', error: `${first[0]}: ${first[1]}` };
  const range = resolveRange(form, nowMicros, true);
  if ('error' in range) return { kind: 'invalid', error: range.error };
  const tags = parseLogfmt(form.tags) as { ok: true; tags: Record<string, string> };
  return {
    kind: 'query',
    query: {
      service: form.service,
      operation: form.operation || undefined,
      tags: Object.keys(tags.tags).length > 0 ? tagsToJson(tags.tags) : undefined,
      start: range.start,
      end: range.end,
      minDuration: form.minDuration.trim() || undefined,
      maxDuration: form.maxDuration.trim() || undefined,
      limit: form.limit.trim(),
    },
  };
}

/** The search found as many traces as its limit: more may match (never said of a lookup by id). */
export function atLimit(count: number, limit: string, traceIDs: number): boolean {
  return traceIDs === 0 && /^\d+$/.test(limit.trim()) && count >= Number(limit);
}
