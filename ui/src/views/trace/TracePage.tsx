// `/trace/:id` and `/trace/:id/:view`: one trace, fetched once, shown as a timeline (default), a
// flame graph or a statistics table. Jaeger UI's links (`/trace/<id>?uiFind=…`) open here.
import { useMemo } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorBanner, EmptyState, Loading } from '../../components/Status';
import { api, ApiError } from '../../lib/api';
import { traceModel } from '../../lib/trace/model';
import type { Trace } from '../../lib/types';
import { useRequest } from '../../lib/useRequest';
import { TraceView } from './TraceView';
import { subviewOf } from './urlState';

// A trace link opened directly should not wait for the first render and its effects: the fetch
// of the trace the address names starts as soon as the bundle is evaluated, and the first mount
// takes it over.
let early: { id: string; answer: Promise<Trace> } | null = startEarly();

function startEarly(): typeof early {
  if (typeof window === 'undefined') return null;
  const match = /^\/trace\/([^/?#]+)/.exec(window.location.pathname);
  if (!match) return null;
  const id = decodeURIComponent(match[1]);
  const answer = api.trace(id);
  answer.catch(() => {}); // handled by whoever takes it over; never an unhandled rejection
  return { id, answer };
}

function loadTrace(id: string, signal: AbortSignal): Promise<Trace> {
  if (early?.id === id) {
    const { answer } = early;
    early = null;
    return answer;
  }
  early = null;
  return api.trace(id, signal);
}

export default function TracePage() {
  const { id = '', view } = useParams();
  // The answer carries the id it was asked for: a trace never shows under the next id while that loads.
  const request = useRequest((signal) => loadTrace(id, signal).then((trace) => ({ id, trace })), [id]);
  const current = request.data?.id === id ? request.data.trace : undefined;
  const model = useMemo(() => (current?.spans?.length ? traceModel(current) : null), [current]);

  if (request.error) {
    const error = request.error;
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
      return <TraceNotFound id={id} malformed={error.status === 400} />;
    }
    return <ErrorBanner error={error} onRetry={request.reload} />;
  }
  if (request.loading || request.data?.id !== id) return <Loading what={`trace ${id}`} />;
  if (!model) return <TraceNotFound id={id} malformed={false} />;
  return <TraceView key={id} model={model} id={id} view={subviewOf(view)} />;
}

function TraceNotFound({ id, malformed }: { id: string; malformed: boolean }) {
  if (malformed) {
    return (
      <div data-testid="trace-not-found" data-reason="malformed">
        <EmptyState title={`“${id}” is not a trace id`}>
          <p>
            A trace id is up to 32 hexadecimal digits (usually 16 or 32, as your tracer prints it). Check that the
            link was copied whole, or <Link to="/search">search for the trace</Link> by service and time.
          </p>
        </EmptyState>
      </div>
    );
  }
  return (
    <div data-testid="trace-not-found" data-reason="not-found">
      <EmptyState title={`Trace ${id} was not found`}>
        <p>
          No span of this trace is stored in the time range the query service looks in (the last 72 hours by
          default, <code>query.max_span_age_hours</code>).
        </p>
        <ul className="trace-notfound-checks">
          <li>Is the id complete and from this system? Trace ids are 16 or 32 hexadecimal digits.</li>
          <li>
            Was the trace sent here? Applications export to <code>:4317</code>/<code>:4318</code> (OTLP); spans show
            up within seconds.
          </li>
          <li>
            Did the spans reach storage? <Link to="/pipeline">Pipeline</Link> shows consumer lag and dead letters.
          </li>
          <li>
            Is it older than the range or than the indices kept? <Link to="/search">Search</Link> with a wider time
            range.
          </li>
        </ul>
      </EmptyState>
    </div>
  );
}
