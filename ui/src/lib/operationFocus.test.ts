import { describe, expect, it } from 'vitest';
import { ALL_OPERATIONS, chosenOperation, focusOperations, MAX_DRAWN_LINKS, narrowToOperation } from './operationFocus';
import type { OperationGraph } from './types';

const latency = { p50: 1000, p95: 2000, p99: 3000 };
const ref = (service: string, operation: string) => ({ service, operation });
const link = (p: [string, string], c: [string, string], calls = 1) => ({ parent: ref(...p), child: ref(...c), calls, errors: 0, ...latency });

const small: OperationGraph = {
  operations: [
    { service: 'api', operation: 'GET /a', calls: 10, errors: 0 },
    { service: 'api', operation: 'GET /b', calls: 30, errors: 0 },
  ],
  links: [
    link(['web', 'load'], ['api', 'GET /a']),
    link(['api', 'GET /a'], ['db', 'SELECT']),
    link(['api', 'GET /a'], ['cache', 'get']),
    link(['web', 'load'], ['api', 'GET /b']),
  ],
};

/** A service with many operations, each linked to many others: more links than drawn at once. */
function busy(): OperationGraph {
  const links = [];
  for (let op = 0; op < 10; op++) {
    for (let peer = 0; peer < 5 + op; peer++) links.push(link(['api', `op-${op}`], [`svc-${peer}`, `callee-${peer}`]));
  }
  return { operations: [], links };
}

describe('operation focus', () => {
  it('lists the focus service operations, the most linked first', () => {
    expect(focusOperations(small, 'api')).toEqual([
      { operation: 'GET /a', calls: 10, links: 3 },
      { operation: 'GET /b', calls: 30, links: 1 },
    ]);
  });

  it('draws a small graph whole', () => {
    expect(chosenOperation(small, 'api', null)).toEqual({ operation: null, automatic: false });
  });

  it('narrows a graph with too many links to its busiest operation, unless all are asked for', () => {
    const graph = busy();
    expect(graph.links.length).toBeGreaterThan(MAX_DRAWN_LINKS);
    expect(chosenOperation(graph, 'api', null)).toEqual({ operation: 'op-9', automatic: true });
    expect(chosenOperation(graph, 'api', ALL_OPERATIONS)).toEqual({ operation: null, automatic: false });
    expect(chosenOperation(graph, 'api', 'op-2')).toEqual({ operation: 'op-2', automatic: false });
  });

  it('keeps only the links into and out of the chosen operation and the operations they join', () => {
    const narrowed = narrowToOperation(small, 'api', 'GET /a');
    expect(narrowed.links).toHaveLength(3);
    expect(narrowed.operations.map((o) => o.operation)).toEqual(['GET /a']);
    expect(narrowToOperation(busy(), 'api', 'op-0').links).toHaveLength(5);
  });
});
