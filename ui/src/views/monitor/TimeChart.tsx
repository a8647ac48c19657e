// One uPlot time chart, sized to its container. uPlot draws into a canvas, so the container also
// carries what tests and screen readers need: the title, the lines and how many points have data.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface TimeChartProps {
  title: string;
  testId: string;
  data: uPlot.AlignedData;
  lines: { label: string; color: string }[];
  /** How an axis tick and a legend value read (`12/s`, `3.5%`, `120ms`). */
  format: (value: number) => string;
  /** Points with a value: 0 shows "no data" over the chart. */
  values: number;
  height?: number;
}

export function TimeChart({ title, testId, data, lines, format, values, height = 200 }: TimeChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const formatRef = useRef(format);
  formatRef.current = format;
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
        {},
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
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
      axes: [{}, { size: 64, values: (_u: uPlot, splits: number[]) => splits.map((v) => fmt(v)) }],
      scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max && max > 0 ? max * 1.1 : 1] } },
      cursor: { drag: { x: false, y: false } },
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

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return (
    <section className="monitor-chart panel" data-testid={testId} data-values={values} data-points={data[0].length} aria-label={title}>
      <h3>{title}</h3>
      <div className="monitor-chart-plot" ref={holder} role="img" aria-label={`${title}: ${lines.map((l) => l.label).join(', ')}`} />
      {values === 0 && <div className="monitor-chart-empty muted">No data in this range</div>}
    </section>
  );
}

/** Indices of the values with no value on either side (a line cannot show them); null if none. */
function isolatedValues(ys: uPlot.AlignedData[number] | undefined): number[] | null {
  if (!ys) return null;
  const present = (i: number) => i >= 0 && i < ys.length && ys[i] !== null && ys[i] !== undefined;
  const isolated: number[] = [];
  for (let i = 0; i < ys.length; i++) if (present(i) && !present(i - 1) && !present(i + 1)) isolated.push(i);
  return isolated.length ? isolated : null;
}
