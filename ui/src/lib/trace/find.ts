// Find within the trace, as Jaeger UI's `uiFind` means it: the text is split on spaces and a span
// matches when any term occurs (case-insensitively) in its operation, service, span id, a tag's or
// process tag's key or value, or a log field's key or value; a `key=value` term matches that exact
// tag. Any-term matching is what lets a link carry several span ids (`?uiFind=id1 id2`).

import type { KeyValue, Trace } from '../types';
import type { SpanNode, SpanTree } from './tree';

export interface FindResult {
  /** Matching span ids in tree order (the order next/prev walks). */
  ids: string[];
  set: Set<string>;
}

export function findTerms(query: string): string[] {
  return query.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

function kvMatches(kvs: readonly KeyValue[] | undefined, terms: string[]): boolean {
  if (!kvs) return false;
  for (const kv of kvs) {
    const key = kv.key.toLowerCase();
    const value = String(kv.value).toLowerCase();
    for (const t of terms) {
      if (key.includes(t) || value.includes(t) || t === `${key}=${value}`) return true;
    }
  }
  return false;
}

function has(text: string, terms: string[]): boolean {
  const lower = text.toLowerCase();
  return terms.some((t) => lower.includes(t));
}

export function spanMatches(trace: Trace, node: SpanNode, terms: string[]): boolean {
  const span = node.span;
  return (
    has(span.operationName, terms) ||
    has(node.service, terms) ||
    has(span.spanID, terms) ||
    kvMatches(span.tags, terms) ||
    (span.logs ?? []).some((log) => kvMatches(log.fields, terms)) ||
    kvMatches(trace.processes[span.processID]?.tags, terms)
  );
}

/** The spans matching `query`; null when the query is empty (nothing is being looked for). */
export function findSpans(trace: Trace, tree: SpanTree, query: string): FindResult | null {
  const terms = findTerms(query);
  if (!terms.length) return null;
  const ids: string[] = [];
  for (const node of tree.ordered) if (spanMatches(trace, node, terms)) ids.push(node.span.spanID);
  return { ids, set: new Set(ids) };
}

/**
 * The match to go to from `current` (a span id or null), forwards or backwards, wrapping around.
 * `order` maps span id → position in tree order, so a selection that is not itself a match still
 * goes to the nearest match after (or before) it.
 */
export function stepMatch(
  result: FindResult,
  order: ReadonlyMap<string, number>,
  current: string | null,
  direction: 1 | -1,
): string | null {
  const { ids } = result;
  if (!ids.length) return null;
  const at = current === null ? undefined : order.get(current);
  if (at === undefined) return direction === 1 ? ids[0] : ids[ids.length - 1];
  // Binary search for the first match strictly after (or the last strictly before) `at`.
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order.get(ids[mid])! <= at) lo = mid + 1;
    else hi = mid;
  }
  if (direction === 1) return ids[lo % ids.length];
  const before = current !== null && result.set.has(current) ? lo - 2 : lo - 1;
  return ids[((before % ids.length) + ids.length) % ids.length];
}
