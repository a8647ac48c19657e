// A deterministic synthetic trace of any size, for tests and for measuring the views with a
// 10,000-span trace: a random recursive tree (depth grows like log n) over a dozen services, with
// typed tags, logs, errors, a few FOLLOWS_FROM children and a few children outliving their parent.

import type { KeyValue, Span, Trace } from '../types';

/** mulberry32: a small seeded PRNG, so the same seed always gives the same trace. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  spans: number;
  services?: number;
  seed?: number;
  /** µs since the epoch. */
  start?: number;
  /** The root's duration, µs. */
  duration?: number;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);

export function generateTrace({
  spans: count,
  services = 12,
  seed = 1,
  start = 1_760_000_000_000_000,
  duration = 2_000_000,
}: GenerateOptions): Trace {
  const random = prng(seed);
  const traceID = hex(seed * 0x9e3779b1, 16) + hex(count, 16);
  const processes: Trace['processes'] = {};
  for (let s = 0; s < services; s++) {
    processes[`p${s + 1}`] = {
      serviceName: `service-${String.fromCharCode(97 + (s % 26))}${s >= 26 ? s : ''}`,
      tags: [
        { key: 'host.name', type: 'string', value: `host-${s % 4}` },
        { key: 'telemetry.sdk.language', type: 'string', value: s % 2 ? 'go' : 'java' },
      ],
    };
  }
  const out: Span[] = [];
  for (let i = 0; i < count; i++) {
    const spanID = hex(i + 1, 16);
    const tags: KeyValue[] = [
      { key: 'span.kind', type: 'string', value: i % 3 === 0 ? 'server' : 'client' },
      { key: 'http.status_code', type: 'int64', value: 200 },
      { key: 'sampled', type: 'bool', value: true },
      { key: 'load', type: 'float64', value: Math.round(random() * 1000) / 1000 },
    ];
    if (i === 0) {
      out.push({
        traceID,
        spanID,
        operationName: 'GET /checkout',
        references: [],
        startTime: start,
        duration,
        tags,
        logs: [],
        processID: 'p1',
        warnings: null,
      });
      continue;
    }
    // Parents drawn towards the early spans: a bushy top, long tails below.
    const parent = out[Math.floor(random() * random() * i)];
    const pEnd = parent.startTime + parent.duration;
    const childStart = parent.startTime + Math.floor(random() * parent.duration * 0.8);
    let childDuration = Math.max(1, Math.floor(random() * (pEnd - childStart) * 0.9));
    const overflow = random() < 0.005;
    if (overflow) childDuration = pEnd - childStart + 1 + Math.floor(random() * 1000);
    const error = random() < 0.02;
    if (error) tags.push({ key: 'error', type: 'bool', value: true });
    const service = 1 + Math.floor(random() * services);
    out.push({
      traceID,
      spanID,
      operationName: `op-${Math.floor(random() * 6)}`,
      references: [{ refType: random() < 0.02 ? 'FOLLOWS_FROM' : 'CHILD_OF', traceID, spanID: parent.spanID }],
      startTime: childStart,
      duration: childDuration,
      tags,
      logs:
        random() < 0.1
          ? [{ timestamp: childStart + Math.floor(childDuration / 2), fields: [{ key: 'event', type: 'string', value: 'retry' }] }]
          : [],
      processID: `p${service}`,
      warnings: null,
    });
  }
  return { traceID, spans: out, processes, warnings: null };
}
