// The drawn pieces both graphs share: an edge (curve, arrow, label as SVG text) and a node box
// with its lines of text. Both are focusable and answer Enter/Space like a click.

import { useEffect, useRef, type KeyboardEvent } from 'react';
import { edgePath, LINE_HEIGHT, type Box, type LayoutEdge, type Severity } from '../../lib/graphLayout';

export function activateOnKey(action: () => void) {
  return (event: KeyboardEvent) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      action();
    }
  };
}

export interface EdgeShapeProps {
  edge: LayoutEdge<unknown>;
  lines: string[];
  /** How alarming its errors are: red, amber or plain. */
  severity: Severity;
  markerPrefix: string;
  dimmed?: boolean;
  attributes: Record<string, string | number>;
  ariaLabel: string;
  onActivate: () => void;
}

export function EdgeShape({ edge, lines, severity, markerPrefix, dimmed, attributes, ariaLabel, onActivate }: EdgeShapeProps) {
  const d = edgePath(edge.points, edge.selfLoop);
  const { label } = edge;
  const flagged = severity !== 'ok';
  return (
    <g
      className={`graph-edge${flagged ? ` ${severity}` : ''}${edge.selfLoop ? ' self-loop' : ''}${dimmed ? ' dimmed' : ''}`}
      role="link"
      tabIndex={0}
      aria-label={ariaLabel}
      onClick={onActivate}
      onKeyDown={activateOnKey(onActivate)}
      {...attributes}
    >
      <path className="graph-edge-hit" d={d} />
      <path className="graph-edge-line" d={d} markerEnd={`url(#${markerPrefix}-arrow${flagged ? `-${severity}` : ''})`} />
      <g transform={`translate(${label.x - label.width / 2},${label.y - label.height / 2})`}>
        <rect className="graph-edge-label" width={label.width} height={label.height} rx={3} />
        <text className="graph-edge-text" x={label.width / 2} y={4}>
          {lines.map((line, i) => (
            <tspan key={i} x={label.width / 2} dy={i === 0 ? LINE_HEIGHT - 3 : LINE_HEIGHT} className={i === 0 && flagged ? severity : undefined}>
              {line}
            </tspan>
          ))}
        </text>
      </g>
    </g>
  );
}

export interface NodeShapeProps {
  box: Box;
  color: string;
  lines: { text: string; className: string }[];
  selected?: boolean;
  highlighted?: boolean;
  severity?: Severity;
  attributes: Record<string, string | number>;
  ariaLabel: string;
  onActivate: () => void;
  /** Pointer or keyboard focus on the node (true) or off it (false): its edges stand out. */
  onHover?: (over: boolean) => void;
}

export function NodeShape({ box, color, lines, selected, highlighted, severity = 'ok', attributes, ariaLabel, onActivate, onHover }: NodeShapeProps) {
  const top = (box.height - lines.length * LINE_HEIGHT) / 2;
  return (
    <g
      className={`graph-node${selected ? ' selected' : ''}${highlighted ? ' highlighted' : ''}${severity !== 'ok' ? ` ${severity}` : ''}`}
      onPointerEnter={onHover && (() => onHover(true))}
      onPointerLeave={onHover && (() => onHover(false))}
      onFocus={onHover && (() => onHover(true))}
      onBlur={onHover && (() => onHover(false))}
      transform={`translate(${box.x - box.width / 2},${box.y - box.height / 2})`}
      role="button"
      tabIndex={0}
      aria-pressed={selected}
      aria-label={ariaLabel}
      onClick={onActivate}
      onKeyDown={activateOnKey(onActivate)}
      {...attributes}
    >
      <rect className="graph-node-box" width={box.width} height={box.height} rx={6} style={{ stroke: color }} />
      <rect className="graph-node-band" width={6} height={box.height} rx={3} style={{ fill: color }} />
      <text x={box.width / 2 + 3} y={top}>
        {lines.map((line, i) => (
          <tspan key={i} x={box.width / 2 + 3} dy={i === 0 ? LINE_HEIGHT - 2 : LINE_HEIGHT} className={line.className}>
            {line.text}
          </tspan>
        ))}
      </text>
    </g>
  );
}

/** Calls `onClose` when Escape is pressed anywhere on the page (side panels). */
export function useEscape(onClose: () => void) {
  const ref = useRef(onClose);
  ref.current = onClose;
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) ref.current();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
