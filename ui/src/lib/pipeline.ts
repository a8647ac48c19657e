// The pipeline view's logic: receiver rates from two successive reports of `/api/skein/pipeline`
// (its counters are totals since each collector started, summed over the collectors it scraped),
// the problems worth a banner, and the units the tables show.

import type { ConsumerGroupReport, PipelineReport } from './types';

type Transport = PipelineReport['receivers']['transports'][number];

/** What one poll saw of the receivers, kept until the next poll to derive rates. */
export interface ReceiverSnapshot {
  /** When the report was generated, ms since the epoch (the server's clock, like the counters). */
  at: number;
  /** The collectors whose counters are in the sums, sorted. */
  sources: string[];
  transports: Transport[];
}

export function receiverSnapshot(report: PipelineReport, fallbackAt: number): ReceiverSnapshot {
  const at = Date.parse(report.generatedAt);
  return {
    at: Number.isNaN(at) ? fallbackAt : at,
    sources: report.receivers.sources
      .filter((s) => s.reachable)
      .map((s) => s.url)
      .sort(),
    transports: report.receivers.transports,
  };
}

export interface TransportRow extends Transport {
  /** Per second since the previous poll; null when no rate can be told (see `note`). */
  receivedPerSec: number | null;
  acceptedPerSec: number | null;
  refusedPerSec: number | null;
  /** Why there is no rate, for the cell's tooltip. */
  note: string | null;
}

export const FIRST_POLL = 'rates appear after the next update';
export const COUNTER_RESET = 'a counter went down (a collector restarted): rates resume at the next update';
export const SOURCES_CHANGED = 'the set of reachable collectors changed: rates resume at the next update';

/**
 * Rates per transport between two snapshots. No rate (never a negative one) on the first poll,
 * when a counter went down (a collector restarted), or when the collectors in the sums changed
 * (a sum over other collectors is not comparable). A transport new since the previous poll had
 * counted nothing then, since the collectors are the same.
 */
export function transportRates(previous: ReceiverSnapshot | undefined, current: ReceiverSnapshot): TransportRow[] {
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  const comparable = !!previous && seconds > 0 && sameSources(previous.sources, current.sources);
  const before = new Map((previous?.transports ?? []).map((t) => [t.transport, t]));
  return current.transports.map((t) => {
    const noRate = (note: string): TransportRow => ({
      ...t,
      receivedPerSec: null,
      acceptedPerSec: null,
      refusedPerSec: null,
      note,
    });
    if (!previous || seconds <= 0) return noRate(FIRST_POLL);
    if (!comparable) return noRate(SOURCES_CHANGED);
    const prev = before.get(t.transport) ?? { transport: t.transport, received: 0, accepted: 0, refused: 0 };
    const deltas = [t.received - prev.received, t.accepted - prev.accepted, t.refused - prev.refused];
    if (deltas.some((d) => d < 0)) return noRate(COUNTER_RESET);
    const [received, accepted, refused] = deltas.map((d) => d / seconds);
    return { ...t, receivedPerSec: received, acceptedPerSec: accepted, refusedPerSec: refused, note: null };
  });
}

function sameSources(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((url, i) => url === b[i]);
}

export interface Problem {
  /** Which part of the pipeline: the banner's title. */
  component: 'Kafka' | 'Elasticsearch' | 'Collector';
  message: string;
  /** What to check next. */
  check: string;
}

/** The unreachable parts of the pipeline, each with what to check; the rest of the view still shows. */
export function pipelineProblems(report: PipelineReport): Problem[] {
  const problems: Problem[] = [];
  if (!report.kafka.reachable) {
    problems.push({
      component: 'Kafka',
      message: `Kafka is unreachable at ${report.kafka.brokers}${report.kafka.error ? `: ${report.kafka.error}` : ''}`,
      check:
        'Check that the brokers are up (make up starts them) and that kafka.brokers in the query configuration names them. Consumer lag and dead letters cannot be read until then.',
    });
  }
  if (!report.elasticsearch.reachable) {
    problems.push({
      component: 'Elasticsearch',
      message: `Elasticsearch is unreachable at ${report.elasticsearch.url}${
        report.elasticsearch.error ? `: ${report.elasticsearch.error}` : ''
      }`,
      check:
        'Check that Elasticsearch is up (make up starts it) and that elasticsearch.url in the query configuration points at it. Search, graph and monitor read from it, so they fail too.',
    });
  } else if (report.elasticsearch.status === 'red') {
    problems.push({
      component: 'Elasticsearch',
      message: 'Elasticsearch cluster health is red: some primary shards are unassigned',
      check: 'Writes and searches on those indices fail; check the Elasticsearch logs and disk space.',
    });
  }
  for (const source of report.receivers.sources) {
    if (source.reachable) continue;
    problems.push({
      component: 'Collector',
      message: `Collector metrics unreachable at ${source.url}${source.error ? `: ${source.error}` : ''}`,
      check: 'Check that the collector runs and that its telemetry port is reachable from the query role; its counts are missing from the receiver totals.',
    });
  }
  return problems;
}

/** `0 B`, `512 B`, `1.5 KiB`, `12.3 MiB`, `4.01 GiB` (Elasticsearch's store sizes are binary). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${units[unit]}`;
}

/** `12.5/s`, `0.03/s`, `0/s`; a dash without a rate. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0/s';
  const digits = perSecond >= 100 ? 0 : perSecond >= 1 ? 1 : 2;
  return `${Number(perSecond.toFixed(digits)) || '<0.01'}/s`;
}

/** A partition's lag in records: "caught up" at 0. */
export function formatLag(records: number): string {
  return records === 0 ? 'caught up' : records.toLocaleString('en-US');
}

/** `45s`, `3m 20s`, `2h 5m`; "caught up" at 0; a dash when unknown. */
export function formatSecondsBehind(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds <= 0) return 'caught up';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** `updated just now`, `updated 7s ago`, `updated 3m ago`. */
export function formatUpdated(receivedAt: number, now: number): string {
  const seconds = Math.max(0, Math.floor((now - receivedAt) / 1000));
  if (seconds < 2) return 'updated just now';
  if (seconds < 120) return `updated ${seconds}s ago`;
  return `updated ${Math.floor(seconds / 60)}m ago`;
}

/**
 * Analytics commits a partition only up to its checkpoint's resume point — the earliest record
 * still feeding an open trace (closed 10 s after its last span, at most 5 min after its first) or
 * a bucket that is not final (60 s) — so some lag is its resting state, not a backlog. Beyond
 * this the lag is more than those windows explain (defaults; see docs/configuration.md).
 */
export const ANALYTICS_EXPECTED_LAG_SECONDS = 600;

export type AnalyticsLag = 'caught-up' | 'expected' | 'behind' | 'unknown';

/** How to read the analytics group's lag: at rest (expected), or really behind. */
export function analyticsLag(group: Pick<ConsumerGroupReport, 'totalLag' | 'maxLagSeconds'>): AnalyticsLag {
  if (group.totalLag === 0) return 'caught-up';
  if (group.maxLagSeconds === null || !Number.isFinite(group.maxLagSeconds)) return 'unknown';
  return group.maxLagSeconds <= ANALYTICS_EXPECTED_LAG_SECONDS ? 'expected' : 'behind';
}
