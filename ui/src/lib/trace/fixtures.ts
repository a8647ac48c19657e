// Hand-made traces for the trace view's unit tests: `span('b', 10, 30, 'a')` is span b from 10µs
// to 30µs, CHILD_OF a. Times are small integers so expected results can be read off the test.

import type { KeyValue, Span, Trace } from '../types';

export interface SpanOptions {
  refType?: 'CHILD_OF' | 'FOLLOWS_FROM';
  service?: string;
  operation?: string;
  tags?: KeyValue[];
  warnings?: string[];
}

export function span(id: string, start: number, end: number, parent?: string, options: SpanOptions = {}): Span {
  return {
    traceID: 't1',
    spanID: id,
    operationName: options.operation ?? `op-${id}`,
    references: parent ? [{ refType: options.refType ?? 'CHILD_OF', traceID: 't1', spanID: parent }] : [],
    startTime: start,
    duration: end - start,
    tags: options.tags ?? [],
    logs: [],
    processID: options.service ?? 'p1',
    warnings: options.warnings ?? null,
  };
}

export function trace(spans: Span[], warnings: string[] | null = null): Trace {
  return {
    traceID: 't1',
    spans,
    processes: {
      p1: { serviceName: 'frontend', tags: [{ key: 'host.name', type: 'string', value: 'web-1' }] },
      p2: { serviceName: 'backend', tags: [] },
      p3: { serviceName: 'db', tags: [] },
    },
    warnings,
  };
}
