// Per service, then per operation: span count, total and self time, average/min/max duration and
// share of the trace. Sorted by any column (in the URL); a service's operations sort with it.
import { Fragment, useMemo, useState } from 'react';
import { serviceColor } from '../../lib/colors';
import { formatCount, formatDuration, formatPercent } from '../../lib/format';
import type { TraceModel } from '../../lib/trace/model';
import { sortStatistics, traceStatistics, type Stats, type StatsColumn } from '../../lib/trace/statistics';

interface Props {
  model: TraceModel;
  sort: StatsColumn;
  dir: 'asc' | 'desc';
  onSort: (sort: StatsColumn, dir: 'asc' | 'desc') => void;
}

const COLUMNS: { key: StatsColumn; label: string; title: string; num: boolean }[] = [
  { key: 'name', label: 'Service / operation', title: 'Service, then its operations', num: false },
  { key: 'count', label: 'Spans', title: 'Number of spans', num: true },
  { key: 'errors', label: 'Errors', title: 'Spans marked as errors', num: true },
  { key: 'total', label: 'Total', title: 'Sum of the spans’ durations', num: true },
  { key: 'self', label: 'Self', title: 'Sum of the time no child span covered', num: true },
  { key: 'avg', label: 'Avg', title: 'Average duration', num: true },
  { key: 'min', label: 'Min', title: 'Shortest span', num: true },
  { key: 'max', label: 'Max', title: 'Longest span', num: true },
  { key: 'totalShare', label: 'Total % of trace', title: 'Total time over the trace duration (over 100% when spans run in parallel)', num: true },
  { key: 'selfShare', label: 'Self % of trace', title: 'Self time over the trace duration', num: true },
];

export function StatisticsView({ model, sort, dir, onSort }: Props) {
  const stats = useMemo(() => traceStatistics(model), [model]);
  const sorted = useMemo(() => sortStatistics(stats, sort, dir), [stats, sort, dir]);
  const [folded, setFolded] = useState<ReadonlySet<string>>(() => new Set());
  const fold = (service: string) =>
    setFolded((prev) => {
      const next = new Set(prev);
      if (!next.delete(service)) next.add(service);
      return next;
    });
  return (
    <section className="panel trace-statistics" aria-label="Trace statistics">
      <table className="data" data-testid="trace-statistics">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th
                key={c.key}
                scope="col"
                className={c.num ? 'num' : undefined}
                aria-sort={sort === c.key ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                title={c.title}
              >
                <button
                  type="button"
                  className="sort"
                  data-testid={`stats-sort-${c.key}`}
                  onClick={() => onSort(c.key, sort === c.key ? (dir === 'asc' ? 'desc' : 'asc') : c.key === 'name' ? 'asc' : 'desc')}
                >
                  {c.label}
                  {sort === c.key ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map((group) => {
            const open = !folded.has(group.service);
            return (
              <Fragment key={group.service}>
                <tr className="stats-service" data-testid="stats-row" data-level="service" data-service={group.service}>
                  <th scope="row">
                    <button
                      type="button"
                      className="span-toggle"
                      aria-expanded={open}
                      aria-label={`${open ? 'Hide' : 'Show'} the operations of ${group.service}`}
                      onClick={() => fold(group.service)}
                    >
                      {open ? '▾' : '▸'}
                    </button>
                    <span className="service-swatch" style={{ background: serviceColor(group.service) }} aria-hidden="true" />
                    {group.service} <span className="muted">({group.operations.length} operation{group.operations.length === 1 ? '' : 's'})</span>
                  </th>
                  <Cells stats={group} />
                </tr>
                {open &&
                  group.operations.map((op) => (
                    <tr
                      key={op.operation}
                      className="stats-operation"
                      data-testid="stats-row"
                      data-level="operation"
                      data-service={op.service}
                      data-operation={op.operation}
                    >
                      <td className="stats-op-name">{op.operation}</td>
                      <Cells stats={op} />
                    </tr>
                  ))}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Cells({ stats: s }: { stats: Stats }) {
  return (
    <>
      <td className="num" data-col="count">{formatCount(s.count)}</td>
      <td className={`num${s.errors ? ' error-text' : ''}`} data-col="errors">{formatCount(s.errors)}</td>
      <td className="num" data-col="total">{formatDuration(s.total)}</td>
      <td className="num" data-col="self">{formatDuration(s.self)}</td>
      <td className="num" data-col="avg">{formatDuration(s.avg)}</td>
      <td className="num" data-col="min">{formatDuration(s.min)}</td>
      <td className="num" data-col="max">{formatDuration(s.max)}</td>
      <td className="num" data-col="totalShare">{formatPercent(s.totalShare)}</td>
      <td className="num" data-col="selfShare">{formatPercent(s.selfShare)}</td>
    </>
  );
}
