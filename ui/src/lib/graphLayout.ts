// The service and operation graphs as positioned boxes and polylines, laid out by dagre: data in,
// geometry out, so the views only draw and the layout is tested without a browser. Text sizes are
// estimated from character counts (the SVG's font is fixed), which is all dagre needs to keep
// nodes and edge labels apart.

import dagre from '@dagrejs/dagre';
import { formatCount, formatDuration, formatPercent } from './format';
import { fitScale, READABLE_SCALE } from './graphView';
import type { Latency, OperationGraph, OperationRef, ServiceGraph } from './types';

export interface Point {
  x: number;
  y: number;
}

/** A box by its centre (dagre's convention). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutNode<N> extends Box {
  id: string;
  data: N;
}

export interface LayoutEdge<E> {
  id: string;
  source: string;
  target: string;
  /** From the source's border to the target's border. */
  points: Point[];
  /** Where the edge's label sits; dagre keeps it clear of the nodes. */
  label: Box;
  /** A service calling itself: `points` are a cubic curve's start, two control points and end. */
  selfLoop: boolean;
  data: E;
}

export interface GraphLayout<N, E> {
  nodes: LayoutNode<N>[];
  edges: LayoutEdge<E>[];
  /** The smallest box holding every node, label and edge point. */
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
}

export interface GraphInput<N, E> {
  nodes: { id: string; width: number; height: number; data: N }[];
  edges: { id: string; source: string; target: string; labelWidth: number; labelHeight: number; data: E }[];
  /** TB: callers above callees (service graph); LR: left to right (operation graph). */
  direction: 'TB' | 'LR';
  /** Closer spacing, for graphs with many edges (every label takes room in its rank). */
  tight?: boolean;
}

/** Lays out any graph; every edge must join two of `nodes` (callers add the nodes links name). */
export function layoutGraph<N, E>(input: GraphInput<N, E>): GraphLayout<N, E> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({
    rankdir: input.direction,
    nodesep: input.tight ? 20 : 40,
    edgesep: input.tight ? 10 : 20,
    ranksep: input.tight ? 40 : input.direction === 'LR' ? 80 : 60,
    marginx: 20,
    marginy: 20,
  });
  for (const node of input.nodes) g.setNode(node.id, { width: node.width, height: node.height });
  for (const edge of input.edges) {
    for (const end of [edge.source, edge.target]) {
      if (!g.hasNode(end)) throw new Error(`graph layout: edge ${edge.id} names unknown node ${end}`);
    }
    g.setEdge(edge.source, edge.target, { width: edge.labelWidth, height: edge.labelHeight, labelpos: 'c' }, edge.id);
  }
  dagre.layout(g);

  const nodes: LayoutNode<N>[] = input.nodes.map((node) => {
    const placed = g.node(node.id);
    return { id: node.id, data: node.data, width: node.width, height: node.height, x: placed.x ?? 0, y: placed.y ?? 0 };
  });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const edges: LayoutEdge<E>[] = input.edges.map((edge) => {
    const placed = g.edge({ v: edge.source, w: edge.target, name: edge.id });
    const label: Box = { x: placed.x ?? 0, y: placed.y ?? 0, width: edge.labelWidth, height: edge.labelHeight };
    const selfLoop = edge.source === edge.target;
    // dagre's points for a self-edge wander through the node; a loop drawn from the node's side
    // round the label's near edge reads better and stays clear of the node's text.
    const points = selfLoop ? selfLoopCurve(byId.get(edge.source) as Box, label) : (placed.points ?? []).map(copy);
    return { id: edge.id, source: edge.source, target: edge.target, data: edge.data, label, selfLoop, points };
  });
  return { nodes, edges, bounds: bounds(nodes, edges) };
}

function copy(p: Point): Point {
  return { x: p.x, y: p.y };
}

/**
 * A loop leaving and re-entering the node on the side where dagre put the label, its tip touching
 * the label's near edge, so the label reads as the loop's own. (A cubic curve reaches 3/4 of the
 * way to its control points: they sit 4/3 of the way to the label.)
 */
