import { describe, expect, it } from 'vitest';
import {
  alignSeries,
  axisDecimals,
  axisLabels,
  blankBefore,
  chartData,
  chartWindow,
  dataExtent,
  familySeries,
  latestValue,
  operationTable,
  pointValue,
  sortOperations,
  withoutOpenBucket,
} from './charts';
import type { MetricFamily } from './types';

/** A family shaped as query/src/metrics.rs writes it: RFC 3339 seconds, "NaN" for no data. */
function family(name: string, series: { labels: Record<string, string>; points: [string, number | 'NaN'][] }[]): MetricFamily {
  return {
    name,
    type: 'GAUGE',
    help: '',
    metrics: series.map(({ labels, points }) => ({
      labels: Object.entries(labels).map(([n, value]) => ({ name: n, value })),
      metricPoints: points.map(([timestamp, doubleValue]) => ({ gaugeValue: { doubleValue }, timestamp })),
    })),
  };
}

const T0 = '2026-03-01T10:00:00Z';
const T1 = '2026-03-01T10:01:00Z';
const T2 = '2026-03-01T10:02:00Z';
const s = (iso: string) => Date.parse(iso) / 1000;

describe('point values', () => {
  it('turn "NaN" and non-numbers into gaps', () => {
    expect(pointValue('NaN')).toBeNull();
    expect(pointValue(Number.NaN)).toBeNull();
    expect(pointValue(undefined)).toBeNull();
    expect(pointValue(0)).toBe(0);
    expect(pointValue(0.25, 100)).toBe(25);
  });
});

describe('family series', () => {
  it('reads labels and points in time order with seconds on x', () => {
    const [series] = familySeries(
      family('service_call_rate', [{ labels: { service_name: 'api' }, points: [[T1, 2], [T0, 'NaN']] }]),
    );
    expect(series.labels).toEqual({ service_name: 'api' });
    expect(series.points).toEqual([
      { t: s(T0), v: null },
      { t: s(T1), v: 2 },
    ]);
  });

  it('reads nothing from a missing family', () => {
    expect(familySeries(undefined)).toEqual([]);
  });
});

describe('aligning series', () => {
  it('puts several series on the union of their times, null where one has no point', () => {
    const data = alignSeries([
      [
        { t: 1, v: 10 },
        { t: 3, v: 30 },
      ],
      [
        { t: 2, v: 2 },
        { t: 3, v: null },
      ],
    ]);
    expect(data).toEqual([
      [1, 2, 3],
      [10, null, 30],
      [null, 2, null],
    ]);
  });
});

describe('chart data', () => {
  it('lines up p50, p95 and p99 of the service with NaN gaps', () => {
    const q = (v: [number | 'NaN', number | 'NaN', number | 'NaN']) =>
      family('service_latencies', [
        { labels: { service_name: 'other' }, points: [[T0, 999], [T1, 999], [T2, 999]] },
        { labels: { service_name: 'api' }, points: [[T0, v[0]], [T1, v[1]], [T2, v[2]]] },
      ]);
    const chart = chartData(
      [
        { label: 'p50', family: q([1, 'NaN', 3]) },
        { label: 'p95', family: q([2, 'NaN', 4]) },
        { label: 'p99', family: q([5, 'NaN', 6]) },
      ],
      'api',
    );
    expect(chart.labels).toEqual(['p50', 'p95', 'p99']);
    expect(chart.data).toEqual([
      [s(T0), s(T1), s(T2)],
      [1, null, 3],
      [2, null, 4],
      [5, null, 6],
    ]);
    expect(chart.values).toBe(6);
  });

  it('scales error fractions to percent', () => {
    const chart = chartData(
      [{ label: 'errors', family: family('e', [{ labels: { service_name: 'api' }, points: [[T0, 0.5]] }]), scale: 100 }],
      'api',
    );
    expect(chart.data[1]).toEqual([50]);
  });

  it('has no values when the answer holds no series', () => {
    const chart = chartData([{ label: 'calls', family: family('c', []) }], 'api');
    expect(chart.values).toBe(0);
    expect(chart.data).toEqual([[], []]);
  });
});

describe('operation table', () => {
  const byOp = (points: Record<string, [number | 'NaN', number | 'NaN']>) =>
    family(
      'x',
      Object.entries(points).map(([operation, [first, last]]) => ({
        labels: { service_name: 'api', operation },
        points: [[T0, first], [T1, last]] as [string, number | 'NaN'][],
      })),
    );

  it("takes each operation's last point: the window's own rate, error rate and quantiles", () => {
    const rows = operationTable(
      {
        // The window is 10 minutes: 0.5 calls/s is 300 calls.
        calls: byOp({ 'GET /a': [9, 0.5], 'GET /b': [9, 0.1] }),
        errors: byOp({ 'GET /a': [1, 0.02], 'GET /b': ['NaN', 0] }),
        p50: byOp({ 'GET /a': [9, 1.5], 'GET /b': [9, 'NaN'] }),
        p95: byOp({ 'GET /a': [9, 10] }),
        p99: byOp({ 'GET /a': [9, 25] }),
      },
      600_000,
    );
    expect(rows).toEqual([
      { operation: 'GET /a', rate: 0.5, errorRate: 0.02, p50: 1500, p95: 10_000, p99: 25_000, calls: 300 },
      { operation: 'GET /b', rate: 0.1, errorRate: 0, p50: null, p95: null, p99: null, calls: 60 },
    ]);
  });

  it('rounds the derived total to whole calls', () => {
    const [row] = operationTable({ calls: byOp({ op: [0, 7 / 3600] }) }, 3_600_000);
    expect(row.calls).toBe(7);
  });

  it('leaves out operations without a call in the window', () => {
    const rows = operationTable({ calls: byOp({ old: [3, 0], live: [0, 1] }), errors: byOp({ old: [0, 'NaN'] }) }, 60_000);
    expect(rows.map((r) => r.operation)).toEqual(['live']);
  });

  it('sorts by any column with missing values last', () => {
    const rows = operationTable(
      {
        calls: byOp({ a: [0, 1], b: [0, 3], c: [0, 2] }),
        p99: byOp({ a: [0, 5], b: [0, 'NaN'], c: [0, 1] }),
      },
      1000,
    );
    expect(rows.map((r) => r.operation)).toEqual(['b', 'c', 'a']);
    expect(sortOperations(rows, 'p99', 'asc').map((r) => r.operation)).toEqual(['c', 'a', 'b']);
    expect(sortOperations(rows, 'p99', 'desc').map((r) => r.operation)).toEqual(['a', 'c', 'b']);
    expect(sortOperations(rows, 'operation', 'asc').map((r) => r.operation)).toEqual(['a', 'b', 'c']);
  });
});

