// SOC overview: every customer at a glance, its traffic light, open incidents and silent
// devices, refreshed every 10 seconds.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { getAll, type Customer, type Device, type Incident } from '../api';
import { isOpen, isSilent, lightOf, OPEN_STATUSES } from '../health';
import { t } from '../i18n';
import { jst } from '../time';
import { ErrorBox, Loading, Page, TrafficLight, type Light } from '../ui';

export const POLL_MS = 10_000;

interface Row {
  customer: Customer;
  light: Light;
  open: number;
  silent: number;
  devices: number;
}

async function loadOverview(): Promise<Row[]> {
  const [customers, devices, ...lists] = await Promise.all([
    getAll<Customer>('/api/v1/customers'),
    getAll<Device>('/api/v1/devices'),
    ...OPEN_STATUSES.map((s) => getAll<Incident>(`/api/v1/incidents?status=${s}`)),
  ]);
  const incidents = lists.flat();
  const byCustomer = <T extends { customer_id: string }>(xs: T[]) => {
    const m = new Map<string, T[]>();
    for (const x of xs) {
      const l = m.get(x.customer_id);
      if (l) l.push(x);
      else m.set(x.customer_id, [x]);
    }
    return m;
  };
  const inc = byCustomer(incidents);
  const dev = byCustomer(devices.filter((d) => d.status === 'active'));
  return customers.map((c) => {
    const xs = inc.get(c.id) ?? [];
    const ds = dev.get(c.id) ?? [];
    return {
      customer: c,
      light: lightOf(xs, ds),
      open: xs.filter(isOpen).length,
      silent: ds.filter(isSilent).length,
      devices: ds.length,
    };
  });
}

const ORDER: Record<Light, number> = { red: 0, amber: 1, green: 2 };

export function Overview() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [updated, setUpdated] = useState<string>('');
  const [query, setQuery] = useState('');
  const [light, setLight] = useState<'' | Light>('');
  const [silentOnly, setSilentOnly] = useState(false);

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
      .sort((a, b) => ORDER[a.light] - ORDER[b.light] || b.open - a.open || a.customer.name.localeCompare(b.customer.name));
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
            {shown.map((r) => (
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
    </Page>
  );
}
