// `/monitor?service=<s>&spanKind=server&lookback=1h`: a service's request rate, error rate and
// latency quantiles over time, and a sortable table of its operations, from `/api/metrics/*`
// (analytics' per-minute buckets in `skein-metrics-*`).

import { useEffect, useMemo } from 'react';
import { EmptyState, ErrorBanner, Loading, SendSpansHint } from '../../components/Status';
import { api } from '../../lib/api';
import { axisLabels, blankBefore, chartData, chartWindow, dataExtent, withoutOpenBucket, type ChartData } from '../../lib/charts';
import { formatCount, formatDuration, formatTimestamp } from '../../lib/format';
import { chooseRatePer, chooseStep } from '../../lib/timeRange';
import { useRequest } from '../../lib/useRequest';
import { RangeControls } from '../graph/RangeControls';
import { useTimeRange } from '../graph/useTimeRange';
import { OperationTable, parseSort, sortText } from './OperationTable';
import { TimeChart } from './TimeChart';
import { useOperationRed } from './useOperationRed';

const SPAN_KINDS = [
  ['server', 'Server'],
  ['consumer', 'Consumer'],
  ['client', 'Client'],
  ['producer', 'Producer'],
  ['internal', 'Internal'],
] as const;

const COLORS = { calls: '#3b6fd8', errors: '#c62828', p50: '#2a9d8f', p95: '#e9a23b', p99: '#8e44ad' };

