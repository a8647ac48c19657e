// The graph views' camera: a centre in layout units and a scale in screen px per unit, so a canvas
// that narrows (a side panel opens) shows less of the graph at the same size instead of shrinking
// every label. A graph too big to fit at a readable size opens at that size, centred, to be
// panned; "fit" still shows it whole. Pure, so the numbers are tested without a browser.

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface View {
  cx: number;
  cy: number;
  /** Screen px per layout unit. */
  k: number;
}

export interface Size {
  w: number;
  h: number;
}

/** Room kept round the graph when fitted, in screen px. */
export const FIT_PADDING = 24;
/** Below this scale the 11px labels read at under ~9.5px: too small to read comfortably. */
export const READABLE_SCALE = 0.85;
/** A small graph is not blown up past this. */
export const MAX_FIT_SCALE = 1.5;
export const MAX_SCALE = 4;

/** The scale that shows the whole graph in `size`, at most MAX_FIT_SCALE. */
export function fitScale(bounds: Bounds, size: Size): number {
  const w = Math.max(bounds.maxX - bounds.minX, 1);
  const h = Math.max(bounds.maxY - bounds.minY, 1);
  const k = Math.min((size.w - 2 * FIT_PADDING) / w, (size.h - 2 * FIT_PADDING) / h);
  return Math.max(0.01, Math.min(MAX_FIT_SCALE, k));
}

function centre(bounds: Bounds): { cx: number; cy: number } {
  return { cx: (bounds.minX + bounds.maxX) / 2, cy: (bounds.minY + bounds.maxY) / 2 };
}

/** The whole graph, however small its labels get (the "Fit to screen" button). */
export function fitView(bounds: Bounds, size: Size): View {
  return { ...centre(bounds), k: fitScale(bounds, size) };
}

/**
 * The view a graph opens with: fitted when that keeps labels readable, else at the readable scale
 * centred on the graph (`cramped`: part of it is off screen and the view says how to see it).
 */
export function initialView(bounds: Bounds, size: Size): { view: View; cramped: boolean } {
  const fit = fitScale(bounds, size);
  if (fit >= READABLE_SCALE) return { view: { ...centre(bounds), k: fit }, cramped: false };
  return { view: { ...centre(bounds), k: READABLE_SCALE }, cramped: true };
}

/** The scales zooming may reach: down to half of what fits the whole graph, up to MAX_SCALE. */
export function clampScale(k: number, bounds: Bounds, size: Size): number {
  const least = Math.min(fitScale(bounds, size), READABLE_SCALE) / 2;
  return Math.max(least, Math.min(MAX_SCALE, k));
}

/** Zooms to scale `k` keeping the layout point at screen offset `at` (px from the top left) still. */
export function zoomAt(view: View, k: number, at: { x: number; y: number }, size: Size): View {
  const left = view.cx - size.w / (2 * view.k);
  const top = view.cy - size.h / (2 * view.k);
  const px = left + at.x / view.k;
  const py = top + at.y / view.k;
  const newLeft = px - at.x / k;
  const newTop = py - at.y / k;
  return { cx: newLeft + size.w / (2 * k), cy: newTop + size.h / (2 * k), k };
}

/** Moves the view by a drag of (dx, dy) screen px. */
export function panBy(view: View, dx: number, dy: number): View {
  return { ...view, cx: view.cx - dx / view.k, cy: view.cy - dy / view.k };
}

/** The SVG viewBox showing `view` in a canvas of `size`. */
export function viewBox(view: View, size: Size): string {
  const w = size.w / view.k;
  const h = size.h / view.k;
  const r = (n: number) => Math.round(n * 100) / 100;
  return `${r(view.cx - w / 2)} ${r(view.cy - h / 2)} ${r(w)} ${r(h)}`;
}

/** The view, moved to centre `point` when it sits outside the canvas less `margin` px on each side. */
export function ensureVisible(view: View, point: { x: number; y: number }, size: Size, margin = 60): View {
  const sx = (point.x - view.cx) * view.k + size.w / 2;
  const sy = (point.y - view.cy) * view.k + size.h / 2;
  const inside = sx >= margin && sx <= size.w - margin && sy >= margin && sy <= size.h - margin;
  return inside ? view : { ...view, cx: point.x, cy: point.y };
}
