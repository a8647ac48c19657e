import { describe, expect, it } from 'vitest';
import { spanDetail } from './detail';
import { span, trace } from './fixtures';
import { traceModel } from './model';

describe('span detail', () => {
  const skewed = span('b', 130, 160, 'a', {
    warnings: ["This span's timestamps were adjusted by -3.96ms"],
    tags: [
      { key: 'span.kind', type: 'string', value: 'client' },
      { key: 'retries', type: 'int64', value: 2 },
      { key: 'error', type: 'bool', value: true },
    ],
  });
  skewed.logs = [
    { timestamp: 150, fields: [{ key: 'event', type: 'string', value: 'second' }] },
    { timestamp: 140, fields: [{ key: 'event', type: 'string', value: 'first' }] },
  ];
  skewed.references.push({ refType: 'FOLLOWS_FROM', traceID: 'other', spanID: 'x9' });
  const model = traceModel(trace([span('a', 100, 200), skewed, span('orphan', 150, 170, 'gone')]));

  it('says why a failed span failed, from its status description', () => {
    const failed = span('f', 100, 120, undefined, {
      tags: [
        { key: 'error', type: 'bool', value: true },
        { key: 'otel.status_description', type: 'string', value: 'db timeout' },
      ],
    });
    const m = traceModel(trace([failed]));
    expect(spanDetail(m, m.tree.byId.get('f')!)).toMatchObject({ error: true, statusMessage: 'db timeout' });
    expect(spanDetail(model, model.tree.byId.get('a')!).statusMessage).toBeNull();
  });

  it("surfaces the span's clock-skew warning", () => {
    expect(spanDetail(model, model.tree.byId.get('b')!).warnings).toEqual([
      "This span's timestamps were adjusted by -3.96ms",
    ]);
  });

  it('warns about a span whose parent is not in the trace', () => {
    const warnings = spanDetail(model, model.tree.byId.get('orphan')!).warnings;
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('gone');
  });

  it('has no warnings for a clean span', () => {
    expect(spanDetail(model, model.tree.byId.get('a')!).warnings).toEqual([]);
  });

  it('gives offsets from the trace and the span start, kind, error and typed tags', () => {
    const d = spanDetail(model, model.tree.byId.get('b')!);
    expect(d).toMatchObject({ startOffset: 30, endOffset: 60, duration: 30, kind: 'client', error: true, parentID: 'a' });
    expect(d.tags.map((t) => t.type)).toEqual(['string', 'int64', 'bool']);
    expect(d.logs.map((l) => [l.offset, l.fields[0].value])).toEqual([
      [10, 'first'],
      [20, 'second'],
    ]);
    expect(d.process).toEqual({ serviceName: 'frontend', tags: [{ key: 'host.name', type: 'string', value: 'web-1' }] });
  });

  it('takes a reference with the trace id zero-padded to 32 digits as within the trace', () => {
    const padded = span('p', 120, 130, 'a');
    padded.references[0].traceID = '00000000000000000000000000000T1';
    const m = traceModel(trace([span('a', 100, 200), padded]));
    expect(spanDetail(m, m.tree.byId.get('p')!).references[0]).toMatchObject({ inTrace: true, external: false });
  });

  it('tells references within the trace from references to other traces', () => {
    const refs = spanDetail(model, model.tree.byId.get('b')!).references;
    expect(refs.map((r) => [r.refType, r.spanID, r.inTrace, r.external, r.operation])).toEqual([
      ['CHILD_OF', 'a', true, false, 'op-a'],
      ['FOLLOWS_FROM', 'x9', false, true, null],
    ]);
  });
});

describe('trace model', () => {
  it('counts services, depth, errors and the spans carrying warnings', () => {
    const model = traceModel(
      trace([
        span('a', 0, 100),
        span('b', 10, 20, 'a', { service: 'p2', warnings: ['clock skew'] }),
        span('c', 12, 18, 'b', { service: 'p3', tags: [{ key: 'error', type: 'string', value: 'true' }] }),
      ]),
    );
    expect(model).toMatchObject({ services: ['backend', 'db', 'frontend'], depth: 3, errorCount: 1, duration: 100 });
    expect(model.spansWithWarnings.map((n) => n.span.spanID)).toEqual(['b']);
    expect(model.root!.span.spanID).toBe('a');
  });
});
