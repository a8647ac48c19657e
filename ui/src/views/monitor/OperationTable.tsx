// The per-operation RED table: sortable by any column, each operation a link to its traces.
import { Link } from 'react-router';
import { Breakable } from '../../components/Breakable';
import { sortOperations, type OperationRed, type OperationSortKey } from '../../lib/charts';
import { formatCount, formatDuration, formatPercent } from '../../lib/format';
import { searchLink, type TimeRange } from '../../lib/timeRange';
import { formatRate } from '../../lib/pipeline';

export interface Sort {
  key: OperationSortKey;
  direction: 'asc' | 'desc';
}

const OVER_RANGE =
  'Over the whole range, not the last point: calls in the range divided by its length, errors over calls, and the quantiles of every call in the range (the per-minute duration sketches merged).';

const COLUMNS: { key: OperationSortKey; label: string; title: string; numeric: boolean }[] = [
  { key: 'operation', label: 'Operation', title: 'Operation name; opens a search for its traces', numeric: false },
  { key: 'rate', label: 'Request rate', title: `Calls per second. ${OVER_RANGE}`, numeric: true },
  { key: 'errorRate', label: 'Error rate', title: `Errors as a share of calls. ${OVER_RANGE}`, numeric: true },
  { key: 'p50', label: 'p50', title: `Median latency. ${OVER_RANGE}`, numeric: true },
  { key: 'p95', label: 'p95', title: `95th percentile latency. ${OVER_RANGE}`, numeric: true },
  { key: 'p99', label: 'p99', title: `99th percentile latency. ${OVER_RANGE}`, numeric: true },
  { key: 'calls', label: 'Calls', title: 'Calls in the range (analytics per-minute buckets)', numeric: true },
];

export function parseSort(text: string | null): Sort {
  const [key, direction] = (text ?? '').split(':');
  const column = COLUMNS.find((c) => c.key === key);
  if (!column) return { key: 'calls', direction: 'desc' };
  return { key: column.key, direction: direction === 'asc' ? 'asc' : 'desc' };
}

export function sortText(sort: Sort): string {
  return `${sort.key}:${sort.direction}`;
}

export interface OperationTableProps {
  rows: OperationRed[];
  service: string;
  range: Pick<TimeRange, 'endTs' | 'lookbackMs' | 'lookback'>;
  sort: Sort;
  onSort: (sort: Sort) => void;
  /** Fewer columns, for the graph's side panel. */
  compact?: boolean;
}

export function OperationTable({ rows, service, range, sort, onSort, compact }: OperationTableProps) {
  const sorted = sortOperations(rows, sort.key, sort.direction);
  const columns = compact ? COLUMNS.filter((c) => c.key !== 'rate' && c.key !== 'p50' && c.key !== 'p99') : COLUMNS;
  return (
    <table className="data operation-table" data-testid="operation-table">
      <thead>
        <tr>
          {columns.map((c) => {
            const active = sort.key === c.key;
            return (
              <th
                key={c.key}
                className={c.numeric ? 'num' : undefined}
                title={c.title}
                aria-sort={active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'}
              >
                <button
                  type="button"
                  className="sort"
                  onClick={() =>
                    onSort({
                      key: c.key,
                      direction: active ? (sort.direction === 'asc' ? 'desc' : 'asc') : c.numeric ? 'desc' : 'asc',
                    })
                  }
                >
                  {c.label}
                  {active ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {sorted.map((row) => (
          <tr key={row.operation} data-testid="monitor-op-row" data-operation={row.operation} data-calls={row.calls ?? ''}>
            {columns.map((c) => (
              <td key={c.key} className={c.numeric ? 'num' : 'operation-name'}>
                {cell(row, c.key, service, range)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function cell(row: OperationRed, key: OperationSortKey, service: string, range: OperationTableProps['range']) {
  const duration = (v: number | null) => (v === null ? '—' : formatDuration(v));
  switch (key) {
    case 'operation':
      return (
        <Link to={searchLink(service, range, row.operation)} title={`Search traces of ${service} ${row.operation}`}>
          {row.operation ? <Breakable text={row.operation} /> : '(no name)'}
        </Link>
      );
    case 'rate':
      return formatRate(row.rate);
    case 'errorRate':
      return <span className={row.errorRate ? 'error-text' : undefined}>{row.errorRate === null ? '—' : formatPercent(row.errorRate)}</span>;
    case 'calls':
      return row.calls === null ? '—' : formatCount(row.calls);
    default:
      return duration(row[key]);
  }
}
