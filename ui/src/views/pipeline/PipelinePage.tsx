// `/pipeline`: the pipeline's own health from `/api/skein/pipeline` — receivers (rates between
// polls), Kafka consumer lag per group and partition, dead letters, Elasticsearch and the
// analytics watermarks. An unreachable part gets a banner; the parts that answered still show.

import { EmptyState, ErrorBanner, Loading } from '../../components/Status';
import { formatCount, formatTimestamp } from '../../lib/format';
import {
  analyticsLag,
  formatBytes,
  formatLag,
  formatRate,
  formatSecondsBehind,
  formatUpdated,
  pipelineProblems,
  type AnalyticsLag,
  type TransportRow,
} from '../../lib/pipeline';
import type { ConsumerGroupReport, PipelineReport } from '../../lib/types';
import { POLL_MS, useNow, usePipeline } from './usePipeline';

export default function PipelinePage() {
  const state = usePipeline();
  const now = useNow();
  const { report } = state;
  return (
    <div className="pipeline-page">
      <div className="toolbar panel">
        <h1 className="view-title">Pipeline</h1>
        <span className="muted" data-testid="pipeline-updated" aria-live="off">
          {state.receivedAt ? formatUpdated(state.receivedAt, now) : 'not updated yet'}
          {state.paused ? ' · paused while the tab is hidden' : ` · every ${POLL_MS / 1000} s`}
        </span>
        <button type="button" onClick={state.pollNow} disabled={state.loading}>
          Update now
        </button>
        {report && <span className="muted">report generated {formatTimestamp(Date.parse(report.generatedAt) * 1000).slice(0, 19)}</span>}
      </div>
      {state.error && <ErrorBanner error={state.error} onRetry={state.pollNow} />}
      {state.error && report && <p className="muted">Showing the last report that arrived.</p>}
      {!report && state.loading && <Loading what="pipeline report" />}
      {report && <Report report={report} transports={state.transports} />}
    </div>
  );
}

function Report({ report, transports }: { report: PipelineReport; transports: TransportRow[] }) {
  const problems = pipelineProblems(report);
  return (
    <>
      {problems.map((p, i) => (
        <div key={i} className="error-banner" role="alert" data-testid={`problem-${p.component.toLowerCase()}`}>
          <strong>{p.message}</strong>
          <div className="error-hint">{p.check}</div>
        </div>
      ))}
      <div className="pipeline-grid">
        <Receivers report={report} transports={transports} />
        <Elasticsearch report={report} />
      </div>
      <section className="panel" aria-labelledby="kafka-title">
        <h2 id="kafka-title">
          Kafka <span className="muted">{report.kafka.brokers}</span>{' '}
          <Badge ok={report.kafka.reachable} text={report.kafka.reachable ? 'reachable' : 'unreachable'} />
        </h2>
        {report.kafka.reachable ? (
          <p className="muted">
            Topic <code>{report.kafka.spansTopic}</code>, {report.kafka.partitions} partition{report.kafka.partitions === 1 ? '' : 's'}
          </p>
        ) : (
          <p className="error-text">Lag and dead letters cannot be read: {report.kafka.error ?? 'no answer'}</p>
        )}
        {report.kafka.groups.length === 0 && report.kafka.reachable && (
          <p className="muted">No consumer group has committed yet: start the ingester and analytics roles.</p>
        )}
        <div className="pipeline-groups">
          {report.kafka.groups.map((g) => (
            <Group key={g.group} group={g} />
          ))}
        </div>
      </section>
      <div className="pipeline-grid">
        <DeadLetters report={report} />
        <Analytics report={report} />
      </div>
    </>
  );
}

function Badge({ ok, text, warn }: { ok: boolean; text: string; warn?: boolean }) {
  return <span className={`badge ${ok ? (warn ? 'warn' : 'ok') : 'bad'}`}>{text}</span>;
}

