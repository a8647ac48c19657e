import { describe, expect, it } from 'vitest';
import { clampScale, ensureVisible, fitScale, fitView, initialView, panBy, READABLE_SCALE, viewBox, zoomAt } from './graphView';

const size = { w: 1200, h: 600 };

describe('graph view', () => {
  it('fits a graph that is readable when whole', () => {
    const bounds = { minX: 0, minY: 0, maxX: 1000, maxY: 400 };
    const { view, cramped } = initialView(bounds, size);
    expect(cramped).toBe(false);
    expect(view).toEqual({ cx: 500, cy: 200, k: fitScale(bounds, size) });
    expect(view.k).toBeCloseTo(1.152, 3);
  });

  it('opens a graph too big to read whole at the readable size, centred, and says so', () => {
    const bounds = { minX: 0, minY: 0, maxX: 3000, maxY: 700 };
    expect(fitScale(bounds, size)).toBeLessThan(READABLE_SCALE);
    const { view, cramped } = initialView(bounds, size);
    expect(cramped).toBe(true);
    expect(view).toEqual({ cx: 1500, cy: 350, k: READABLE_SCALE });
    // Fitting on request still shows it all.
    expect(fitView(bounds, size).k).toBeCloseTo((1200 - 48) / 3000, 5);
  });

  it('does not blow a tiny graph up', () => {
    expect(fitScale({ minX: 0, minY: 0, maxX: 100, maxY: 50 }, size)).toBe(1.5);
  });

  it('keeps the same labels at the same size when the canvas narrows', () => {
    const view = { cx: 500, cy: 200, k: 1 };
    expect(viewBox(view, size)).toBe('-100 -100 1200 600');
    expect(viewBox(view, { w: 800, h: 600 })).toBe('100 -100 800 600');
  });

  it('zooms about the pointer and pans by the drag', () => {
    const view = { cx: 600, cy: 300, k: 1 };
    const zoomed = zoomAt(view, 2, { x: 0, y: 0 }, size);
    // The top-left corner (layout 0,0) stays where it was.
    expect(viewBox(zoomed, size)).toBe('0 0 600 300');
    expect(panBy(zoomed, 100, -50)).toEqual({ cx: 250, cy: 175, k: 2 });
  });

  it('limits zooming out to half of what fits and zooming in to four times', () => {
    const bounds = { minX: 0, minY: 0, maxX: 1000, maxY: 400 };
    expect(clampScale(0.01, bounds, size)).toBeCloseTo(Math.min(fitScale(bounds, size), READABLE_SCALE) / 2, 5);
    expect(clampScale(10, bounds, size)).toBe(4);
  });

  it('brings a selected node into view only when it is at or past the edge', () => {
    const view = { cx: 600, cy: 300, k: 1 };
    expect(ensureVisible(view, { x: 500, y: 300 }, size)).toBe(view);
    expect(ensureVisible(view, { x: 20, y: 300 }, size)).toEqual({ cx: 20, cy: 300, k: 1 });
    // A narrower canvas hides what was on its right.
    expect(ensureVisible(view, { x: 1000, y: 300 }, { w: 800, h: 600 })).toEqual({ cx: 1000, cy: 300, k: 1 });
  });
});
