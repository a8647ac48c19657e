// Lookback, end of range and refresh: the time controls the graph and monitor views share.
import { formatTimestamp } from '../../lib/format';
import { fromDateTimeLocal, toDateTimeLocal } from '../../lib/searchUrl';
import { LOOKBACKS } from '../../lib/timeRange';
import type { TimeRangeControls } from './useTimeRange';

const LABELS: Record<string, string> = {
  '5m': 'Last 5 minutes',
  '15m': 'Last 15 minutes',
  '30m': 'Last 30 minutes',
  '1h': 'Last hour',
  '2h': 'Last 2 hours',
  '3h': 'Last 3 hours',
  '6h': 'Last 6 hours',
  '12h': 'Last 12 hours',
  '24h': 'Last 24 hours',
  '2d': 'Last 2 days',
  '7d': 'Last 7 days',
};

export function RangeControls({ controls, loading }: { controls: TimeRangeControls; loading?: boolean }) {
  const { range } = controls;
  const choices: string[] = LOOKBACKS.includes(range.lookback as (typeof LOOKBACKS)[number])
    ? [...LOOKBACKS]
    : [range.lookback, ...LOOKBACKS];
  return (
    <>
      <label className="field">
        <span>Range</span>
        <select value={range.lookback} onChange={(e) => controls.setLookback(e.target.value)} aria-label="Lookback">
          {choices.map((l) => (
            <option key={l} value={l}>
              {LABELS[l] ?? `Last ${l}`}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Ending</span>
        <input
          type="datetime-local"
          step={1}
          aria-label="End of range"
          value={range.live ? '' : toDateTimeLocal(range.endTs * 1000)}
          onChange={(e) => {
            const micros = fromDateTimeLocal(e.target.value);
            controls.setEnd(micros === null ? null : Math.round(micros / 1000));
          }}
        />
      </label>
      {range.live ? (
        <button type="button" onClick={controls.refresh} disabled={loading} title="Move the range to end now">
          Refresh
        </button>
      ) : (
        <button type="button" onClick={() => controls.setEnd(null)} title="Make the range end now">
          Now
        </button>
      )}
      <span className="muted range-note" aria-live="polite">
        {range.live ? 'until now' : 'until'} ({formatTimestamp(range.endTs * 1000).slice(0, 19)})
      </span>
    </>
  );
}
