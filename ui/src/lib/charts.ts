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