function Receivers({ report, transports }: { report: PipelineReport; transports: TransportRow[] }) {
  const { sources, refusedByReason } = report.receivers;
  return (
    <section className="panel" aria-labelledby="receivers-title" data-testid="receivers">
      <h2 id="receivers-title">Receivers</h2>
      {sources.length === 0 && <p className="muted">No collector to scrape: the query role has no collector metrics address configured.</p>}
      {sources.some((s) => !s.reachable) && (
        <ul className="pipeline-sources">
          {sources
            .filter((s) => !s.reachable)
            .map((s) => (
              <li key={s.url} className="error-text" data-testid="source-unreachable">
                {s.url}: {s.error ?? 'no answer'}
              </li>
            ))}
        </ul>
      )}
      {transports.length === 0 ? (
        sources.length > 0 && <p className="muted">No spans received yet.</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th>Transport</th>
              <th className="num" title="Spans accepted per second between the last two updates">
                Accepted/s
              </th>
              <th className="num" title="Spans refused per second between the last two updates">
                Refused/s
              </th>
              <th className="num" title="Since each collector started">
                Accepted
              </th>
              <th className="num" title="Since each collector started">
                Refused
              </th>
            </tr>
          </thead>
          <tbody>
            {transports.map((t) => (
              <tr key={t.transport} data-testid="transport-row" data-transport={t.transport}>
                <td>
                  <code>{t.transport}</code>
                </td>
                <td className="num" title={t.note ?? undefined}>
                  {formatRate(t.acceptedPerSec)}
                </td>
                <td className={`num${t.refusedPerSec ? ' error-text' : ''}`} title={t.note ?? undefined}>
                  {formatRate(t.refusedPerSec)}
                </td>
                <td className="num" data-testid="accepted-total">
                  {formatCount(t.accepted)}
                </td>
                <td className={`num${t.refused ? ' error-text' : ''}`}>{formatCount(t.refused)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {refusedByReason.length > 0 && (
        <>
          <h3>Refused by reason</h3>
          <table className="data compact">
            <tbody>
              {refusedByReason.map((r) => (
                <tr key={r.reason}>
                  <td>{r.reason}</td>
                  <td className="num">{formatCount(r.spans)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Group({ group }: { group: ConsumerGroupReport }) {
  const caughtUp = group.totalLag === 0;
  const analytics = group.role === 'analytics';
  const lag = analytics ? analyticsLag(group) : null;
  return (
    <div className="pipeline-group" data-testid={`group-${group.role}`}>
      <h3>
        <span className="pipeline-role">{group.role}</span> <span className="muted">({group.group})</span>
      </h3>
      <dl className="pipeline-facts">
        <div>
          <dt>State</dt>
          <dd>
            <Badge ok={group.state === 'Stable'} warn={group.state === 'Empty'} text={group.state} />
          </dd>
        </div>
        <div>
          <dt>Members</dt>
          <dd>{group.members}</dd>
        </div>
        <div>
          <dt>Total lag</dt>
          <dd>
            <span data-testid={`lag-total-${group.role}`}>{group.totalLag}</span>{' '}
            {caughtUp ? <Badge ok text="caught up" /> : <span className="muted">{group.totalLag === 1 ? 'record' : 'records'}</span>}{' '}
            {lag === 'expected' && <Badge ok text="expected" />}
            {lag === 'behind' && <Badge ok warn text="behind" />}
          </dd>
        </div>
        <div>
          <dt>Most behind</dt>
          <dd>{formatSecondsBehind(group.maxLagSeconds)}</dd>
        </div>
      </dl>
      <table className="data compact">
        <thead>
          <tr>
            <th className="num">Partition</th>
            <th className="num">Committed</th>
            <th className="num">High watermark</th>
            <th className="num">Lag (records)</th>
            <th className="num" title="Age of the oldest record not yet committed">
              Lag (time)
            </th>
          </tr>
        </thead>
        <tbody>
          {group.partitions.map((p) => (
            <tr key={p.partition} data-testid="partition-row" data-partition={p.partition} data-lag={p.lag}>
              <td className="num">{p.partition}</td>
              <td
                className="num"
                title={
                  p.committed === null
                    ? analytics
                      ? 'Not committed yet: analytics commits once its first bucket on this partition is final'
                      : 'The group never committed on this partition'
                    : undefined
                }
              >
                {p.committed === null ? (analytics ? 'not yet' : 'none') : formatCount(p.committed)}
              </td>
              <td className="num">{formatCount(p.highWatermark)}</td>
              <td className={`num${p.lag ? '' : ' ok-text'}`}>{formatLag(p.lag)}</td>
              <td className="num">{formatSecondsBehind(p.lagSeconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {lag && !caughtUp && <AnalyticsLagNote lag={lag} neverCommitted={group.partitions.some((p) => p.committed === null)} />}
    </div>
  );
}

/** Why the analytics group shows lag while it is healthy, and when it is a real backlog. */
function AnalyticsLagNote({ lag, neverCommitted }: { lag: AnalyticsLag; neverCommitted: boolean }) {
  return (
    <p className={`pipeline-note${lag === 'behind' ? ' warn-text' : ' muted'}`} data-testid="analytics-lag-note" data-lag={lag}>
      {lag === 'behind' ? (
        <>
          Further behind than open traces and buckets explain (over 10 minutes): is the analytics role running and keeping
          up? Its dependency links and metrics lag by as much.
        </>
      ) : (
        <>
          Lag here is normal: analytics commits only up to its checkpoint&apos;s resume point, the earliest record still
          feeding a trace that has not closed (10 s after its last span, at most 5 min) or a bucket that is not final (60 s),
          so it stays a minute or two of records behind. Nothing is lost: a restart resumes from the checkpoint.
          {neverCommitted && ' “not yet”: its first bucket on that partition is not final yet.'}
        </>
      )}
    </p>
  );
}

function DeadLetters({ report }: { report: PipelineReport }) {
  const { deadLetters, reachable } = report.kafka;
  return (
    <section className="panel" aria-labelledby="dlq-title" data-testid="dead-letters">
      <h2 id="dlq-title">
        Dead letters <span className="muted">{deadLetters.topic}</span>
      </h2>
      {!reachable ? (
        <p className="muted">Unknown while Kafka is unreachable.</p>
      ) : (
        <>
          <p>
            <span className="pipeline-big" data-testid="dlq-count">
              {deadLetters.records}
            </span>{' '}
            record{deadLetters.records === 1 ? '' : 's'} in the dead-letter topic
          </p>
          {deadLetters.latest.length === 0 ? (
            <p className="muted">No dead letter: every record could be indexed.</p>
          ) : (
            <table className="data compact">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Kind</th>
                  <th>Error</th>
                  <th className="num" title="Partition and offset of the record in the spans topic">
                    Origin
                  </th>
                </tr>
              </thead>
              <tbody>
                {deadLetters.latest.map((d) => (
                  <tr key={`${d.partition}:${d.offset}`} data-testid="dlq-row">
                    <td className="nowrap">{formatTimestamp(Date.parse(d.timestamp) * 1000).slice(0, 19)}</td>
                    <td>
                      <code>{d.errorKind}</code>
                    </td>
                    <td className="pipeline-error">{d.error}</td>
                    <td className="num nowrap">
                      {d.originPartition === null ? '—' : `${d.originPartition} / ${d.originOffset ?? '—'}`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

function Elasticsearch({ report }: { report: PipelineReport }) {
  const es = report.elasticsearch;
  const status = es.status ?? 'unknown';
  return (
    <section className="panel" aria-labelledby="es-title" data-testid="elasticsearch">
      <h2 id="es-title">
        Elasticsearch <span className="muted">{es.url}</span>{' '}
        <span data-testid="es-status">
          {es.reachable ? (
            <Badge ok={status !== 'red'} warn={status === 'yellow'} text={status} />
          ) : (
            <Badge ok={false} text="unreachable" />
          )}
        </span>
      </h2>
      {!es.reachable ? (
        <p className="error-text">{es.error ?? 'no answer'}</p>
      ) : es.indices.length === 0 ? (
        <p className="muted">No skein index yet: they appear with the first span indexed.</p>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              <th>Index</th>
              <th>Health</th>
              <th className="num">Docs</th>
              <th className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {es.indices.map((i) => (
              <tr key={i.name} data-testid="index-row" data-index={i.name}>
                <td>
                  <code>{i.name}</code>
                </td>
                <td>
                  <Badge ok={i.health !== 'red'} warn={i.health === 'yellow'} text={i.health} />
                </td>
                <td className="num">{formatCount(i.docs)}</td>
                <td className="num" title={`${formatCount(i.bytes)} bytes`}>
                  {formatBytes(i.bytes)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Analytics({ report }: { report: PipelineReport }) {
  const { group, watermarks } = report.analytics;
  return (
    <section className="panel" aria-labelledby="analytics-title" data-testid="analytics">
      <h2 id="analytics-title">
        Analytics <span className="muted">{group}</span>
      </h2>
      {watermarks.length === 0 ? (
        <EmptyState title="No checkpoint yet">
          <p>Analytics writes a checkpoint per partition after its first flush: start the analytics role and send traces.</p>
        </EmptyState>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              <th className="num">Partition</th>
              <th title="Record time analytics has reached (its latest checkpoint)">Watermark</th>
              <th className="num" title="How far the watermark is behind now">
                Behind now
              </th>
            </tr>
          </thead>
          <tbody>
            {watermarks.map((w) => (
              <tr key={w.partition} data-testid="watermark-row" data-partition={w.partition}>
                <td className="num">{w.partition}</td>
                <td className="nowrap">{w.watermark ? formatTimestamp(Date.parse(w.watermark) * 1000).slice(0, 19) : 'none yet'}</td>
                <td className="num">{formatSecondsBehind(w.behindSeconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
