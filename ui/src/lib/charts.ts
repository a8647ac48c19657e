// `/api/metrics/*` answers (Jaeger's MetricFamily) turned into what the monitor draws: uPlot's
// aligned arrays for the charts, and one row per operation for the table. The query role writes a
// point without data as the string "NaN"; here it becomes null, which uPlot draws as a gap.

import type uPlot from 'uplot';
import type { MetricFamily } from './types';

export interface Point {
  t: number; // seconds since the epoch (uPlot's x unit)
  v: number | null;
}

export interface Series {
  labels: Record<string, string>;
  points: Point[];
}

/** A point's value: null for "NaN" (no call in its window) or anything not a finite number. */
export function pointValue(value: number | string | null | undefined, scale = 1): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n * scale : null;
}

/** Each series of a family with its labels and points in time order; `scale` multiplies values. */
export function familySeries(family: MetricFamily | undefined, scale = 1): Series[] {
  if (!family) return [];
  return family.metrics.map((metric) => {
    const labels: Record<string, string> = {};
    for (const { name, value } of metric.labels) labels[name] = value;
    const points: Point[] = [];
    for (const point of metric.metricPoints) {
      const ms = Date.parse(point.timestamp);
      if (Number.isNaN(ms)) continue;
      points.push({ t: ms / 1000, v: pointValue(point.gaugeValue.doubleValue, scale) });
    }
    points.sort((a, b) => a.t - b.t);
    return { labels, points };
  });
}

/**
 * Several series on one time axis: x = every timestamp any series has, in order; each y holds the
 * series' value at that time or null where it has none, so uPlot draws them side by side.
 */
export function alignSeries(series: Point[][]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((points) => points.map((p) => p.t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = series.map((points) => {
    const y: (number | null)[] = new Array<number | null>(times.length).fill(null);
    for (const p of points) y[index.get(p.t) as number] = p.v;
    return y;
  });
  return [times, ...ys];
}

export interface ChartLine {
  label: string;
  family: MetricFamily | undefined;
  /** Multiplies every value (errors: fraction → %). */
  scale?: number;
}

export interface ChartData {
  labels: string[];
  data: uPlot.AlignedData;
  /** Points with a value, over all lines: 0 means there is nothing to draw. */
  values: number;
}

/**
 * One chart's data from one family per line (calls; errors; p50/p95/p99 latency), each taken from
 * the family's series for `service` (or its first series when none is labelled with it).
 */
export function chartData(lines: ChartLine[], service: string): ChartData {
  const picked = lines.map(({ family, scale }) => {
    const series = familySeries(family, scale);
    const mine = series.find((s) => s.labels.service_name === service) ?? series[0];
    return mine?.points ?? [];
  });
  const data = alignSeries(picked);
  const values = picked.reduce((n, points) => n + points.filter((p) => p.v !== null).length, 0);
  return { labels: lines.map((l) => l.label), data, values };
}

/** The families an operation table is made of, each asked with `groupByOperation=true`. */
export interface OperationFamilies {
  calls?: MetricFamily;
  errors?: MetricFamily;
  p50?: MetricFamily;
  p95?: MetricFamily;
  p99?: MetricFamily;
}

export interface OperationRed {
  operation: string;
  /** Calls per second over the window. */
  rate: number | null;
  /** Errors as a fraction of calls; null without calls. */
  errorRate: number | null;
  /** Latency quantiles in µs (the answer's ms × 1000, for `formatDuration`). */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Calls in the window: rate × window. */
  calls: number | null;
}

/** The last point of each operation's series, by operation name. */
function lastValues(family: MetricFamily | undefined, scale = 1): Map<string, number | null> {
  const values = new Map<string, number | null>();
  for (const series of familySeries(family, scale)) {
    const last = series.points[series.points.length - 1];
    values.set(series.labels.operation ?? '', last ? last.v : null);
  }
  return values;
}

/**
 * One row per operation from families asked with `step = ratePer = windowMs`: the last point of
 * each covers exactly the buckets of the window, so its values are the window's own (calls per
 * second, errors over calls, quantiles of the merged sketches), not an average of averages.
 * Operations without a call in the window are left out.
 */
export function operationTable(families: OperationFamilies, windowMs: number): OperationRed[] {
  const calls = lastValues(families.calls);
  const errors = lastValues(families.errors);
  const p50 = lastValues(families.p50, 1000);
  const p95 = lastValues(families.p95, 1000);
  const p99 = lastValues(families.p99, 1000);
  const names = new Set([...calls.keys(), ...errors.keys(), ...p50.keys(), ...p95.keys(), ...p99.keys()]);
  const rows: OperationRed[] = [];
  for (const operation of names) {
    const rate = calls.get(operation) ?? null;
    // The query role reads one window before the range too (for the first point), so an operation
    // seen only there comes back with no call in the range: not one of the range's operations.
    if (rate === 0) continue;
    rows.push({
      operation,
      rate,
      errorRate: errors.get(operation) ?? null,
      p50: p50.get(operation) ?? null,
      p95: p95.get(operation) ?? null,
      p99: p99.get(operation) ?? null,
      calls: rate === null ? null : Math.round((rate * windowMs) / 1000),
    });
  }
  return sortOperations(rows, 'calls', 'desc');
}

export type OperationSortKey = keyof OperationRed;

/** Rows sorted by a column; missing values always last, names as the tie-break. */
export function sortOperations(rows: OperationRed[], key: OperationSortKey, direction: 'asc' | 'desc'): OperationRed[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null && y !== null) return 1;
    if (y === null && x !== null) return -1;
    let order = 0;
    if (typeof x === 'string' && typeof y === 'string') order = x.localeCompare(y);
    else if (typeof x === 'number' && typeof y === 'number') order = x - y;
    return order !== 0 ? sign * order : a.operation.localeCompare(b.operation);
  });
}

