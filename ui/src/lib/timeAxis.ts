// Labels for the charts' time axes in the notation the rest of the UI uses (24-hour clock,
// year-month-day, the browser's time zone as named in the top bar), instead of uPlot's default
// US style (`1:15pm`, `12/3/26`). uPlot hands over the split times (s) and the step between them.

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}


/**
 * One label per split: seconds (with milliseconds below a second) for short steps, `HH:MM` for
 * steps under a day, the date for longer ones. The first label and the first of each new day
 * also carry the date, so a range across midnight reads unambiguously.
 */
export function timeAxisLabels(splits: readonly number[], stepSeconds: number, utc = false): string[] {
  let previousDay = '';
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const [month, date_, hours, minutes, seconds, ms] = utc
      ? [d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
      : [d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
    const date = `${pad(month + 1)}-${pad(date_)}`;
    const hm = `${pad(hours)}:${pad(minutes)}`;
    let label: string;
    if (stepSeconds >= 86_400) label = date;
    else if (stepSeconds >= 60) label = hm;
    else if (stepSeconds >= 1) label = `${hm}:${pad(seconds)}`;
    else label = `${hm}:${pad(seconds)}.${pad(ms, 3)}`;
    if (stepSeconds < 86_400 && date !== previousDay) label = `${date} ${label}`;
    previousDay = date;
    return label;
  });
}
