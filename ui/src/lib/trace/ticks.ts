// The time ruler: tick steps of 1, 2 or 5 × 10^k µs, labelled with as many decimals as the step
// needs, so zoomed-in ticks (1.23456s, 1.23457s) stay distinct where formatDuration would round.

/** The smallest 1/2/5 × 10^k step that gives at most `maxTicks` intervals over `range` µs. */
export function niceStep(range: number, maxTicks: number): number {
  if (!(range > 0) || !(maxTicks >= 1)) return 1;
  const raw = range / maxTicks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    const step = m * power;
    // Float noise (0.1 × 3) must not push a step past the bound it meets.
    if (step >= raw * (1 - 1e-9)) return Math.max(step, 1);
  }
  return Math.max(10 * power, 1);
}

/** A tick's label: `0`, `250μs`, `1.5ms`, `2s`, `1.23456s`, in the unit of the value's size. */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const [scale, unit] = abs >= 1_000_000 ? [1_000_000, 's'] : abs >= 1000 ? [1000, 'ms'] : [1, 'μs'];
  const decimals = Math.max(0, Math.ceil(-Math.log10(step / scale) - 1e-9));
  return `${Number((value / scale).toFixed(Math.min(decimals, 6)))}${unit}`;
}

export interface Tick {
  /** µs after the trace's start. */
  value: number;
  /** 0–1 across the window. */
  position: number;
  label: string;
}

/** Ticks for the window [from, to] (µs after the trace's start), at most `maxTicks` intervals. */
export function rulerTicks(from: number, to: number, maxTicks: number): Tick[] {
  const range = to - from;
  if (!(range > 0)) return [{ value: from, position: 0, label: formatTick(from, 1) }];
  const step = niceStep(range, maxTicks);
  const ticks: Tick[] = [];
  // `|| 0`: Math.ceil of a tiny negative is -0.
  for (let i = Math.ceil(from / step - 1e-9) || 0; i * step <= to + 1e-9; i++) {
    const value = i * step;
    ticks.push({ value, position: (value - from) / range, label: formatTick(value, step) });
  }
  return ticks;
}
