// Polls `/api/skein/pipeline` every 5 s while the tab is visible (a hidden tab asks nothing; it
// polls at once when shown again), keeping the previous receiver counters to derive rates.

import { useCallback, useEffect, useRef, useState } from 'react';
import { skeinApi } from '../../lib/api';
import { receiverSnapshot, transportRates, type ReceiverSnapshot, type TransportRow } from '../../lib/pipeline';
import type { PipelineReport } from '../../lib/types';

export const POLL_MS = 5000;

export interface PipelineState {
  report?: PipelineReport;
  transports: TransportRow[];
  /** When the last report arrived (the browser's clock). */
  receivedAt?: number;
  /** The last poll's failure; the last good report stays shown. */
  error?: Error;
  loading: boolean;
  paused: boolean;
  pollNow: () => void;
}

export function usePipeline(): PipelineState {
  const [state, setState] = useState<Omit<PipelineState, 'pollNow'>>({ transports: [], loading: true, paused: false });
  const previous = useRef<ReceiverSnapshot | undefined>(undefined);
  const poll = useRef<() => void>(() => {});

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    let stopped = false;

    const schedule = () => {
      clearTimeout(timer);
      if (!stopped && document.visibilityState === 'visible') timer = setTimeout(run, POLL_MS);
    };
    const run = () => {
      clearTimeout(timer);
      controller?.abort();
      const current = new AbortController();
      controller = current;
      setState((s) => ({ ...s, loading: true }));
      skeinApi.pipeline(current.signal).then(
        (report) => {
          if (current.signal.aborted) return;
          const receivedAt = Date.now();
          const snapshot = receiverSnapshot(report, receivedAt);
          const transports = transportRates(previous.current, snapshot);
          previous.current = snapshot;
          setState({ report, transports, receivedAt, loading: false, paused: false });
          schedule();
        },
        (error: Error) => {
          if (current.signal.aborted || error.name === 'AbortError') return;
          setState((s) => ({ ...s, error, loading: false }));
          schedule();
        },
      );
    };
    poll.current = run;

    const onVisibility = () => {
      if (document.visibilityState === 'visible') {
        setState((s) => ({ ...s, paused: false }));
        run();
      } else {
        clearTimeout(timer);
        controller?.abort();
        setState((s) => ({ ...s, paused: true, loading: false }));
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, []);

  const pollNow = useCallback(() => poll.current(), []);
  return { ...state, pollNow };
}

/** The current time, ticking every second (for "updated Ns ago"). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}
