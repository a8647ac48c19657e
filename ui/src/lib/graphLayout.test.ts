import { describe, expect, it } from 'vitest';
import {
  edgeLabelLines,
  edgePath,
  errorSeverity,
  layoutFitScale,
  layoutOperationGraph,
  layoutServiceGraph,
  operationId,
  operationLabel,
  overlaps,
  serviceNodeSize,
  type Box,
  type GraphLayout,
  type Point,
} from './graphLayout';
import type { OperationGraph, ServiceGraph } from './types';

const latency = { p50: 1200, p95: 4000, p99: 9000 };

function link(parent: string, child: string, calls = 10, errors = 0): ServiceGraph['links'][number] {
  return { parent, child, calls, errors, ...latency };
}

function graph(links: ServiceGraph['links'], services: string[] = []): ServiceGraph {
  return { services: services.map((service, i) => ({ service, calls: 10 * (i + 1), errors: i })), links };
}

function expectPlaced(layout: GraphLayout<unknown, unknown>) {
  for (const node of layout.nodes) {
    for (const v of [node.x, node.y, node.width, node.height]) expect(Number.isFinite(v)).toBe(true);
  }
  for (const edge of layout.edges) {
    expect(edge.points.length).toBeGreaterThanOrEqual(2);
    for (const p of edge.points) expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
    expect(Number.isFinite(edge.label.x) && Number.isFinite(edge.label.y)).toBe(true);
  }
}

function expectNoOverlaps(layout: GraphLayout<unknown, unknown>) {
  const boxes: [string, Box][] = [
    ...layout.nodes.map((n): [string, Box] => [`node ${n.id}`, n]),
    ...layout.edges.map((e): [string, Box] => [`label ${e.id}`, e.label]),
  ];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      expect(overlaps(boxes[i][1], boxes[j][1]), `${boxes[i][0]} overlaps ${boxes[j][0]}`).toBe(false);
    }
  }
}

/** Distance from a point to a box's border (0 when on it). */
function distanceToBorder(p: Point, b: Box): number {
  const dx = Math.abs(p.x - b.x) - b.width / 2;
  const dy = Math.abs(p.y - b.y) - b.height / 2;
  if (dx <= 0 && dy <= 0) return Math.min(-dx, -dy);
  return Math.hypot(Math.max(dx, 0), Math.max(dy, 0));
}

