import { describe, expect, it } from 'vitest';
import { describeRenderError, isChunkLoadError, viewName } from './renderError';

describe('view errors', () => {
  it('recognises a view whose code did not load, in each browser wording', () => {
    for (const message of [
      'Failed to fetch dynamically imported module: http://localhost:16686/assets/MonitorPage-x1.js',
      'error loading dynamically imported module: http://localhost:16686/assets/MonitorPage-x1.js',
      'Importing a module script failed.',
      'Unable to preload CSS for /assets/uPlot-x.css',
    ]) {
      expect(isChunkLoadError(new Error(message)), message).toBe(true);
    }
    expect(isChunkLoadError(new TypeError("Cannot read properties of undefined (reading 'spans')"))).toBe(false);
  });

  it('says to check the query service and reload when the code did not load', () => {
    const text = describeRenderError(new Error('Failed to fetch dynamically imported module: /assets/x.js'), 'Monitor');
    expect(text).toMatchObject({ title: 'Could not load the Monitor view', chunk: true });
    expect(text.hint).toMatch(/skein query running/);
    expect(text.detail).toContain('/assets/x.js');
  });

  it('names the view and the error when drawing failed', () => {
    const text = describeRenderError(new TypeError('x is undefined'), 'Trace');
    expect(text).toMatchObject({ title: 'The Trace view failed', detail: 'x is undefined', chunk: false });
    expect(describeRenderError('plain text thrown', 'Search').detail).toBe('plain text thrown');
  });

  it('names views by their path', () => {
    expect(viewName('/trace/abc/flamegraph')).toBe('Trace');
    expect(viewName('/deep-dependencies')).toBe('Operation graph');
    expect(viewName('/')).toBe('Search');
    expect(viewName('/nowhere')).toBe('requested');
  });
});
