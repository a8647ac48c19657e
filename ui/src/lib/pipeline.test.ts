import { describe, expect, it } from 'vitest';
import {
  analyticsLag,
  ANALYTICS_EXPECTED_LAG_SECONDS,
  COUNTER_RESET,
  FIRST_POLL,
  SOURCES_CHANGED,
  formatBytes,
  formatLag,
  formatRate,
  formatSecondsBehind,
  formatUpdated,
  pipelineProblems,
  receiverSnapshot,
  transportRates,
  type ReceiverSnapshot,
} from './pipeline';
import type { PipelineReport } from './types';

function report(overrides: Partial<PipelineReport> = {}): PipelineReport {
  return {
    generatedAt: '2026-03-01T10:00:00Z',
    kafka: {
      brokers: '127.0.0.1:9092',
      reachable: true,
      error: null,
      spansTopic: 'skein-spans',
      partitions: 2,
      groups: [],
      deadLetters: { topic: 'skein-spans-dlq', records: 0, latest: [] },
    },
    elasticsearch: { url: 'http://127.0.0.1:9200', reachable: true, error: null, status: 'green', indices: [] },
    analytics: { group: 'skein-analytics', watermarks: [] },
    receivers: {
      sources: [{ url: 'http://127.0.0.1:8888/metrics', reachable: true, error: null }],
      transports: [{ transport: 'otlp_grpc', received: 100, accepted: 90, refused: 10 }],
      refusedByReason: [],
    },
    ...overrides,
  };
}

function snapshot(at: number, transports: [string, number, number, number][], sources = ['a']): ReceiverSnapshot {
  return {
    at,
    sources,
    transports: transports.map(([transport, received, accepted, refused]) => ({ transport, received, accepted, refused })),
  };
}

describe('receiver snapshot', () => {
  it("takes the report's time and only the reachable collectors", () => {
    const snap = receiverSnapshot(
      report({
        receivers: {
          sources: [
            { url: 'http://b', reachable: true, error: null },
            { url: 'http://c', reachable: false, error: 'connection refused' },
            { url: 'http://a', reachable: true, error: null },
          ],
          transports: [],
          refusedByReason: [],
        },
      }),
      0,
    );
    expect(snap.at).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(snap.sources).toEqual(['http://a', 'http://b']);
  });

  it('falls back to the time of receipt when the report has no readable time', () => {
    expect(receiverSnapshot(report({ generatedAt: 'later' }), 42).at).toBe(42);
  });
});

describe('transport rates', () => {
  it('show totals only on the first poll', () => {
    const [row] = transportRates(undefined, snapshot(1000, [['otlp_grpc', 100, 90, 10]]));
    expect(row).toMatchObject({ received: 100, accepted: 90, refused: 10, acceptedPerSec: null, refusedPerSec: null });
    expect(row.note).toBe(FIRST_POLL);
  });

  it('divide the growth of each counter by the time between polls', () => {
    const [row] = transportRates(
      snapshot(10_000, [['otlp_grpc', 100, 90, 10]]),
      snapshot(15_000, [['otlp_grpc', 160, 140, 20]]),
    );
    expect(row).toMatchObject({ receivedPerSec: 12, acceptedPerSec: 10, refusedPerSec: 2, note: null, accepted: 140 });
  });

  it('give no rate, never a negative one, after a counter reset', () => {
    const [row] = transportRates(snapshot(0, [['zipkin', 500, 500, 0]]), snapshot(5000, [['zipkin', 20, 20, 0]]));
    expect(row.acceptedPerSec).toBeNull();
    expect(row.receivedPerSec).toBeNull();
    expect(row.note).toBe(COUNTER_RESET);
  });

  it('give no rate when the collectors summed changed', () => {
    const [row] = transportRates(
      snapshot(0, [['otlp_http', 10, 10, 0]], ['a']),
      snapshot(5000, [['otlp_http', 30, 30, 0]], ['a', 'b']),
    );
    expect(row.acceptedPerSec).toBeNull();
    expect(row.note).toBe(SOURCES_CHANGED);
  });

  it('count a transport new since the last poll from zero', () => {
    const rows = transportRates(
      snapshot(0, [['otlp_grpc', 10, 10, 0]]),
      snapshot(2000, [['otlp_grpc', 10, 10, 0], ['jaeger_thrift_http', 8, 6, 2]]),
    );
    expect(rows[0]).toMatchObject({ acceptedPerSec: 0, refusedPerSec: 0 });
    expect(rows[1]).toMatchObject({ transport: 'jaeger_thrift_http', acceptedPerSec: 3, refusedPerSec: 1 });
  });

  it('give no rate for two reports generated at the same time', () => {
    const [row] = transportRates(snapshot(5000, [['t', 1, 1, 0]]), snapshot(5000, [['t', 2, 2, 0]]));
    expect(row.acceptedPerSec).toBeNull();
  });
});

