// The time range of the graph and monitor views, as it lives in the URL: `lookback=1h` (Jaeger UI's
// notation) and an optional `endTs` in ms (absent = "now", so a link keeps showing the latest data).
// The API wants both in ms; the search view wants µs `start`/`end`.

import { lookbackMicros } from './format';

/** The lookback choices the views offer, shortest first. */
// Jaeger UI's notation (`24h`, not `1d`), so links between the views and Jaeger UI's habits agree.
export const LOOKBACKS = ['5m', '15m', '30m', '1h', '2h', '3h', '6h', '12h', '24h', '2d', '7d'] as const;

export const DEFAULT_LOOKBACK = '1h';

export interface TimeRange {
  /** The lookback as written in the URL (`1h`). */
  lookback: string;
  lookbackMs: number;
  endTs: number; // ms since the epoch
  /** True when the URL named no end: the range ends at the time it was resolved. */
  live: boolean;
}

/** A lookback in ms; null when it is not Jaeger UI's notation (`30m`, `2d`). */
export function lookbackToMs(lookback: string): number | null {
  const micros = lookbackMicros(lookback);
  return micros === null || micros <= 0 ? null : Math.round(micros / 1000);
}

/** The range from the URL's `lookback` and `endTs`; unreadable values fall back to 1h ending now. */
export function rangeFromParams(params: URLSearchParams, nowMs: number): TimeRange {
  const rawLookback = params.get('lookback') ?? '';
  const parsed = lookbackToMs(rawLookback);
  const lookback = parsed === null ? DEFAULT_LOOKBACK : rawLookback;
  const lookbackMs = parsed ?? (lookbackToMs(DEFAULT_LOOKBACK) as number);
  const rawEnd = params.get('endTs');
  const end = rawEnd !== null && /^\d+$/.test(rawEnd) ? Number(rawEnd) : null;
  return end === null ? { lookback, lookbackMs, endTs: nowMs, live: true } : { lookback, lookbackMs, endTs: end, live: false };
}

/** Writes a range back into URL parameters (an absent end stays absent: "now"). */
export function rangeToParams(params: URLSearchParams, range: { lookback: string; endTs?: number | null }): URLSearchParams {
  const next = new URLSearchParams(params);
  next.set('lookback', range.lookback);
  if (range.endTs === undefined || range.endTs === null) next.delete('endTs');
  else next.set('endTs', String(Math.round(range.endTs)));
  return next;
}

/** Steps the charts may use, in ms: round numbers a person reads on an axis. */
const STEPS_MS = [5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400].map(
  (s) => s * 1000,
);

/** At most this many points per chart; the step chosen is the smallest nice one within it. */
export const MAX_CHART_POINTS = 120;

/**
 * The chart step for a lookback: the smallest round step giving at most 120 points, so every choice
 * from 5m to 7d draws 60–120 points.
 */
export function chooseStep(lookbackMs: number): number {
  for (const step of STEPS_MS) {
    if (lookbackMs / step <= MAX_CHART_POINTS) return step;
  }
  return Math.ceil(lookbackMs / MAX_CHART_POINTS / 1000) * 1000;
}

/**
 * `ratePer` for `/api/metrics/*`: each point covers the buckets that start in `[t − ratePer, t)`.
 * Analytics writes one bucket per minute, so a window shorter than a minute would hold no bucket at
 * most points; at a step of a minute or more the windows tile the range exactly (no bucket counted twice).
 */
export function chooseRatePer(stepMs: number): number {
  return Math.max(stepMs, 60_000);
}

/** The range as the search view's URL takes it (µs `start` and `end`, Jaeger UI's form). */
export function searchRange(range: Pick<TimeRange, 'endTs' | 'lookbackMs' | 'lookback'>): Record<string, string> {
  return {
    start: String((range.endTs - range.lookbackMs) * 1000),
    end: String(range.endTs * 1000),
    lookback: range.lookback,
  };
}

/** A link to the search view for a service (and operation) over the range. */
/**
 * "Traces across this link": the exemplar traces analytics recorded for it, listed by id as
 * Jaeger UI's search lists `traceID=` (a span's tags do not say which caller it served, so no
 * search by service can find them exactly); without exemplars, the child's traces in the range.
 */
export function linkTracesLink(
  link: { child: string; exemplarTraceIds?: string[] },
  range: Pick<TimeRange, 'endTs' | 'lookbackMs' | 'lookback'>,
): string {
  const ids = link.exemplarTraceIds ?? [];
  if (ids.length === 0) return searchLink(link.child, range);
  const params = new URLSearchParams();
  for (const id of ids) params.append('traceID', id);
  return `/search?${params.toString()}`;
}

export function searchLink(
  service: string,
  range: Pick<TimeRange, 'endTs' | 'lookbackMs' | 'lookback'>,
  operation?: string,
): string {
  const params = new URLSearchParams({ service, ...(operation ? { operation } : {}), ...searchRange(range) });
  return `/search?${params.toString()}`;
}
