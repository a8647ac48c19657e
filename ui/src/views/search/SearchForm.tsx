// The search form: a real <form> (Enter submits), every field labelled, invalid fields say what
// to type next to themselves. Submitting only writes the URL; the page searches what the URL says.

import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { api } from '../../lib/api';
import { timeZoneName } from '../../lib/format';
import type { RequestState } from '../../lib/useRequest';
import { useRequest } from '../../lib/useRequest';
import {
  CUSTOM_LOOKBACK,
  LOOKBACK_OPTIONS,
  fromDateTimeLocal,
  resolveRange,
  submitSearch,
  toDateTimeLocal,
  validateForm,
  type FieldErrors,
  type SearchForm as Form,
  type SortBy,
} from '../../lib/searchUrl';
import type { Operation } from '../../lib/types';

const LAST_SEARCH_KEY = 'skein.search.last';

function lastSearch(): { service?: string; operation?: string } {
  try {
    return JSON.parse(localStorage.getItem(LAST_SEARCH_KEY) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

/** One option per operation name, with its span kinds: `GET /dispatch · server`. */
export function operationOptions(operations: readonly Operation[]): { name: string; label: string }[] {
  const kinds = new Map<string, Set<string>>();
  for (const op of operations) {
    const set = kinds.get(op.name) ?? new Set<string>();
    if (op.spanKind) set.add(op.spanKind);
    kinds.set(op.name, set);
  }
  return [...kinds.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, set]) => ({ name, label: set.size ? `${name} · ${[...set].sort().join(', ')}` : name }));
}

interface Props {
  initial: Form;
  /** Identifies the URL the form was read from: a new URL resets the form to it. */
  urlKey: string;
  sortBy: SortBy;
  problems: string[];
  services: RequestState<string[]>;
  onSubmit: (search: string) => void;
}

export function SearchForm({ initial, urlKey, sortBy, problems, services, onSubmit }: Props) {
  const [form, setForm] = useState<Form>(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [seenUrl, setSeenUrl] = useState(urlKey);
  if (seenUrl !== urlKey) {
    // The URL changed (a submit, back/forward, a link): show what it says.
    setSeenUrl(urlKey);
    setForm(initial);
    setErrors({});
  }
  const formRef = useRef<HTMLFormElement>(null);
  const uid = useId();
  const id = (name: string) => `${uid}-${name}`;

  // A bare /search starts from the service searched last, when it still exists.
  useEffect(() => {
    if (form.service || !services.data) return;
    const last = lastSearch();
    if (last.service && services.data.includes(last.service)) {
      setForm((f) => (f.service ? f : { ...f, service: last.service!, operation: last.operation ?? '' }));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [services.data]);

  const operations = useRequest(
    form.service ? (signal) => api.operations(form.service, signal) : undefined,
    [form.service],
  );
  const opOptions = useMemo(() => operationOptions(operations.data ?? []), [operations.data]);

  const serviceNames = services.data ?? [];
  const serviceList = form.service && !serviceNames.includes(form.service) ? [form.service, ...serviceNames] : serviceNames;
  const opList =
    form.operation && !opOptions.some((o) => o.name === form.operation)
      ? [{ name: form.operation, label: form.operation }, ...opOptions]
      : opOptions;
  const lookbacks = LOOKBACK_OPTIONS.some((o) => o.value === form.lookback)
    ? LOOKBACK_OPTIONS
    : [{ value: form.lookback, label: `Last ${form.lookback}` }, ...LOOKBACK_OPTIONS];

  const update = (patch: Partial<Form>) => {
    const next = { ...form, ...patch };
    // From the latest state, not this render's: two edits before a re-render (a select, then
    // typing) must not undo the first.
    setForm((f) => ({ ...f, ...patch }));
    // A field already marked wrong is re-checked as it is typed, so the message goes once fixed.
    const marked = Object.keys(patch).filter((k) => errors[k as keyof Form]);
    if (marked.length) {
      const fresh = validateForm(next);
      setErrors((e) => {
        const out = { ...e };
        for (const k of marked) out[k as keyof Form] = fresh[k as keyof Form];
        return out;
      });
    }
  };

  const checkField = (name: keyof Form) => {
    const message = validateForm(form)[name];
    setErrors((e) => ({ ...e, [name]: message }));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = submitSearch(form, sortBy, Date.now() * 1000);
    if (!result.ok) {
      setErrors(result.errors);
      const first = (Object.keys(result.errors) as (keyof Form)[])[0];
      formRef.current?.querySelector<HTMLElement>(`[name="${first}"]`)?.focus();
      return;
    }
    try {
      localStorage.setItem(LAST_SEARCH_KEY, JSON.stringify({ service: form.service, operation: form.operation }));
    } catch {
      // Private windows may refuse storage; remembering the last service is only a convenience.
    }
    onSubmit(result.search);
  };

  const chooseLookback = (lookback: string) => {
    if (lookback === CUSTOM_LOOKBACK && (form.start === null || form.end === null)) {
      // Start the custom range from the range the lookback covered.
      const range = resolveRange(form, Date.now() * 1000);
      if ('start' in range) return update({ lookback, start: range.start, end: range.end });
    }
    update({ lookback });
  };

  const fieldError = (name: keyof Form) =>
    errors[name] ? (
      <div className="field-error" id={id(`${name}-error`)} data-testid={`${name}-error`} role="alert">
        {errors[name]}
      </div>
    ) : null;
  const described = (name: keyof Form) =>
    errors[name] ? { 'aria-invalid': true as const, 'aria-describedby': id(`${name}-error`) } : {};

  const zone = timeZoneName();
  return (
    <form
      ref={formRef}
      className="search-form panel"
      onSubmit={submit}
      onKeyDown={(e) => {
        // Browsers submit on Enter in a text field but not in a <select>: a keyboard user picks a
        // service and presses Enter, as in the text fields.
        if (e.key === 'Enter' && !e.defaultPrevented && (e.target as HTMLElement).tagName === 'SELECT') {
          e.preventDefault();
          formRef.current?.requestSubmit();
        }
      }}
      noValidate
      data-testid="search-form"
      aria-label="Search traces"
    >
      <h2>Search</h2>
      {problems.map((p) => (
        <div key={p} className="field-error" role="alert">
          {p}
        </div>
      ))}
      <div className="field">
        <label htmlFor={id('service')}>
          Service {services.data && <span className="muted">({services.data.length})</span>}
        </label>
        <select
          id={id('service')}
          name="service"
          data-testid="search-service"
          value={form.service}
          onChange={(e) => update({ service: e.target.value, operation: '' })}
          {...described('service')}
        >
          <option value="">{services.loading ? 'Loading services…' : 'Select a service'}</option>
          {serviceList.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {fieldError('service')}
      </div>

      <div className="field">
        <label htmlFor={id('operation')}>
          Operation {operations.data && <span className="muted">({opOptions.length})</span>}
        </label>
        <select
          id={id('operation')}
          name="operation"
          data-testid="search-operation"
          value={form.operation}
          disabled={!form.service}
          onChange={(e) => update({ operation: e.target.value })}
        >
          <option value="">All</option>
          {opList.map((o) => (
            <option key={o.name} value={o.name}>
              {o.label}
            </option>
          ))}
        </select>
        {operations.loading && <div className="field-note muted">Loading operations…</div>}
        {operations.error && (
          <div className="field-error" role="alert">
            Could not load operations: {operations.error.message}{' '}
            <button type="button" onClick={operations.reload}>
              Retry
            </button>
          </div>
        )}
      </div>

      <div className="field">
        <label htmlFor={id('tags')}>Tags</label>
        <input
          id={id('tags')}
          name="tags"
          type="text"
          data-testid="search-tags"
          placeholder="http.status_code=200 error=true"
          value={form.tags}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => update({ tags: e.target.value })}
          onBlur={() => checkField('tags')}
          {...described('tags')}
        />
        {fieldError('tags') ?? (
          <div className="field-note muted">
            logfmt: <code>key=value</code>, spaces mean AND, quote values with spaces: <code>k="a b"</code>
          </div>
        )}
      </div>

      <div className="field">
        <label htmlFor={id('lookback')}>Lookback</label>
        <select
          id={id('lookback')}
          name="lookback"
          data-testid="search-lookback"
          value={form.lookback}
          onChange={(e) => chooseLookback(e.target.value)}
          {...described('lookback')}
        >
          {lookbacks.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
        {fieldError('lookback')}
      </div>

      {form.lookback === CUSTOM_LOOKBACK && (
        <div className="custom-range">
          <div className="field">
            <label htmlFor={id('start')}>
              Start <span className="muted">({zone})</span>
            </label>
            <input
              id={id('start')}
              name="start"
              type="datetime-local"
              step={1}
              data-testid="search-start"
              value={form.start === null ? '' : toDateTimeLocal(form.start)}
              onChange={(e) => update({ start: fromDateTimeLocal(e.target.value) })}
              {...described('start')}
            />
            {fieldError('start')}
          </div>
          <div className="field">
            <label htmlFor={id('end')}>
              End <span className="muted">({zone})</span>
            </label>
            <input
              id={id('end')}
              name="end"
              type="datetime-local"
              step={1}
              data-testid="search-end"
              value={form.end === null ? '' : toDateTimeLocal(form.end)}
              onChange={(e) => update({ end: fromDateTimeLocal(e.target.value) })}
              {...described('end')}
            />
            {fieldError('end')}
          </div>
        </div>
      )}

      <div className="field-row">
        <div className="field">
          <label htmlFor={id('minDuration')}>Min duration</label>
          <input
            id={id('minDuration')}
            name="minDuration"
            type="text"
            data-testid="search-min-duration"
            placeholder="e.g. 100ms"
            value={form.minDuration}
            onChange={(e) => update({ minDuration: e.target.value })}
            onBlur={() => checkField('minDuration')}
            {...described('minDuration')}
          />
          {fieldError('minDuration')}
        </div>
        <div className="field">
          <label htmlFor={id('maxDuration')}>Max duration</label>
          <input
            id={id('maxDuration')}
            name="maxDuration"
            type="text"
            data-testid="search-max-duration"
            placeholder="e.g. 1.5s"
            value={form.maxDuration}
            onChange={(e) => update({ maxDuration: e.target.value })}
            onBlur={() => checkField('maxDuration')}
            {...described('maxDuration')}
          />
          {fieldError('maxDuration')}
        </div>
      </div>

      <div className="field">
        <label htmlFor={id('limit')}>Limit results</label>
        <input
          id={id('limit')}
          name="limit"
          type="number"
          min={1}
          data-testid="search-limit"
          value={form.limit}
          onChange={(e) => update({ limit: e.target.value })}
          onBlur={() => checkField('limit')}
          {...described('limit')}
        />
        {fieldError('limit')}
      </div>

      <button type="submit" className="primary search-submit" data-testid="search-submit">
        Find traces
      </button>
    </form>
  );
}
