// The span tree as a flame graph: x is time, y is depth, one colour per service. Click a box to
// zoom into its subtree (`?focus=` in the URL); the ancestors stay across the top, click one to
// zoom back out. Rows are virtualised by depth, so a 10,000-deep chain stays light.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState } from 'react';
import { serviceColor } from '../../lib/colors';
import { formatCount, formatDuration, formatPercent } from '../../lib/format';
import type { FindResult } from '../../lib/trace/find';
import { flameLayout, type FlameRect } from '../../lib/trace/flamegraph';
import type { TraceModel } from '../../lib/trace/model';
import { selfTime } from '../../lib/trace/statistics';
import { isError } from '../../lib/trace/tree';

const LEVEL_HEIGHT = 22;

interface Props {
  model: TraceModel;
  focus: string | null;
  onFocus: (spanID: string | null) => void;
  found: FindResult | null;
}

export function FlameGraph({ model, focus, onFocus, found }: Props) {
  const layout = useMemo(() => flameLayout(model.tree, focus), [model, focus]);
  const byLevel = useMemo(() => {
    const levels: FlameRect[][] = Array.from({ length: layout.levels }, () => []);
    for (const r of layout.rects) levels[r.level].push(r);
    return levels;
  }, [layout]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: byLevel.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => LEVEL_HEIGHT,
    overscan: 6,
  });
  const [hover, setHover] = useState<{ rect: FlameRect; x: number; y: number } | null>(null);
  const windowLength = Math.max(layout.end - layout.start, 1);

  return (
    <section className="panel flamegraph-panel" aria-label="Flame graph">
      <div className="flamegraph-toolbar">
        {layout.focus ? (
          <>
            <span>
              Zoomed into <strong>{layout.focus.service}: {layout.focus.span.operationName}</strong> (
              {formatDuration(layout.focus.span.duration)})
            </span>
            <button type="button" onClick={() => onFocus(layout.focus!.parent?.span.spanID ?? null)} data-testid="flame-zoom-out">
              Up one level
            </button>
            <button type="button" onClick={() => onFocus(null)} data-testid="flame-reset">
              Reset zoom
            </button>
          </>
        ) : (
          <span className="muted">Click a span to zoom into its subtree.</span>
        )}
        {layout.hidden > 0 && (
          <span className="muted" data-testid="flame-hidden">
            {formatCount(layout.hidden)} span{layout.hidden === 1 ? '' : 's'} too narrow to draw: zoom in to see them
          </span>
        )}
      </div>
      <div
        className="flamegraph"
        ref={scrollRef}
        data-testid="flamegraph"
        data-levels={layout.levels}
        data-rect-count={layout.rects.length}
        onMouseLeave={() => setHover(null)}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => (
            <div key={item.index} className="flame-level" style={{ transform: `translateY(${item.start}px)`, height: LEVEL_HEIGHT }}>
              {byLevel[item.index].map((r) => {
                const id = r.node.span.spanID;
                const dimmed = found ? !found.set.has(id) : false;
                return (
                  <div
                    key={id}
                    className={`flame-node${r.ancestor ? ' ancestor' : ''}${dimmed ? ' dimmed' : ''}${found && !dimmed ? ' match' : ''}${isError(r.node.span) ? ' error' : ''}`}
                    data-testid="flame-node"
                    data-span-id={id}
                    data-level={r.level}
                    role="button"
                    tabIndex={0}
                    aria-label={`${r.node.service}: ${r.node.span.operationName}, ${formatDuration(r.node.span.duration)}${isError(r.node.span) ? ', error' : ''}${r.ancestor ? ', ancestor: zoom out to it' : ''}`}
                    style={{ left: `${r.x * 100}%`, width: `${r.width * 100}%`, background: serviceColor(r.node.service) }}
                    onClick={() => onFocus(layout.focus?.span.spanID === id ? null : id)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        onFocus(layout.focus?.span.spanID === id ? null : id);
                      }
                    }}
                    onMouseMove={(e) => setHover({ rect: r, x: e.clientX, y: e.clientY })}
                  >
                    <span className="flame-label">
                      {r.node.service}: {r.node.span.operationName}
                    </span>
                  </div>
                );
              })}
            </div>
          ))}
        </div>
      </div>
      {hover && <FlameTooltip rect={hover.rect} x={hover.x} y={hover.y} windowLength={windowLength} traceDuration={model.duration} />}
    </section>
  );
}

function FlameTooltip({
  rect,
  x,
  y,
  windowLength,
  traceDuration,
}: {
  rect: FlameRect;
  x: number;
  y: number;
  windowLength: number;
  traceDuration: number;
}) {
  const { node } = rect;
  const self = selfTime(node);
  // Keep the box on screen near the right and bottom edges.
  const left = Math.min(x + 14, globalThis.innerWidth - 340);
  const top = Math.min(y + 14, globalThis.innerHeight - 150);
  return (
    <div className="flame-tooltip" role="tooltip" data-testid="flame-tooltip" style={{ left, top }}>
      <div className="flame-tooltip-title">
        <span className="service-swatch" style={{ background: serviceColor(node.service) }} aria-hidden="true" />
        {node.service}: {node.span.operationName}
      </div>
      <div>
        Duration {formatDuration(node.span.duration)} · self {formatDuration(self)}
      </div>
      <div className="muted">
        {formatPercent(node.span.duration / Math.max(traceDuration, 1))} of the trace
        {rect.ancestor ? '' : `, ${formatPercent((rect.end - rect.start) / windowLength)} of this view`}
      </div>
      <div className="muted">
        {node.children.length} child span{node.children.length === 1 ? '' : 's'} · {rect.ancestor ? 'click to zoom out to it' : 'click to zoom in'}
      </div>
    </div>
  );
}
