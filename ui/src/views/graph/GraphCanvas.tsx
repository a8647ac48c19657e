// An SVG with pan (drag, arrow keys) and zoom (wheel, +/−), and a button that fits the whole
// graph. The camera is a centre and a scale (lib/graphView), so labels keep their size when the
// canvas narrows, and a graph too big to read whole opens at a readable size, to be panned.
// Children draw in the layout's coordinates. A drag that moved the view does not also count as a
// click on the node or edge under the pointer.

import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { GraphLayout } from '../../lib/graphLayout';
import { clampScale, ensureVisible, fitView, initialView, panBy, READABLE_SCALE, viewBox, zoomAt, type Size, type View } from '../../lib/graphView';

export interface GraphCanvasProps {
  bounds: GraphLayout<unknown, unknown>['bounds'];
  label: string;
  testId: string;
  /** A point (layout units) to keep on screen, e.g. the selected node: the view pans to it when it is off. */
  keepInView?: { x: number; y: number } | null;
  /** Receives the id prefix for the arrow markers (`${prefix}-arrow`, `${prefix}-arrow-error`, `${prefix}-arrow-warn`). */
  children: (markerPrefix: string) => ReactNode;
}

export function GraphCanvas({ bounds, label, testId, keepInView, children }: GraphCanvasProps) {
  const svgRef = useRef<SVGSVGElement>(null);
  const [size, setSize] = useState<Size>({ w: 1200, h: 600 });
  const { minX, minY, maxX, maxY } = bounds;
  const [state, setState] = useState(() => initialView(bounds, size));
  // Until the person pans or zooms, a new size or graph gets a fresh initial view.
  const touched = useRef(false);
  const drag = useRef<{ x: number; y: number; view: View; moved: boolean; id: number } | null>(null);
  const suppressClick = useRef(false);
  const markerPrefix = `g${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const view = state.view;

  useLayoutEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const measure = () => {
      const box = svg.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) setSize((s) => (s.w === box.width && s.h === box.height ? s : { w: box.width, h: box.height }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(svg);
    return () => observer.disconnect();
  }, []);

  // A new graph (another range or focus) starts afresh; so does a resize before any pan or zoom.
  useLayoutEffect(() => {
    touched.current = false;
  }, [minX, minY, maxX, maxY]);
  useLayoutEffect(() => {
    if (!touched.current) setState(initialView({ minX, minY, maxX, maxY }, size));
  }, [minX, minY, maxX, maxY, size]);

  // The selected node stays on screen, also when a side panel narrows the canvas.
  const keepX = keepInView?.x;
  const keepY = keepInView?.y;
  useLayoutEffect(() => {
    if (keepX === undefined || keepY === undefined) return;
    setState((s) => {
      const view = ensureVisible(s.view, { x: keepX, y: keepY }, size);
      return view === s.view ? s : { ...s, view };
    });
  }, [keepX, keepY, size]);

  const move = useCallback((next: (v: View) => View) => {
    touched.current = true;
    setState((s) => ({ view: next(s.view), cramped: s.cramped }));
  }, []);

  /** Zooms by `factor` (>1 in) about the screen point `at` (px in the canvas), the centre by default. */
  const zoom = useCallback(
    (factor: number, at?: { x: number; y: number }) =>
      move((v) => zoomAt(v, clampScale(v.k * factor, { minX, minY, maxX, maxY }, size), at ?? { x: size.w / 2, y: size.h / 2 }, size)),
    [move, minX, minY, maxX, maxY, size],
  );
  const fit = () => {
    touched.current = true;
    setState({ view: fitView({ minX, minY, maxX, maxY }, size), cramped: false });
  };

  // React's wheel listener is passive; a native one may stop the page from scrolling instead.
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const box = svg.getBoundingClientRect();
      zoom(Math.exp(-Math.max(-100, Math.min(100, event.deltaY)) * 0.002), { x: event.clientX - box.left, y: event.clientY - box.top });
    };
    svg.addEventListener('wheel', onWheel, { passive: false });
    return () => svg.removeEventListener('wheel', onWheel);
  }, [zoom]);

  const onPointerDown = (event: React.PointerEvent<SVGSVGElement>) => {
    if (event.button !== 0) return;
    drag.current = { x: event.clientX, y: event.clientY, view, moved: false, id: event.pointerId };
    suppressClick.current = false;
  };
  const onPointerMove = (event: React.PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    const svg = svgRef.current;
    if (!d || !svg || d.id !== event.pointerId) return;
    const dx = event.clientX - d.x;
    const dy = event.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 4) return;
    if (!d.moved) svg.setPointerCapture(event.pointerId);
    d.moved = true;
    move(() => panBy(d.view, dx, dy));
  };
  const onPointerUp = (event: React.PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (d && d.id === event.pointerId) {
      suppressClick.current = d.moved;
      drag.current = null;
    }
  };
  const onKeyDown = (event: React.KeyboardEvent<SVGSVGElement>) => {
    if (event.target !== event.currentTarget) return;
    const step = Math.min(size.w, size.h) / 5; // screen px
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [step, 0],
      ArrowRight: [-step, 0],
      ArrowUp: [0, step],
      ArrowDown: [0, -step],
    };
    if (moves[event.key]) {
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      move((v) => panBy(v, dx, dy));
    } else if (event.key === '+' || event.key === '=') zoom(1.25);
    else if (event.key === '-') zoom(0.8);
    else if (event.key === '0') fit();
  };

  const small = view.k < READABLE_SCALE - 1e-6;
  return (
    <div className="graph-canvas">
      <div className="graph-zoom" role="group" aria-label="Zoom">
        <button type="button" onClick={() => zoom(1.25)} aria-label="Zoom in" title="Zoom in (+)">
          +
        </button>
        <button type="button" onClick={() => zoom(0.8)} aria-label="Zoom out" title="Zoom out (−)">
          −
        </button>
        <button type="button" onClick={fit} title="Fit the whole graph (0)">
          Fit to screen
        </button>
      </div>
      {(state.cramped || small) && (
        <div className="graph-hint muted" role="note" data-testid="graph-hint">
          {state.cramped
            ? 'The graph is larger than the view at a readable size: drag or use the arrow keys to see the rest, or Fit to screen.'
            : 'Labels are small at this zoom: zoom in (+ or the wheel) to read them.'}
        </div>
      )}
      <svg
        ref={svgRef}
        data-testid={testId}
        data-scale={Math.round(view.k * 100) / 100}
        role="group"
        aria-label={`${label}. Drag or use the arrow keys to pan, the wheel or + and − to zoom.`}
        tabIndex={0}
        viewBox={viewBox(view, size)}
        preserveAspectRatio="xMidYMid meet"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onClickCapture={(event) => {
          if (suppressClick.current) {
            event.stopPropagation();
            suppressClick.current = false;
          }
        }}
        onKeyDown={onKeyDown}
      >
        <defs>
          {['', '-warn', '-error'].map((kind) => (
            <marker
              key={kind}
              id={`${markerPrefix}-arrow${kind}`}
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="8"
              markerHeight="8"
              orient="auto-start-reverse"
            >
              <path d="M0,0 L10,5 L0,10 z" className={`graph-arrow${kind ? ` ${kind.slice(1)}` : ''}`} />
            </marker>
          ))}
        </defs>
        {children(markerPrefix)}
      </svg>
    </div>
  );
}
