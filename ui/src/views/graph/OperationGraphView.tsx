// The focus view (Jaeger UI's deep dependency graph) from analytics' operation-level links: every
// service:operation that calls or is called by the focus service's operations, left to right,
// the focus service's own operations highlighted.

import { useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ErrorBanner, Loading } from '../../components/Status';
import { skeinApi } from '../../lib/api';
import { serviceColor } from '../../lib/colors';
import { formatCount, formatDuration, formatPercent } from '../../lib/format';
import {
  edgeLabelLines,
  errorSeverity,
  layoutOperationGraph,
  operationId,
  operationLabel,
  trafficLine,
  type GraphLayout,
  type LayoutNode,
  type OperationLink,
  type OperationNode,
} from '../../lib/graphLayout';
import { ALL_OPERATIONS, chosenOperation, focusOperations, MAX_DRAWN_LINKS, narrowToOperation } from '../../lib/operationFocus';
import { searchLink, type TimeRange } from '../../lib/timeRange';
import type { OperationGraph } from '../../lib/types';
import { useRequest } from '../../lib/useRequest';
import { GraphCanvas } from './GraphCanvas';
import { NoLinks } from './NoLinks';
import { EdgeShape, NodeShape, useEscape } from './shapes';
import type { TimeRangeControls } from './useTimeRange';

