// The organisation's settings, for its customer admin: contacts (the organisation's users: add
// one, stop or restore a login) and where notices go (e-mail and LINE channels: add, remove).
// Webhook, Slack and Teams channels are the provider's to set up and only shown here.
import { useState } from 'preact/hooks';
import { api, ApiError, get, getAll, post, type User } from '../api';
import { t, tv } from '../i18n';
import { currentUser } from '../session';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

export interface Channel {
  id: string;
  customer_id: string | null;
  name: string;
  kind: string;
  target: string;
  min_severity: string;
  enabled: boolean;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

export function PortalSettings() {
  const me = currentUser();
  if (!me?.customer_id) return <Loading />;
  return (
    <Page title={t('settings.title')}>
      <Contacts customer={me.customer_id} self={me.id} />
      <Channels customer={me.customer_id} />
      <p>
        <a href="/portal">{t('portal.back')}</a>
      </p>
    </Page>
  );
}

function Contacts({ customer, self }: { customer: string; self: string }) {
  const users = useLoad(() => getAll<User>(`/api/v1/users?customer_id=${encodeURIComponent(customer)}`), [customer]);
  const [v, setV] = useState({ name: '', email: '', password: '', role: 'customer_user' });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  async function add(e: Event) {
    e.preventDefault();
    setDone(null);
    setError(null);
    const x: Record<string, string> = {};
    if (!v.name.trim()) x.name = t('form.required');
    if (!v.email.trim()) x.email = t('login.email.required');
    else if (!EMAIL.test(v.email.trim())) x.email = t('login.email.invalid');
    if (!v.password) x.password = t('form.required');
    else if ([...v.password].length < 12) x.password = t('account.password.short');
    setErrs(x);
    if (Object.keys(x).length) return;
    try {
      await post('/api/v1/users', { name: v.name.trim(), email: v.email.trim(), password: v.password, role: v.role, customer_id: customer });
      setDone(t('settings.user.added', { email: v.email.trim() }));
      setV({ name: '', email: '', password: '', role: 'customer_user' });
      users.reload();
    } catch (x2) {
      if (x2 instanceof ApiError && x2.status === 409) setErrs({ email: t('settings.user.exists') });
      else setError(x2);
    }
  }

  async function setDisabled(u: User, disabled: boolean) {
    if (disabled && !window.confirm(t('settings.user.disable.confirm', { email: u.email }))) return;
    setError(null);
    setDone(null);
    try {
      await post(`/api/v1/users/${encodeURIComponent(u.id)}/${disabled ? 'disable' : 'enable'}`);
      users.reload();
    } catch (x) {
      setError(x);
    }
  }

  const input = (name: keyof typeof v, label: string, type = 'text', autocomplete = 'off') => (
    <Field id={`u-${name}`} label={label} error={errs[name]}>
      <input
        id={`u-${name}`}
        type={type}
        autocomplete={autocomplete}
        value={v[name]}
        aria-invalid={!!errs[name]}
        aria-describedby={errs[name] ? `u-${name}-error` : undefined}
        onInput={(e) => {
          const value = (e.target as HTMLInputElement).value;
          setV((s) => ({ ...s, [name]: value }));
        }}
      />
    </Field>
  );

  return (
    <Card title={t('settings.contacts')}>
      <p class="muted small">{t('settings.contacts.lead')}</p>
      <ErrorBox error={error ?? users.error} />
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      {!users.data ? (
        users.error ? null : <Loading />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">{t('settings.contacts')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('account.name')}</th>
                <th scope="col">{t('login.email')}</th>
                <th scope="col">{t('account.role')}</th>
                <th scope="col">{t('device.state')}</th>
                <th scope="col">
                  <span class="sr-only">{t('settings.user.change')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id} data-user={u.email}>
                  <td>{u.name}</td>
                  <td>{u.email}</td>
                  <td>{tv('role', u.role)}</td>
                  <td>
                    {u.disabled ? (
                      <span class="badge badge-revoked">{t('settings.user.disabled')}</span>
                    ) : (
                      <span class="badge badge-ok">{t('settings.user.active')}</span>
                    )}
                  </td>
                  <td>
                    {u.id !== self &&
                      (u.disabled ? (
                        <button class="btn btn-small" type="button" onClick={() => void setDisabled(u, false)}>
                          {t('settings.user.enable')}
                        </button>
                      ) : (
                        <button class="btn btn-small btn-danger" type="button" onClick={() => void setDisabled(u, true)}>
                          {t('settings.user.disable')}
                        </button>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>{t('settings.user.add')}</h3>
      <form class="stack-form" onSubmit={add} noValidate>
        {input('name', t('account.name'))}
        {input('email', t('login.email'), 'email')}
        {input('password', t('settings.user.password'), 'password', 'new-password')}
        <Field id="u-role" label={t('account.role')}>
          <select id="u-role" value={v.role} onChange={(e) => setV((s) => ({ ...s, role: (e.target as HTMLSelectElement).value }))}>
            <option value="customer_user">{t('role.customer_user')}</option>
            <option value="customer_admin">{t('role.customer_admin')}</option>
          </select>
        </Field>
        <button class="btn btn-primary" type="submit">
          {t('settings.user.submit')}
        </button>
      </form>
    </Card>
  );
}

function Channels({ customer }: { customer: string }) {
  const list = useLoad(() => get<{ items: Channel[] }>(`/api/v1/channels?customer_id=${encodeURIComponent(customer)}`), [customer]);
  const [v, setV] = useState({ kind: 'email', name: '', target: '', secret: '', min_severity: 'medium' });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);

  async function add(e: Event) {
    e.preventDefault();
    setError(null);
    const x: Record<string, string> = {};
    const target = v.target.trim();
    if (!target) x.target = v.kind === 'email' ? t('login.email.required') : t('form.required');
    else if (v.kind === 'email' && !EMAIL.test(target)) x.target = t('login.email.invalid');
    else if (v.kind === 'line' && !/^[UCR][0-9a-f]{32}$/.test(target)) x.target = t('settings.channel.line.invalid');
    if (v.kind === 'line' && !v.secret.trim()) x.secret = t('form.required');
    setErrs(x);
    if (Object.keys(x).length) return;
    try {
      await post('/api/v1/channels', {
        customer_id: customer,
        kind: v.kind,
        name: v.name.trim() || (v.kind === 'line' ? 'LINE' : t('portal.email')),
        target,
        secret: v.kind === 'line' ? v.secret.trim() : '',
        min_severity: v.min_severity,
      });
      setV((s) => ({ ...s, name: '', target: '', secret: '' }));
      list.reload();
    } catch (x2) {
      setError(x2);
    }
  }

  async function remove(c: Channel) {
    if (!window.confirm(t('settings.channel.remove.confirm', { name: c.name }))) return;
    setError(null);
    try {
      await api('DELETE', `/api/v1/channels/${encodeURIComponent(c.id)}`);
      list.reload();
    } catch (x) {
      setError(x);
    }
  }

  const kindLabel = (k: string) => (k === 'line' ? 'LINE' : k === 'email' ? t('portal.email') : k);

  return (
    <Card title={t('settings.channels')}>
      <p class="muted small">{t('settings.channels.lead')}</p>
      <ErrorBox error={error ?? list.error} />
      {list.data && (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">{t('settings.channels')}</caption>
            <thead>
              <tr>
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
              {list.data.items.map((c) => (
                <tr key={c.id} data-channel={c.id}>
                  <td>{kindLabel(c.kind)}</td>
                  <td>{c.name}</td>
                  <td>{c.target}</td>
                  <td>{t('portal.minSeverity', { sev: tv('sev', c.min_severity) })}</td>
                  <td>
                    {(c.kind === 'email' || c.kind === 'line') && (
                      <button class="btn btn-small btn-danger" type="button" onClick={() => void remove(c)}>
                        {t('settings.channel.remove')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={5} class="muted">
                    {t('common.none')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      <h3>{t('settings.channel.add')}</h3>
      <form class="stack-form" onSubmit={add} noValidate>
        <Field id="c-kind" label={t('settings.channel.kind')}>
          <select
            id="c-kind"
            value={v.kind}
            onChange={(e) => {
              setErrs({});
              setV((s) => ({ ...s, kind: (e.target as HTMLSelectElement).value }));
            }}
          >
            <option value="email">{t('portal.email')}</option>
            <option value="line">LINE</option>
          </select>
        </Field>
        <Field id="c-name" label={t('settings.channel.name')}>
          <input id="c-name" value={v.name} onInput={(e) => setV((s) => ({ ...s, name: (e.target as HTMLInputElement).value }))} />
        </Field>
        <Field id="c-target" label={v.kind === 'line' ? t('settings.channel.line.to') : t('settings.channel.email.to')} error={errs.target}>
          <input
            id="c-target"
            type={v.kind === 'email' ? 'email' : 'text'}
            value={v.target}
            aria-invalid={!!errs.target}
            aria-describedby={errs.target ? 'c-target-error' : undefined}
            onInput={(e) => setV((s) => ({ ...s, target: (e.target as HTMLInputElement).value }))}
          />
        </Field>
        {v.kind === 'line' && (
          <Field id="c-secret" label={t('settings.channel.line.token')} error={errs.secret}>
            <input
              id="c-secret"
              type="password"
              autocomplete="off"
              value={v.secret}
              aria-invalid={!!errs.secret}
              aria-describedby={errs.secret ? 'c-secret-error' : undefined}
              onInput={(e) => setV((s) => ({ ...s, secret: (e.target as HTMLInputElement).value }))}
            />
          </Field>
        )}
        <Field id="c-min" label={t('settings.channel.min')}>
          <select id="c-min" value={v.min_severity} onChange={(e) => setV((s) => ({ ...s, min_severity: (e.target as HTMLSelectElement).value }))}>
            {SEVERITIES.map((s) => (
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
    </Card>
  );
}
