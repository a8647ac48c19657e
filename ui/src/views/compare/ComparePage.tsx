// /compare/:a/:b (also /compare?a=&b=): two traces merged by structure, as Jaeger UI's trace
// diff. `?only=changes` keeps just what differs (and the path to it), so that view can be shared.

import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { EmptyState, ErrorBanner, Loading } from '../../components/Status';
import { api } from '../../lib/api';
import { formatDuration, formatTimestamp } from '../../lib/format';
import { diffTraces, rootsDiffer, type DiffSummary } from '../../lib/traceDiff';
import type { Trace } from '../../lib/types';
import { useRequest } from '../../lib/useRequest';
import { ServiceChip } from '../search/ResultsTable';
import { summarizeTrace } from '../search/summary';
import { CompareForm } from './CompareForm';
import { DiffLegend, DiffTree } from './DiffTree';

function TraceCard({ side, trace }: { side: 'A' | 'B'; trace: Trace }) {
  const s = useMemo(() => summarizeTrace(trace), [trace]);
  return (
    <div className="panel compare-card" data-testid={`compare-card-${side.toLowerCase()}`} data-trace-id={s.traceID}>
      <div className="compare-card-title">
        <span className="compare-side">{side}</span>
        <Link to={`/trace/${s.traceID}`}>
          {s.rootService}: {s.rootOperation}
        </Link>
      </div>
      <div className="muted">
        <code>{s.traceID}</code>
      </div>
      <div>
        {s.spanCount} spans · {s.errorCount > 0 ? (
          <span className="error-text">
            {s.errorCount} {s.errorCount === 1 ? 'error' : 'errors'}
          </span>
        ) : (
          '0 errors'
        )} ·{' '}
        {formatDuration(s.duration)} · {formatTimestamp(s.start)}
      </div>
      <div className="compare-card-services">
        {s.services.map((svc) => (
          <ServiceChip key={svc.name} name={svc.name} count={svc.count} />
        ))}
      </div>
    </div>
  );
}

function Summary({ summary }: { summary: DiffSummary }) {
  const parts: [keyof DiffSummary, string][] = [
    ['added', 'added'],
    ['removed', 'removed'],
    ['slower', 'slower'],
    ['faster', 'faster'],
    ['countChanged', 'with other call counts'],
    ['unchanged', 'unchanged'],
  ];
  return (
    <p className="diff-summary" data-testid="diff-summary" {...Object.fromEntries(parts.map(([k]) => [`data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, summary[k]]))}>
      {summary.nodes} places in the structure:{' '}
      {parts.map(([k, label], i) => (
        <span key={k} className={summary[k] > 0 && k !== 'unchanged' ? 'diff-summary-hit' : undefined}>
          {summary[k]} {label}
          {i < parts.length - 1 ? ', ' : ''}
        </span>
      ))}
    </p>
  );
}

/** A search for traces with the same root service and operation as `trace`. */
function rootSearch(trace: Trace): string {
  const { rootService, rootOperation } = summarizeTrace(trace);
  return `/search?${new URLSearchParams({ service: rootService, operation: rootOperation })}`;
}

export default function ComparePage() {
  const params = useParams();
  const [query, setQuery] = useSearchParams();
  const navigate = useNavigate();
  const a = params.a ?? query.get('a') ?? '';
  const b = params.b ?? query.get('b') ?? '';
  // Mirrored in state: the router commits URL changes in a transition, and a checkbox must
  // show its new state at once.
  const urlOnlyChanges = query.get('only') === 'changes';
  const [onlyChanges, setOnlyChangesState] = useState(urlOnlyChanges);
  const [seenOnly, setSeenOnly] = useState(urlOnlyChanges);
  if (seenOnly !== urlOnlyChanges) {
    setSeenOnly(urlOnlyChanges);
    setOnlyChangesState(urlOnlyChanges);
  }

  const traceA = useRequest(a && b ? (signal) => api.trace(a, signal) : undefined, [a, b]);
  const traceB = useRequest(a && b ? (signal) => api.trace(b, signal) : undefined, [a, b]);
  const diff = useMemo(
    () => (traceA.data && traceB.data ? diffTraces(traceA.data, traceB.data) : null),
    [traceA.data, traceB.data],
  );

  const compare = (x: string, y: string) =>
    navigate({ pathname: `/compare/${x}/${y}`, search: onlyChanges ? '?only=changes' : '' });
  const setOnlyChanges = (on: boolean) => {
    setOnlyChangesState(on);
    setQuery(
      (q) => {
        const next = new URLSearchParams(q);
        if (on) next.set('only', 'changes');
        else next.delete('only');
        return next;
      },
      { replace: true },
    );
  };

  let body;
  if (!a || !b) {
    body = (
      <EmptyState title="Pick two traces">
        <p>
          Enter two trace ids above, or check two traces in <Link to="/search">Search</Link> results and press
          Compare.
        </p>
      </EmptyState>
    );
  } else if (traceA.error || traceB.error) {
    body = (
      <>
        {traceA.error && <ErrorBanner error={traceA.error} onRetry={traceA.reload} />}
        {traceB.error && <ErrorBanner error={traceB.error} onRetry={traceB.reload} />}
      </>
    );
  } else if (traceA.loading || traceB.loading) {
    body = <Loading what="both traces" />;
  } else if (!traceA.data || !traceB.data || !diff) {
    body = (
      <EmptyState title="Trace not found">
        <p>The query service answered without {traceA.data ? 'trace B' : 'trace A'}: check the id.</p>
      </EmptyState>
    );
  } else {
    body = (
      <>
        <div className="compare-cards">
          <TraceCard side="A" trace={traceA.data} />
          <TraceCard side="B" trace={traceB.data} />
        </div>
        <div className="panel">
          {rootsDiffer(diff) && (
            <p className="diff-note" role="note" data-testid="diff-roots-differ">
              These traces start at different operations, so nothing lines up and every span counts as added or removed.
              Compare two traces of the same root operation, e.g. two results of one{' '}
              <Link to={rootSearch(traceA.data)}>search for A&apos;s root operation</Link>.
            </p>
          )}
          <Summary summary={diff.summary} />
          <DiffLegend />
          <label className="inline-label">
            <input
              type="checkbox"
              data-testid="only-changes"
              checked={onlyChanges}
              onChange={(e) => setOnlyChanges(e.target.checked)}
            />{' '}
            Only show what changed
          </label>
          <DiffTree key={`${a}/${b}`} roots={diff.roots} onlyChanges={onlyChanges} />
        </div>
      </>
    );
  }

  return (
    <div className="compare-page">
      <h1 className="page-title">Compare traces</h1>
      <CompareForm a={a} b={b} onCompare={compare} />
      {body}
    </div>
  );
}
