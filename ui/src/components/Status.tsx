// What every view shows while waiting, on failure and when there is nothing yet.
import type { ReactNode } from 'react';
import { ApiError } from '../lib/api';

export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function ErrorBanner({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const apiError = error instanceof ApiError ? error : null;
  return (
    <div className="error-banner" role="alert">
      <strong>{apiError ? `Request failed: ${apiError.request}` : 'Something went wrong'}</strong>
      <div className="error-detail">
        {apiError ? `${apiError.status === null ? 'no answer' : `HTTP ${apiError.status}`}: ${apiError.detail}` : error.message}
      </div>
      {apiError && <div className="error-hint">{apiError.hint}</div>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" data-testid="empty-state">
      <h3>{title}</h3>
      {children && <div>{children}</div>}
    </div>
  );
}

/** The hint shown wherever there are no services yet. */
export function SendSpansHint() {
  return (
    <p>
      No services yet: send OTLP to <code>:4317</code> (gRPC) or <code>:4318</code> (HTTP,{' '}
      <code>/v1/traces</code>), Jaeger to <code>:14250</code>/<code>:14268</code>, Zipkin to <code>:9411</code>.
      Spans appear here within seconds.
    </p>
  );
}
