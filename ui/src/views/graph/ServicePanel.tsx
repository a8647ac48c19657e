// The side panel of a clicked service: its traffic, its links in both directions (each a search
// for the traces across it), the RED of its operations, and the way to its focus view and monitor.

import { useState } from 'react';
import { Link } from 'react-router';
import { ErrorBanner, Loading } from '../../components/Status';
import { serviceColor } from '../../lib/colors';
import { formatCount, formatDuration, formatPercent } from '../../lib/format';
import type { ServiceLink } from '../../lib/graphLayout';
import { linkTracesLink, searchLink, type TimeRange } from '../../lib/timeRange';
import type { ServiceGraph } from '../../lib/types';
import { OperationTable, type Sort } from '../monitor/OperationTable';
import { useEscape } from './shapes';
import { useOperationRed } from '../monitor/useOperationRed';

export interface ServicePanelProps {
  service: string;
  graph: ServiceGraph;
  range: TimeRange;
  onClose: () => void;
}

export function ServicePanel({ service, graph, range, onClose }: ServicePanelProps) {
  const red = useOperationRed(service, 'server', range);
  useEscape(onClose);
  const [sort, setSort] = useState<Sort>({ key: 'calls', direction: 'desc' });
  const traffic = graph.services.find((s) => s.service === service);
  const outgoing = graph.links.filter((l) => l.parent === service);
  const incoming = graph.links.filter((l) => l.child === service);
  const rangeQuery = `lookback=${encodeURIComponent(range.lookback)}${range.live ? '' : `&endTs=${range.endTs}`}`;
  return (
    <aside className="graph-panel panel" aria-label={`Service ${service}`} data-testid="service-panel">
      <div className="graph-panel-head">
        <h2>
          <span className="swatch" style={{ background: serviceColor(service) }} aria-hidden="true" />
          {service}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close the service panel">
          ×
        </button>
      </div>
      <p className="muted">
        {traffic
          ? `Served ${formatCount(traffic.calls)} call${traffic.calls === 1 ? '' : 's'}, ${formatCount(traffic.errors)} with errors (${formatPercent(
              traffic.calls ? traffic.errors / traffic.calls : 0,
            )}), in the range.`
          : 'Served no server or consumer spans in the range (it only calls others).'}
      </p>
      <div className="graph-panel-actions">
        <Link className="button primary" to={`/deep-dependencies?service=${encodeURIComponent(service)}&${rangeQuery}`}>
          Focus
        </Link>
        <Link className="button" to={`/monitor?service=${encodeURIComponent(service)}&${rangeQuery}`}>
          Open in Monitor
        </Link>
        <Link className="button" to={searchLink(service, range)}>
          Search traces
        </Link>
      </div>

      <LinkList title="Calls" links={outgoing} other={(l) => l.child} range={range} empty="Calls no other service." />
      <LinkList title="Called by" links={incoming} other={(l) => l.parent} range={range} empty="Not called by another service." />

      <h3>Operations (server spans)</h3>
      {red.error && <ErrorBanner error={red.error} onRetry={red.reload} />}
      {red.loading && <Loading what="operation metrics" />}
      {red.data && red.data.length === 0 && !red.loading && (
        <p className="muted">No server-span metrics in the range. Metrics come from analytics&apos; per-minute buckets.</p>
      )}
      {red.data && red.data.length > 0 && (
        <OperationTable rows={red.data} service={service} range={range} sort={sort} onSort={setSort} compact />
      )}
    </aside>
  );
}

function LinkList({
  title,
  links,
  other,
  range,
  empty,
}: {
  title: string;
  links: ServiceLink[];
  other: (link: ServiceLink) => string;
  range: TimeRange;
  empty: string;
}) {
  return (
    <>
      <h3>{title}</h3>
      {links.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              <th>Service</th>
              <th className="num">Calls</th>
              <th className="num">Errors</th>
              <th className="num">p95</th>
              <th aria-label="Traces" />
            </tr>
          </thead>
          <tbody>
            {links.map((l) => (
              <tr key={`${l.parent}→${l.child}`} data-testid="panel-link" data-parent={l.parent} data-child={l.child}>
                <td>{other(l)}</td>
                <td className="num">{formatCount(l.calls)}</td>
                <td className={`num${l.errors ? ' error-text' : ''}`}>
                  {formatCount(l.errors)} ({formatPercent(l.calls ? l.errors / l.calls : 0)})
                </td>
                <td className="num">{l.p95 === null ? '—' : formatDuration(l.p95)}</td>
                <td>
                  <Link to={linkTracesLink(l, range)} title={`Traces across ${l.parent} → ${l.child}`}>
                    traces
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