function selfLoopCurve(node: Box, label: Box): Point[] {
  const dx = label.x - node.x;
  const dy = label.y - node.y;
  if (Math.abs(dx) * node.height >= Math.abs(dy) * node.width) {
    const side = Math.sign(dx) || 1;
    const edgeX = node.x + (side * node.width) / 2;
    const reach = edgeX + ((label.x - (side * label.width) / 2 - edgeX) * 4) / 3;
    const spread = node.height / 4;
    return [
      { x: edgeX, y: node.y - spread },
      { x: reach, y: node.y - spread * 3 },
      { x: reach, y: node.y + spread * 3 },
      { x: edgeX, y: node.y + spread },
    ];
  }
  const side = Math.sign(dy) || 1;
  const edgeY = node.y + (side * node.height) / 2;
  const reach = edgeY + ((label.y - (side * label.height) / 2 - edgeY) * 4) / 3;
  const spread = node.width / 6;
  return [
    { x: node.x + spread, y: edgeY },
    { x: node.x + spread * 2, y: reach },
    { x: node.x - spread * 2, y: reach },
    { x: node.x - spread, y: edgeY },
  ];
}

function bounds(nodes: Box[], edges: LayoutEdge<unknown>[]): GraphLayout<unknown, unknown>['bounds'] {
  const boxes = [...nodes, ...edges.map((e) => e.label)];
  const xs = [...boxes.flatMap((b) => [b.x - b.width / 2, b.x + b.width / 2]), ...edges.flatMap((e) => e.points.map((p) => p.x))];
  const ys = [...boxes.flatMap((b) => [b.y - b.height / 2, b.y + b.height / 2]), ...edges.flatMap((e) => e.points.map((p) => p.y))];
  if (!xs.length) return { minX: 0, minY: 0, maxX: 0, maxY: 0 };
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
}

/** True when two boxes share any area (touching edges do not count). */
export function overlaps(a: Box, b: Box): boolean {
  return Math.abs(a.x - b.x) * 2 < a.width + b.width && Math.abs(a.y - b.y) * 2 < a.height + b.height;
}

// ---- text metrics of the drawing (kept in step with the CSS of the graph view) ----

export const NODE_FONT = 13;
export const SMALL_FONT = 11;
export const LINE_HEIGHT = 15;

/** An estimate of a text's width in px: 0.6 em per character covers the UI font's average. */
export function textWidth(text: string, fontSize: number): number {
  return Math.ceil(text.length * fontSize * 0.6);
}

/**
 * `3 calls · 33% errors` and `p50 1.2ms · p95 4ms · p99 9ms`: what an edge says. A self-call
 * says so in words (`↻ 3 calls to itself`), since its label may sit near other edges too.
 */
export function edgeLabelLines(link: { calls: number; errors: number } & Latency, selfLoop = false): string[] {
  const errorRate = link.calls > 0 ? link.errors / link.calls : 0;
  const q = (v: number | null) => (v === null ? '—' : formatDuration(v));
  const calls = `${formatCount(link.calls)} call${link.calls === 1 ? '' : 's'}`;
  return [
    `${selfLoop ? `↻ ${calls} to itself` : calls} · ${formatPercent(errorRate)} errors`,
    `p50 ${q(link.p50)} · p95 ${q(link.p95)} · p99 ${q(link.p99)}`,
  ];
}

/** Error rates from here up draw an edge or node in red; lower, but not zero, in amber. */
export const ERROR_RATE_ALERT = 0.05;

export type Severity = 'ok' | 'warn' | 'error';

/**
 * How alarming a link's or service's errors are. Red for every error would paint a busy graph
 * all red (a 1% error rate is common); red is kept for rates of 5% and more.
 */
export function errorSeverity(calls: number, errors: number): Severity {
  if (errors <= 0) return 'ok';
  return calls > 0 && errors / calls < ERROR_RATE_ALERT ? 'warn' : 'error';
}