// ---- what part of the range has data ----

/**
 * The first and last time (s) at which any line has a value other than null or 0 — for the
 * request rate, a point without a call in its window is 0, so zeros before the first call are
 * "nothing measured", not data. Null when no line has any.
 */
export function dataExtent(data: uPlot.AlignedData): { first: number; last: number } | null {
  const xs = data[0] as readonly number[];
  let first = Infinity;
  let last = -Infinity;
  for (let s = 1; s < data.length; s++) {
    const ys = data[s] as readonly (number | null | undefined)[];
    for (let i = 0; i < xs.length; i++) {
      const v = ys[i];
      if (v === null || v === undefined || v === 0) continue;
      first = Math.min(first, xs[i]);
      last = Math.max(last, xs[i]);
    }
  }
  return Number.isFinite(first) ? { first, last } : null;
}

export interface ChartWindow {
  /** The x range to draw, s. */
  from: number;
  to: number;
  /** Narrowed to the data: the range's first part had none. */
  narrowed: boolean;
  /** When the data starts (s); null without data. */
  dataFrom: number | null;
}

/**
 * The x range the charts draw. When the data starts late in the range (the first quarter or more
 * has none, e.g. a few minutes of traffic in a 1 h range), the charts start just before the data
 * instead of drawing a long flat line with a spike at the end; `whole` keeps the whole range.
 */
export function chartWindow(
  extent: { first: number; last: number } | null,
  range: { from: number; to: number },
  stepSeconds: number,
  whole = false,
): ChartWindow {
  const span = range.to - range.from;
  const dataFrom = extent ? extent.first : null;
  if (whole || !extent || span <= 0 || extent.first - range.from < span / 4) {
    return { from: range.from, to: range.to, narrowed: false, dataFrom };
  }
  // Two steps of lead-in, so the rise from nothing is seen; at least a tenth of the range drawn.
  const from = Math.max(range.from, Math.min(extent.first - 2 * stepSeconds, range.to - span / 10));
  return { from, to: range.to, narrowed: from > range.from, dataFrom };
}

/** Decimals an axis needs to tell its ticks apart: 0.025 steps need 3, 0.5 steps 1, 20 steps 0. */
export function axisDecimals(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 0;
  for (let d = 0; d <= 6; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 6;
}

/** Tick labels with the decimals the step needs, then `unit` (`/s`, `%`). */
export function axisLabels(splits: readonly number[], step: number, unit: string): string[] {
  const digits = axisDecimals(step);
  return splits.map((v) => `${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}${unit}`);
}

/** The last value of a line (its index too), for the legend while the pointer is elsewhere. */
export function latestValue(ys: readonly (number | null | undefined)[] | undefined): { index: number; value: number } | null {
  if (!ys) return null;
  for (let i = ys.length - 1; i >= 0; i--) {
    const v = ys[i];
    if (v !== null && v !== undefined) return { index: i, value: v };
  }
  return null;
}

/** Analytics' bucket length (`analytics.bucket_seconds`, 60 by default): a point's newest bucket. */
export const BUCKET_SECONDS = 60;

/**
 * The lines without their trailing points whose newest bucket is still open at `nowSeconds`:
 * such a point counts only part of a minute, so the rate dips and quantiles jump at the right
 * edge though nothing changed. A line whose only values are in the open bucket keeps them (a
 * service seen for the first time seconds ago still shows). `trimmed` says whether any went.
 */
export function withoutOpenBucket(
  data: uPlot.AlignedData,
  nowSeconds: number,
  bucketSeconds = BUCKET_SECONDS,
): { data: uPlot.AlignedData; trimmed: boolean } {
  const xs = data[0] as readonly number[];
  // A point at t covers the buckets starting in [t − window, t): the newest ends at ⌈t/b⌉·b.
  let firstOpen = xs.length;
  while (firstOpen > 0 && Math.ceil(xs[firstOpen - 1] / bucketSeconds) * bucketSeconds > nowSeconds) firstOpen--;
  if (firstOpen === xs.length) return { data, trimmed: false };
  let trimmed = false;
  const lines = data.slice(1).map((line) => {
    const ys = line as readonly (number | null | undefined)[];
    const before = ys.slice(0, firstOpen).some((v) => v !== null && v !== undefined && v !== 0);
    if (!before) return ys as (number | null)[];
    trimmed = trimmed || ys.slice(firstOpen).some((v) => v !== null && v !== undefined);
    return ys.map((v, i) => (i >= firstOpen ? null : (v ?? null)));
  });
  return { data: [xs as number[], ...lines] as uPlot.AlignedData, trimmed };
}

/**
 * The lines with their zeros before `from` (s) made gaps: before the data starts, a request rate
 * of 0 means nothing was measured, and a line along the axis would say "no traffic".
 */
export function blankBefore(data: uPlot.AlignedData, from: number | null): uPlot.AlignedData {
  if (from === null) return data;
  const xs = data[0] as readonly number[];
  return [
    xs as number[],
    ...data.slice(1).map((line) => (line as readonly (number | null | undefined)[]).map((v, i) => (xs[i] < from && v === 0 ? null : (v ?? null)))),
  ] as uPlot.AlignedData;
}
