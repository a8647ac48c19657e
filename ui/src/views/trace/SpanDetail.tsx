// The selected span in full: warnings first (clock skew and the like change how to read its
// times), then its facts, typed tags, process, events and references.
import { useMemo } from 'react';
import { Link } from 'react-router';
import { serviceColor } from '../../lib/colors';
import { formatDuration, formatTimestamp, timeZoneName } from '../../lib/format';
import type { KeyValue } from '../../lib/types';
import { spanDetail, type DetailReference } from '../../lib/trace/detail';
import type { TraceModel } from '../../lib/trace/model';
import type { SpanNode } from '../../lib/trace/tree';

interface Props {
  model: TraceModel;
  node: SpanNode;
  onSelect: (spanID: string) => void;
  onClose: () => void;
}

export function SpanDetail({ model, node, onSelect, onClose }: Props) {
  const d = useMemo(() => spanDetail(model, node), [model, node]);
  return (
    <aside className="panel span-detail" data-testid="span-detail" data-span-id={d.spanID} aria-label={`Span ${d.operation}`}>
      <div className="span-detail-head">
        <h3>
          <span className="service-swatch" style={{ background: serviceColor(d.service) }} aria-hidden="true" />
          {d.service}: <span className="span-detail-operation">{d.operation}</span>
        </h3>
        <button type="button" onClick={onClose} aria-label="Close span detail" data-testid="span-detail-close">
          ✕
        </button>
      </div>
      {d.warnings.length > 0 && (
        <div className="span-warnings" role="alert" data-testid="span-warnings">
          <strong>Warnings</strong>
          <ul>
            {d.warnings.map((w, i) => (
              <li key={i}>⚠ {w}</li>
            ))}
          </ul>
        </div>
      )}
      <dl className="span-facts">
        <dt>Span ID</dt>
        <dd>
          <code data-testid="detail-span-id">{d.spanID}</code>
        </dd>
        <dt>Parent</dt>
        <dd>
          {d.parentID ? (
            <button type="button" className="link-button" onClick={() => onSelect(d.parentID!)}>
              <code>{d.parentID}</code>
            </button>
          ) : (
            <span className="muted">none (root)</span>
          )}
        </dd>
        <dt>Start</dt>
        <dd>
          +{formatDuration(d.startOffset)}{' '}
          <span className="muted">
            ({formatTimestamp(d.startTime)} {timeZoneName()})
          </span>
        </dd>
        <dt>Duration</dt>
        <dd data-testid="detail-duration">{formatDuration(d.duration)}</dd>
        <dt>Kind</dt>
        <dd>{d.kind || <span className="muted">unspecified</span>}</dd>
        <dt>Status</dt>
        <dd data-testid="detail-status">
          {d.error ? <span className="error-text">error</span> : 'ok'}
          {d.statusMessage && <span className={d.error ? 'error-text' : undefined}>: {d.statusMessage}</span>}
        </dd>
        <dt>Children</dt>
        <dd>{d.childCount}</dd>
      </dl>

      <Section title={`Tags (${d.tags.length})`} testid="detail-tags">
        <KeyValueTable items={d.tags} />
      </Section>
      <Section title={`Process: ${d.process.serviceName}`} testid="detail-process">
        <KeyValueTable items={d.process.tags} />
      </Section>
      <Section title={`Events (${d.logs.length})`} testid="detail-logs">
        {d.logs.length === 0 ? (
          <p className="muted">No events on this span.</p>
        ) : (
          <ol className="span-logs">
            {d.logs.map((log, i) => (
              <li key={i}>
                <div className="span-log-time" title={`${formatTimestamp(log.timestamp)} ${timeZoneName()}`}>
                  {log.offset < 0 ? '-' : '+'}
                  {formatDuration(Math.abs(log.offset))} <span className="muted">after the span started</span>
                </div>
                <KeyValueTable items={log.fields} />
              </li>
            ))}
          </ol>
        )}
      </Section>
      <Section title={`References (${d.references.length})`} testid="detail-references">
        {d.references.length === 0 ? (
          <p className="muted">No references: a root span.</p>
        ) : (
          <ul className="span-refs">
            {d.references.map((r, i) => (
              <ReferenceItem key={i} reference={r} onSelect={onSelect} />
            ))}
          </ul>
        )}
      </Section>
    </aside>
  );
}

function Section({ title, testid, children }: { title: string; testid: string; children: React.ReactNode }) {
  return (
    <section className="span-detail-section" data-testid={testid}>
      <h4>{title}</h4>
      {children}
    </section>
  );
}

function KeyValueTable({ items }: { items: KeyValue[] }) {
  if (!items.length) return <p className="muted">None.</p>;
  return (
    <table className="data kv-table">
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Type</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {items.map((kv, i) => (
          <tr key={`${kv.key}-${i}`} data-key={kv.key}>
            <td className="kv-key">{kv.key}</td>
            <td className="kv-type">{kv.type}</td>
            <td className={`kv-value kv-${kv.type}`}>{String(kv.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ReferenceItem({ reference: r, onSelect }: { reference: DetailReference; onSelect: (spanID: string) => void }) {
  const kind = r.refType === 'FOLLOWS_FROM' ? 'follows from' : 'child of';
  return (
    <li data-testid="detail-reference" data-ref-type={r.refType} data-in-trace={r.inTrace}>
      <span className="ref-type">{r.refType}</span>{' '}
      {r.inTrace ? (
        <button type="button" className="link-button" onClick={() => onSelect(r.spanID)} title={`Go to the span this one is ${kind}`}>
          {r.service}: {r.operation} <code>{r.spanID}</code>
        </button>
      ) : r.external ? (
        <>
          <span className="muted">another trace:</span>{' '}
          <Link to={`/trace/${encodeURIComponent(r.traceID)}?span=${encodeURIComponent(r.spanID)}`}>
            <code>{r.traceID}</code> span <code>{r.spanID}</code>
          </Link>
        </>
      ) : (
        <>
          <code>{r.spanID}</code> <span className="muted">(not in this trace)</span>
        </>
      )}
    </li>
  );
}
