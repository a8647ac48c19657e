// One colour per service, the same in every view and on every load: a hash of the name picks
// from a fixed palette, so "frontend" is the same blue in search results, the timeline and the diff.

/**
 * Twenty colours that stay distinguishable next to each other and readable on white. Pure red is
 * left out on purpose: red means "error" everywhere in the UI.
 */
export const SERVICE_PALETTE: readonly string[] = [
  '#3b6fd8', // blue
  '#2a9d8f', // teal
  '#e9a23b', // amber
  '#8e44ad', // purple
  '#3a8f3a', // green
  '#d2691e', // chocolate
  '#1f9bd1', // sky
  '#b5487a', // raspberry
  '#6b8e23', // olive
  '#5c6bc0', // indigo
  '#c28f00', // mustard
  '#00897b', // dark teal
  '#9c6644', // brown
  '#7e57c2', // violet
  '#43a047', // leaf
  '#ef7f4c', // coral
  '#546e7a', // slate
  '#d81b90', // magenta
  '#0097a7', // cyan
  '#8d6e63', // taupe
];

/** FNV-1a over UTF-16 code units: cheap, and spreads similar names ("svc-1", "svc-2") apart. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function serviceColor(name: string): string {
  return SERVICE_PALETTE[hash(name) % SERVICE_PALETTE.length];
}
