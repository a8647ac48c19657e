// The merged structure of two traces as an indented tree of text rows: each (service, operation)
// path with its calls and mean duration in A and B, and what changed, in words as well as colour.

import { useMemo, useState } from 'react';
import { serviceColor } from '../../lib/colors';
import { formatDuration, formatPercent } from '../../lib/format';
import { DEFAULT_THRESHOLD, flattenDiff, type DiffNode } from '../../lib/traceDiff';

/** Rows drawn before "show all": a diff of unique paths this long is read by filtering, not scrolling. */
const FIRST_ROWS = 2000;
/** Deeper levels stop indenting further, so the text stays on screen. */
const MAX_INDENT = 30;

const STATE_LABEL: Record<DiffNode['state'], string> = {
  added: 'added',
  removed: 'removed',
  slower: 'slower',
  faster: 'faster',
  same: '',
};

function change(node: DiffNode): string {
  if (!node.a) return 'only in B';
  if (!node.b) return 'only in A';
  const delta = node.b.meanDuration - node.a.meanDuration;
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  const relative = node.a.meanDuration > 0 ? ` (${sign}${formatPercent(Math.abs(delta) / node.a.meanDuration)})` : '';
  return `${sign}${formatDuration(Math.abs(delta))}${relative}`;
}

function Calls({ side }: { side: DiffNode['a'] }) {
  if (!side) return <span className="muted">—</span>;
  return (
    <>
      {side.count}
      {side.errors > 0 && <span className="error-text"> ({side.errors} err)</span>}
    </>
  );
}

export function DiffLegend() {
  const pct = Math.round(DEFAULT_THRESHOLD.relative * 100);
  const ms = DEFAULT_THRESHOLD.absoluteMicros / 1000;
  return (
    <ul className="diff-legend" data-testid="diff-legend" aria-label="Legend">
      <li>
        <span className="diff-badge diff-added">added</span> only in B
      </li>
      <li>
        <span className="diff-badge diff-removed">removed</span> only in A
      </li>
      <li>
        <span className="diff-badge diff-slower">slower</span> / <span className="diff-badge diff-faster">faster</span>{' '}
        mean duration changed by at least {pct}% and {ms} ms
      </li>
      <li>
        <span className="diff-count-changed">+2 calls</span> a different number of calls at the same place
      </li>
    </ul>
  );
}

export function DiffTree({ roots, onlyChanges }: { roots: DiffNode[]; onlyChanges: boolean }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [showAll, setShowAll] = useState(false);
  const rows = useMemo(() => flattenDiff(roots, { collapsed, onlyChanges }), [roots, collapsed, onlyChanges]);
  const drawn = showAll ? rows : rows.slice(0, FIRST_ROWS);

  const toggle = (key: string) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (!next.delete(key)) next.add(key);
      return next;
    });
  const collapseAll = () => {
    const all = new Set<string>();
    const stack = [...roots];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.children.length) {
        all.add(n.key);
        stack.push(...n.children);
      }
    }
    setCollapsed(all);
  };

  if (rows.length === 0) {
    return (
      <div className="empty-state" data-testid="diff-no-changes">
        <h3>No differences</h3>
        <p>Both traces have the same structure, call counts and (within the threshold) durations.</p>
      </div>
    );
  }

  return (
    <div className="diff-tree-wrap">
      <div className="diff-tools">
        <button type="button" onClick={() => setCollapsed(new Set())}>
          Expand all
        </button>
        <button type="button" onClick={collapseAll}>
          Collapse all
        </button>
      </div>
      <div className="diff-row diff-head" aria-hidden="true">
        <span>Service · operation</span>
        <span className="num">Calls A</span>
        <span className="num">Calls B</span>
        <span className="num">Mean A</span>
        <span className="num">Mean B</span>
        <span className="num">Change</span>
      </div>
      <div role="tree" aria-label="Structure of both traces" data-testid="diff-tree">
        {drawn.map((node) => {
          const open = !collapsed.has(node.key);
          const label = STATE_LABEL[node.state];
          const countDelta = node.a && node.b ? node.b.count - node.a.count : 0;
          return (
            <div
              key={node.key}
              role="treeitem"
              aria-level={node.depth + 1}
              aria-expanded={node.children.length ? open : undefined}
              aria-selected={false}
              className={`diff-row diff-node diff-${node.state}`}
              data-testid="diff-node"
              data-state={node.state}
              data-count-change={node.countChange}
              data-service={node.service}
              data-operation={node.operation}
              data-depth={node.depth}
              data-count-a={node.a?.count ?? 0}
              data-count-b={node.b?.count ?? 0}
            >
              <span className="diff-name" style={{ paddingLeft: Math.min(node.depth, MAX_INDENT) * 16 }}>
                {node.children.length ? (
                  <button
                    type="button"
                    className="diff-toggle"
                    onClick={() => toggle(node.key)}
                    aria-label={`${open ? 'Collapse' : 'Expand'} ${node.service} ${node.operation}`}
                  >
                    {open ? '▾' : '▸'}
                  </button>
                ) : (
                  <span className="diff-toggle-space" />
                )}
                <span className="svc-swatch" style={{ background: serviceColor(node.service) }} aria-hidden="true" />
                <span className="diff-service">{node.service}</span>
                <span className="diff-operation">{node.operation}</span>
                {node.depth > MAX_INDENT && <span className="muted"> (depth {node.depth})</span>}
                {label && <span className={`diff-badge diff-${node.state}`}>{label}</span>}
                {countDelta !== 0 && (
                  <span className="diff-count-changed">
                    {countDelta > 0 ? '+' : '−'}
                    {Math.abs(countDelta)} {Math.abs(countDelta) === 1 ? 'call' : 'calls'}
                  </span>
                )}
              </span>
              <span className="num" data-testid="diff-calls-a">
                <Calls side={node.a} />
              </span>
              <span className="num" data-testid="diff-calls-b">
                <Calls side={node.b} />
              </span>
              <span className="num">{node.a ? formatDuration(node.a.meanDuration) : '—'}</span>
              <span className="num">{node.b ? formatDuration(node.b.meanDuration) : '—'}</span>
              <span className="num diff-change">{change(node)}</span>
            </div>
          );
        })}
      </div>
      {drawn.length < rows.length && (
        <button type="button" onClick={() => setShowAll(true)} data-testid="diff-show-all">
          Show all {rows.length} rows ({rows.length - drawn.length} more)
        </button>
      )}
    </div>
  );
}
