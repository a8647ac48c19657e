// The waterfall: one row per visible span (a collapsible tree on the left, its bar on the
// right), virtualised so a 10,000-span trace keeps only the rows on screen in the DOM. Above it
// the toolbar, the minimap (zoom to a time window) and the time ruler; beside it the detail of the
// selected span. Keyboard: ↑/↓ move the selection, ←/→ fold and unfold, Enter opens or closes the
// detail, Home/End, Escape clears the selection.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { serviceColor } from '../../lib/colors';
import { formatCount, formatDuration } from '../../lib/format';
import { criticalPath, segmentsBySpan, type CriticalSegment } from '../../lib/trace/criticalPath';
import type { FindResult } from '../../lib/trace/find';
import type { TraceModel } from '../../lib/trace/model';
import { rulerTicks, type Tick } from '../../lib/trace/ticks';
import { isError, visibleRows, type SpanNode } from '../../lib/trace/tree';
import { Minimap } from './Minimap';
import { SpanDetail } from './SpanDetail';
import { useWidth } from './useWidth';

const ROW_HEIGHT = 26;
const INDENT = 14;
/** Deeper spans stop indenting (a 10,000-deep chain would push labels off screen); the depth is still shown. */
const MAX_INDENT_DEPTH = 20;
const MAX_LOG_MARKS = 40;

export type TimeWindow = readonly [from: number, to: number];

interface Props {
  model: TraceModel;
  collapsed: ReadonlySet<string>;
  setCollapsed: (update: (prev: ReadonlySet<string>) => ReadonlySet<string>) => void;
  selected: string | null;
  onSelect: (spanID: string | null) => void;
  found: FindResult | null;
}