describe('pipeline problems', () => {
  it('are none when everything answers', () => {
    expect(pipelineProblems(report())).toEqual([]);
  });

  it('name unreachable Kafka, Elasticsearch and collectors with their errors and what to check', () => {
    const base = report();
    const problems = pipelineProblems({
      ...base,
      kafka: { ...base.kafka, reachable: false, error: 'all brokers down' },
      elasticsearch: { ...base.elasticsearch, reachable: false, status: null, error: 'connection refused' },
      receivers: { ...base.receivers, sources: [{ url: 'http://c:8888/metrics', reachable: false, error: 'timed out' }] },
    });
    expect(problems.map((p) => p.component)).toEqual(['Kafka', 'Elasticsearch', 'Collector']);
    expect(problems[0].message).toBe('Kafka is unreachable at 127.0.0.1:9092: all brokers down');
    expect(problems[0].check).toMatch(/kafka\.brokers/);
    expect(problems[1].message).toBe('Elasticsearch is unreachable at http://127.0.0.1:9200: connection refused');
    expect(problems[2].message).toContain('http://c:8888/metrics: timed out');
  });

  it('flag a red cluster', () => {
    const base = report();
    const [problem] = pipelineProblems({ ...base, elasticsearch: { ...base.elasticsearch, status: 'red' } });
    expect(problem.component).toBe('Elasticsearch');
    expect(problem.message).toMatch(/red/);
  });
});

describe('units', () => {
  it('formats sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12.34 * 1024 * 1024)).toBe('12.3 MiB');
    expect(formatBytes(5 * 1024 ** 4)).toBe('5 TiB');
  });

  it('formats rates', () => {
    expect(formatRate(null)).toBe('—');
    expect(formatRate(0)).toBe('0/s');
    expect(formatRate(12.345)).toBe('12.3/s');
    expect(formatRate(0.001)).toBe('<0.01/s');
    expect(formatRate(250.4)).toBe('250/s');
  });

  it('shows lag 0 as caught up', () => {
    expect(formatLag(0)).toBe('caught up');
    expect(formatLag(12345)).toBe('12,345');
    expect(formatSecondsBehind(0)).toBe('caught up');
    expect(formatSecondsBehind(null)).toBe('—');
    expect(formatSecondsBehind(45)).toBe('45s');
    expect(formatSecondsBehind(200)).toBe('3m 20s');
    expect(formatSecondsBehind(7500)).toBe('2h 5m');
    expect(formatSecondsBehind(90_000)).toBe('1d 1h');
  });

  it('says how long ago the view was updated', () => {
    expect(formatUpdated(10_000, 10_500)).toBe('updated just now');
    expect(formatUpdated(10_000, 17_000)).toBe('updated 7s ago');
    expect(formatUpdated(0, 185_000)).toBe('updated 3m ago');
  });
});

describe('the analytics group lag', () => {
  it('is its resting state while within what open traces and buckets hold back', () => {
    expect(analyticsLag({ totalLag: 0, maxLagSeconds: 0 })).toBe('caught-up');
    expect(analyticsLag({ totalLag: 168, maxLagSeconds: 44 })).toBe('expected');
    expect(analyticsLag({ totalLag: 168, maxLagSeconds: ANALYTICS_EXPECTED_LAG_SECONDS })).toBe('expected');
  });

  it('is a backlog beyond that, and unknown without an age', () => {
    expect(analyticsLag({ totalLag: 90_000, maxLagSeconds: 3600 })).toBe('behind');
    expect(analyticsLag({ totalLag: 5, maxLagSeconds: null })).toBe('unknown');
  });
});
