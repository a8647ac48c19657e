import { describe, expect, it } from 'vitest';
import {
  breakPieces,
  formatCount,
  formatDuration,
  formatPercent,
  formatRelative,
  formatTimestamp,
  lookbackMicros,
} from './format';

describe('durations', () => {
  it('read in the unit that fits, three significant figures', () => {
    expect(formatDuration(0)).toBe('0μs');
    expect(formatDuration(789)).toBe('789μs');
    expect(formatDuration(1500)).toBe('1.5ms');
    expect(formatDuration(45_600)).toBe('45.6ms');
    expect(formatDuration(123_456)).toBe('123ms');
    expect(formatDuration(1_230_000)).toBe('1.23s');
    expect(formatDuration(59_940_000)).toBe('59.9s');
  });

  it('read in minutes and hours past a minute', () => {
    expect(formatDuration(60_000_000)).toBe('1m');
    expect(formatDuration(123_000_000)).toBe('2m 3s');
    expect(formatDuration(3_720_000_000)).toBe('1h 2m');
    expect(formatDuration(7_200_000_000)).toBe('2h');
  });

  it('keep the sign of a negative offset and show a dash for no number', () => {
    expect(formatDuration(-2500)).toBe('-2.5ms');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('timestamps', () => {
  it('print µs since the epoch to the millisecond, in UTC when asked', () => {
    expect(formatTimestamp(1_796_302_918_319_123, true)).toBe('2026-12-03 13:01:58.319');
    expect(formatTimestamp(0, true)).toBe('1970-01-01 00:00:00.000');
  });

  it('say how long ago', () => {
    const now = 1_800_000_000_000_000;
    expect(formatRelative(now - 5_000_000, now)).toBe('just now');
    expect(formatRelative(now - 42_000_000, now)).toBe('42 seconds ago');
    expect(formatRelative(now - 60_000_000, now)).toBe('1 minute ago');
    expect(formatRelative(now - 3 * 3_600_000_000, now)).toBe('3 hours ago');
    expect(formatRelative(now - 2 * 86_400_000_000, now)).toBe('2 days ago');
  });

  it("read Jaeger UI's lookbacks", () => {
    expect(lookbackMicros('1h')).toBe(3_600_000_000);
    expect(lookbackMicros('30m')).toBe(1_800_000_000);
    expect(lookbackMicros('2d')).toBe(172_800_000_000);
    expect(lookbackMicros('1.5h')).toBe(5_400_000_000);
    expect(lookbackMicros('custom')).toBeNull();
    expect(lookbackMicros('1y')).toBeNull();
  });
});

describe('counts and shares', () => {
  it('group thousands and keep at most two decimals', () => {
    expect(formatCount(10_013)).toBe('10,013');
    expect(formatCount(0.125)).toBe('0.13');
  });

  it('show small percentages with a decimal', () => {
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.033)).toBe('3.3%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(Number.NaN)).toBe('—');
  });
});

describe('long names', () => {
  it('break after path separators and before placeholders, and join back to the name', () => {
    const name = 'PUT /api/v1/cart/{userId}/items/{itemId}';
    const pieces = breakPieces(name);
    expect(pieces.join('')).toBe(name);
    expect(pieces).toEqual(['PUT /', 'api/', 'v1/', 'cart/', '{userId}/', 'items/', '{itemId}']);
    expect(breakPieces('io.opentelemetry.http-server')).toEqual(['io.', 'opentelemetry.', 'http-server']);
  });

  it('leave short names whole', () => {
    expect(breakPieces('GET /home')).toEqual(['GET /home']);
  });
});
