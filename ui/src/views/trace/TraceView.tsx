// One loaded trace: the header (facts, warnings, sub-view switch, download, compare, find) over
// the chosen sub-view. Selection, find and focus live in the URL; folding and zoom are local.
import { useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { findSpans, stepMatch } from '../../lib/trace/find';
import type { TraceModel } from '../../lib/trace/model';
import { TraceHeader } from './TraceHeader';
import { FlameGraph } from './FlameGraph';
import { StatisticsView } from './StatisticsView';
import { Timeline } from './Timeline';
import { useTraceUrlState, type TraceSubview } from './urlState';

export function TraceView({ model, id, view }: { model: TraceModel; id: string; view: TraceSubview }) {
  const url = useTraceUrlState();
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  // Matching 10,000 spans on every keystroke would stall typing: match the deferred text.
  const deferredFind = useDeferredValue(url.find);
  const found = useMemo(() => findSpans(model.trace, model.tree, deferredFind), [model, deferredFind]);
  const order = useMemo(() => new Map(model.tree.ordered.map((n, i) => [n.span.spanID, i])), [model]);
  // The selection is local state mirrored into the URL: router updates are transitions, and
  // arrow keys pressed faster than they commit must move from the newest selection.
  const [selection, setSelection] = useState<string | null>(url.span);
  const mirrored = useRef(url.span);
  useEffect(() => {
    // The address changed by other means (back, forward, a link): follow it. Our own writes
    // arrive late and possibly one behind the newest selection, so they are not followed.
    if (url.external && url.span !== mirrored.current) {
      mirrored.current = url.span;
      setSelection(url.span);
    }
  }, [url.span, url.external]);
  const selected = selection && model.tree.byId.has(selection) ? selection : null;

  /** Selects a span, unfolding its ancestors so its row is visible. */
  const select = useCallback(
    (spanID: string | null) => {
      if (spanID) {
        const node = model.tree.byId.get(spanID);
        const folded: string[] = [];
        for (let p = node?.parent; p; p = p.parent) if (collapsed.has(p.span.spanID)) folded.push(p.span.spanID);
        if (folded.length) {
          setCollapsed((prev) => {
            const next = new Set(prev);
            folded.forEach((f) => next.delete(f));
            return next;
          });
        }
      }
      mirrored.current = spanID;
      setSelection(spanID);
      url.set({ span: spanID });
    },
    [model, collapsed, url],
  );

  const step = useCallback(
    (direction: 1 | -1) => {
      if (!found) return;
      const next = stepMatch(found, order, selected, direction);
      if (next) select(next);
    },
    [found, order, selected, select],
  );

  return (
    <div className="trace-page">
      <TraceHeader
        model={model}
        id={id}
        view={view}
        find={url.find}
        findFromUrl={url.external}
        onFind={(text) => url.set({ uiFind: text })}
        matchCount={found && deferredFind === url.find ? found.ids.length : found ? null : undefined}
        onStep={step}
        onSelect={select}
      />
      {view === 'timeline' && (
        <Timeline
          model={model}
          collapsed={collapsed}
          setCollapsed={setCollapsed}
          selected={selected}
          onSelect={select}
          found={found}
        />
      )}
      {view === 'flamegraph' && (
        <FlameGraph model={model} focus={url.focus} onFocus={(focus) => url.set({ focus })} found={found} />
      )}
      {view === 'statistics' && (
        <StatisticsView model={model} sort={url.sort} dir={url.dir} onSort={(sort, dir) => url.set({ sort, dir })} />
      )}
    </div>
  );
}
