// The trace view's state in the URL, so a link shows the same thing: the sub-view in the path
// (`/trace/:id`, `/trace/:id/flamegraph`, `/trace/:id/statistics`), and in the query string
// `uiFind` (Jaeger UI's find-within-trace), `span` (the selected span), `focus` (the flame graph's
// zoomed subtree) and `sort`/`dir` (the statistics table's order).

import { useCallback, useRef } from 'react';
import { useLocation, useNavigationType, useSearchParams } from 'react-router';
import type { StatsColumn } from '../../lib/trace/statistics';

export type TraceSubview = 'timeline' | 'flamegraph' | 'statistics';

export const SUBVIEWS: { view: TraceSubview; label: string; path: string }[] = [
  { view: 'timeline', label: 'Timeline', path: '' },
  { view: 'flamegraph', label: 'Flame graph', path: '/flamegraph' },
  { view: 'statistics', label: 'Statistics', path: '/statistics' },
];

export function subviewOf(param: string | undefined): TraceSubview {
  return param === 'flamegraph' || param === 'statistics' ? param : 'timeline';
}

/** The path of a sub-view of trace `id`, keeping the query string (find, selection). */
export function subviewHref(id: string, view: TraceSubview, search: string): string {
  const path = SUBVIEWS.find((s) => s.view === view)!.path;
  return `/trace/${encodeURIComponent(id)}${path}${search}`;
}

const STATS_COLUMNS: StatsColumn[] = ['name', 'count', 'total', 'self', 'avg', 'min', 'max', 'totalShare', 'selfShare', 'errors'];

export type TraceParam = 'uiFind' | 'span' | 'focus' | 'sort' | 'dir';

export interface TraceQuery {
  find: string;
  span: string | null;
  focus: string | null;
  sort: StatsColumn;
  dir: 'asc' | 'desc';
}

/** The view's state read from the query string; unknown or missing values fall back to defaults. */
export function readTraceQuery(params: URLSearchParams): TraceQuery {
  const sort = params.get('sort') as StatsColumn | null;
  return {
    find: params.get('uiFind') ?? '',
    span: params.get('span') || null,
    focus: params.get('focus') || null,
    sort: sort && STATS_COLUMNS.includes(sort) ? sort : 'self',
    dir: params.get('dir') === 'asc' ? 'asc' : 'desc',
  };
}

/** `params` with `changes` applied: null or '' removes a parameter; others are kept as they were. */
export function withChanges(params: URLSearchParams, changes: Partial<Record<TraceParam, string | null>>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === '') next.delete(key);
    else next.set(key, value);
  }
  return next;
}

export interface TraceUrlState extends TraceQuery {
  /**
   * The last change of address was not one of ours (back, forward, a link): components that keep
   * their own copy of a value (the find text, the selection) should take the URL's.
   */
  external: boolean;
  /** Sets (or, with null/'', removes) query parameters, replacing the history entry. */
  set: (changes: Partial<Record<TraceParam, string | null>>) => void;
}

/**
 * The router commits address changes in transitions, so a change made right after another (typing,
 * arrow keys) would be built on a query string that does not have the first one yet and undo it.
 * Changes are therefore applied to the newest query string written here, which is reset from the
 * router only by navigations this hook did not make (they are never replaces).
 */
export function useTraceUrlState(): TraceUrlState {
  const [params, setParams] = useSearchParams();
  const navigation = useNavigationType();
  const location = useLocation();
  const latest = useRef(params);
  const seenKey = useRef(location.key);
  if (seenKey.current !== location.key) {
    seenKey.current = location.key;
    if (navigation !== 'REPLACE') latest.current = params;
  }
  const set = useCallback<TraceUrlState['set']>(
    (changes) => {
      latest.current = withChanges(latest.current, changes);
      setParams(latest.current, { replace: true });
    },
    [setParams],
  );
  return { ...readTraceQuery(params), external: navigation !== 'REPLACE', set };
}
