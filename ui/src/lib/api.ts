// Every request the UI makes goes through `getJSON`, so a failure always becomes an `ApiError`
// naming the request and what the server said — the error banner shows exactly that.

import { tenantHeaders, type TenancyInfo } from './tenant';
import type { DependencyLink, Envelope, MetricFamily, Operation, Trace } from './types';

export class ApiError extends Error {
  constructor(
    readonly request: string,
    readonly status: number | null,
    readonly detail: string,
  ) {
    super(`${request}: ${status === null ? 'no answer' : `HTTP ${status}`} — ${detail}`);
  }

  /** What a person should try next, by kind of failure. */
  get hint(): string {
    if (this.status === null) return 'Is skein query running? Check the address and reload.';
    if (this.status === 400) return 'A parameter was refused: correct it and search again.';
    if (this.status === 401 || this.status === 403) {
      return 'Choose a tenant you may read (the Tenant field at the top), or sign in with credentials for one.';
    }
    if (this.status === 404) return 'Nothing by that name or id in the time range: widen the range or check the id.';
    if (this.status >= 500) return 'The query service could not read storage: is Elasticsearch up? (see Pipeline)';
    return 'Try again; if it persists, check the query service logs.';
  }
}

export type Query = Record<string, string | number | boolean | undefined | null | (string | number)[]>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export async function getJSON<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
  const url = `${path}${queryString(query)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { Accept: 'application/json', ...tenantHeaders() } });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(`GET ${url}`, null, (error as Error).message);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(`GET ${url}`, response.status, errorMessage(body) ?? (text.slice(0, 300) || response.statusText));
  }
  if (body === null && text) throw new ApiError(`GET ${url}`, response.status, 'the answer is not JSON');
  return body as T;
}

/** The message of Jaeger's envelope `errors`, v3's `error`, or skein's `{error}`. */
function errorMessage(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.errors) && b.errors.length) {
    return b.errors.map((e) => (e as { msg?: string }).msg ?? JSON.stringify(e)).join('; ');
  }
  if (b.error && typeof b.error === 'object') return String((b.error as { message?: string }).message ?? '');
  if (typeof b.error === 'string') return b.error;
  return null;
}

export const api = {
  services: (signal?: AbortSignal) =>
    getJSON<Envelope<string[] | null>>('/api/services', {}, signal).then((e) => e.data ?? []),
  operations: (service: string, signal?: AbortSignal) =>
    getJSON<Envelope<Operation[] | null>>('/api/operations', { service }, signal).then((e) => e.data ?? []),
  searchTraces: (query: Query, signal?: AbortSignal) =>
    getJSON<Envelope<Trace[] | null>>('/api/traces', query, signal).then((e) => e.data ?? []),
  trace: (traceID: string, signal?: AbortSignal) =>
    getJSON<Envelope<Trace[]>>(`/api/traces/${encodeURIComponent(traceID)}`, {}, signal).then((e) => e.data[0]),
  dependencies: (endTs: number, lookback: number, signal?: AbortSignal) =>
    getJSON<Envelope<DependencyLink[] | null>>('/api/dependencies', { endTs, lookback }, signal).then(
      (e) => e.data ?? [],
    ),
  metrics: (metric: 'latencies' | 'calls' | 'errors', query: Query, signal?: AbortSignal) =>
    getJSON<MetricFamily>(`/api/metrics/${metric}`, query, signal),
};

export const skeinApi = {
  tenancy: (signal?: AbortSignal) => getJSON<TenancyInfo>('/api/tenancy', {}, signal),
  graph: (endTs: number, lookback: number, signal?: AbortSignal) =>
    getJSON<import('./types').ServiceGraph>('/api/skein/graph', { endTs, lookback }, signal),
  operationGraph: (service: string, endTs: number, lookback: number, signal?: AbortSignal) =>
    getJSON<import('./types').OperationGraph>('/api/skein/graph/operations', { service, endTs, lookback }, signal),
  pipeline: (signal?: AbortSignal) => getJSON<import('./types').PipelineReport>('/api/skein/pipeline', {}, signal),
};
