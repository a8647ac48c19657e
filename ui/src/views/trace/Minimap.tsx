// The whole trace compressed into a strip (every span, in tree order, drawn into a canvas so
// 10,000 spans cost one bitmap), with the timeline's time window on top. Drag across it to zoom
// to that window, drag the window to move it, click to centre it there; the arrow keys move it
// and +/- resize it when the strip has focus.
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { serviceColor } from '../../lib/colors';
import { formatDuration } from '../../lib/format';
import type { TraceModel } from '../../lib/trace/model';
import type { TimeWindow } from './Timeline';
import { useWidth } from './useWidth';

const HEIGHT = 56;
const CLICK_PX = 3;

interface Props {
  model: TraceModel;
  window: TimeWindow;
  onWindow: (window: TimeWindow) => void;
}

type Drag =
  | { kind: 'brush'; x0: number; x1: number }
  | { kind: 'move'; x0: number; from0: number; to0: number; moved: boolean };

export function Minimap({ model, window: [from, to], onWindow }: Props) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const width = useWidth(wrap);
  const [drag, setDrag] = useState<Drag | null>(null);
  const total = Math.max(model.duration, 1);

  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx) return;
    const ratio = globalThis.devicePixelRatio || 1;
    el.width = Math.round(width * ratio);
    el.height = Math.round(HEIGHT * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    const spans = model.tree.ordered;
    const rowH = HEIGHT / Math.max(spans.length, 1);
    const barH = Math.max(1, Math.min(rowH, 6));
    // One fillStyle change per service, not per span: group first.
    const byColor = new Map<string, number[]>();
    spans.forEach((node, i) => {
      const color = serviceColor(node.service);
      let list = byColor.get(color);
      if (!list) byColor.set(color, (list = []));
      list.push(i);
    });
    for (const [color, indices] of byColor) {
      ctx.fillStyle = color;
      for (const i of indices) {
        const { span } = spans[i];
        const x = ((span.startTime - model.start) / total) * width;
        const w = Math.max(1, (span.duration / total) * width);
        ctx.fillRect(x, i * rowH, w, barH);
      }
    }
  }, [model, width, total]);

  const timeAt = (clientX: number) => {
    const rect = wrap.current!.getBoundingClientRect();
    return (Math.max(0, Math.min(rect.width, clientX - rect.left)) / rect.width) * total;
  };
  const clamp = (a: number, b: number): TimeWindow => {
    const span = Math.min(total, Math.max(1, b - a));
    const start = Math.max(0, Math.min(total - span, a));
    return [start, start + span];
  };
  const zoomed = from > 0 || to < total;

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const x = e.clientX;
    const t = timeAt(x);
    if (zoomed && t >= from && t <= to) setDrag({ kind: 'move', x0: x, from0: from, to0: to, moved: false });
    else setDrag({ kind: 'brush', x0: x, x1: x });
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    if (!drag) return;
    if (drag.kind === 'brush') setDrag({ ...drag, x1: e.clientX });
    else {
      const dt = timeAt(e.clientX) - timeAt(drag.x0);
      if (Math.abs(e.clientX - drag.x0) >= CLICK_PX) {
        setDrag({ ...drag, moved: true });
        onWindow(clamp(drag.from0 + dt, drag.to0 + dt));
      }
    }
  };
  const onPointerUp = (e: PointerEvent<HTMLDivElement>) => {
    if (!drag) return;
    setDrag(null);
    const clickedAt = timeAt(e.clientX);
    const centre = () => {
      const half = (to - from) / 2;
      onWindow(clamp(clickedAt - half, clickedAt + half));
    };
    if (drag.kind === 'brush') {
      if (Math.abs(e.clientX - drag.x0) < CLICK_PX) {
        if (zoomed) centre();
        return;
      }
      const a = timeAt(Math.min(drag.x0, e.clientX));
      const b = timeAt(Math.max(drag.x0, e.clientX));
      onWindow(clamp(a, b));
    } else if (!drag.moved) centre();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const span = to - from;
    const shift = span * 0.1;
    if (e.key === 'ArrowLeft') onWindow(clamp(from - shift, to - shift));
    else if (e.key === 'ArrowRight') onWindow(clamp(from + shift, to + shift));
    else if (e.key === '+' || e.key === '=') onWindow(clamp(from + span / 4, to - span / 4));
    else if (e.key === '-') onWindow(clamp(from - span / 2, to + span / 2));
    else if (e.key === '0' || e.key === 'Escape') onWindow([0, total]);
    else return;
    e.preventDefault();
  };

  const pct = (t: number) => `${(t / total) * 100}%`;
  let brush: [number, number] | null = null;
  if (drag?.kind === 'brush' && Math.abs(drag.x1 - drag.x0) >= CLICK_PX) {
    brush = [timeAt(Math.min(drag.x0, drag.x1)), timeAt(Math.max(drag.x0, drag.x1))];
  }
  return (
    <div
      className="minimap"
      ref={wrap}
      data-testid="minimap"
      data-window-from={Math.round(from)}
      data-window-to={Math.round(to)}
      role="slider"
      tabIndex={0}
      aria-label="Trace minimap: drag to zoom the timeline to a time window; arrow keys move it, + and - resize it, 0 resets"
      aria-valuemin={0}
      aria-valuemax={Math.round(total)}
      aria-valuenow={Math.round(from)}
      aria-valuetext={`${formatDuration(from)} to ${formatDuration(to)}`}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => setDrag(null)}
      onKeyDown={onKeyDown}
    >
      <canvas ref={canvas} style={{ width, height: HEIGHT }} aria-hidden="true" />
      {zoomed && (
        <>
          <div className="minimap-shade" style={{ left: 0, width: pct(from) }} />
          <div className="minimap-shade" style={{ left: pct(to), right: 0 }} />
          <div className="minimap-window" data-testid="minimap-window" style={{ left: pct(from), width: pct(to - from) }} />
        </>
      )}
      {brush && <div className="minimap-brush" style={{ left: pct(brush[0]), width: pct(brush[1] - brush[0]) }} />}
    </div>
  );
}
