// The trace's facts at a glance, its warnings, and the actions: switch sub-view, download the
// JSON, compare with another trace, find within the trace.
import { useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { serviceColor } from '../../lib/colors';
import { formatCount, formatDuration, formatTimestamp, timeZoneName } from '../../lib/format';
import type { TraceModel } from '../../lib/trace/model';
import { FindBox } from './FindBox';
import { SUBVIEWS, subviewHref, type TraceSubview } from './urlState';

interface Props {
  model: TraceModel;
  id: string;
  view: TraceSubview;
  find: string;
  /** The find text in the URL came from a navigation, not from typing here. */
  findFromUrl: boolean;
  onFind: (text: string) => void;
  /** Matches of the find text; null while matching, undefined when not finding. */
  matchCount: number | null | undefined;
  onStep: (direction: 1 | -1) => void;
  onSelect: (spanID: string) => void;
}

export function TraceHeader({ model, id, view, find, findFromUrl, onFind, matchCount, onStep, onSelect }: Props) {
  const { search } = useLocation();
  const { trace, root } = model;
  return (
    <section
      className="panel trace-header"
      data-testid="trace-header"
      data-trace-id={trace.traceID}
      data-span-count={trace.spans.length}
      aria-label="Trace summary"
    >
      <div className="trace-title-row">
        <h2 className="trace-title">
          {root && <span className="service-swatch" style={{ background: serviceColor(root.service) }} aria-hidden="true" />}
          <span className="trace-root-service">{root?.service ?? 'unknown'}</span>
          <span className="muted">:</span> <span className="trace-root-operation">{root?.span.operationName ?? ''}</span>
        </h2>
        <TraceId id={trace.traceID} />
      </div>
      <dl className="trace-facts">
        <Fact label="Start" testid="trace-start">
          {formatTimestamp(model.start)} <span className="muted">{timeZoneName()}</span>
        </Fact>
        <Fact label="Duration" testid="trace-duration">
          {formatDuration(model.duration)}
        </Fact>
        <Fact label="Services" testid="trace-services">
          {model.services.length}
        </Fact>
        <Fact label="Depth" testid="trace-depth">
          {model.depth}
        </Fact>
        <Fact label="Total spans" testid="trace-span-total">
          {formatCount(trace.spans.length)}
        </Fact>
        <Fact label="Errors" testid="trace-errors">
          <span className={model.errorCount ? 'error-text' : undefined}>{formatCount(model.errorCount)}</span>
        </Fact>
      </dl>
      <TraceWarnings model={model} onSelect={onSelect} id={id} view={view} />
      <div className="trace-actions">
        <nav className="trace-tabs" aria-label="Trace views">
          {SUBVIEWS.map((s) => (
            <Link
              key={s.view}
              to={subviewHref(id, s.view, search)}
              className={s.view === view ? 'active' : undefined}
              aria-current={s.view === view ? 'page' : undefined}
              data-testid={`trace-tab-${s.view}`}
            >
              {s.label}
            </Link>
          ))}
        </nav>
        <button type="button" data-testid="download-json" onClick={() => downloadJson(trace)}>
          Download JSON
        </button>
        <CompareWith id={trace.traceID} />
        <FindBox value={find} fromUrl={findFromUrl} onChange={onFind} matchCount={matchCount} onStep={onStep} />
      </div>
    </section>
  );
}

function Fact({ label, testid, children }: { label: string; testid: string; children: React.ReactNode }) {
  return (
    <div className="trace-fact">
      <dt>{label}</dt>
      <dd data-testid={testid}>{children}</dd>
    </div>
  );
}

function TraceId({ id }: { id: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await copyText(id);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
    setTimeout(() => setCopied(null), 1500);
  };
  return (
    <div className="trace-header-id">
      <span className="muted">Trace ID</span>{' '}
      <code data-testid="trace-id">{id}</code>{' '}
      <button type="button" onClick={copy} data-testid="copy-trace-id" aria-label="Copy trace id">
        {copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Select and copy' : 'Copy'}
      </button>
    </div>
  );
}

/** The clipboard API where the page is a secure context; the selection fallback elsewhere (plain http on a LAN). */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

/** The trace as the API answered it, in Jaeger's envelope (`{"data":[trace]}`), which Jaeger UI's JSON upload also reads. */
function downloadJson(trace: TraceModel['trace']) {
  const blob = new Blob([JSON.stringify({ data: [trace] }, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${trace.traceID}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function CompareWith({ id }: { id: string }) {
  const [open, setOpen] = useState(false);
  const [other, setOther] = useState('');
  const navigate = useNavigate();
  const valid = /^[0-9a-fA-F]{1,32}$/.test(other.trim());
  if (!open) {
    return (
      <button type="button" data-testid="compare-with" onClick={() => setOpen(true)}>
        Compare with…
      </button>
    );
  }
  return (
    <form
      className="trace-compare-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) navigate(`/compare/${encodeURIComponent(id)}/${encodeURIComponent(other.trim())}`);
      }}
    >
      <input
        autoFocus
        data-testid="compare-input"
        aria-label="Trace id to compare with"
        placeholder="other trace id"
        value={other}
        onChange={(e) => setOther(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}
        aria-invalid={other.trim() !== '' && !valid}
        size={34}
      />
      <button type="submit" className="primary" disabled={!valid}>
        Compare
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {other.trim() !== '' && !valid && <span className="error-text">up to 32 hex digits</span>}
    </form>
  );
}

const SHOWN_SPAN_WARNINGS = 5;

function TraceWarnings({ model, onSelect, id, view }: { model: TraceModel; onSelect: (spanID: string) => void; id: string; view: TraceSubview }) {
  const navigate = useNavigate();
  const { search } = useLocation();
  const traceWarnings = model.trace.warnings ?? [];
  const spans = model.spansWithWarnings;
  const orphans = model.tree.orphans.length;
  if (!traceWarnings.length && !spans.length && !orphans) return null;
  const show = (spanID: string) => {
    onSelect(spanID);
    // Warnings are read on the span's row: go to the timeline when another view is showing.
    if (view !== 'timeline') {
      const params = new URLSearchParams(search);
      params.set('span', spanID);
      navigate(subviewHref(id, 'timeline', `?${params}`));
    }
  };
  return (
    <div className="trace-warnings" role="note" data-testid="trace-warnings" aria-label="Trace warnings">
      <ul>
        {traceWarnings.map((w, i) => (
          <li key={`t${i}`}>⚠ {w}</li>
        ))}
        {orphans > 0 && (
          <li>
            ⚠ {orphans} span{orphans === 1 ? "'s" : "s'"} parent is not in this trace (not arrived yet, or dropped): shown as
            roots:{' '}
            {model.tree.orphans.slice(0, SHOWN_SPAN_WARNINGS).map((node, i) => (
              <span key={node.span.spanID}>
                {i > 0 && '; '}
                <button type="button" className="link-button" onClick={() => show(node.span.spanID)}>
                  {node.service}: {node.span.operationName}
                </button>
              </span>
            ))}
            {orphans > SHOWN_SPAN_WARNINGS && ` and ${orphans - SHOWN_SPAN_WARNINGS} more`}
          </li>
        )}
        {spans.length > 0 && (
          <li>
            ⚠ {spans.length} span{spans.length === 1 ? ' carries' : 's carry'} warnings:{' '}
            {spans.slice(0, SHOWN_SPAN_WARNINGS).map((node, i) => (
              <span key={node.span.spanID}>
                {i > 0 && '; '}
                <button type="button" className="link-button" onClick={() => show(node.span.spanID)}>
                  {node.service}: {node.span.operationName}
                </button>{' '}
                <span className="muted">({node.span.warnings![0]})</span>
              </span>
            ))}
            {spans.length > SHOWN_SPAN_WARNINGS && ` and ${spans.length - SHOWN_SPAN_WARNINGS} more`}
          </li>
        )}
      </ul>
    </div>
  );
}