export default function MonitorPage() {
  const controls = useTimeRange();
  const { range, params, update } = controls;
  const services = useRequest((signal) => api.services(signal), []);
  const service = params.get('service') ?? '';
  const spanKind = params.get('spanKind') || 'server';
  const sort = parseSort(params.get('sort'));

  // No service in the link: show the first one, and say so in the URL.
  const first = services.data?.[0];
  useEffect(() => {
    if (!service && first) update({ service: first }, true);
  }, [service, first, update]);

  const step = chooseStep(range.lookbackMs);
  const ratePer = chooseRatePer(step);
  const series = useRequest(
    service
      ? (signal) => {
          const query = { service, spanKind, endTs: range.endTs, lookback: range.lookbackMs, step, ratePer };
          return Promise.all([
            api.metrics('calls', query, signal),
            api.metrics('errors', query, signal),
            api.metrics('latencies', { ...query, quantile: 0.5 }, signal),
            api.metrics('latencies', { ...query, quantile: 0.95 }, signal),
            api.metrics('latencies', { ...query, quantile: 0.99 }, signal),
          ]);
        }
      : undefined,
    [service, spanKind, range.endTs, range.lookbackMs, step, ratePer],
  );
  const operations = useOperationRed(service || undefined, spanKind, range);

  const charts = useMemo(() => {
    if (!series.data) return null;
    const [calls, errors, p50, p95, p99] = series.data;
    // The minute in progress counts only part of its calls: left out, or every chart dips at its end.
    const nowSeconds = Date.now() / 1000;
    const complete = (chart: ChartData) => {
      const { data, trimmed } = withoutOpenBucket(chart.data, nowSeconds);
      const values = data.slice(1).reduce((n, ys) => n + (ys as (number | null)[]).filter((v) => v !== null).length, 0);
      return { ...chart, data, values, trimmed };
    };
    const out = {
      calls: complete(chartData([{ label: 'calls/s', family: calls }], service)),
      errors: complete(chartData([{ label: 'errors %', family: errors, scale: 100 }], service)),
      latency: complete(
        chartData(
          [
            { label: 'p50', family: p50 },
            { label: 'p95', family: p95 },
            { label: 'p99', family: p99 },
          ],
          service,
        ),
      ),
      empty: series.data.every((f) => f.metrics.length === 0),
    };
    return { ...out, trimmed: out.calls.trimmed || out.errors.trimmed || out.latency.trimmed };
  }, [series.data, service]);

  // A few minutes of data in a long range would be a flat line and a spike at the end: the charts
  // start at the data unless the URL asks for the whole range (`chartRange=whole`).
  const whole = params.get('chartRange') === 'whole';
  const windows = useMemo(() => {
    if (!charts) return null;
    // The three charts share one x axis (the lines are aligned on the same timestamps).
    const extent = dataExtent([charts.calls.data[0], ...charts.calls.data.slice(1), ...charts.errors.data.slice(1), ...charts.latency.data.slice(1)]);
    const to = range.endTs / 1000;
    const full = { from: to - range.lookbackMs / 1000, to };
    return { auto: chartWindow(extent, full, step / 1000), whole: chartWindow(extent, full, step / 1000, true) };
  }, [charts, range.endTs, range.lookbackMs, step]);
  const xWindow = windows ? (whole ? windows.whole : windows.auto) : null;
  const callsData = useMemo(() => (charts && windows ? blankBefore(charts.calls.data, windows.auto.dataFrom) : null), [charts, windows]);

  const serviceChoices = services.data ?? [];
  return (
    <div className="monitor-page">
      <div className="toolbar panel">
        <h1 className="view-title">Monitor</h1>
        <label className="field">
          <span>Service</span>
          <select aria-label="Service" value={service} onChange={(e) => update({ service: e.target.value })}>
            {!service && <option value="">Pick a service…</option>}
            {service && !serviceChoices.includes(service) && <option value={service}>{service}</option>}
            {serviceChoices.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Span kind</span>
          <select aria-label="Span kind" value={spanKind} onChange={(e) => update({ spanKind: e.target.value })}>
            {SPAN_KINDS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <RangeControls controls={controls} loading={series.loading || operations.loading} />
        <span className="muted" title="Each point is the rate over the preceding window">
          step {formatDuration(step * 1000)}, window {formatDuration(ratePer * 1000)}
        </span>
      </div>

      {services.error && <ErrorBanner error={services.error} onRetry={services.reload} />}
      {services.data && services.data.length === 0 && !service && (
        <EmptyState title="No services yet">
          <SendSpansHint />
        </EmptyState>
      )}
      {series.error && <ErrorBanner error={series.error} onRetry={series.reload} />}
      {service && !charts && series.loading && <Loading what={`metrics of ${service}`} />}
      {charts?.empty && (
        <EmptyState title={`No metrics for ${service} (${spanKind} spans) in this range`}>
          <p>
            Metrics come from analytics&apos; per-minute buckets: send traces and wait a minute, widen the range, or try
            another span kind.
          </p>
        </EmptyState>
      )}
      {charts && !charts.empty && windows && (
        <ChartWindowNote
          narrowable={windows.auto.narrowed}
          dataFrom={windows.auto.dataFrom}
          openMinute={charts.trimmed}
          whole={whole}
          onWhole={(w) => update({ chartRange: w ? 'whole' : null }, true)}
        />
      )}
      {charts && !charts.empty && (
        <div className="monitor-charts">
          <TimeChart
            title="Request rate"
            testId="monitor-chart-calls"
            data={callsData ?? charts.calls.data}
            values={charts.calls.values}
            lines={[{ label: 'calls/s', color: COLORS.calls }]}
            format={(v) => `${formatCount(Number(v.toPrecision(3)))}/s`}
            axisFormat={(splits, stepSize) => axisLabels(splits, stepSize, '/s')}
            window={xWindow ?? undefined}
            dataFrom={xWindow?.dataFrom}
          />
          <TimeChart
            title="Error rate"
            testId="monitor-chart-errors"
            data={charts.errors.data}
            values={charts.errors.values}
            lines={[{ label: 'errors %', color: COLORS.errors }]}
            format={(v) => `${Number(v.toFixed(v >= 10 ? 0 : 1))}%`}
            axisFormat={(splits, stepSize) => axisLabels(splits, stepSize, '%')}
            window={xWindow ?? undefined}
            dataFrom={xWindow?.dataFrom}
          />
          <TimeChart
            title="Latency"
            testId="monitor-chart-latency"
            data={charts.latency.data}
            values={charts.latency.values}
            lines={[
              { label: 'p50', color: COLORS.p50 },
              { label: 'p95', color: COLORS.p95 },
              { label: 'p99', color: COLORS.p99 },
            ]}
            format={(ms) => (ms === 0 ? '0' : formatDuration(ms * 1000))}
            window={xWindow ?? undefined}
            dataFrom={xWindow?.dataFrom}
          />
        </div>
      )}

      {service && (
        <section className="panel" aria-label="Operations">
          <h2>Operations of {service}</h2>
          {operations.error && <ErrorBanner error={operations.error} onRetry={operations.reload} />}
          {operations.loading && !operations.data && <Loading what="operations" />}
          {operations.data && operations.data.length === 0 && (
            <p className="muted">No {spanKind} span of {service} in this range.</p>
          )}
          {operations.data && operations.data.length > 0 && (
            <OperationTable
              rows={operations.data}
              service={service}
              range={range}
              sort={sort}
              onSort={(next) => update({ sort: sortText(next) }, true)}
            />
          )}
        </section>
      )}
    </div>
  );
}

/** Says when the charts start at the data rather than at the start of the range, with the way back. */
function ChartWindowNote({
  narrowable,
  dataFrom,
  openMinute,
  whole,
  onWhole,
}: {
  narrowable: boolean;
  dataFrom: number | null;
  openMinute: boolean;
  whole: boolean;
  onWhole: (whole: boolean) => void;
}) {
  const open = openMinute ? 'The minute in progress is drawn once complete. ' : '';
  if (!narrowable || dataFrom === null) {
    return open ? <p className="monitor-note muted" data-testid="monitor-window">{open}</p> : null;
  }
  const since = formatTimestamp(dataFrom * 1e6).slice(11, 16);
  return (
    <p className="monitor-note muted" data-testid="monitor-window" data-narrowed={!whole}>
      {whole
        ? `No data before ${since} in this range (shaded). `
        : `Data since ${since} only, so the charts start there; the table covers the whole range. `}
      {open}
      <button type="button" className="link-button" onClick={() => onWhole(!whole)}>
        {whole ? 'Start the charts at the data' : 'Show the whole range'}
      </button>
    </p>
  );
}
