import { describe, expect, it } from 'vitest';
import { readTraceQuery, subviewHref, subviewOf, withChanges } from './urlState';

describe('trace URL state', () => {
  it('reads Jaeger UI’s uiFind, the selected span, the flame-graph focus and the statistics order', () => {
    const q = readTraceQuery(new URLSearchParams('uiFind=GetDriver%20redis&span=00ab&focus=00cd&sort=count&dir=asc'));
    expect(q).toEqual({ find: 'GetDriver redis', span: '00ab', focus: '00cd', sort: 'count', dir: 'asc' });
  });

  it('falls back to defaults for missing or unknown values', () => {
    expect(readTraceQuery(new URLSearchParams('sort=bogus&dir=up'))).toEqual({
      find: '',
      span: null,
      focus: null,
      sort: 'self',
      dir: 'desc',
    });
  });

  it('round-trips: what is written is read back, other parameters are kept, empty values are removed', () => {
    const start = new URLSearchParams('uiFind=sql&other=kept');
    const next = withChanges(start, { span: 'ab12', uiFind: '' , sort: 'max', dir: 'asc' });
    expect(next.toString()).toBe('other=kept&span=ab12&sort=max&dir=asc');
    expect(readTraceQuery(next)).toMatchObject({ span: 'ab12', find: '', sort: 'max', dir: 'asc' });
    expect(start.toString()).toBe('uiFind=sql&other=kept'); // the input is not changed
  });

  it('maps sub-views to paths and back, keeping the query string', () => {
    expect(subviewHref('abc', 'timeline', '?span=1')).toBe('/trace/abc?span=1');
    expect(subviewHref('abc', 'flamegraph', '?span=1')).toBe('/trace/abc/flamegraph?span=1');
    expect(subviewHref('abc', 'statistics', '')).toBe('/trace/abc/statistics');
    expect(subviewOf('flamegraph')).toBe('flamegraph');
    expect(subviewOf('statistics')).toBe('statistics');
    expect(subviewOf(undefined)).toBe('timeline');
    expect(subviewOf('json')).toBe('timeline');
  });
});
