// Per-operation RED of one service over a whole range, as the monitor's table and the graph's
// service panel show it: five `/api/metrics/*` requests with `groupByOperation=true` and
// `step = ratePer = lookback`, so each answer's last point covers exactly the range.

import { api } from '../../lib/api';
import { operationTable, type OperationRed } from '../../lib/charts';
import type { TimeRange } from '../../lib/timeRange';
import { useRequest, type RequestState } from '../../lib/useRequest';

export function fetchOperationRed(
  service: string,
  spanKind: string,
  range: Pick<TimeRange, 'endTs' | 'lookbackMs'>,
  signal: AbortSignal,
): Promise<OperationRed[]> {
  const query = {
    service,
    spanKind,
    endTs: range.endTs,
    lookback: range.lookbackMs,
    step: range.lookbackMs,
    ratePer: range.lookbackMs,
    groupByOperation: true,
  };
  return Promise.all([
    api.metrics('calls', query, signal),
    api.metrics('errors', query, signal),
    api.metrics('latencies', { ...query, quantile: 0.5 }, signal),
    api.metrics('latencies', { ...query, quantile: 0.95 }, signal),
    api.metrics('latencies', { ...query, quantile: 0.99 }, signal),
  ]).then(([calls, errors, p50, p95, p99]) => operationTable({ calls, errors, p50, p95, p99 }, range.lookbackMs));
}

export function useOperationRed(
  service: string | undefined,
  spanKind: string,
  range: Pick<TimeRange, 'endTs' | 'lookbackMs'>,
): RequestState<OperationRed[]> {
  return useRequest(
    service ? (signal) => fetchOperationRed(service, spanKind, range, signal) : undefined,
    [service, spanKind, range.endTs, range.lookbackMs],
  );
}
