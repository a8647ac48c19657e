// Times and durations as the views show them. Span times are µs since the epoch (Jaeger's JSON).

/** `1.23s`, `45.6ms`, `789μs`, `2m 3s`, `1h 2m`: three significant figures below a minute. */
export function formatDuration(micros: number): string {
  if (!Number.isFinite(micros)) return '—';
  const sign = micros < 0 ? '-' : '';
  const us = Math.abs(micros);
  if (us < 1000) return `${sign}${trim(us)}μs`;
  if (us < 1_000_000) return `${sign}${trim(us / 1000)}ms`;
  if (us < 60_000_000) return `${sign}${trim(us / 1_000_000)}s`;
  const totalSeconds = Math.round(us / 1_000_000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return `${sign}${m}m${s ? ` ${s}s` : ''}`;
  }
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  return `${sign}${h}h${m ? ` ${m}m` : ''}`;
}

function trim(value: number): string {
  // Three significant figures, no trailing zeros: 1.50 → 1.5, 123.4 → 123.
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

/** The browser's time zone, as shown next to every absolute time. */
export function timeZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `2026-12-03 14:05:09.123` in the browser's time zone (or UTC when `utc`). */
export function formatTimestamp(micros: number, utc = false): string {
  const d = new Date(Math.floor(micros / 1000));
  const [y, mo, da, h, mi, s, ms] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${y}-${pad(mo)}-${pad(da)} ${pad(h)}:${pad(mi)}:${pad(s)}.${pad(ms, 3)}`;
}

/** `5 minutes ago`, `3 hours ago`, `2 days ago`; `just now` within ten seconds. */
export function formatRelative(micros: number, nowMicros = Date.now() * 1000): string {
  const seconds = Math.round((nowMicros - micros) / 1_000_000);
  if (seconds < 10) return 'just now';
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${name}${n === 1 ? '' : 's'} ago`;
    }
  }
  return 'just now';
}

/** Jaeger UI's lookback values (`1h`, `2d`, `30m`) in µs; null when unreadable. */
export function lookbackMicros(lookback: string): number | null {
  const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(lookback.trim());
  if (!match) return null;
  const scale: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  return Math.round(Number(match[1]) * scale[match[2]] * 1_000_000);
}

/** A count with thousands separators; rates with at most two decimals. */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  const pct = fraction * 100;
  return `${pct === 0 || pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/**
 * A name cut after each `/`, `.`, `?`, `&` or `,` (and before `{`), where a line may break;
 * joined, the pieces are the name. A short name stays whole.
 */
export function breakPieces(text: string): string[] {
  if (text.length <= 16) return [text];
  return text.split(/(?<=[/.?&,])|(?=\{)/).filter((p) => p !== '');
}