/** `120 calls · 3 errors`: a node's traffic. */
export function trafficLine(calls: number, errors: number): string {
  return `${formatCount(calls)} call${calls === 1 ? '' : 's'} · ${formatCount(errors)} error${errors === 1 ? '' : 's'}`;
}

function labelSize(lines: string[]): { labelWidth: number; labelHeight: number } {
  return {
    labelWidth: Math.max(...lines.map((l) => textWidth(l, SMALL_FONT))) + 12,
    labelHeight: lines.length * LINE_HEIGHT + 8,
  };
}

// ---- the service graph ----

export interface ServiceNode {
  service: string;
  calls: number;
  errors: number;
  /** 0 (least traffic) … 1 (most): what the node's size shows. */
  traffic: number;
}

export type ServiceLink = ServiceGraph['links'][number];

/** A node's box: wider and taller with traffic (square root, so one busy service does not dwarf the rest). */
export function serviceNodeSize(service: string, calls: number, errors: number, traffic: number): { width: number; height: number } {
  const scale = Math.sqrt(Math.max(0, Math.min(1, traffic)));
  const text = Math.max(textWidth(service, NODE_FONT), textWidth(trafficLine(calls, errors), SMALL_FONT)) + 24;
  return { width: Math.max(text, Math.round(110 + 90 * scale)), height: Math.round(2 * LINE_HEIGHT + 16 + 26 * scale) };
}

/** Calls and errors of the links into each node: the traffic of a node known only from links. */
function incoming<L extends { calls: number; errors: number }>(links: L[], child: (l: L) => string): Map<string, { calls: number; errors: number }> {
  const totals = new Map<string, { calls: number; errors: number }>();
  for (const link of links) {
    const t = totals.get(child(link)) ?? { calls: 0, errors: 0 };
    t.calls += link.calls;
    t.errors += link.errors;
    totals.set(child(link), t);
  }
  return totals;
}

/**
 * Services as nodes and analytics' links as edges. A service that appears only in links (it served
 * no span in the range: a client-only caller, or a callee named only by `peer.service`) still gets
 * a node, with the calls and errors of the links into it (none for a caller).
 */
export function layoutServiceGraph(graph: ServiceGraph, target = DEFAULT_TARGET): GraphLayout<ServiceNode, ServiceLink> {
  const served = new Map(graph.services.map((s) => [s.service, s]));
  const into = incoming(graph.links, (l) => l.child);
  const names = new Set(graph.services.map((s) => s.service));
  for (const link of graph.links) {
    names.add(link.parent);
    names.add(link.child);
  }
  const traffic = (service: string) => served.get(service) ?? into.get(service) ?? { calls: 0, errors: 0 };
  const maxCalls = Math.max(1, ...[...names].map((n) => traffic(n).calls));
  const nodes = [...names].sort().map((service) => {
    const { calls, errors } = traffic(service);
    const share = calls / maxCalls;
    return { id: service, ...serviceNodeSize(service, calls, errors, share), data: { service, calls, errors, traffic: share } };
  });
  const edges = graph.links.map((link) => ({
    id: `${link.parent}\u2192${link.child}`,
    source: link.parent,
    target: link.child,
    ...labelSize(edgeLabelLines(link, link.parent === link.child)),
    data: link,
  }));
  return readableLayout({ nodes, edges, direction: 'TB' }, target);
}

/** The canvas a layout is chosen for when the view's size is not known: 1280×800 less the page. */
export const DEFAULT_TARGET = { w: 1200, h: 600 };

/** The scale at which a layout fits `target` (screen px per layout unit), as the view fits it. */
export function layoutFitScale(layout: GraphLayout<unknown, unknown>, target: { w: number; h: number }): number {
  return fitScale(layout.bounds, target);
}

/**
 * The layout in its preferred direction when that fits `target` at a readable size; otherwise
 * (many links, so many labels) the most readable of the preferred and the other direction, each
 * tightly spaced. Callers above callees stays the rule for graphs that fit.
 */
