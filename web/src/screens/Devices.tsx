// Devices: the list (kind, version, last heartbeat, what the server has acknowledged, watched or
// silent), enrolment (a code and the one-line install commands) and revocation.
import { useState } from 'preact/hooks';
import { get, post, type Device, type DevicePackages, type Page as ApiPage } from '../api';
import { CustomerPicker, useCustomerNames } from '../components/CustomerPicker';
import { isSilent } from '../health';
import { t, tv } from '../i18n';
import { navigate, useLocation } from '../router';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

const PAGE = 100;

interface Code {
  code: string;
  customer_id: string;
  expires_at: string;
}

export function DeviceState({ d }: { d: Device }) {
  if (d.status !== 'active') return <span class="badge badge-revoked">{tv('status', d.status)}</span>;
  if (isSilent(d)) return <span class="badge badge-silent">{t('device.silent')}</span>;
  return <span class="badge badge-ok">{t('device.watched')}</span>;
}

export function Devices() {
  const loc = useLocation();
  const customer = loc.searchParams.get('customer_id') ?? '';
  const page = Number(loc.searchParams.get('page') ?? '0') || 0;
  const list = useLoad(() => {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String(page * PAGE) });
    if (customer) p.set('customer_id', customer);
    return get<ApiPage<Device>>(`/api/v1/devices?${p}`);
  }, [customer, page]);
  const [error, setError] = useState<unknown>(null);
  const names = useCustomerNames((list.data?.items ?? []).map((d) => d.customer_id));

  async function revoke(d: Device) {
    if (!window.confirm(t('device.revoke.confirm', { name: d.hostname }))) return;
    setError(null);
    try {
      await post(`/api/v1/devices/${encodeURIComponent(d.id)}/revoke`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  const go = (c: string, p: number) => {
    const q = new URLSearchParams();
    if (c) q.set('customer_id', c);
    if (p) q.set('page', String(p));
    navigate(`/devices${q.size ? `?${q}` : ''}`, true);
  };

  return (
    <Page title={t('devices.title')}>
      <Enroll initial={customer} />
      <Card title={t('devices.list')}>
        <div class="filters">
          <div class="filter">
            <label for="d-customer">{t('queue.customer')}</label>
            <CustomerPicker id="d-customer" allowAll value={customer} onChange={(c) => go(c, 0)} />
          </div>
        </div>
        <ErrorBox error={error ?? list.error} />
        {!list.data ? (
          <Loading />
        ) : (
          <table class="table">
            <caption class="sr-only">{t('devices.list')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('device.hostname')}</th>
                <th scope="col">{t('device.kind')}</th>
                <th scope="col">{t('queue.customer')}</th>
                <th scope="col">{t('device.version')}</th>
                <th scope="col">{t('device.lastSeen')}</th>
                <th scope="col">{t('device.acked')}</th>
                <th scope="col">{t('device.state')}</th>
                <th scope="col">
                  <span class="sr-only">{t('device.revoke')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((d) => (
                <tr key={d.id} data-device={d.id}>
                  <td>{d.hostname}</td>
                  <td>{tv('kind', d.kind)}</td>
                  <td>{names.get(d.customer_id) ?? d.customer_id}</td>
                  <td>{d.version}</td>
                  <td>{jst(d.last_seen)}</td>
                  <td>{d.acked_through}</td>
                  <td>
                    <DeviceState d={d} />
                  </td>
                  <td>
                    {d.status === 'active' && (
                      <button class="btn btn-small btn-danger" type="button" onClick={() => void revoke(d)}>
                        {t('device.revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={8} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
        <div class="pager">
          <button class="btn" type="button" disabled={page === 0} onClick={() => go(customer, page - 1)}>
            {t('common.prev')}
          </button>
          <span>{t('common.page', { n: page + 1 })}</span>
          <button class="btn" type="button" disabled={(list.data?.items.length ?? 0) < PAGE} onClick={() => go(customer, page + 1)}>
            {t('common.next')}
          </button>
        </div>
      </Card>
    </Page>
  );
}

function Enroll({ initial }: { initial: string }) {
  const [customer, setCustomer] = useState(initial);
  const [hours, setHours] = useState('24');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [code, setCode] = useState<Code | null>(null);
  // The server's device repository: install-and-enroll lines per platform once it has packages.
  const packages = useLoad(() => get<DevicePackages>('/api/v1/device-packages'), []);

  async function submit(e: Event) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!customer) errs.customer = t('enroll.customer.required');
    const h = Number(hours);
    if (!/^\d+$/.test(hours.trim()) || h < 1 || h > 720) errs.hours = t('enroll.hours.invalid');
    setErrors(errs);
    setError(null);
    if (Object.keys(errs).length) return;
    try {
      setCode(await post<Code>(`/api/v1/customers/${encodeURIComponent(customer)}/enrollment-codes`, { ttl_s: h * 3600 }));
    } catch (err) {
      setError(err);
    }
  }

  const origin = location.origin;
  return (
    <Card title={t('enroll.title')}>
      <form class="inline-form" onSubmit={submit} noValidate>
        <Field id="enroll-customer" label={t('queue.customer')} error={errors.customer}>
          <CustomerPicker id="enroll-customer" value={customer} describedBy={errors.customer ? 'enroll-customer-error' : undefined} onChange={setCustomer} />
        </Field>
        <Field id="enroll-hours" label={t('enroll.hours')} error={errors.hours}>
          <input id="enroll-hours" inputMode="numeric" value={hours} aria-invalid={!!errors.hours} onInput={(e) => setHours((e.target as HTMLInputElement).value)} />
        </Field>
        <button class="btn btn-primary" type="submit">
          {t('enroll.create')}
        </button>
      </form>
      <ErrorBox error={error} />
      {code && (
        <div class="enroll-result" role="status">
          <p>
            {t('enroll.code')}: <code data-testid="enroll-code">{code.code}</code> ({t('enroll.expires', { at: jst(code.expires_at) })})
          </p>
          {packages.data?.repository && packages.data.platforms.length > 0 ? (
            <>
              {packages.data.platforms.map((p) => (
                <div key={`${p.platform}-${p.package}`}>
                  <p>{t('enroll.install', { what: tv('pkg', p.package), platform: tv('platform', p.platform) })}</p>
                  <pre class="cmd" tabIndex={0} data-testid={`cmd-${p.platform}-${p.package}`}>
                    {p.command.replaceAll('{code}', code.code)}
                  </pre>
                </div>
              ))}
              <p>
                {t('enroll.repoKey')}: <code data-testid="repo-fingerprint">{packages.data.repository.fingerprint}</code>
              </p>
            </>
          ) : (
            <>
              <p>{t('enroll.sensor')}</p>
              <pre class="cmd" tabIndex={0} data-testid="cmd-sensor">{`sudo mimamori-sensor enroll --server ${origin} --code ${code.code} --credential /etc/mimamori/sensor.credential`}</pre>
              <p>{t('enroll.agent')}</p>
              <pre class="cmd" tabIndex={0} data-testid="cmd-agent">{`sudo mimamori-agent enroll --server ${origin} --code ${code.code} --credential /etc/mimamori/agent.credential`}</pre>
              <p class="muted">{t('enroll.noRepo')}</p>
            </>
          )}
        </div>
      )}
    </Card>
  );
}
