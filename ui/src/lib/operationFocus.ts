// The focus view of a busy service can hold hundreds of operation links (every operation of it
// with every caller and callee): too many to draw readably. Like Jaeger UI's deep dependency graph,
// the view then narrows to one operation of the focus service — the busiest by default, any other
// on request (`operation=` in the URL; `*` for all of them).

import type { OperationGraph } from './types';

/** More links than this are drawn only when asked for (`operation=*`). */
export const MAX_DRAWN_LINKS = 40;
export const ALL_OPERATIONS = '*';

export interface FocusOperation {
  operation: string;
  /** Calls it served in the range (0 when it only calls others). */
  calls: number;
  /** Links into or out of it. */
  links: number;
}

/** The focus service's operations, the most linked first (then by calls, then by name). */
export function focusOperations(graph: OperationGraph, service: string): FocusOperation[] {
  const byName = new Map<string, FocusOperation>();
  const entry = (operation: string) => {
    let e = byName.get(operation);
    if (!e) byName.set(operation, (e = { operation, calls: 0, links: 0 }));
    return e;
  };
  for (const op of graph.operations) if (op.service === service) entry(op.operation).calls = op.calls;
  for (const link of graph.links) {
    const ends = new Set<string>();
    if (link.parent.service === service) ends.add(link.parent.operation);
    if (link.child.service === service) ends.add(link.child.operation);
    for (const op of ends) entry(op).links += 1;
  }
  return [...byName.values()].sort((a, b) => b.links - a.links || b.calls - a.calls || a.operation.localeCompare(b.operation));
}

/**
 * The operation the view narrows to: the one the URL names; none (everything) for `*` or when the
 * graph is small enough to draw whole; else the busiest. `automatic` says the view chose it.
 */
export function chosenOperation(
  graph: OperationGraph,
  service: string,
  requested: string | null,
): { operation: string | null; automatic: boolean } {
  if (requested === ALL_OPERATIONS) return { operation: null, automatic: false };
  if (requested) return { operation: requested, automatic: false };
  if (graph.links.length <= MAX_DRAWN_LINKS) return { operation: null, automatic: false };
  const busiest = focusOperations(graph, service)[0];
  return busiest ? { operation: busiest.operation, automatic: true } : { operation: null, automatic: false };
}

/** The links into and out of one operation of the service, and the operations they join. */
export function narrowToOperation(graph: OperationGraph, service: string, operation: string): OperationGraph {
  const mine = (ref: { service: string; operation: string }) => ref.service === service && ref.operation === operation;
  const links = graph.links.filter((l) => mine(l.parent) || mine(l.child));
  const kept = new Set(links.flatMap((l) => [JSON.stringify([l.parent.service, l.parent.operation]), JSON.stringify([l.child.service, l.child.operation])]));
  kept.add(JSON.stringify([service, operation]));
  return { operations: graph.operations.filter((o) => kept.has(JSON.stringify([o.service, o.operation]))), links };
}