export function readableLayout<N, E>(input: GraphInput<N, E>, target: { w: number; h: number } = DEFAULT_TARGET): GraphLayout<N, E> {
  const preferred = layoutGraph(input);
  if (layoutFitScale(preferred, target) >= READABLE_SCALE) return preferred;
  const other = input.direction === 'TB' ? 'LR' : 'TB';
  const candidates = [preferred, layoutGraph({ ...input, tight: true }), layoutGraph({ ...input, direction: other, tight: true })];
  return candidates.reduce((best, c) => (layoutFitScale(c, target) > layoutFitScale(best, target) + 1e-9 ? c : best));
}


// ---- the operation graph (focus view) ----

export interface OperationNode extends OperationRef {
  calls: number;
  errors: number;
  /** An operation of the service in focus. */
  focus: boolean;
}

export type OperationLink = OperationGraph['links'][number];

/** A node id no service or operation name can make ambiguous. */
export function operationId(ref: OperationRef): string {
  return JSON.stringify([ref.service, ref.operation]);
}

/** An operation's name as drawn; a callee known only by `peer.service` has none. */
export function operationLabel(ref: OperationRef): string {
  return ref.operation || '(named by peer.service)';
}

/**
 * Operations as nodes (service:operation), operation-level links as edges, left to right. An
 * operation only known from links (a `peer.service` leaf) carries the calls and errors of the
 * links into it.
 */
export function layoutOperationGraph(
  graph: OperationGraph,
  focusService: string,
  target = DEFAULT_TARGET,
): GraphLayout<OperationNode, OperationLink> {
  const nodes = new Map<string, OperationNode>();
  const into = incoming(graph.links, (l) => operationId(l.child));
  const add = (ref: OperationRef, measured?: { calls: number; errors: number }) => {
    const id = operationId(ref);
    if (nodes.has(id)) return;
    const { calls, errors } = measured ?? into.get(id) ?? { calls: 0, errors: 0 };
    nodes.set(id, { service: ref.service, operation: ref.operation, calls, errors, focus: ref.service === focusService });
  };
  for (const op of graph.operations) add(op, op);
  for (const link of graph.links) {
    add(link.parent);
    add(link.child);
  }
  const nodeInputs = [...nodes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, data]) => {
      const width =
        Math.max(
          textWidth(operationLabel(data), NODE_FONT),
          textWidth(data.service, SMALL_FONT),
          textWidth(trafficLine(data.calls, data.errors), SMALL_FONT),
        ) + 24;
      return { id, width: Math.max(120, width), height: 3 * LINE_HEIGHT + 14, data };
    });
  const edges = graph.links.map((link) => ({
    id: `${operationId(link.parent)}\u2192${operationId(link.child)}`,
    source: operationId(link.parent),
    target: operationId(link.child),
    ...labelSize(edgeLabelLines(link, operationId(link.parent) === operationId(link.child))),
    data: link,
  }));
  return readableLayout({ nodes: nodeInputs, edges, direction: 'LR' }, target);
}

/** An SVG path through a polyline, its corners rounded with quadratic curves. */
export function edgePath(points: Point[], selfLoop = false): string {
  if (!points.length) return '';
  const f = (n: number) => Math.round(n * 10) / 10;
  const [first, ...rest] = points;
  if (selfLoop && points.length === 4) {
    const [, c1, c2, end] = points;
    return `M${f(first.x)},${f(first.y)} C${f(c1.x)},${f(c1.y)} ${f(c2.x)},${f(c2.y)} ${f(end.x)},${f(end.y)}`;
  }
  let d = `M${f(first.x)},${f(first.y)}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const corner = rest[i];
    const next = rest[i + 1];
    d += ` Q${f(corner.x)},${f(corner.y)} ${f((corner.x + next.x) / 2)},${f((corner.y + next.y) / 2)}`;
  }
  const last = rest[rest.length - 1];
  if (last) d += ` L${f(last.x)},${f(last.y)}`;
  return d;
}