export function Timeline({ model, collapsed, setCollapsed, selected, onSelect, found }: Props) {
  const full: TimeWindow = useMemo(() => [0, Math.max(model.duration, 1)], [model]);
  const [zoom, setZoom] = useState<TimeWindow>(full);
  const [showCritical, setShowCritical] = useState(true);
  const [detailOpen, setDetailOpen] = useState(true);
  const rows = useMemo(() => visibleRows(model.tree, collapsed), [model, collapsed]);
  const rowIndex = useMemo(() => new Map(rows.map((n, i) => [n.span.spanID, i])), [rows]);
  const critical = useMemo(
    () => (showCritical ? segmentsBySpan(criticalPath(model.tree)) : null),
    [model, showCritical],
  );
  const foldable = useMemo(
    () => model.tree.ordered.filter((n) => n.children.length > 0).map((n) => n.span.spanID),
    [model],
  );

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const rulerRef = useRef<HTMLDivElement>(null);
  const barsWidth = useWidth(rulerRef);
  const ticks = useMemo(() => rulerTicks(zoom[0], zoom[1], Math.max(2, Math.floor(barsWidth / 90))), [zoom, barsWidth]);

  // Scroll to a newly selected span once its row exists (selecting may first unfold its ancestors).
  const pendingScroll = useRef<string | null>(selected);
  useEffect(() => {
    pendingScroll.current = selected;
  }, [selected]);
  useEffect(() => {
    const target = pendingScroll.current;
    if (!target) return;
    const index = rowIndex.get(target);
    if (index === undefined) return;
    pendingScroll.current = null;
    // Already on screen: stay. Just past an edge (arrow keys): scroll the least. Further (find, a
    // reference, a link): centre it, so the rows around it are seen too.
    const el = scrollRef.current;
    if (!el) return;
    const top = index * ROW_HEIGHT;
    if (top >= el.scrollTop && top + ROW_HEIGHT <= el.scrollTop + el.clientHeight) return;
    const near = top >= el.scrollTop - 2 * ROW_HEIGHT && top <= el.scrollTop + el.clientHeight + ROW_HEIGHT;
    virtualizer.scrollToIndex(index, { align: near ? 'auto' : 'center' });
  }, [selected, rowIndex, virtualizer]);

  const toggle = useCallback(
    (spanID: string) =>
      setCollapsed((prev) => {
        const next = new Set(prev);
        if (!next.delete(spanID)) next.add(spanID);
        return next;
      }),
    [setCollapsed],
  );
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const clickRow = useCallback(
    (spanID: string) => {
      if (selectedRef.current === spanID) setDetailOpen((open) => !open);
      else {
        setDetailOpen(true);
        onSelect(spanID);
      }
    },
    [onSelect],
  );

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (!rows.length) return;
    const i = selected ? rowIndex.get(selected) : undefined;
    const node = i === undefined ? undefined : rows[i];
    const go = (index: number) => onSelect(rows[Math.max(0, Math.min(rows.length - 1, index))].span.spanID);
    switch (e.key) {
      case 'ArrowDown':
        go(i === undefined ? 0 : i + 1);
        break;
      case 'ArrowUp':
        go(i === undefined ? 0 : i - 1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'PageDown':
        go((i ?? 0) + 20);
        break;
      case 'PageUp':
        go((i ?? 0) - 20);
        break;
      case 'Enter':
      case ' ':
        if (!node) {
          go(0);
          setDetailOpen(true);
        } else setDetailOpen((open) => !open);
        break;
      case 'ArrowLeft':
        if (!node) return;
        if (node.children.length && !collapsed.has(node.span.spanID)) toggle(node.span.spanID);
        else if (node.parent) onSelect(node.parent.span.spanID);
        break;
      case 'ArrowRight':
        if (!node) return;
        if (collapsed.has(node.span.spanID)) toggle(node.span.spanID);
        else if (node.children.length) onSelect(node.children[0].span.spanID);
        break;
      case 'Escape':
        onSelect(null);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const zoomed = zoom[0] > full[0] || zoom[1] < full[1];
  const zoomBy = (factor: number) => {
    const mid = (zoom[0] + zoom[1]) / 2;
    const half = Math.min(full[1], Math.max(1, (zoom[1] - zoom[0]) * factor)) / 2;
    const from = Math.max(0, Math.min(full[1] - 2 * half, mid - half));
    setZoom([from, Math.min(full[1], from + 2 * half)]);
  };
  const selectedNode = selected ? model.tree.byId.get(selected) : undefined;
  const activeId = selected && rowIndex.has(selected) ? rowDomId(selected) : undefined;

  return (
    <div className="trace-body">
      <section className="panel timeline" data-testid="timeline" aria-label="Timeline">
        <div className="timeline-toolbar">
          <button type="button" data-testid="expand-all" onClick={() => setCollapsed(() => new Set())} disabled={!collapsed.size}>
            Expand all
          </button>
          <button type="button" data-testid="collapse-all" onClick={() => setCollapsed(() => new Set(foldable))} disabled={!foldable.length}>
            Collapse all
          </button>
          <label className="toggle" title="Darkens the parts of each bar that decided when the trace finished">
            <input
              type="checkbox"
              data-testid="critical-path-toggle"
              checked={showCritical}
              onChange={(e) => setShowCritical(e.target.checked)}
            />{' '}
            Critical path
          </label>
          <span className="timeline-zoom">
            <button type="button" onClick={() => zoomBy(0.5)} aria-label="Zoom in" data-testid="zoom-in">
              +
            </button>
            <button type="button" onClick={() => zoomBy(2)} aria-label="Zoom out" disabled={!zoomed} data-testid="zoom-out">
              −
            </button>
            <button type="button" onClick={() => setZoom(full)} disabled={!zoomed} data-testid="reset-zoom">
              Reset zoom
            </button>
            <span className="muted" data-testid="zoom-window">
              {zoomed ? `${formatDuration(zoom[0])} – ${formatDuration(zoom[1])}` : 'whole trace'}
            </span>
          </span>
          <span className="muted timeline-count" data-testid="visible-row-count">
            {rows.length === model.tree.ordered.length
              ? `${formatCount(rows.length)} spans`
              : `${formatCount(rows.length)} of ${formatCount(model.tree.ordered.length)} spans shown`}
          </span>
        </div>
        <Minimap model={model} window={zoom} onWindow={setZoom} />
        <div className="timeline-head">
          <div className="timeline-label-col">Service · operation</div>
          <div className="timeline-ruler" ref={rulerRef} data-testid="time-ruler">
            {ticks.map((t) => (
              <span key={t.value} className="tick" data-testid="ruler-tick" style={tickStyle(t)}>
                {t.label}
              </span>
            ))}
          </div>
        </div>
        <div className="timeline-rows-wrap">
          <div className="timeline-grid" aria-hidden="true">
            <div className="timeline-grid-bars">
              {ticks.map((t) => (
                <span key={t.value} className="grid-line" style={{ left: `${t.position * 100}%` }} />
              ))}
            </div>
          </div>
          <div
            className="timeline-rows"
            ref={scrollRef}
            role="tree"
            aria-label="Spans"
            tabIndex={0}
            aria-activedescendant={activeId}
            onKeyDown={onKeyDown}
            data-testid="timeline-rows"
          >
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {virtualizer.getVirtualItems().map((item) => {
                const node = rows[item.index];
                const id = node.span.spanID;
                return (
                  <Row
                    key={id}
                    node={node}
                    top={item.start}
                    traceStart={model.start}
                    from={zoom[0]}
                    to={zoom[1]}
                    selected={id === selected}
                    match={found ? found.set.has(id) : null}
                    collapsed={collapsed.has(id)}
                    segments={critical?.get(id)}
                    setSize={rows.length}
                    position={item.index + 1}
                    onClick={clickRow}
                    onToggle={toggle}
                  />
                );
              })}
            </div>
          </div>
        </div>
      </section>
      {selectedNode && detailOpen && (
        <SpanDetail model={model} node={selectedNode} onSelect={onSelect} onClose={() => setDetailOpen(false)} />
      )}
    </div>
  );
}

function rowDomId(spanID: string): string {
  return `span-row-${spanID}`;
}

function tickStyle(t: Tick): React.CSSProperties {
  // The last tick's label sits left of its line so it stays inside the ruler.
  return t.position > 0.97 ? { right: `${(1 - t.position) * 100}%`, transform: 'translateX(2px)' } : { left: `${t.position * 100}%` };
}

interface RowProps {
  node: SpanNode;
  top: number;
  traceStart: number;
  from: number;
  to: number;
  selected: boolean;
  /** null when not finding. */
  match: boolean | null;
  collapsed: boolean;
  segments: CriticalSegment[] | undefined;
  setSize: number;
  position: number;
  onClick: (spanID: string) => void;
  onToggle: (spanID: string) => void;
}

const Row = memo(function Row({
  node,
  top,
  traceStart,
  from,
  to,
  selected,
  match,
  collapsed,
  segments,
  setSize,
  position,
  onClick,
  onToggle,
}: RowProps) {
  const { span } = node;
  const color = serviceColor(node.service);
  const range = Math.max(to - from, 1);
  const pct = (t: number) => ((t - traceStart - from) / range) * 100;
  const left = pct(span.startTime);
  const right = pct(span.startTime + span.duration);
  const shownLeft = Math.max(0, left);
  const shownRight = Math.min(100, right);
  const inWindow = right >= 0 && left <= 100;
  const error = isError(span);
  const children = node.children.length;
  const classes = ['span-row'];
  if (selected) classes.push('selected');
  if (match === true) classes.push('match');
  if (match === false) classes.push('dimmed');
  const duration = formatDuration(span.duration);
  let labelStyle: React.CSSProperties;
  let labelClass = 'span-duration';
  if (!inWindow) {
    // The arrow (CSS) says which way the bar is; the text stays the bare duration.
    labelStyle = left > 100 ? { right: 4 } : { left: 4 };
    labelClass += left > 100 ? ' outside-right' : ' outside-left';
  } else if (shownRight < 78) labelStyle = { left: `calc(${shownRight}% + 4px)` };
  else if (shownLeft > 22) labelStyle = { right: `calc(${100 - shownLeft}% + 4px)` };
  else {
    labelStyle = { left: `calc(${shownLeft}% + 4px)` };
    labelClass += ' inside';
  }
  return (
    <div
      className={classes.join(' ')}
      id={rowDomId(span.spanID)}
      role="treeitem"
      aria-level={node.depth + 1}
      aria-setsize={setSize}
      aria-posinset={position}
      aria-selected={selected}
      aria-expanded={children ? !collapsed : undefined}
      data-testid="span-row"
      data-span-id={span.spanID}
      data-depth={node.depth}
      data-service={node.service}
      data-operation={span.operationName}
      data-error={error || undefined}
      data-match={match === null ? undefined : match}
      data-critical={segments ? true : undefined}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
      onClick={() => onClick(span.spanID)}
    >
      <div
        className="span-label"
        style={{ paddingLeft: 6 + Math.min(node.depth, MAX_INDENT_DEPTH) * INDENT }}
        title={`${node.service}: ${span.operationName} (depth ${node.depth})`}
      >
        {children ? (
          <button
            type="button"
            className="span-toggle"
            tabIndex={-1}
            data-testid="span-toggle"
            aria-expanded={!collapsed}
            aria-label={`${collapsed ? 'Expand' : 'Collapse'} the ${children} child span${children === 1 ? '' : 's'} of ${span.operationName}`}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(span.spanID);
            }}
          >
            {collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span className="span-toggle-spacer" />
        )}
        {node.depth > MAX_INDENT_DEPTH && <span className="deep-badge">{node.depth}</span>}
        <span className="service-mark" style={{ background: color }} aria-hidden="true" />
        <span className="span-service">{node.service}</span>
        <span className="span-operation">{span.operationName}</span>
        {children > 0 && (
          <span className="child-count" data-testid="span-child-count" title={`${children} direct child span${children === 1 ? '' : 's'}`}>
            {children}
          </span>
        )}
        {error && (
          <span className="error-marker" data-testid="span-error" role="img" aria-label="error" title="This span is marked as an error">
            !
          </span>
        )}
        {span.warnings?.length ? (
          <span className="warning-marker" role="img" aria-label="has warnings" title={span.warnings.join('\n')}>
            ⚠
          </span>
        ) : null}
      </div>
      <div className="span-bar-area">
        {inWindow && (
          <div
            className={`span-bar${error ? ' error' : ''}`}
            data-testid="span-bar"
            style={{ left: `${shownLeft}%`, width: `${Math.max(0, shownRight - shownLeft)}%`, background: color }}
          />
        )}
        {inWindow &&
          segments?.map((s) => {
            const a = Math.max(0, pct(s.start));
            const b = Math.min(100, pct(s.end));
            return b > a ? (
              <div key={s.start} className="critical-segment" data-testid="critical-segment" style={{ left: `${a}%`, width: `${b - a}%` }} />
            ) : null;
          })}
        {inWindow &&
          span.logs?.slice(0, MAX_LOG_MARKS).map((log, i) => {
            const at = pct(log.timestamp);
            return at >= 0 && at <= 100 ? <span key={i} className="log-mark" style={{ left: `${at}%` }} /> : null;
          })}
        <span className={labelClass} data-testid="span-duration" style={labelStyle}>
          {duration}
        </span>
      </div>
    </div>
  );
});