describe('the part of the range with data', () => {
  const xs = [0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600];
  const calls = [0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 2.5];
  const latency = [null, null, null, null, null, null, null, null, 40, 45, null];

  it('starts at the first call and ends at the last value of any line', () => {
    expect(dataExtent([xs, calls, latency])).toEqual({ first: 480, last: 600 });
    expect(dataExtent([xs, calls.map(() => 0)])).toBeNull();
    expect(dataExtent([[], []])).toBeNull();
  });

  it('narrows the charts to the data when the first quarter of the range has none', () => {
    const w = chartWindow(dataExtent([xs, calls]), { from: 0, to: 600 }, 60);
    expect(w).toEqual({ from: 360, to: 600, narrowed: true, dataFrom: 480 });
  });

  it('keeps the whole range when asked, when data starts early, or when there is none', () => {
    const late = dataExtent([xs, calls]);
    expect(chartWindow(late, { from: 0, to: 600 }, 60, true)).toMatchObject({ from: 0, narrowed: false, dataFrom: 480 });
    expect(chartWindow({ first: 120, last: 600 }, { from: 0, to: 600 }, 60)).toMatchObject({ from: 0, narrowed: false });
    expect(chartWindow(null, { from: 0, to: 600 }, 60)).toEqual({ from: 0, to: 600, narrowed: false, dataFrom: null });
  });

  it('draws at least a tenth of the range when the data is only the last point', () => {
    const w = chartWindow({ first: 3600, last: 3600 }, { from: 0, to: 3600 }, 30);
    expect(w.from).toBe(3240);
    expect(w.narrowed).toBe(true);
  });
});

describe('axis labels', () => {
  it('carry the decimals the step needs, so ticks read apart', () => {
    expect(axisLabels([0, 0.025, 0.05, 0.075], 0.025, '/s')).toEqual(['0.000/s', '0.025/s', '0.050/s', '0.075/s']);
    expect(axisLabels([0, 0.5, 1], 0.5, '%')).toEqual(['0.0%', '0.5%', '1.0%']);
    expect(axisLabels([0, 2000, 4000], 2000, '/s')).toEqual(['0/s', '2,000/s', '4,000/s']);
    expect(axisDecimals(0.1 + 0.2)).toBe(1);
  });
});

describe('the legend without a pointer', () => {
  it('shows the last value a line has', () => {
    expect(latestValue([1, 2, null, null])).toEqual({ index: 1, value: 2 });
    expect(latestValue([null, null])).toBeNull();
    expect(latestValue(undefined)).toBeNull();
  });
});

describe('the minute in progress', () => {
  // Points every 30 s up to 14:09:03 (s since the epoch, whole minutes at multiples of 60).
  const end = 50_943;
  const xs = [50_853, 50_883, 50_913, end];

  it('is left out of each line, since it counts only part of a minute', () => {
    const { data, trimmed } = withoutOpenBucket([xs, [2, 2.1, 2, 0.1], [400, 410, 390, 90]], end);
    expect(trimmed).toBe(true);
    expect(data).toEqual([xs, [2, 2.1, 2, null], [400, 410, 390, null]]);
  });

  it('stays when it holds all a line has (a service first seen seconds ago)', () => {
    const { data, trimmed } = withoutOpenBucket([xs, [0, 0, 0, 0.2], [null, null, null, 45]], end);
    expect(trimmed).toBe(false);
    expect(data).toEqual([xs, [0, 0, 0, 0.2], [null, null, null, 45]]);
  });

  it('is not there when the range ended before the current minute', () => {
    const input: [number[], number[]] = [xs, [1, 2, 3, 4]];
    expect(withoutOpenBucket(input, end + 3600).data).toBe(input);
  });
});

describe('before the data starts', () => {
  it('zeros are gaps, not a line along the axis; later zeros stay', () => {
    expect(blankBefore([[0, 60, 120, 180], [0, 0, 2, 0]], 120)).toEqual([[0, 60, 120, 180], [null, null, 2, 0]]);
    const data: [number[], number[]] = [[0, 60], [0, 1]];
    expect(blankBefore(data, null)).toBe(data);
  });
});
