// Suppression rules and threat indicators, for the SOC. Every provider role reads them; the
// provider admin and analysts remove suppressions, and add and remove indicators (the server
// checks the role again). Suppressions are made from an alert ("suppress similar").
import { useState } from 'preact/hooks';
import { api, ApiError, get, post } from '../api';
import { CustomerPicker, useCustomerNames } from '../components/CustomerPicker';
import { t } from '../i18n';
import { navigate, useLocation } from '../router';
import { currentUser } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

interface Suppression {
  id: string;
  customer_id: string;
  device_id: string;
  signature_id: number;
  signature: string;
  src_ip: string;
  dest_ip: string;
  reason: string;
  created_by: string;
  created_at: string;
  expires_at: string;
}

interface Threat {
  id: string;
  kind: string;
  value: string;
  source: string;
  reason: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  removed_at: string;
}

function mayChange(): boolean {
  const r = currentUser()?.role;
  return r === 'provider_admin' || r === 'analyst';
}

export function Suppressions() {
  const loc = useLocation();
  const customer = loc.searchParams.get('customer_id') ?? '';
  const list = useLoad(
    () => get<{ items: Suppression[] }>(`/api/v1/suppressions${customer ? `?customer_id=${encodeURIComponent(customer)}` : ''}`),
    [customer],
  );
  const [error, setError] = useState<unknown>(null);
  const names = useCustomerNames((list.data?.items ?? []).map((x) => x.customer_id));
  const change = mayChange();

  async function remove(s: Suppression) {
    if (!window.confirm(t('rules.suppression.remove.confirm', { sid: s.signature_id }))) return;
    setError(null);
    try {
      await api('DELETE', `/api/v1/suppressions/${encodeURIComponent(s.id)}`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Page title={t('rules.suppressions')}>
      <p class="muted">{t('rules.suppressions.lead')}</p>
      <div class="filters">
        <div class="filter">
          <label for="s-customer">{t('queue.customer')}</label>
          <CustomerPicker
            id="s-customer"
            allowAll
            value={customer}
            onChange={(v) => navigate(`/suppressions${v ? `?customer_id=${encodeURIComponent(v)}` : ''}`, true)}
          />
        </div>
      </div>
      <ErrorBox error={error ?? list.error} />
      {!list.data ? (
        list.error ? null : <Loading />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">{t('rules.suppressions')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('queue.customer')}</th>
                <th scope="col">{t('rules.signature')}</th>
                <th scope="col">{t('rules.addresses')}</th>
                <th scope="col">{t('suppress.reason')}</th>
                <th scope="col">{t('rules.createdBy')}</th>
                <th scope="col">{t('rules.expires')}</th>
                {change && (
                  <th scope="col">
                    <span class="sr-only">{t('rules.remove')}</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((s) => (
                <tr key={s.id} data-suppression={s.id}>
                  <td>{names.get(s.customer_id) ?? s.customer_id}</td>
                  <td>
                    {s.signature_id ? `sid ${s.signature_id}` : t('rules.any')} {s.signature && <span class="muted small">{s.signature}</span>}
                  </td>
                  <td>
                    {s.src_ip || t('rules.any')} → {s.dest_ip || t('rules.any')}
                  </td>
                  <td>{s.reason}</td>
                  <td>
                    {s.created_by}
                    <div class="muted small">{jst(s.created_at)}</div>
                  </td>
                  <td>{s.expires_at ? jst(s.expires_at) : t('rules.never')}</td>
                  {change && (
                    <td>
                      <button class="btn btn-small btn-danger" type="button" onClick={() => void remove(s)}>
                        {t('rules.remove')}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/([12]?\d|3[0-2]))?$/;
const IPV6 = /^[0-9a-f:]*:[0-9a-f:.]*(\/(\d{1,2}|1[01]\d|12[0-8]))?$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;

export function Threats() {
  const [all, setAll] = useState(false);
  const list = useLoad(() => get<{ items: Threat[] }>(`/api/v1/threats${all ? '?all=1' : ''}`), [all]);
  const [v, setV] = useState({ value: '', source: '', reason: '', days: '' });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const change = mayChange();

  async function add(e: Event) {
    e.preventDefault();
    setError(null);
    const x: Record<string, string> = {};
    const value = v.value.trim();
    if (!value) x.value = t('form.required');
    else if (!IPV4.test(value) && !IPV6.test(value) && !DOMAIN.test(value)) x.value = t('rules.threat.invalid');
    if (!v.source.trim()) x.source = t('form.required');
    if (!v.reason.trim()) x.reason = t('form.required');
    const days = v.days.trim();
    if (days && !(/^\d+$/.test(days) && Number(days) >= 1 && Number(days) <= 3650)) x.days = t('rules.threat.days.invalid');
    setErrs(x);
    if (Object.keys(x).length) return;
    const body: Record<string, string> = { value, source: v.source.trim(), reason: v.reason.trim() };
    if (days) body.expires_at = new Date(Date.now() + Number(days) * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await post('/api/v1/threats', body);
      setV({ value: '', source: '', reason: '', days: '' });
      list.reload();
    } catch (x2) {
      if (x2 instanceof ApiError && x2.status === 409) setErrs({ value: t('rules.threat.exists') });
      else setError(x2);
    }
  }

  async function remove(x: Threat) {
    if (!window.confirm(t('rules.threat.remove.confirm', { value: x.value }))) return;
    setError(null);
    try {
      await api('DELETE', `/api/v1/threats/${encodeURIComponent(x.id)}`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  const input = (name: keyof typeof v, label: string, mode?: 'numeric') => (
    <Field id={`th-${name}`} label={label} error={errs[name]}>
      <input
        id={`th-${name}`}
        inputMode={mode}
        value={v[name]}
        aria-invalid={!!errs[name]}
        aria-describedby={errs[name] ? `th-${name}-error` : undefined}
        onInput={(e) => {
          const value = (e.target as HTMLInputElement).value;
          setV((s) => ({ ...s, [name]: value }));
        }}
      />
    </Field>
  );

  return (
    <Page title={t('rules.threats')}>
      <p class="muted">{t('rules.threats.lead')}</p>
      {change && (
        <Card title={t('rules.threat.add')}>
          <form class="stack-form" onSubmit={add} noValidate>
            {input('value', t('rules.threat.value'))}
            {input('source', t('rules.threat.source'))}
            {input('reason', t('suppress.reason'))}
            {input('days', t('rules.threat.days'), 'numeric')}
            <button class="btn btn-primary" type="submit">
              {t('rules.threat.submit')}
            </button>
          </form>
        </Card>
      )}
      <label class="check">
        <input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> {t('rules.threat.all')}
      </label>
      <ErrorBox error={error ?? list.error} />
      {!list.data ? (
        list.error ? null : <Loading />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">{t('rules.threats')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('rules.threat.value')}</th>
                <th scope="col">{t('settings.channel.kind')}</th>
                <th scope="col">{t('suppress.reason')}</th>
                <th scope="col">{t('rules.createdBy')}</th>
                <th scope="col">{t('rules.expires')}</th>
                {change && (
                  <th scope="col">
                    <span class="sr-only">{t('rules.remove')}</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((x) => (
                <tr key={x.id} data-threat={x.value}>
                  <td>
                    <code>{x.value}</code>
                    {x.removed_at && <div class="muted small">{t('rules.threat.removed', { at: jst(x.removed_at) })}</div>}
                  </td>
                  <td>{x.kind}</td>
                  <td>
                    {x.reason}
                    {x.source && <div class="muted small">{x.source}</div>}
                  </td>
                  <td>
                    {x.created_by}
                    <div class="muted small">{jst(x.created_at)}</div>
                  </td>
                  <td>{x.expires_at ? jst(x.expires_at) : t('rules.never')}</td>
                  {change && (
                    <td>
                      {!x.removed_at && (
                        <button class="btn btn-small btn-danger" type="button" onClick={() => void remove(x)}>
                          {t('rules.remove')}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