describe('service graph layout', () => {
  it('places every service and link, including services that appear only in links', () => {
    const layout = layoutServiceGraph(graph([link('frontend', 'api'), link('api', 'db')], ['api', 'db']));
    expect(layout.nodes.map((n) => n.id).sort()).toEqual(['api', 'db', 'frontend']);
    expect(layout.nodes.find((n) => n.id === 'frontend')?.data).toMatchObject({ calls: 0, errors: 0 });
    // A listed service keeps its served calls (20), not the sum of the links into it (10).
    expect(layout.nodes.find((n) => n.id === 'db')?.data).toMatchObject({ calls: 20, errors: 1 });
    expect(layout.edges.map((e) => [e.source, e.target])).toEqual([
      ['frontend', 'api'],
      ['api', 'db'],
    ]);
    expectPlaced(layout);
    expectNoOverlaps(layout);
  });

  it('gives a service known only as a callee the traffic of the links into it', () => {
    const layout = layoutServiceGraph(graph([link('api', 'redis', 7, 2), link('worker', 'redis', 3, 1)], ['api']));
    expect(layout.nodes.find((n) => n.id === 'redis')?.data).toMatchObject({ calls: 10, errors: 3, traffic: 1 });
  });

  it('keeps nodes and labels apart in a wide graph', () => {
    const links = [];
    for (let i = 0; i < 12; i++) links.push(link('gateway', `service-${i}`), link(`service-${i}`, `db-${i % 3}`));
    const layout = layoutServiceGraph(graph(links, ['gateway']));
    expect(layout.nodes).toHaveLength(16);
    expect(layout.edges).toHaveLength(24);
    expectPlaced(layout);
    expectNoOverlaps(layout);
  });

  it('draws callers above callees', () => {
    const layout = layoutServiceGraph(graph([link('a', 'b'), link('b', 'c')]));
    const y = Object.fromEntries(layout.nodes.map((n) => [n.id, n.y]));
    expect(y.a).toBeLessThan(y.b);
    expect(y.b).toBeLessThan(y.c);
  });

  it('lays out a cycle with every edge joining its own two nodes', () => {
    const layout = layoutServiceGraph(graph([link('a', 'b'), link('b', 'c'), link('c', 'a')]));
    expectPlaced(layout);
    expectNoOverlaps(layout);
    const node = Object.fromEntries(layout.nodes.map((n) => [n.id, n]));
    for (const edge of layout.edges) {
      expect(edge.selfLoop).toBe(false);
      expect(distanceToBorder(edge.points[0], node[edge.source])).toBeLessThan(2);
      expect(distanceToBorder(edge.points[edge.points.length - 1], node[edge.target])).toBeLessThan(2);
    }
  });

  it('draws a self-loop as a curve from the node round its label, clear of other boxes', () => {
    const layout = layoutServiceGraph(graph([link('a', 'a', 4, 1), link('a', 'b')], ['a', 'b']));
    expectPlaced(layout);
    expectNoOverlaps(layout);
    const loop = layout.edges.find((e) => e.source === 'a' && e.target === 'a');
    const a = layout.nodes.find((n) => n.id === 'a') as Box;
    expect(loop?.selfLoop).toBe(true);
    expect(loop?.points).toHaveLength(4);
    const [start, c1, , end] = loop!.points;
    expect(distanceToBorder(start, a)).toBeLessThan(1);
    expect(distanceToBorder(end, a)).toBeLessThan(1);
    // The curve's control points reach out of the node, towards the label.
    expect(overlaps({ ...c1, width: 0.1, height: 0.1 }, a)).toBe(false);
    expect(edgePath(loop!.points, true)).toMatch(/^M[\d.,-]+ C/);
  });

  it('ends the self-loop at its label, whose words say it is a call to itself', () => {
    const layout = layoutServiceGraph(graph([link('a', 'a', 4, 1), link('a', 'b')], ['a', 'b']));
    const loop = layout.edges.find((e) => e.selfLoop)!;
    const [p0, c1, c2, p3] = loop.points;
    // The curve's farthest point (t = ½) touches the label's near side.
    const tip = { x: (p0.x + 3 * c1.x + 3 * c2.x + p3.x) / 8, y: (p0.y + 3 * c1.y + 3 * c2.y + p3.y) / 8 };
    expect(distanceToBorder(tip, loop.label)).toBeLessThan(1);
    expect(edgeLabelLines(loop.data, true)[0]).toBe('↻ 4 calls to itself · 25% errors');
  });

  it('lays a dense graph out so it fits the view at least as well as callers-above-callees would', () => {
    const names = ['cart', 'checkout', 'frontend', 'inventory', 'payment', 'gateway', 'orders'];
    const links = names.flatMap((a) => names.map((b) => link(a, b, 100, 3)));
    const dense = graph(links, names);
    const target = { w: 1200, h: 600 };
    const chosen = layoutServiceGraph(dense, target);
    expectPlaced(chosen);
    expectNoOverlaps(chosen);
    const plain = layoutServiceGraph(graph(links.slice(0, 2), names), target);
    expect(layoutFitScale(plain, target)).toBeGreaterThan(0.85);
    // What the plain top-to-bottom layout would have given for the dense graph:
    const tb = layoutServiceGraph(dense, { w: 1e6, h: 1e6 });
    expect(layoutFitScale(chosen, target)).toBeGreaterThanOrEqual(layoutFitScale(tb, target));
  });

  it('sizes nodes by traffic', () => {
    const small = serviceNodeSize('svc', 1, 0, 0.01);
    const big = serviceNodeSize('svc', 100, 0, 1);
    expect(big.width).toBeGreaterThan(small.width);
    expect(big.height).toBeGreaterThan(small.height);
    const layout = layoutServiceGraph(graph([link('quiet', 'busy')], ['quiet', 'busy']));
    const [busy, quiet] = ['busy', 'quiet'].map((id) => layout.nodes.find((n) => n.id === id)!);
    expect(busy.data.traffic).toBe(1);
    expect(busy.width * busy.height).toBeGreaterThan(quiet.width * quiet.height);
  });

  it('makes nodes wide enough for long service names', () => {
    const name = 'a-service-with-a-really-quite-long-name-indeed';
    expect(serviceNodeSize(name, 0, 0, 0).width).toBeGreaterThan(name.length * 13 * 0.5);
  });

  it('lays out an empty graph', () => {
    const layout = layoutServiceGraph({ services: [], links: [] });
    expect(layout.nodes).toEqual([]);
    expect(layout.bounds).toEqual({ minX: 0, minY: 0, maxX: 0, maxY: 0 });
  });

  it('bounds hold every node, label and edge point', () => {
    const layout = layoutServiceGraph(graph([link('a', 'b'), link('b', 'b')]));
    const { minX, minY, maxX, maxY } = layout.bounds;
    for (const b of [...layout.nodes, ...layout.edges.map((e) => e.label)]) {
      expect(b.x - b.width / 2).toBeGreaterThanOrEqual(minX);
      expect(b.x + b.width / 2).toBeLessThanOrEqual(maxX);
      expect(b.y - b.height / 2).toBeGreaterThanOrEqual(minY);
      expect(b.y + b.height / 2).toBeLessThanOrEqual(maxY);
    }
    for (const p of layout.edges.flatMap((e) => e.points)) {
      expect(p.x >= minX && p.x <= maxX && p.y >= minY && p.y <= maxY).toBe(true);
    }
  });
});

