// Duration over time of the search results (uPlot): one colour per root service, traces with
// errors in red; hovering a point names its trace, clicking it opens the trace.

import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { serviceColor } from '../../lib/colors';
import { formatDuration, formatTimestamp } from '../../lib/format';
import { timeAxisLabels } from '../../lib/timeAxis';
import type { TraceSummary } from './summary';

const ERROR_COLOR = '#c62828';
const HEIGHT = 200;
/** How close (CSS px) the pointer must be to a point to pick it. */
const PICK_RADIUS = 12;

interface Props {
  traces: readonly TraceSummary[];
  onOpen: (traceID: string) => void;
}

interface Hover {
  trace: TraceSummary;
  left: number;
  top: number;
}

/** x (s) ascending, then one y series per root service and one for traces with errors. */
function plotData(traces: readonly TraceSummary[]) {
  const points = [...traces].sort((a, b) => a.start - b.start);
  const groups = [...new Set(points.filter((t) => t.errorCount === 0).map((t) => t.rootService))].sort();
  const hasErrors = points.some((t) => t.errorCount > 0);
  const xs = points.map((t) => t.start / 1e6);
  const series: (number | null)[][] = groups.map((g) =>
    points.map((t) => (t.errorCount === 0 && t.rootService === g ? t.duration : null)),
  );
  if (hasErrors) series.push(points.map((t) => (t.errorCount > 0 ? t.duration : null)));
  const labels = [...groups, ...(hasErrors ? ['with errors'] : [])];
  const colors = [...groups.map(serviceColor), ...(hasErrors ? [ERROR_COLOR] : [])];
  return { points, data: [xs, ...series] as uPlot.AlignedData, labels, colors };
}

/** The uPlot series (1-based) a trace is drawn in. */
function seriesOf(trace: TraceSummary, labels: readonly string[]): number {
  return 1 + (trace.errorCount > 0 ? labels.length - 1 : labels.indexOf(trace.rootService));
}

function nearest(u: uPlot, points: readonly TraceSummary[], labels: readonly string[], left: number, top: number): Hover | null {
  let best: Hover | null = null;
  let bestDistance = PICK_RADIUS * PICK_RADIUS;
  for (const trace of points) {
    // A series hidden from its legend entry is not clickable either.
    if (u.series[seriesOf(trace, labels)]?.show === false) continue;
    const x = u.valToPos(trace.start / 1e6, 'x');
    const y = u.valToPos(trace.duration, 'y');
    const d = (x - left) ** 2 + (y - top) ** 2;
    if (d <= bestDistance) {
      bestDistance = d;
      best = { trace, left: x, top: y };
    }
  }
  return best;
}

export function ScatterPlot({ traces, onOpen }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<Hover | null>(null);
  const openRef = useRef(onOpen);
  openRef.current = onOpen;

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(Math.floor(el.clientWidth)));
    observer.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = container.current;
    if (!el || width <= 0 || traces.length === 0) return;
    const { points, data, labels, colors } = plotData(traces);
    const xs = data[0] as number[];
    const [minX, maxX] = [xs[0], xs[xs.length - 1]];
    const padX = maxX > minX ? (maxX - minX) * 0.04 : 30;
    const maxY = Math.max(...traces.map((t) => t.duration), 1);
    const opts: uPlot.Options = {
      width,
      height: HEIGHT,
      scales: {
        x: { time: true, range: () => [minX - padX, maxX + padX] },
        y: { range: () => [0, maxY * 1.1] },
      },
      axes: [
        {
          stroke: '#5b6676',
          grid: { stroke: '#eef0f3' },
          values: (_u, splits, _axis, _space, step) => timeAxisLabels(splits, step),
        },
        {
          stroke: '#5b6676',
          grid: { stroke: '#eef0f3' },
          size: 64,
          values: (_u, splits) => splits.map((v) => (v === 0 ? '0' : formatDuration(v))),
        },
      ],
      series: [
        {},
        ...labels.map((label, i) => ({
          label,
          stroke: colors[i],
          fill: colors[i],
          paths: () => null,
          points: { show: true, size: 8, stroke: colors[i], fill: `${colors[i]}cc`, width: 1 },
        })),
      ],
      legend: { show: true, live: false },
      cursor: { drag: { setScale: false, x: false, y: false }, points: { show: false }, x: false, y: false },
      hooks: {
        setCursor: [
          (u) => {
            const { left, top } = u.cursor;
            const hit = left === undefined || left < 0 || top === undefined ? null : nearest(u, points, labels, left, top);
            if (!hit) return setHover(null);
            // Plot coordinates → the container's, where the tooltip is placed.
            const over = u.over.getBoundingClientRect();
            const box = el.getBoundingClientRect();
            setHover({ ...hit, left: hit.left + over.left - box.left, top: hit.top + over.top - box.top });
          },
        ],
      },
    };
    const plot = new uPlot(opts, data, el.querySelector<HTMLDivElement>('.scatter-canvas')!);
    const click = () => {
      const { left, top } = plot.cursor;
      if (left === undefined || top === undefined || left < 0) return;
      const hit = nearest(plot, points, labels, left, top);
      if (hit) openRef.current(hit.trace.traceID);
    };
    plot.over.addEventListener('click', click);
    const leave = () => setHover(null);
    plot.over.addEventListener('mouseleave', leave);
    return () => {
      plot.over.removeEventListener('click', click);
      plot.over.removeEventListener('mouseleave', leave);
      plot.destroy();
      setHover(null);
    };
  }, [traces, width]);

  const errors = traces.filter((t) => t.errorCount > 0).length;
  return (
    <div
      ref={container}
      className="scatter-plot panel"
      data-testid="scatter-plot"
      data-points={traces.length}
      data-error-points={errors}
      role="img"
      aria-label={`Duration over time of ${traces.length} traces, ${errors} with errors`}
      style={{ cursor: hover ? 'pointer' : undefined }}
    >
      <div className="scatter-canvas" />
      {hover && (
        <div
          className="scatter-tooltip"
          data-testid="scatter-tooltip"
          data-trace-id={hover.trace.traceID}
          style={{
            left: hover.left + 12,
            top: hover.top + 4,
            // Near the right edge the tooltip opens to the left of the point.
            transform: hover.left > width - 280 ? 'translateX(calc(-100% - 24px))' : undefined,
          }}
        >
          <strong>
            {hover.trace.rootService}: {hover.trace.rootOperation}
          </strong>
          <div>
            {formatDuration(hover.trace.duration)} · {hover.trace.spanCount} spans
            {hover.trace.errorCount > 0 && <span className="error-text"> · {hover.trace.errorCount} errors</span>}
          </div>
          <div className="muted">{formatTimestamp(hover.trace.start)}</div>
        </div>
      )}
    </div>
  );
}
