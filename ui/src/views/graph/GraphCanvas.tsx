// An SVG with pan (drag, arrow keys) and zoom (wheel, +/−) by moving its viewBox, and a button that
// fits the whole graph. Children draw in the layout's coordinates. A drag that moved the view does
// not also count as a click on the node or edge under the pointer.

import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { GraphLayout } from '../../lib/graphLayout';

interface ViewBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

const PADDING = 24;

function fit(bounds: GraphLayout<unknown, unknown>['bounds']): ViewBox {
  const w = Math.max(bounds.maxX - bounds.minX, 200) + 2 * PADDING;
  const h = Math.max(bounds.maxY - bounds.minY, 120) + 2 * PADDING;
  const cx = (bounds.minX + bounds.maxX) / 2;
  const cy = (bounds.minY + bounds.maxY) / 2;
  return { x: cx - w / 2, y: cy - h / 2, w, h };
}

export interface GraphCanvasProps {
  bounds: GraphLayout<unknown, unknown>['bounds'];
  label: string;
  testId: string;
  /** Receives the id prefix for the arrow markers (`${prefix}-arrow`, `${prefix}-arrow-error`). */
  children: (markerPrefix: string) => ReactNode;
}

export function GraphCanvas({ bounds, label, testId, children }: GraphCanvasProps) {
  const svgRef = useRef<SVGSVGElement>(null);
  const fitted = fit(bounds);
  const [view, setView] = useState<ViewBox>(fitted);
  const drag = useRef<{ x: number; y: number; view: ViewBox; moved: boolean; id: number } | null>(null);
  const suppressClick = useRef(false);
  const markerPrefix = `g${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const { minX, minY, maxX, maxY } = bounds;

  // A new graph (another range or focus) starts fitted.
  useLayoutEffect(() => {
    setView(fit({ minX, minY, maxX, maxY }));
  }, [minX, minY, maxX, maxY]);

  const limits = useCallback(
    (w: number) => {
      const full = fit({ minX, minY, maxX, maxY }).w;
      return Math.min(full * 4, Math.max(full / 12, w));
    },
    [minX, minY, maxX, maxY],
  );

  /** Zooms by `factor` (<1 in) keeping the point `at` (graph coordinates) where it is. */
  const zoom = useCallback(
    (factor: number, at?: { x: number; y: number }) => {
      setView((v) => {
        const w = limits(v.w * factor);
        const k = w / v.w;
        const px = at?.x ?? v.x + v.w / 2;
        const py = at?.y ?? v.y + v.h / 2;
        return { x: px - (px - v.x) * k, y: py - (py - v.y) * k, w, h: v.h * k };
      });
    },
    [limits],
  );

  // React's wheel listener is passive; a native one may stop the page from scrolling instead.
  useEffect(() => {
    const svg = svgRef.current;
    if (!svg) return;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const ctm = svg.getScreenCTM();
      let at: { x: number; y: number } | undefined;
      if (ctm) {
        const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(ctm.inverse());
        at = { x: p.x, y: p.y };
      }
      zoom(Math.exp(Math.max(-100, Math.min(100, event.deltaY)) * 0.002), at);
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
    const scale = svg.getScreenCTM()?.a || 1; // screen px per graph unit
    setView({ ...d.view, x: d.view.x - dx / scale, y: d.view.y - dy / scale });
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
    const step = view.w / 10;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    if (moves[event.key]) {
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      setView((v) => ({ ...v, x: v.x + dx, y: v.y + dy }));
    } else if (event.key === '+' || event.key === '=') zoom(0.8);
    else if (event.key === '-') zoom(1.25);
    else if (event.key === '0') setView(fitted);
  };

  return (
    <div className="graph-canvas">
      <div className="graph-zoom" role="group" aria-label="Zoom">
        <button type="button" onClick={() => zoom(0.8)} aria-label="Zoom in" title="Zoom in (+)">
          +
        </button>
        <button type="button" onClick={() => zoom(1.25)} aria-label="Zoom out" title="Zoom out (−)">
          −
        </button>
        <button type="button" onClick={() => setView(fitted)} title="Fit the whole graph (0)">
          Fit to screen
        </button>
      </div>
      <svg
        ref={svgRef}
        data-testid={testId}
        role="group"
        aria-label={`${label}. Drag or use the arrow keys to pan, the wheel or + and − to zoom.`}
        tabIndex={0}
        viewBox={`${view.x} ${view.y} ${view.w} ${view.h}`}
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
          <marker id={`${markerPrefix}-arrow`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" className="graph-arrow" />
          </marker>
          <marker
            id={`${markerPrefix}-arrow-error`}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="8"
            markerHeight="8"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" className="graph-arrow error" />
          </marker>
        </defs>
        {children(markerPrefix)}
      </svg>
    </div>
  );
}