describe('error severity', () => {
  it('is red from a 5% error rate, amber below it, plain without errors', () => {
    expect(errorSeverity(100, 0)).toBe('ok');
    expect(errorSeverity(100, 4)).toBe('warn');
    expect(errorSeverity(100, 5)).toBe('error');
    expect(errorSeverity(2, 1)).toBe('error');
    // Errors without counted calls (a caller-only node) cannot be called rare.
    expect(errorSeverity(0, 1)).toBe('error');
  });
});

describe('edge labels', () => {
  it('say calls, error rate and latency quantiles', () => {
    expect(edgeLabelLines({ calls: 3, errors: 1, p50: 1200, p95: 45_600, p99: 2_000_000 })).toEqual([
      '3 calls · 33% errors',
      'p50 1.2ms · p95 45.6ms · p99 2s',
    ]);
  });

  it('show a missing quantile as a dash and no calls as 0% errors', () => {
    expect(edgeLabelLines({ calls: 0, errors: 0, p50: null, p95: null, p99: null })).toEqual([
      '0 calls · 0% errors',
      'p50 — · p95 — · p99 —',
    ]);
    expect(edgeLabelLines({ calls: 1, errors: 0, ...latency })[0]).toBe('1 call · 0% errors');
  });
});

describe('operation graph layout', () => {
  const ref = (service: string, operation: string) => ({ service, operation });
  const opLink = (p: [string, string], c: [string, string], calls = 5, errors = 0) => ({
    parent: ref(...p),
    child: ref(...c),
    calls,
    errors,
    ...latency,
  });
  const operations: OperationGraph = {
    operations: [
      { service: 'api', operation: 'GET /users', calls: 5, errors: 0 },
      { service: 'db', operation: 'SELECT', calls: 7, errors: 1 },
    ],
    links: [
      opLink(['frontend', 'load page'], ['api', 'GET /users']),
      opLink(['api', 'GET /users'], ['db', 'SELECT'], 7, 1),
      opLink(['api', 'GET /users'], ['api', 'GET /users'], 1),
    ],
  };

  it('places every operation left to right and marks the focus service', () => {
    const layout = layoutOperationGraph(operations, 'api');
    expect(layout.nodes).toHaveLength(3);
    expectPlaced(layout);
    expectNoOverlaps(layout);
    const node = (s: string, o: string) => layout.nodes.find((n) => n.id === operationId(ref(s, o)))!;
    expect(node('frontend', 'load page').x).toBeLessThan(node('api', 'GET /users').x);
    expect(node('api', 'GET /users').x).toBeLessThan(node('db', 'SELECT').x);
    expect(node('api', 'GET /users').data).toMatchObject({ focus: true, calls: 5 });
    expect(node('db', 'SELECT').data).toMatchObject({ focus: false, calls: 7, errors: 1 });
    expect(node('frontend', 'load page').data).toMatchObject({ focus: false, calls: 0 });
    // Listed operations keep their own counts, not the sum of the links into them.
    expect(node('api', 'GET /users').data.calls).toBe(5);
    expect(layout.edges.filter((e) => e.selfLoop)).toHaveLength(1);
  });

  it('gives an unlisted callee (a peer.service leaf) the traffic of the links into it', () => {
    const layout = layoutOperationGraph({ operations: [], links: [opLink(['api', 'GET'], ['cache', ''], 9, 3)] }, 'api');
    const leaf = layout.nodes.find((n) => n.data.service === 'cache')!;
    expect(leaf.data).toMatchObject({ operation: '', calls: 9, errors: 3 });
    expect(operationLabel(leaf.data)).toBe('(named by peer.service)');
    expect(operationLabel({ service: 'api', operation: 'GET' })).toBe('GET');
  });

  it('keeps operations of the same name in different services apart', () => {
    const layout = layoutOperationGraph(
      { operations: [], links: [opLink(['a', 'GET'], ['b', 'GET']), opLink(['b', 'GET'], ['a:b', 'GET'])] },
      'a',
    );
    expect(new Set(layout.nodes.map((n) => n.id)).size).toBe(3);
    expect(operationId(ref('a:b', 'c'))).not.toBe(operationId(ref('a', 'b:c')));
  });
});

describe('edge path', () => {
  it('starts at the first point and ends at the last', () => {
    const d = edgePath([
      { x: 0, y: 0 },
      { x: 10, y: 20 },
      { x: 30, y: 40 },
    ]);
    expect(d.startsWith('M0,0')).toBe(true);
    expect(d.endsWith('L30,40')).toBe(true);
  });
});
