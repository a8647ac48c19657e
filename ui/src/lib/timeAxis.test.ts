import { describe, expect, it } from 'vitest';
import { timeAxisLabels as localLabels } from './timeAxis';

// The views label in the browser's zone; the tests read UTC so the expectations are fixed.
const timeAxisLabels = (splits: number[], step: number) => localLabels(splits, step, true);

const at = (iso: string) => Date.parse(iso) / 1000;

describe('time axis labels', () => {
  it('use the 24-hour clock with the date on the first label', () => {
    const splits = ['2026-12-03T13:15:00Z', '2026-12-03T13:30:00Z', '2026-12-03T13:45:00Z'].map(at);
    expect(timeAxisLabels(splits, 900)).toEqual(['12-03 13:15', '13:30', '13:45']);
  });

  it('repeat the date when the range crosses midnight', () => {
    const splits = ['2026-12-03T23:00:00Z', '2026-12-04T00:00:00Z', '2026-12-04T01:00:00Z'].map(at);
    expect(timeAxisLabels(splits, 3600)).toEqual(['12-03 23:00', '12-04 00:00', '01:00']);
  });

  it('show seconds for short steps and milliseconds below a second', () => {
    expect(timeAxisLabels([at('2026-12-03T13:15:05Z'), at('2026-12-03T13:15:10Z')], 5)).toEqual(['12-03 13:15:05', '13:15:10']);
    expect(timeAxisLabels([at('2026-12-03T13:15:05.250Z')], 0.25)).toEqual(['12-03 13:15:05.250']);
  });

  it('show only dates for steps of a day or more', () => {
    expect(timeAxisLabels([at('2026-12-03T00:00:00Z'), at('2026-12-04T00:00:00Z')], 86_400)).toEqual(['12-03', '12-04']);
  });
});
