// /search, on Jaeger UI's URL: the query string is the whole search, so a reload or a shared link
// shows the same results. The form writes the URL; the results are fetched from what it says.

import { lazy, Suspense, useMemo, useState, type ReactNode } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { EmptyState, ErrorBanner, Loading, SendSpansHint } from '../../components/Status';
import { api } from '../../lib/api';
import { formatCount } from '../../lib/format';
import { DEFAULT_SORT, SORT_OPTIONS, apiSearch, atLimit, isSortBy, parseSearchUrl, withSortBy, type SortBy } from '../../lib/searchUrl';
import { useRequest } from '../../lib/useRequest';
import { ResultsTable } from './ResultsTable';
import { SearchForm } from './SearchForm';
import { sortTraces, summarizeTrace } from './summary';
import { TraceIdLookup } from './TraceIdLookup';

// The plot's chart library loads after the form and the table, not before them.
const ScatterPlot = lazy(() => import('./ScatterPlot').then((m) => ({ default: m.ScatterPlot })));

export function SearchPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const state = useMemo(() => parseSearchUrl(location.search), [location.search]);
  // Only the search itself resets the form: re-sorting keeps what is being typed.
  const formKey = useMemo(() => withSortBy(location.search, DEFAULT_SORT), [location.search]);
  // A hand-written link without start/end searches up to the moment it was opened.
  const search = useMemo(() => apiSearch(state, Date.now() * 1000), [state]);
  const queryKey = search.kind === 'query' ? JSON.stringify(search.query) : search.kind;

  const services = useRequest((signal) => api.services(signal), []);
  const results = useRequest(
    search.kind === 'query' ? (signal) => api.searchTraces(search.query, signal) : undefined,
    [queryKey],
  );
  const summaries = useMemo(() => (results.data ?? []).map(summarizeTrace), [results.data]);
  const sorted = useMemo(() => sortTraces(summaries, state.sortBy), [summaries, state.sortBy]);

  const [selected, setSelected] = useState<string[]>([]);
  const shown = selected.filter((id) => summaries.some((s) => s.traceID === id));
  const toggle = (id: string) =>
    // Two traces are compared: a third pick replaces the older one.
    setSelected(shown.includes(id) ? shown.filter((x) => x !== id) : [...shown, id].slice(-2));

  const setSort = (sortBy: SortBy) => navigate({ search: withSortBy(location.search, sortBy) }, { replace: true });
  const openTrace = (id: string) => navigate(`/trace/${id}`);
  const noServices = services.data !== undefined && services.data.length === 0;

  let body: ReactNode;
  if (search.kind === 'none') {
    body = noServices ? (
      <EmptyState title="No traces yet">
        <SendSpansHint />
      </EmptyState>
    ) : (
      <EmptyState title="Find traces">
        <p>Pick a service and press Find traces, or open a trace by its id.</p>
      </EmptyState>
    );
  } else if (search.kind === 'invalid') {
    body = (
      <div className="error-banner" role="alert">
        <strong>This search cannot be run</strong>
        <div className="error-detail">{search.error}</div>
        <div className="error-hint">Correct the form and press Find traces.</div>
      </div>
    );
  } else if (results.error) {
    body = <ErrorBanner error={results.error} onRetry={results.reload} />;
  } else if (results.loading || !results.data) {
    body = <Loading what="traces" />;
  } else if (sorted.length === 0) {
    body =
      state.traceIDs.length > 0 ? (
        <EmptyState title="No trace with that id">
          <p>Check the id, or the trace may be older than what skein keeps.</p>
        </EmptyState>
      ) : (
        <EmptyState title="No traces found">
          <p>
            Widen the time range (Lookback) or relax the filters: operation, tags, min and max duration. Spans
            take a few seconds to become searchable.
          </p>
        </EmptyState>
      );
  } else {
    body = (
      <>
        <Suspense fallback={<div className="scatter-placeholder" aria-hidden="true" />}>
          <ScatterPlot traces={sorted} onOpen={openTrace} />
        </Suspense>
        <div className="results-bar">
          <h2 data-testid="results-count" data-count={sorted.length}>
            {formatCount(sorted.length)} {sorted.length === 1 ? 'trace' : 'traces'}
          </h2>
          {atLimit(sorted.length, state.form.limit, state.traceIDs.length) && (
            <span className="muted nowrap" data-testid="results-at-limit" title="The search stopped at its limit: raise Limit results or narrow the search to see the rest">
              limit reached, more may match
            </span>
          )}
          <label className="inline-label">
            Sort by{' '}
            <select
              data-testid="sort-by"
              value={state.sortBy}
              onChange={(e) => isSortBy(e.target.value) && setSort(e.target.value)}
            >
              {SORT_OPTIONS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          <span className="results-bar-spacer" />
          <span className="muted" aria-live="polite">
            {shown.length === 2 ? 'Two traces selected' : `Select two traces to compare (${shown.length}/2)`}
          </span>
          <button
            type="button"
            className="primary"
            data-testid="compare-button"
            disabled={shown.length !== 2}
            onClick={() => navigate(`/compare/${shown[0]}/${shown[1]}`)}
          >
            Compare
          </button>
        </div>
        <ResultsTable traces={sorted} sortBy={state.sortBy} onSort={setSort} selected={shown} onToggle={toggle} />
      </>
    );
  }

  return (
    <div className="search-page">
      <aside className="search-side">
        {services.error && <ErrorBanner error={services.error} onRetry={services.reload} />}
        <SearchForm
          initial={state.form}
          urlKey={formKey}
          sortBy={state.sortBy}
          problems={state.problems}
          services={services}
          onSubmit={(query) => navigate({ pathname: '/search', search: query })}
        />
        <TraceIdLookup />
      </aside>
      <section className="search-main" data-testid="search-results" aria-label="Search results" aria-busy={results.loading}>
        {body}
      </section>
    </div>
  );
}