export function OperationGraphView({ controls, service }: { controls: TimeRangeControls; service: string }) {
  const { range } = controls;
  const graph = useRequest(
    (signal) => skeinApi.operationGraph(service, range.endTs, range.lookbackMs, signal),
    [service, range.endTs, range.lookbackMs],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const requested = controls.params.get('operation');
  const focus = useMemo(() => (graph.data ? chosenOperation(graph.data, service, requested) : null), [graph.data, service, requested]);
  const drawn = useMemo(
    () => (graph.data && focus?.operation ? narrowToOperation(graph.data, service, focus.operation) : graph.data),
    [graph.data, service, focus],
  );
  const layout = useMemo(() => (drawn ? layoutOperationGraph(drawn, service) : null), [drawn, service]);

  if (graph.error) return <ErrorBanner error={graph.error} onRetry={graph.reload} />;
  if (!graph.data || !layout) return <Loading what={`operation graph of ${service}`} />;
  const empty = !graph.data.links.length && !graph.data.operations.length;
  const selectedNode = layout.nodes.find((n) => n.id === selected);
  return (
    <div className="graph-layout">
      <div className="graph-main">
        {graph.loading && <Loading what={`operation graph of ${service}`} />}
        {empty ? (
          <NoLinks title={`No operation links of ${service} in this range`}>
            Operation links are written by the analytics role once a trace closes, about 10 seconds after its last span
            arrives. Widen the range, pick another service, or send traces in which {service} calls or is called by
            another service.
          </NoLinks>
        ) : (
          <>
            <OperationPicker
              graph={graph.data}
              service={service}
              operation={focus?.operation ?? null}
              automatic={focus?.automatic ?? false}
              onPick={(operation) => {
                setSelected(null);
                controls.update({ operation });
              }}
            />
            <OperationDrawing layout={layout} focus={service} range={range} selected={selected} onSelect={setSelected} />
          </>
        )}
      </div>
      {selectedNode && (
        <OperationPanel node={selectedNode} graph={graph.data} focus={service} controls={controls} onClose={() => setSelected(null)} />
      )}
    </div>
  );
}

function OperationDrawing({
  layout,
  focus,
  range,
  selected,
  onSelect,
}: {
  layout: GraphLayout<OperationNode, OperationLink>;
  focus: string;
  range: TimeRange;
  selected: string | null;
  onSelect: (id: string | null) => void;
}) {
  const navigate = useNavigate();
  // Pointing at an operation brings out its links, as selecting it does.
  const [hovered, setHovered] = useState<string | null>(null);
  const spotlight = hovered ?? selected;
  return (
    <div className="graph-frame">
      <GraphCanvas
        bounds={layout.bounds}
        label={`Operations calling and called by ${focus}`}
        testId="operation-graph"
        keepInView={layout.nodes.find((n) => n.id === selected) ?? null}
      >
        {(markers) => (
          <>
            <g className="graph-edges">
              {layout.edges.map((edge) => {
                const link = edge.data;
                const name = `${link.parent.service} ${operationLabel(link.parent)} calls ${edge.selfLoop ? 'itself' : `${link.child.service} ${operationLabel(link.child)}`}`;
                const lines = edgeLabelLines(link, edge.selfLoop);
                return (
                  <EdgeShape
                    key={edge.id}
                    edge={edge}
                    lines={lines}
                    severity={errorSeverity(link.calls, link.errors)}
                    markerPrefix={markers}
                    dimmed={!!spotlight && edge.source !== spotlight && edge.target !== spotlight}
                    attributes={{
                      'data-testid': 'op-edge',
                      'data-parent-service': link.parent.service,
                      'data-parent-operation': link.parent.operation,
                      'data-child-service': link.child.service,
                      'data-child-operation': link.child.operation,
                      'data-calls': link.calls,
                      'data-errors': link.errors,
                    }}
                    ariaLabel={`${name}: ${lines.join(', ')}. Opens a search for the called operation's traces.`}
                    // As in the service graph: the callee's traces over the range hold the calls across the edge.
                    onActivate={() => navigate(searchLink(link.child.service, range, link.child.operation))}
                  />
                );
              })}
            </g>
            <g className="graph-nodes">
              {layout.nodes.map((node) => {
                const op = node.data;
                return (
                  <NodeShape
                    key={node.id}
                    box={node}
                    color={serviceColor(op.service)}
                    selected={node.id === selected}
                    highlighted={op.focus}
                    severity={errorSeverity(op.calls, op.errors)}
                    lines={[
                      { text: operationLabel(op), className: 'graph-node-name' },
                      { text: op.service, className: 'graph-node-service' },
                      { text: trafficLine(op.calls, op.errors), className: op.errors > 0 ? 'graph-node-stats error' : 'graph-node-stats' },
                    ]}
                    attributes={{
                      'data-testid': 'op-node',
                      'data-service': op.service,
                      'data-operation': op.operation,
                      'data-calls': op.calls,
                      'data-errors': op.errors,
                      'data-focus': String(op.focus),
                    }}
                    ariaLabel={`${op.service} ${operationLabel(op)}: ${trafficLine(op.calls, op.errors)}${op.focus ? ' (focus service)' : ''}`}
                    onActivate={() => onSelect(node.id === selected ? null : node.id)}
                    onHover={(over) => setHovered((h) => (over ? node.id : h === node.id ? null : h))}
                  />
                );
              })}
            </g>
          </>
        )}
      </GraphCanvas>
    </div>
  );
}

function OperationPanel({
  node: { id, data: node },
  graph,
  focus,
  controls,
  onClose,
}: {
  node: LayoutNode<OperationNode>;
  graph: OperationGraph;
  focus: string;
  controls: TimeRangeControls;
  onClose: () => void;
}) {
  const { range } = controls;
  useEscape(onClose);
  const incoming = graph.links.filter((l) => operationId(l.child) === id);
  const outgoing = graph.links.filter((l) => operationId(l.parent) === id);
  const rangeQuery = `lookback=${encodeURIComponent(range.lookback)}${range.live ? '' : `&endTs=${range.endTs}`}`;
  return (
    <aside className="graph-panel panel" aria-label={`Operation ${operationLabel(node)} of ${node.service}`} data-testid="operation-panel">
      <div className="graph-panel-head">
        <h2>
          <span className="swatch" style={{ background: serviceColor(node.service) }} aria-hidden="true" />
          {operationLabel(node)}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close the operation panel">
          ×
        </button>
      </div>
      <p className="muted">
        {node.service} · {trafficLine(node.calls, node.errors)}
      </p>
      <div className="graph-panel-actions">
        <Link className="button primary" to={searchLink(node.service, range, node.operation)}>
          View traces
        </Link>
        {node.service !== focus && (
          <Link className="button" to={`/deep-dependencies?service=${encodeURIComponent(node.service)}&${rangeQuery}`}>
            Focus on {node.service}
          </Link>
        )}
      </div>
      <OpLinkTable title="Called by" links={incoming} other={(l) => l.parent} />
      <OpLinkTable title="Calls" links={outgoing} other={(l) => l.child} />
    </aside>
  );
}

function OpLinkTable({ title, links, other }: { title: string; links: OperationLink[]; other: (l: OperationLink) => { service: string; operation: string } }) {
  return (
    <>
      <h3>{title}</h3>
      {links.length === 0 ? (
        <p className="muted">None in the range.</p>
      ) : (
        <table className="data compact">
          <thead>
            <tr>
              <th>Operation</th>
              <th className="num">Calls</th>
              <th className="num">Errors</th>
              <th className="num">p95</th>
            </tr>
          </thead>
          <tbody>
            {links.map((l) => {
              const o = other(l);
              return (
                <tr key={`${operationId(l.parent)}→${operationId(l.child)}`}>
                  <td>
                    {o.service} <span className="muted">{operationLabel(o)}</span>
                  </td>
                  <td className="num">{formatCount(l.calls)}</td>
                  <td className={`num${l.errors ? ' error-text' : ''}`}>{formatPercent(l.calls ? l.errors / l.calls : 0)}</td>
                  <td className="num">{l.p95 === null ? '—' : formatDuration(l.p95)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Which of the focus service's operations the graph shows (all of them when few enough). */
function OperationPicker({
  graph,
  service,
  operation,
  automatic,
  onPick,
}: {
  graph: OperationGraph;
  service: string;
  operation: string | null;
  automatic: boolean;
  onPick: (operation: string) => void;
}) {
  const operations = focusOperations(graph, service);
  const total = graph.links.length;
  const listed = operation && !operations.some((o) => o.operation === operation) ? [{ operation, calls: 0, links: 0 }, ...operations] : operations;
  return (
    <div className="op-focus-bar" data-testid="operation-picker">
      <label>
        Operation of {service}{' '}
        <select value={operation ?? ALL_OPERATIONS} onChange={(e) => onPick(e.target.value)} data-testid="operation-select">
          <option value={ALL_OPERATIONS}>
            All operations ({formatCount(total)} link{total === 1 ? '' : 's'})
          </option>
          {listed.map((o) => (
            <option key={o.operation} value={o.operation}>
              {operationLabel({ service, operation: o.operation })} ({formatCount(o.links)} link{o.links === 1 ? '' : 's'})
            </option>
          ))}
        </select>
      </label>
      {automatic && (
        <span className="muted" data-testid="operation-auto">
          {formatCount(total)} links are too many to draw readably (more than {MAX_DRAWN_LINKS}): showing those of its busiest
          operation. Pick another, or all of them.
        </span>
      )}
    </div>
  );
}

