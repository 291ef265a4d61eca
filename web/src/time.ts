// Every time is shown in Japan Standard Time, whatever the browser's zone.
import { lang } from './i18n';

const formats = new Map<string, Intl.DateTimeFormat>();

function format(l: string): Intl.DateTimeFormat {
  let f = formats.get(l);
  if (!f) {
    f = new Intl.DateTimeFormat(l === 'en' ? 'en-GB' : 'ja-JP', {
      timeZone: 'Asia/Tokyo',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    });
    formats.set(l, f);
  }
  return f;
}

/** "2026/12/07 15:20 JST"; an empty or zero time gives "—". */
export function jst(iso: string | null | undefined): string {
  const ms = parseTime(iso);
  if (ms === null) return '—';
  return `${format(lang()).format(new Date(ms))} JST`;
}

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  // The server writes EVE times: 2026-11-26T19:40:35.000000+0900 (six digits, no colon).
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(iso);
  let text = iso;
  if (m) {
    const frac = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
    let zone = m[3] ?? 'Z';
    if (zone !== 'Z' && !zone.includes(':')) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    text = `${m[1]}.${frac}${zone}`;
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || ms <= 0) return null;
  return ms;
}

/** The month (YYYY-MM) of a time, in JST. */
export function jstMonth(ms: number): string {
  const d = new Date(ms + 9 * 3600 * 1000);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** "3h 05m" style duration. */
export function duration(ms: number): string {
  const neg = ms < 0;
  const m = Math.floor(Math.abs(ms) / 60000);
  const text = m >= 60 ? `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m` : `${m}m`;
  return neg ? `-${text}` : text;
}
