// What the span detail panel shows, computed from the model: the view only lays it out.

import type { KeyValue, Reference } from '../types';
import { spanEnd, type TraceModel } from './model';
import { isError, spanKind, type SpanNode } from './tree';

export interface DetailLog {
  /** µs after the span's start (negative when the event predates it). */
  offset: number;
  timestamp: number;
  fields: KeyValue[];
}

export interface DetailReference extends Reference {
  /** The referenced span is in this trace: the panel links to its row. */
  inTrace: boolean;
  /** The reference points into another trace (an OTLP link, or a FOLLOWS_FROM across traces). */
  external: boolean;
  operation: string | null;
  service: string | null;
}

export interface SpanDetailModel {
  spanID: string;
  operation: string;
  service: string;
  parentID: string | null;
  /** µs after the trace's start. */
  startOffset: number;
  startTime: number;
  duration: number;
  endOffset: number;
  kind: string;
  error: boolean;
  /** Why the span failed, as its status says (`otel.status_description`); null without one. */
  statusMessage: string | null;
  tags: KeyValue[];
  process: { serviceName: string; tags: KeyValue[] };
  logs: DetailLog[];
  references: DetailReference[];
  /** The adjusters' warnings on the span (clock skew, shared ids) and what the tree noticed (orphans). */
  warnings: string[];
  childCount: number;
}

export function spanDetail(model: TraceModel, node: SpanNode): SpanDetailModel {
  const { span } = node;
  const process = model.trace.processes[span.processID];
  const warnings = [...(span.warnings ?? [])];
  const refs = span.references ?? [];
  // Ids may differ in case or zero padding (a 64-bit id written as 16 or 32 digits).
  const sameTrace = (r: Reference) => !r.traceID || sameId(r.traceID, span.traceID);
  const missing = node.parent ? undefined : refs.find((r) => sameTrace(r) && !model.tree.byId.has(r.spanID));
  if (missing) {
    warnings.push(
      `Parent span ${missing.spanID} is not in this trace: it may not have arrived yet, or it was dropped (see Pipeline). Shown as a root.`,
    );
  }
  return {
    spanID: span.spanID,
    operation: span.operationName,
    service: node.service,
    parentID: node.parent?.span.spanID ?? null,
    startOffset: span.startTime - model.start,
    startTime: span.startTime,
    duration: span.duration,
    endOffset: spanEnd(node) - model.start,
    kind: spanKind(span),
    error: isError(span),
    statusMessage: statusMessage(span),
    tags: span.tags ?? [],
    process: { serviceName: process?.serviceName ?? node.service, tags: process?.tags ?? [] },
    logs: [...(span.logs ?? [])]
      .sort((a, b) => a.timestamp - b.timestamp)
      .map((log) => ({ offset: log.timestamp - span.startTime, timestamp: log.timestamp, fields: log.fields ?? [] })),
    references: refs.map((r) => {
      const target = sameTrace(r) ? model.tree.byId.get(r.spanID) : undefined;
      return {
        ...r,
        inTrace: !!target,
        external: !sameTrace(r),
        operation: target?.span.operationName ?? null,
        service: target?.service ?? null,
      };
    }),
    warnings,
    childCount: node.children.length,
  };
}

function statusMessage(span: SpanNode['span']): string | null {
  const value = (span.tags ?? []).find((t) => t.key === 'otel.status_description')?.value;
  return value === undefined || value === '' ? null : String(value);
}

function sameId(a: string, b: string): boolean {
  const norm = (id: string) => id.toLowerCase().replace(/^0+/, '');
  return norm(a) === norm(b);
}
