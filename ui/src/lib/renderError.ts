// What the view boundary says when a view cannot be shown: a view's code that did not load (the
// query service is down or was upgraded, so the old hashed file is gone) or a view that failed
// while drawing. Pure, so the wording is tested without a browser.

export interface RenderErrorText {
  title: string;
  detail: string;
  hint: string;
  /** The view's code did not load: only a reload fetches it again (a failed import is cached). */
  chunk: boolean;
}

// Chromium, Firefox and Safari word a failed dynamic import differently; Vite adds its own.
const CHUNK_PATTERNS = [
  /failed to fetch dynamically imported module/i,
  /error loading dynamically imported module/i,
  /importing a module script failed/i,
  /unable to preload css/i,
];

export function isChunkLoadError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return CHUNK_PATTERNS.some((p) => p.test(message));
}

export function describeRenderError(error: unknown, view: string): RenderErrorText {
  const message = error instanceof Error ? error.message : String(error);
  if (isChunkLoadError(error)) {
    return {
      title: `Could not load the ${view} view`,
      detail: message,
      hint: 'Its code comes from the query service: is skein query running and reachable? If it was just upgraded, reload the page to get the new version.',
      chunk: true,
    };
  }
  return {
    title: `The ${view} view failed`,
    detail: message,
    hint: 'Reload the page; if it fails again, the address may hold a value the view cannot read: go back to Search and start over.',
    chunk: false,
  };
}

/** The view a path belongs to, as the navigation names it. */
export function viewName(pathname: string): string {
  const first = pathname.split('/').filter(Boolean)[0] ?? 'search';
  const names: Record<string, string> = {
    search: 'Search',
    trace: 'Trace',
    compare: 'Compare',
    dependencies: 'Service graph',
    'deep-dependencies': 'Operation graph',
    monitor: 'Monitor',
    pipeline: 'Pipeline',
  };
  return names[first] ?? 'requested';
}
