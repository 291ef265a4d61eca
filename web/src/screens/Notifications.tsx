// Notification channels of every customer and of the provider, and the on-call rotation. The
// provider admin sets up every kind (webhook, Slack and Teams URLs are shown back only as scheme
// and host) and the rotation; analysts add and remove customers' e-mail and LINE channels. The
// server checks each change again.
import { useEffect, useState } from 'preact/hooks';
import { api, get, getAll, isProvider, post, type User } from '../api';
import { CustomerPicker, useCustomerNames } from '../components/CustomerPicker';
import { t, tv } from '../i18n';
import { currentUser } from '../session';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';
import type { Channel } from './PortalSettings';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const KINDS = ['email', 'line', 'webhook', 'slack', 'teams'] as const;

interface OnCall {
  position: number;
  user_id: string;
  email: string;
  channel_id: string;
}

function kindLabel(k: string): string {
  return k === 'email' ? t('portal.email') : k === 'line' ? 'LINE' : k === 'webhook' ? 'Webhook' : k === 'slack' ? 'Slack' : k === 'teams' ? 'Teams' : k;
}

export function Notifications() {
  const me = currentUser();
  const admin = me?.role === 'provider_admin';
  const channels = useLoad(() => get<{ items: Channel[] }>('/api/v1/channels'), []);
  const [error, setError] = useState<unknown>(null);
  const names = useCustomerNames((channels.data?.items ?? []).map((c) => c.customer_id ?? ''));
  const mayRemove = (c: Channel) => admin || (me?.role === 'analyst' && !!c.customer_id && (c.kind === 'email' || c.kind === 'line'));

  async function remove(c: Channel) {
    if (!window.confirm(t('settings.channel.remove.confirm', { name: c.name }))) return;
    setError(null);
    try {
      await api('DELETE', `/api/v1/channels/${encodeURIComponent(c.id)}`);
      channels.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Page title={t('notify.title')}>
      <Card title={t('settings.channels')}>
        <ErrorBox error={error ?? channels.error} />
        {!channels.data ? (
          channels.error ? null : <Loading />
        ) : (
          <div class="table-wrap">
            <table class="table">
              <caption class="sr-only">{t('settings.channels')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('queue.customer')}</th>
                  <th scope="col">{t('settings.channel.kind')}</th>
                  <th scope="col">{t('account.name')}</th>
                  <th scope="col">{t('settings.channel.target')}</th>
                  <th scope="col">{t('settings.channel.min')}</th>
                  <th scope="col">
                    <span class="sr-only">{t('settings.channel.remove')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {channels.data.items.map((c) => (
                  <tr key={c.id} data-channel={c.name}>
                    <td>{c.customer_id ? (names.get(c.customer_id) ?? c.customer_id) : t('users.provider')}</td>
                    <td>{kindLabel(c.kind)}</td>
                    <td>{c.name}</td>
                    <td>
                      <code>{c.target}</code>
                    </td>
                    <td>{t('portal.minSeverity', { sev: tv('sev', c.min_severity) })}</td>
                    <td>
                      {mayRemove(c) && (
                        <button class="btn btn-small btn-danger" type="button" onClick={() => void remove(c)}>
                          {t('settings.channel.remove')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
                {channels.data.items.length === 0 && (
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
      </Card>
      {(admin || me?.role === 'analyst') && <NewChannel admin={admin} onAdded={channels.reload} />}
      <OnCallCard admin={admin} channels={(channels.data?.items ?? []).filter((c) => !c.customer_id)} />
    </Page>
  );
}

function NewChannel({ admin, onAdded }: { admin: boolean; onAdded: () => void }) {
  const kinds = admin ? KINDS : (['email', 'line'] as const);
  const [v, setV] = useState({ customer_id: '', kind: 'email', name: '', target: '', secret: '', min_severity: 'medium' });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof v) => (e: Event) => {
    const value = (e.target as HTMLInputElement | HTMLSelectElement).value;
    setV((s) => ({ ...s, [k]: value }));
  };

  async function add(e: Event) {
    e.preventDefault();
    setError(null);
    const x: Record<string, string> = {};
    const target = v.target.trim();
    if (!admin && !v.customer_id) x.customer_id = t('enroll.customer.required');
    if (!target) x.target = t('form.required');
    else if (v.kind === 'email' && !EMAIL.test(target)) x.target = t('login.email.invalid');
    else if (v.kind === 'line' && !/^[UCR][0-9a-f]{32}$/.test(target)) x.target = t('settings.channel.line.invalid');
    else if (v.kind !== 'email' && v.kind !== 'line' && !/^https:\/\/[^\s/]+\/\S*$/.test(target)) x.target = t('notify.url.invalid');
    if (v.kind === 'line' && !v.secret.trim()) x.secret = t('form.required');
    setErrs(x);
    if (Object.keys(x).length) return;
    try {
      await post('/api/v1/channels', {
        customer_id: v.customer_id,
        kind: v.kind,
        name: v.name.trim() || kindLabel(v.kind),
        target,
        secret: v.secret.trim(),
        min_severity: v.min_severity,
      });
      setV((s) => ({ ...s, name: '', target: '', secret: '' }));
      onAdded();
    } catch (x2) {
      setError(x2);
    }
  }

  const targetLabel = v.kind === 'email' ? t('settings.channel.email.to') : v.kind === 'line' ? t('settings.channel.line.to') : t('notify.url');
  return (
    <Card title={t('settings.channel.add')}>
      <form class="stack-form" onSubmit={add} noValidate>
        <Field id="n-customer" label={t('queue.customer')} error={errs.customer_id}>
          <CustomerPicker
            id="n-customer"
            allowAll={admin}
            allLabel={t('notify.providerWide')}
            required={!admin}
            value={v.customer_id}
            describedBy={errs.customer_id ? 'n-customer-error' : undefined}
            onChange={(id) => setV((s) => ({ ...s, customer_id: id }))}
          />
        </Field>
        <Field id="n-kind" label={t('settings.channel.kind')}>
          <select id="n-kind" value={v.kind} onChange={set('kind')}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {kindLabel(k)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="n-name" label={t('settings.channel.name')}>
          <input id="n-name" value={v.name} onInput={set('name')} />
        </Field>
        <Field id="n-target" label={targetLabel} error={errs.target}>
          <input id="n-target" value={v.target} aria-invalid={!!errs.target} aria-describedby={errs.target ? 'n-target-error' : undefined} onInput={set('target')} />
        </Field>
        {v.kind !== 'email' && (
          <Field id="n-secret" label={v.kind === 'line' ? t('settings.channel.line.token') : t('notify.secret')} error={errs.secret}>
            <input id="n-secret" type="password" autocomplete="off" value={v.secret} aria-invalid={!!errs.secret} onInput={set('secret')} />
          </Field>
        )}
        <Field id="n-min" label={t('settings.channel.min')}>
          <select id="n-min" value={v.min_severity} onChange={set('min_severity')}>
            {['low', 'medium', 'high', 'critical'].map((s) => (
              <option key={s} value={s}>
                {t('portal.minSeverity', { sev: tv('sev', s) })}
              </option>
            ))}
          </select>
        </Field>
        <button class="btn btn-primary" type="submit">
          {t('settings.channel.submit')}
        </button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

/** The on-call rotation: who is told, in order, when an incident waits too long. */
function OnCallCard({ admin, channels }: { admin: boolean; channels: Channel[] }) {
  const list = useLoad(() => get<{ items: OnCall[] }>('/api/v1/oncall'), []);
  const users = useLoad(() => getAll<User>('/api/v1/users'), []);
  const [rows, setRows] = useState<{ user_id: string; channel_id: string }[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (list.data) setRows(list.data.items.map((x) => ({ user_id: x.user_id, channel_id: x.channel_id })));
  }, [list.data]);
  const staff = (users.data ?? []).filter((u) => isProvider(u.role) && !u.disabled);
  const email = new Map((users.data ?? []).map((u) => [u.id, u.email]));

  async function save() {
    setError(null);
    setSaved(false);
    try {
      await api('PUT', '/api/v1/oncall', { members: rows.filter((r) => r.user_id) });
      setSaved(true);
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  const move = (i: number, d: number) =>
    setRows((rs) => {
      const n = [...rs];
      const j = i + d;
      if (j < 0 || j >= n.length) return rs;
      [n[i], n[j]] = [n[j]!, n[i]!];
      return n;
    });

  return (
    <Card title={t('notify.oncall')}>
      <p class="muted small">{t('notify.oncall.lead')}</p>
      <ErrorBox error={error ?? list.error} />
      {!list.data ? (
        list.error ? null : <Loading />
      ) : !admin ? (
        <ol data-testid="oncall">
          {list.data.items.map((x) => (
            <li key={x.position}>{x.email}</li>
          ))}
          {list.data.items.length === 0 && <li class="muted">{t('common.none')}</li>}
        </ol>
      ) : (
        <>
          <ol class="oncall" data-testid="oncall">
            {rows.map((r, i) => (
              <li key={i}>
                <label class="sr-only" for={`oc-user-${i}`}>
                  {t('notify.oncall.person', { n: i + 1 })}
                </label>
                <select
                  id={`oc-user-${i}`}
                  value={r.user_id}
                  onChange={(e) => {
                    const value = (e.target as HTMLSelectElement).value;
                    setRows((rs) => rs.map((x, k) => (k === i ? { ...x, user_id: value } : x)));
                  }}
                >
                  <option value="">{t('enroll.choose')}</option>
                  {staff.map((u) => (
                    <option key={u.id} value={u.id}>
                      {u.email}
                    </option>
                  ))}
                  {r.user_id && !staff.some((u) => u.id === r.user_id) && <option value={r.user_id}>{email.get(r.user_id) ?? r.user_id}</option>}
                </select>
                <label class="sr-only" for={`oc-channel-${i}`}>
                  {t('notify.oncall.channel', { n: i + 1 })}
                </label>
                <select
                  id={`oc-channel-${i}`}
                  value={r.channel_id}
                  onChange={(e) => {
                    const value = (e.target as HTMLSelectElement).value;
                    setRows((rs) => rs.map((x, k) => (k === i ? { ...x, channel_id: value } : x)));
                  }}
                >
                  <option value="">{t('notify.oncall.byEmail')}</option>
                  {channels.map((c) => (
                    <option key={c.id} value={c.id}>
                      {kindLabel(c.kind)} · {c.name}
                    </option>
                  ))}
                </select>
                <button class="btn btn-small" type="button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={t('notify.oncall.up', { n: i + 1 })}>
                  ↑
                </button>
                <button class="btn btn-small" type="button" disabled={i === rows.length - 1} onClick={() => move(i, 1)} aria-label={t('notify.oncall.down', { n: i + 1 })}>
                  ↓
                </button>
                <button class="btn btn-small btn-danger" type="button" onClick={() => setRows((rs) => rs.filter((_, k) => k !== i))}>
                  {t('settings.channel.remove')}
                </button>
              </li>
            ))}
          </ol>
          <div class="button-row">
            <button class="btn" type="button" onClick={() => setRows((rs) => [...rs, { user_id: '', channel_id: '' }])}>
              {t('notify.oncall.add')}
            </button>
            <button class="btn btn-primary" type="button" onClick={() => void save()}>
              {t('notify.oncall.save')}
            </button>
          </div>
          {saved && (
            <p class="notice" role="status">
              {t('notify.oncall.saved')}
            </p>
          )}
        </>
      )}
    </Card>
  );
}
