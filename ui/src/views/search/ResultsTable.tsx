// One row per trace: root, services touched, spans, errors, duration, start. Headers sort (the
// order lives in the URL); a row opens its trace; two checked rows can be compared.

import type { MouseEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { Breakable } from '../../components/Breakable';
import { serviceColor } from '../../lib/colors';
import { formatDuration, formatRelative, formatTimestamp } from '../../lib/format';
import type { SortBy } from '../../lib/searchUrl';
import type { TraceSummary } from './summary';

interface Props {
  traces: readonly TraceSummary[];
  sortBy: SortBy;
  onSort: (sortBy: SortBy) => void;
  selected: readonly string[];
  onToggle: (traceID: string) => void;
}

export function ServiceChip({ name, count }: { name: string; count?: number }) {
  return (
    <span className="svc-chip" data-testid="service-chip" data-service={name} data-count={count}>
      <span className="svc-swatch" style={{ background: serviceColor(name) }} aria-hidden="true" />
      {name}
      {count !== undefined && <span className="svc-count">{count}</span>}
    </span>
  );
}

/** Clicks on the row's own controls (link, checkbox) do their own thing. */
function fromControl(event: MouseEvent): boolean {
  return !!(event.target as HTMLElement).closest('a, button, input, label');
}

export function ResultsTable({ traces, sortBy, onSort, selected, onToggle }: Props) {
  const navigate = useNavigate();
  const longest = Math.max(1, ...traces.map((t) => t.duration));
  const now = Date.now() * 1000;

  const header = (label: string, sorts: SortBy[], className?: string) => {
    const active = sorts.includes(sortBy);
    // Clicking the active column flips it when it has two directions (duration).
    const next = active && sorts.length > 1 ? sorts[(sorts.indexOf(sortBy) + 1) % sorts.length] : sorts[0];
    const direction = sortBy === 'SHORTEST_FIRST' ? 'ascending' : 'descending';
    return (
      <th className={className} aria-sort={active ? direction : 'none'} scope="col">
        <button type="button" className="sort" onClick={() => onSort(next)} data-testid={`sort-${label.toLowerCase()}`}>
          {label}
          {active && <span aria-hidden="true">{direction === 'ascending' ? ' ▲' : ' ▼'}</span>}
        </button>
      </th>
    );
  };

  return (
    <table className="data results-table" data-testid="results-table">
      <thead>
        <tr>
          <th scope="col" className="select-col">
            <span className="visually-hidden">Compare</span>
          </th>
          <th scope="col">Trace</th>
          <th scope="col">Services</th>
          {header('Spans', ['MOST_SPANS'], 'num')}
          {header('Errors', ['MOST_ERRORS'], 'num')}
          {header('Duration', ['LONGEST_FIRST', 'SHORTEST_FIRST'], 'num')}
          {header('Started', ['MOST_RECENT'])}
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => {
          const checked = selected.includes(t.traceID);
          const href = `/trace/${t.traceID}`;
          return (
            <tr
              key={t.traceID}
              data-testid="trace-row"
              data-trace-id={t.traceID}
              className={checked ? 'selected' : undefined}
              onClick={(e) => !fromControl(e) && navigate(href)}
            >
              <td className="select-col">
                <input
                  type="checkbox"
                  data-testid="compare-checkbox"
                  checked={checked}
                  onChange={() => onToggle(t.traceID)}
                  aria-label={`Select trace ${t.traceID} to compare`}
                />
              </td>
              <td data-testid="trace-root" className="trace-root">
                <Link to={href} className="trace-link">
                  <span className="svc-swatch" style={{ background: serviceColor(t.rootService) }} aria-hidden="true" />
                  <span data-testid="root-service">{t.rootService}</span>: <span data-testid="root-operation">
                    <Breakable text={t.rootOperation} />
                  </span>
                </Link>
                <div className="trace-id muted">
                  <code>{t.traceID.slice(0, 7)}</code>
                  {t.rootMissing && <span title="No span of this trace is a root: its root span has not arrived"> · root span missing</span>}
                </div>
              </td>
              <td data-testid="trace-services" className="trace-services">
                {t.services.map((s) => (
                  <ServiceChip key={s.name} name={s.name} count={s.count} />
                ))}
              </td>
              <td className="num" data-testid="span-count">
                {t.spanCount}
              </td>
              <td className={`num${t.errorCount > 0 ? ' error-text' : ''}`} data-testid="error-count">
                {t.errorCount}
              </td>
              <td className="num duration-cell" data-testid="trace-duration" data-duration-us={t.duration}>
                {formatDuration(t.duration)}
                <span className="duration-bar" aria-hidden="true">
                  <span style={{ width: `${Math.max(1, (t.duration / longest) * 100)}%` }} />
                </span>
              </td>
              <td className="trace-start" data-testid="trace-start" data-start-us={t.start}>
                <div>{formatTimestamp(t.start)}</div>
                <div className="muted">{formatRelative(t.start, now)}</div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
