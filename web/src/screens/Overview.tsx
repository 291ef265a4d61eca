// SOC overview: every customer at a glance, its traffic light, open incidents and silent
// devices, refreshed every 10 seconds.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get } from '../api';
import { lightOfCounts } from '../health';
import { t } from '../i18n';
import { jst } from '../time';
import { ErrorBox, Loading, Page, TrafficLight, type Light } from '../ui';

export const POLL_MS = 10_000;
/** Rows drawn at first and added by "show more": the most urgent customers come first, and a
 * thousand table rows took seconds to draw on a loaded machine (bench/console-scale). The
 * search and the filters still look at every customer. */
export const OVERVIEW_PAGE = 100;
const collator = new Intl.Collator(undefined, { numeric: true });

interface Row {
  customer: { id: string; name: string };
  light: Light;
  open: number;
  silent: number;
  devices: number;
}

interface OverviewLine {
  customer_id: string;
  name: string;
  open: number;
  open_high: number;
  devices: number;
  silent: number;
}

/** The overview's numbers are counted by the server (GET /api/v1/overview): at a provider's
 * scale, downloading every open incident and device to count them here took seconds. The
 * light is lightOf's rule on those counts. */
async function loadOverview(): Promise<Row[]> {
  const page = await get<{ items: OverviewLine[] }>('/api/v1/overview');
  return page.items.map((x) => ({
    customer: { id: x.customer_id, name: x.name },
    light: lightOfCounts(x.open_high, x.open, x.silent),
    open: x.open,
    silent: x.silent,
    devices: x.devices,
  }));
}

const ORDER: Record<Light, number> = { red: 0, amber: 1, green: 2 };

export function Overview() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [updated, setUpdated] = useState<string>('');
  const [query, setQuery] = useState('');
  const [light, setLight] = useState<'' | Light>('');
  const [silentOnly, setSilentOnly] = useState(false);
  const [limit, setLimit] = useState(OVERVIEW_PAGE);

  useEffect(() => {
    let live = true;
    let timer = 0;
    const tick = async () => {
      try {
        const r = await loadOverview();
        if (!live) return;
        setRows(r);
        setError(null);
        setUpdated(jst(new Date().toISOString()));
      } catch (e) {
        if (live) setError(e);
      }
      if (live) timer = window.setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (rows ?? [])
      .filter((r) => !q || r.customer.name.toLowerCase().includes(q))
      .filter((r) => !light || r.light === light)
      .filter((r) => !silentOnly || r.silent > 0)
      .sort((a, b) => ORDER[a.light] - ORDER[b.light] || b.open - a.open || collator.compare(a.customer.name, b.customer.name));
  }, [rows, query, light, silentOnly]);

  const totals = useMemo(() => {
    const r = rows ?? [];
    return {
      red: r.filter((x) => x.light === 'red').length,
      amber: r.filter((x) => x.light === 'amber').length,
      green: r.filter((x) => x.light === 'green').length,
      open: r.reduce((n, x) => n + x.open, 0),
      silent: r.reduce((n, x) => n + x.silent, 0),
    };
  }, [rows]);

  return (
    <Page title={t('overview.title')}>
      <ErrorBox error={error} />
      <div class="stats" aria-live="polite">
        <div class="stat stat-red">
          <span class="stat-value" data-testid="count-red">{totals.red}</span>
          <span>{t('light.red')}</span>
        </div>
        <div class="stat stat-amber">
          <span class="stat-value" data-testid="count-amber">{totals.amber}</span>
          <span>{t('light.amber')}</span>
        </div>
        <div class="stat stat-green">
          <span class="stat-value" data-testid="count-green">{totals.green}</span>
          <span>{t('light.green')}</span>
        </div>
        <div class="stat">
          <span class="stat-value" data-testid="count-open">{totals.open}</span>
          <span>{t('overview.open')}</span>
        </div>
        <div class="stat">
          <span class="stat-value" data-testid="count-silent">{totals.silent}</span>
          <span>{t('overview.silent')}</span>
        </div>
      </div>
      <p class="muted small">{t('overview.updated', { at: updated || '—' })}</p>
      <div class="filters" role="search">
        <div class="filter">
          <label for="o-search">{t('overview.search')}</label>
          <input id="o-search" type="search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        </div>
        <div class="filter">
          <label for="o-light">{t('overview.light')}</label>
          <select id="o-light" value={light} onChange={(e) => setLight((e.target as HTMLSelectElement).value as '' | Light)}>
            <option value="">{t('common.all')}</option>
            <option value="red">{t('light.red')}</option>
            <option value="amber">{t('light.amber')}</option>
            <option value="green">{t('light.green')}</option>
          </select>
        </div>
        <label class="check">
          <input type="checkbox" checked={silentOnly} onChange={(e) => setSilentOnly((e.target as HTMLInputElement).checked)} />
          {t('overview.silentOnly')}
        </label>
      </div>
      {rows === null && !error ? (
        <Loading />
      ) : (
        <table class="table">
          <caption class="sr-only">{t('overview.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('overview.customer')}</th>
              <th scope="col">{t('overview.state')}</th>
              <th scope="col">{t('overview.open')}</th>
              <th scope="col">{t('overview.devices')}</th>
              <th scope="col">{t('overview.silent')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, limit).map((r) => (
              <tr key={r.customer.id} data-customer={r.customer.id}>
                <td>
                  <a href={`/incidents?customer_id=${encodeURIComponent(r.customer.id)}`}>{r.customer.name}</a>
                </td>
                <td>
                  <TrafficLight light={r.light} />
                </td>
                <td>{r.open}</td>
                <td>{r.devices}</td>
                <td>{r.silent > 0 ? <span class="badge badge-silent">{t('device.silent')} {r.silent}</span> : 0}</td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  {t('common.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {shown.length > limit && (
        <p class="more">
          <span class="muted small" data-testid="overview-shown">
            {t('overview.shown', { shown: limit, total: shown.length })}
          </span>{' '}
          <button type="button" class="btn" onClick={() => setLimit(limit + OVERVIEW_PAGE)}>
            {t('overview.more', { n: Math.min(OVERVIEW_PAGE, shown.length - limit), left: shown.length - limit })}
          </button>
        </p>
      )}
    </Page>
  );
}
