// Per service and operation: how many spans, how long they took in total, and how much of that
// was their own work (self time: the span's duration minus the union of its children's intervals
// clipped to the span, so overlapping children are not subtracted twice).

import { spanEnd, type TraceModel } from './model';
import { isError, type SpanNode } from './tree';

/** A span's own time in µs: what no child covered. */
export function selfTime(node: SpanNode): number {
  const lo = node.span.startTime;
  const hi = spanEnd(node);
  const intervals: [number, number][] = [];
  for (const child of node.children) {
    const a = Math.max(child.span.startTime, lo);
    const b = Math.min(spanEnd(child), hi);
    if (b > a) intervals.push([a, b]);
  }
  intervals.sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [a, b] of intervals) {
    if (a > curEnd) {
      if (curEnd > curStart) covered += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) {
      curEnd = b;
    }
  }
  if (curEnd > curStart) covered += curEnd - curStart;
  return Math.max(0, hi - lo - covered);
}

export interface Stats {
  count: number;
  /** Sum of durations, µs. */
  total: number;
  /** Sum of self times, µs. */
  self: number;
  avg: number;
  min: number;
  max: number;
  /** total / trace duration (can pass 1 when spans overlap). */
  totalShare: number;
  /** self / trace duration. */
  selfShare: number;
  errors: number;
}

export interface OperationStats extends Stats {
  service: string;
  operation: string;
}

export interface ServiceStats extends Stats {
  service: string;
  operations: OperationStats[];
}

interface Acc {
  count: number;
  total: number;
  self: number;
  min: number;
  max: number;
  errors: number;
}

const emptyAcc = (): Acc => ({ count: 0, total: 0, self: 0, min: Infinity, max: -Infinity, errors: 0 });

function add(acc: Acc, duration: number, self: number, error: boolean) {
  acc.count++;
  acc.total += duration;
  acc.self += self;
  acc.min = Math.min(acc.min, duration);
  acc.max = Math.max(acc.max, duration);
  if (error) acc.errors++;
}

function finish(acc: Acc, traceDuration: number): Stats {
  const share = (v: number) => (traceDuration > 0 ? v / traceDuration : 0);
  return {
    count: acc.count,
    total: acc.total,
    self: acc.self,
    avg: acc.count ? acc.total / acc.count : 0,
    min: acc.count ? acc.min : 0,
    max: acc.count ? acc.max : 0,
    totalShare: share(acc.total),
    selfShare: share(acc.self),
    errors: acc.errors,
  };
}

/** Statistics grouped by service, then operation; services by self time, most first. */
export function traceStatistics(model: TraceModel): ServiceStats[] {
  const services = new Map<string, { acc: Acc; ops: Map<string, Acc> }>();
  for (const node of model.tree.ordered) {
    let svc = services.get(node.service);
    if (!svc) services.set(node.service, (svc = { acc: emptyAcc(), ops: new Map() }));
    let op = svc.ops.get(node.span.operationName);
    if (!op) svc.ops.set(node.span.operationName, (op = emptyAcc()));
    const self = selfTime(node);
    const error = isError(node.span);
    add(svc.acc, node.span.duration, self, error);
    add(op, node.span.duration, self, error);
  }
  const groups: ServiceStats[] = [...services].map(([service, { acc, ops }]) => ({
    service,
    ...finish(acc, model.duration),
    operations: [...ops].map(([operation, a]) => ({ service, operation, ...finish(a, model.duration) })),
  }));
  return sortStatistics(groups, 'self', 'desc');
}

export type StatsColumn = 'name' | 'count' | 'total' | 'self' | 'avg' | 'min' | 'max' | 'totalShare' | 'selfShare' | 'errors';

/** Services sorted by the column, and each service's operations by the same column. */
export function sortStatistics(groups: ServiceStats[], column: StatsColumn, direction: 'asc' | 'desc'): ServiceStats[] {
  const sign = direction === 'asc' ? 1 : -1;
  const cmp = <T extends Stats>(name: (s: T) => string) => (a: T, b: T) => {
    const by = column === 'name' ? name(a).localeCompare(name(b)) : a[column] - b[column];
    return sign * by || name(a).localeCompare(name(b));
  };
  return [...groups]
    .sort(cmp<ServiceStats>((s) => s.service))
    .map((g) => ({ ...g, operations: [...g.operations].sort(cmp<OperationStats>((o) => o.operation)) }));
}
