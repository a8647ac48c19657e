// One uPlot time chart, sized to its container. uPlot draws into a canvas, so the container also
// carries what tests and screen readers need: the title, the lines and how many points have data.
// The legend shows the values under the pointer, else each line's latest; the part of the range
// before the data arrived is shaded and says so.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { latestValue } from '../../lib/charts';
import { formatTimestamp } from '../../lib/format';
import { timeAxisLabels } from '../../lib/timeAxis';

export interface TimeChartProps {
  title: string;
  testId: string;
  data: uPlot.AlignedData;
  lines: { label: string; color: string }[];
  /** How an axis tick and a legend value read (`12/s`, `3.5%`, `120ms`). */
  format: (value: number) => string;
  /** Tick labels of the value axis from the splits and their step; `format` per tick otherwise. */
  axisFormat?: (splits: number[], step: number) => string[];
  /** Points with a value: 0 shows "no data" over the chart. */
  values: number;
  /** The x range drawn (s); the data's own extent otherwise. */
  window?: { from: number; to: number };
  /** Where the data starts (s): the drawn range before it is shaded as "no data". */
  dataFrom?: number | null;
  height?: number;
}

export function TimeChart({ title, testId, data, lines, format, axisFormat, values, window, dataFrom, height = 200 }: TimeChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const formatRef = useRef(format);
  formatRef.current = format;
  const axisRef = useRef(axisFormat);
  axisRef.current = axisFormat;
  const windowRef = useRef(window);
  windowRef.current = window;
  const dataFromRef = useRef(dataFrom);
  dataFromRef.current = dataFrom;
  const shape = lines.map((l) => `${l.label}:${l.color}`).join('|');

  // A new chart when the lines change; new data alone only replaces the data.
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : formatRef.current(v));
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series: [
        {
          value: (_u: uPlot, v: number | null, _s: number, idx: number | null) =>
            idx === null || v === null ? 'latest' : formatTimestamp(v * 1e6).slice(11, 19),
        },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 2,
          // uPlot draws points only where they are sparse; a value between two gaps has no line
          // to show it, so those values always get theirs.
          points: {
            size: 5,
            filter: (u: uPlot, seriesIdx: number, show: boolean) => (show ? null : isolatedValues(u.data[seriesIdx])),
          },
          // Points without calls are gaps, not zeros.
          spanGaps: false,
          value: (u: uPlot, v: number | null, seriesIdx: number, idx: number | null) =>
            idx === null ? fmt(latestValue(u.data[seriesIdx] as (number | null)[])?.value) : fmt(v),
        })),
      ],
      axes: [
        { values: (_u: uPlot, splits: number[], _axis: number, _space: number, step: number) => timeAxisLabels(splits, step) },
        {
          size: 64,
          values: (_u: uPlot, splits: number[], _axis: number, _space: number, step: number) =>
            axisRef.current ? axisRef.current(splits, step) : splits.map((v) => fmt(v)),
        },
      ],
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => (windowRef.current ? [windowRef.current.from, windowRef.current.to] : [min, max]),
        },
        y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max && max > 0 ? max * 1.1 : 1] },
      },
      // The three charts follow one pointer, so a moment reads across rate, errors and latency.
      cursor: { drag: { x: false, y: false }, sync: { key: 'monitor' } },
      hooks: { drawClear: [(u: uPlot) => shadeNoData(u, dataFromRef.current)] },
    };
    const plot = new uPlot(opts, data, el);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
    // data is set by the effect below once the chart exists
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height]);

  // New data or another window: setData re-runs the x range, which reads the window.
  useEffect(() => {
    chart.current?.setData(data);
  }, [data, window?.from, window?.to, dataFrom]);

  return (
    <section className="monitor-chart panel" data-testid={testId} data-values={values} data-points={data[0].length} aria-label={title}>
      <h3>{title}</h3>
      <div className="monitor-chart-plot" ref={holder} role="img" aria-label={`${title}: ${lines.map((l) => l.label).join(', ')}`} />
      {values === 0 && <div className="monitor-chart-empty muted">No data in this range</div>}
    </section>
  );
}

/** Shades the drawn range before the data starts and labels it, so a flat start is not read as "zero". */
function shadeNoData(u: uPlot, dataFrom: number | null | undefined) {
  if (dataFrom === null || dataFrom === undefined) return;
  const min = u.scales.x.min;
  if (min === undefined || min === null || dataFrom <= min) return;
  const left = u.bbox.left;
  const right = Math.min(u.valToPos(dataFrom, 'x', true), u.bbox.left + u.bbox.width);
  if (right - left < 2) return;
  const { ctx } = u;
  ctx.save();
  ctx.fillStyle = 'rgba(91, 102, 118, 0.08)';
  ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
  const pxRatio = uPlot.pxRatio || 1;
  ctx.font = `${11 * pxRatio}px system-ui, sans-serif`;
  const label = 'no data';
  if (ctx.measureText(label).width + 8 * pxRatio < right - left) {
    ctx.fillStyle = 'rgba(91, 102, 118, 0.9)';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(label, (left + right) / 2, u.bbox.top + u.bbox.height / 2);
  }
  ctx.restore();
}

/** Indices of the values with no value on either side (a line cannot show them); null if none. */
function isolatedValues(ys: uPlot.AlignedData[number] | undefined): number[] | null {
  if (!ys) return null;
  const present = (i: number) => i >= 0 && i < ys.length && ys[i] !== null && ys[i] !== undefined;
  const isolated: number[] = [];
  for (let i = 0; i < ys.length; i++) if (present(i) && !present(i - 1) && !present(i + 1)) isolated.push(i);
  return isolated.length ? isolated : null;
}
