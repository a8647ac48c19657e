// The graph and monitor views' time range, kept in the URL (`lookback`, optional `endTs` in ms).
// Without `endTs` the range ends "now": the moment the view last loaded or was refreshed, held
// still so that re-renders do not re-fetch.

import { useCallback, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { rangeFromParams, rangeToParams, type TimeRange } from '../../lib/timeRange';

export interface TimeRangeControls {
  range: TimeRange;
  params: URLSearchParams;
  /** Replaces URL parameters (null removes one), keeping the rest. */
  update: (changes: Record<string, string | null>, replace?: boolean) => void;
  setLookback: (lookback: string) => void;
  /** A fixed end (ms), or null for "now". */
  setEnd: (endTs: number | null) => void;
  /** Moves a live range to the current time (a fixed one stays). */
  refresh: () => void;
}

export function useTimeRange(): TimeRangeControls {
  const [params, setParams] = useSearchParams();
  const [now, setNow] = useState(() => Date.now());
  const range = useMemo(() => rangeFromParams(params, now), [params, now]);

  const update = useCallback(
    (changes: Record<string, string | null>, replace = false) => {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          for (const [key, value] of Object.entries(changes)) {
            if (value === null || value === '') next.delete(key);
            else next.set(key, value);
          }
          return next;
        },
        { replace },
      );
    },
    [setParams],
  );

  const setLookback = useCallback(
    (lookback: string) => {
      setNow(Date.now());
      setParams((current) => rangeToParams(current, { lookback, endTs: current.get('endTs') ? Number(current.get('endTs')) : null }));
    },
    [setParams],
  );

  const setEnd = useCallback(
    (endTs: number | null) => {
      setNow(Date.now());
      setParams((current) => rangeToParams(current, { lookback: range.lookback, endTs }));
    },
    [setParams, range.lookback],
  );

  const refresh = useCallback(() => setNow(Date.now()), []);

  return { range, params, update, setLookback, setEnd, refresh };
}
