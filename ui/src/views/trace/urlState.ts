// The trace view's state in the URL, so a link shows the same thing: the sub-view in the path
// (`/trace/:id`, `/trace/:id/flamegraph`, `/trace/:id/statistics`), and in the query string
// `uiFind` (Jaeger UI's find-within-trace), `span` (the selected span), `focus` (the flame graph's
// zoomed subtree) and `sort`/`dir` (the statistics table's order).

import { useCallback } from 'react';
import { useSearchParams } from 'react-router';
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

export interface TraceUrlState {
  find: string;
  span: string | null;
  focus: string | null;
  sort: StatsColumn;
  dir: 'asc' | 'desc';
  /** Sets (or, with null/'', removes) query parameters, replacing the history entry. */
  set: (changes: Partial<Record<'uiFind' | 'span' | 'focus' | 'sort' | 'dir', string | null>>) => void;
}

export function useTraceUrlState(): TraceUrlState {
  const [params, setParams] = useSearchParams();
  const set = useCallback<TraceUrlState['set']>(
    (changes) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [key, value] of Object.entries(changes)) {
            if (value === null || value === undefined || value === '') next.delete(key);
            else next.set(key, value);
          }
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  const sort = params.get('sort') as StatsColumn | null;
  return {
    find: params.get('uiFind') ?? '',
    span: params.get('span') || null,
    focus: params.get('focus') || null,
    sort: sort && STATS_COLUMNS.includes(sort) ? sort : 'self',
    dir: params.get('dir') === 'asc' ? 'asc' : 'desc',
    set,
  };
}
