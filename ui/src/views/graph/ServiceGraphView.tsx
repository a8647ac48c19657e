// The service graph: analytics' exact links over the range, services sized by traffic, each edge
// labelled with calls, error rate and latency quantiles. The selected service (`service=` in the
// URL) opens its side panel.

import { useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { ErrorBanner, Loading } from '../../components/Status';
import { skeinApi } from '../../lib/api';
import { serviceColor } from '../../lib/colors';
import { formatPercent } from '../../lib/format';
import { edgeLabelLines, errorSeverity, layoutServiceGraph, trafficLine } from '../../lib/graphLayout';
import { linkTracesLink } from '../../lib/timeRange';
import type { ServiceGraph } from '../../lib/types';
import { useRequest } from '../../lib/useRequest';
import { GraphCanvas } from './GraphCanvas';
import { NoLinks } from './NoLinks';
import { ServicePanel } from './ServicePanel';
import { EdgeShape, NodeShape } from './shapes';
import type { TimeRangeControls } from './useTimeRange';

export function ServiceGraphView({ controls }: { controls: TimeRangeControls }) {
  const { range, params, update } = controls;
  const selected = params.get('service') ?? '';
  const graph = useRequest((signal) => skeinApi.graph(range.endTs, range.lookbackMs, signal), [range.endTs, range.lookbackMs]);

  if (graph.error) return <ErrorBanner error={graph.error} onRetry={graph.reload} />;
  if (!graph.data) return <Loading what="service graph" />;
  return (
    <div className="graph-layout">
      <div className="graph-main">
        {graph.loading && <Loading what="service graph" />}
        {!graph.data.links.length && (
          <NoLinks title="No dependency links in this range">
            Links are written by the analytics role once a trace closes, about 10 seconds after its last span arrives.
            Widen the range, or send traces whose spans cross services.
          </NoLinks>
        )}
        <ServiceGraphDrawing
          graph={graph.data}
          selected={selected}
          controls={controls}
          onSelect={(service) => update({ service: service === selected ? null : service })}
        />
      </div>
      {selected && <ServicePanel service={selected} graph={graph.data} range={range} onClose={() => update({ service: null })} />}
    </div>
  );
}

function ServiceGraphDrawing({
  graph,
  selected,
  controls,
  onSelect,
}: {
  graph: ServiceGraph;
  selected: string;
  controls: TimeRangeControls;
  onSelect: (service: string) => void;
}) {
  const navigate = useNavigate();
  const layout = useMemo(() => layoutServiceGraph(graph), [graph]);
  // Pointing at a service brings out its links, as selecting it does.
  const [hovered, setHovered] = useState<string | null>(null);
  if (!layout.nodes.length) return null;
  const spotlight = hovered ?? (selected || null);
  const { range } = controls;
  return (
    <div className="graph-frame">
      <GraphCanvas
        bounds={layout.bounds}
        label="Service graph"
        testId="service-graph"
        keepInView={layout.nodes.find((n) => n.id === selected) ?? null}
      >
        {(markers) => (
          <>
            <g className="graph-edges">
              {layout.edges.map((edge) => {
                const link = edge.data;
                const dimmed = !!spotlight && link.parent !== spotlight && link.child !== spotlight;
                const lines = edgeLabelLines(link, edge.selfLoop);
                return (
                  <EdgeShape
                    key={edge.id}
                    edge={edge}
                    lines={lines}
                    severity={errorSeverity(link.calls, link.errors)}
                    markerPrefix={markers}
                    dimmed={dimmed}
                    attributes={{
                      'data-testid': 'graph-edge',
                      'data-parent': link.parent,
                      'data-child': link.child,
                      'data-calls': link.calls,
                      'data-errors': link.errors,
                      'data-exemplars': link.exemplarTraceIds?.length ?? 0,
                    }}
                    ariaLabel={`${link.parent} calls ${edge.selfLoop ? 'itself' : link.child}: ${lines.join(', ')}. Opens traces across this link.`}
                    onActivate={() => navigate(linkTracesLink(link, range))}
                  />
                );
              })}
            </g>
            <g className="graph-nodes">
              {layout.nodes.map((node) => {
                const { service, calls, errors } = node.data;
                return (
                  <NodeShape
                    key={node.id}
                    box={node}
                    color={serviceColor(service)}
                    selected={service === selected}
                    severity={errorSeverity(calls, errors)}
                    onHover={(over) => setHovered((h) => (over ? service : h === service ? null : h))}
                    lines={[
                      { text: service, className: 'graph-node-name' },
                      { text: trafficLine(calls, errors), className: errors > 0 ? 'graph-node-stats error' : 'graph-node-stats' },
                    ]}
                    attributes={{ 'data-testid': 'graph-node', 'data-service': service, 'data-calls': calls, 'data-errors': errors }}
                    ariaLabel={`${service}: ${trafficLine(calls, errors)} (${formatPercent(calls ? errors / calls : 0)} errors). Shows its operations.`}
                    onActivate={() => onSelect(service)}
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

