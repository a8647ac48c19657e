import { describe, expect, it } from 'vitest';
import { formatTick, niceStep, rulerTicks } from './ticks';

describe('ruler ticks', () => {
  it('chooses 1, 2 or 5 × 10^k steps', () => {
    expect(niceStep(1000, 10)).toBe(100);
    expect(niceStep(1000, 4)).toBe(500);
    expect(niceStep(1_234_567, 5)).toBe(500_000);
    expect(niceStep(3_000, 10)).toBe(500);
    expect(niceStep(1500, 10)).toBe(200);
    expect(niceStep(30, 10)).toBe(5);
    expect(niceStep(3, 10)).toBe(1); // no step below a microsecond
  });

  it('labels ticks in the unit of their size with the decimals the step needs', () => {
    expect(formatTick(0, 100)).toBe('0');
    expect(formatTick(250, 50)).toBe('250μs');
    expect(formatTick(1500, 500)).toBe('1.5ms');
    expect(formatTick(2000, 500)).toBe('2ms');
    expect(formatTick(2_000_000, 500_000)).toBe('2s');
    expect(formatTick(1_234_560, 10)).toBe('1.23456s');
    expect(formatTick(1_234_570, 10)).toBe('1.23457s');
  });

  it('places ticks at multiples of the step inside the window', () => {
    expect(rulerTicks(0, 1000, 4).map((t) => [t.value, t.position, t.label])).toEqual([
      [0, 0, '0'],
      [500, 0.5, '500μs'],
      [1000, 1, '1ms'],
    ]);
    const zoomed = rulerTicks(1_234_500, 1_234_600, 5);
    expect(zoomed.map((t) => t.label)).toEqual(['1.2345s', '1.23452s', '1.23454s', '1.23456s', '1.23458s', '1.2346s']);
    expect(zoomed[0].position).toBe(0);
  });

  it('gives one tick for an empty window', () => {
    expect(rulerTicks(0, 0, 5)).toEqual([{ value: 0, position: 0, label: '0' }]);
  });
});
