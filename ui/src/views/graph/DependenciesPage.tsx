// `/dependencies`: the service graph; `/deep-dependencies?service=<s>`: the focus view at operation
// level. Range (`lookback`, `endTs`) and the selected or focused service live in the URL.

import { Link, useLocation, useNavigate } from 'react-router';
import { EmptyState, ErrorBanner, SendSpansHint } from '../../components/Status';
import { api } from '../../lib/api';
import { useRequest } from '../../lib/useRequest';
import { OperationGraphView } from './OperationGraphView';
import { RangeControls } from './RangeControls';
import { ServiceGraphView } from './ServiceGraphView';
import { useTimeRange } from './useTimeRange';

export default function DependenciesPage() {
  const deep = useLocation().pathname.startsWith('/deep-dependencies');
  const controls = useTimeRange();
  const navigate = useNavigate();
  const service = controls.params.get('service') ?? '';
  const services = useRequest((signal) => api.services(signal), []);
  const range = `lookback=${encodeURIComponent(controls.range.lookback)}${controls.range.live ? '' : `&endTs=${controls.range.endTs}`}`;

  const focusOn = (name: string) =>
    navigate(name ? `/deep-dependencies?service=${encodeURIComponent(name)}&${range}` : `/dependencies?${range}`);

  return (
    <div className="graph-page">
      <div className="toolbar panel">
        <h1 className="view-title">{deep ? 'Operation graph' : 'Service graph'}</h1>
        <RangeControls controls={controls} />
        <label className="field">
          <span>{deep ? 'Focus service' : 'Focus on'}</span>
          <select aria-label="Focus service" value={deep ? service : ''} onChange={(e) => focusOn(e.target.value)}>
            <option value="">{deep ? 'Pick a service…' : 'a service…'}</option>
            {(services.data ?? []).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
            {deep && service && !(services.data ?? []).includes(service) && <option value={service}>{service}</option>}
          </select>
        </label>
        {deep && (
          <Link to={`/dependencies?${service ? `service=${encodeURIComponent(service)}&` : ''}${range}`}>
            ← Whole service graph
          </Link>
        )}
      </div>
      {services.error && <ErrorBanner error={services.error} onRetry={services.reload} />}
      {!deep && <ServiceGraphView controls={controls} />}
      {deep && service && <OperationGraphView key={service} controls={controls} service={service} />}
      {deep && !service && (
        <EmptyState title="Pick a service to focus on">
          {services.data && services.data.length === 0 ? (
            <SendSpansHint />
          ) : (
            <p>The focus view shows the operations of one service with every operation that calls it or that it calls.</p>
          )}
        </EmptyState>
      )}
    </div>
  );
}
