// Customers, users and roles, for the provider admin and analysts: customers (the provider admin
// adds one), every user with role, customer, second factor and state; adding a user (the
// provider admin any role, an analyst customer roles), stopping and restoring a login, ending a
// user's sessions and setting a new password (provider admin). The server checks every role.
import { useState } from 'preact/hooks';
import { ApiError, api, get, getAll, post, type Customer, type Role, type User } from '../api';
import { CustomerPicker, useCustomerNames } from '../components/CustomerPicker';
import { t, tv } from '../i18n';
import { navigate, useLocation } from '../router';
import { currentUser } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PROVIDER_ROLES: Role[] = ['provider_admin', 'analyst', 'technician', 'desk'];
const CUSTOMER_ROLES: Role[] = ['customer_admin', 'customer_user'];

export function Users() {
  const loc = useLocation();
  const filter = loc.searchParams.get('customer_id') ?? '';
  const me = currentUser();
  const admin = me?.role === 'provider_admin';
  const users = useLoad(() => getAll<User>(`/api/v1/users${filter ? `?customer_id=${encodeURIComponent(filter)}` : ''}`), [filter]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const names = useCustomerNames((users.data ?? []).map((u) => u.customer_id ?? ''));

  async function act(u: User, action: 'disable' | 'enable' | 'sessions/revoke') {
    if (action === 'disable' && !window.confirm(t('settings.user.disable.confirm', { email: u.email }))) return;
    setError(null);
    setNotice(null);
    try {
      await post(`/api/v1/users/${encodeURIComponent(u.id)}/${action}`);
      if (action === 'sessions/revoke') setNotice(t('users.sessions.ended', { email: u.email }));
      users.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Page title={t('users.title')}>
      {admin && <NewCustomer />}
      <NewUser admin={admin} onAdded={users.reload} />
      <Card title={t('users.list')}>
        <div class="filters">
          <div class="filter">
            <label for="us-customer">{t('queue.customer')}</label>
            <CustomerPicker
              id="us-customer"
              allowAll
              value={filter}
              onChange={(v) => navigate(`/users${v ? `?customer_id=${encodeURIComponent(v)}` : ''}`, true)}
            />
          </div>
        </div>
        {filter && <Prefecture key={filter} customer={filter} admin={admin} />}
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <ErrorBox error={error ?? users.error} />
        {!users.data ? (
          users.error ? null : <Loading />
        ) : (
          <div class="table-wrap">
            <table class="table">
              <caption class="sr-only">{t('users.list')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('login.email')}</th>
                  <th scope="col">{t('account.role')}</th>
                  <th scope="col">{t('queue.customer')}</th>
                  <th scope="col">{t('users.totp')}</th>
                  <th scope="col">{t('device.state')}</th>
                  {admin && (
                    <th scope="col">
                      <span class="sr-only">{t('settings.user.change')}</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {users.data.map((u) => (
                  <tr key={u.id} data-user={u.email}>
                    <td>
                      {u.email}
                      <div class="muted small">{u.name}</div>
                    </td>
                    <td>{tv('role', u.role)}</td>
                    <td>{u.customer_id ? (names.get(u.customer_id) ?? u.customer_id) : t('users.provider')}</td>
                    <td>{u.totp_enabled ? t('account.totp.on') : '—'}</td>
                    <td>
                      {u.disabled ? (
                        <span class="badge badge-revoked">{t('settings.user.disabled')}</span>
                      ) : (
                        <span class="badge badge-ok">{t('settings.user.active')}</span>
                      )}
                    </td>
                    {admin && (
                      <td>
                        {u.id !== me?.id && (
                          <div class="button-row">
                            {u.disabled ? (
                              <button class="btn btn-small" type="button" onClick={() => void act(u, 'enable')}>
                                {t('settings.user.enable')}
                              </button>
                            ) : (
                              <button class="btn btn-small btn-danger" type="button" onClick={() => void act(u, 'disable')}>
                                {t('settings.user.disable')}
                              </button>
                            )}
                            <button class="btn btn-small" type="button" onClick={() => void act(u, 'sessions/revoke')}>
                              {t('users.sessions.end')}
                            </button>
                            <ResetPassword u={u} />
                          </div>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </Page>
  );
}

function NewCustomer() {
  const [name, setName] = useState('');
  const [invalid, setInvalid] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  async function add(e: Event) {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (!name.trim()) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    try {
      await post('/api/v1/customers', { name: name.trim() });
      setDone(t('users.customer.added', { name: name.trim() }));
      setName('');
    } catch (x) {
      setError(x);
    }
  }

  return (
    <Card title={t('users.customer.add')}>
      <form class="inline-form" onSubmit={add} noValidate>
        <Field id="cu-name" label={t('users.customer.name')} error={invalid ? t('form.required') : null}>
          <input
            id="cu-name"
            value={name}
            aria-invalid={invalid}
            aria-describedby={invalid ? 'cu-name-error' : undefined}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </Field>
        <button class="btn" type="submit">
          {t('users.customer.submit')}
        </button>
      </form>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}

function NewUser({ admin, onAdded }: { admin: boolean; onAdded: () => void }) {
  const roles = admin ? [...PROVIDER_ROLES, ...CUSTOMER_ROLES] : CUSTOMER_ROLES;
  const [v, setV] = useState({ name: '', email: '', password: '', role: 'customer_user', customer_id: '' });
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const forCustomer = CUSTOMER_ROLES.includes(v.role as Role);

  async function add(e: Event) {
    e.preventDefault();
    setError(null);
    setDone(null);
    const x: Record<string, string> = {};
    if (!v.name.trim()) x.name = t('form.required');
    if (!v.email.trim()) x.email = t('login.email.required');
    else if (!EMAIL.test(v.email.trim())) x.email = t('login.email.invalid');
    if (!v.password) x.password = t('form.required');
    else if ([...v.password].length < 12) x.password = t('account.password.short');
    if (forCustomer && !v.customer_id) x.customer_id = t('enroll.customer.required');
    setErrs(x);
    if (Object.keys(x).length) return;
    try {
      await post('/api/v1/users', {
        name: v.name.trim(),
        email: v.email.trim(),
        password: v.password,
        role: v.role,
        customer_id: forCustomer ? v.customer_id : '',
      });
      setDone(t('settings.user.added', { email: v.email.trim() }));
      setV((s) => ({ ...s, name: '', email: '', password: '' }));
      onAdded();
    } catch (x2) {
      if (x2 instanceof ApiError && x2.status === 409) setErrs({ email: t('settings.user.exists') });
      else setError(x2);
    }
  }

  const input = (name: 'name' | 'email' | 'password', label: string, type = 'text') => (
    <Field id={`nu-${name}`} label={label} error={errs[name]}>
      <input
        id={`nu-${name}`}
        type={type}
        autocomplete={type === 'password' ? 'new-password' : 'off'}
        value={v[name]}
        aria-invalid={!!errs[name]}
        aria-describedby={errs[name] ? `nu-${name}-error` : undefined}
        onInput={(e) => {
          const value = (e.target as HTMLInputElement).value;
          setV((s) => ({ ...s, [name]: value }));
        }}
      />
    </Field>
  );

  return (
    <Card title={t('settings.user.add')}>
      <form class="stack-form" onSubmit={add} noValidate>
        {input('name', t('account.name'))}
        {input('email', t('login.email'), 'email')}
        {input('password', t('settings.user.password'), 'password')}
        <Field id="nu-role" label={t('account.role')}>
          <select id="nu-role" value={v.role} onChange={(e) => setV((s) => ({ ...s, role: (e.target as HTMLSelectElement).value }))}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {tv('role', r)}
              </option>
            ))}
          </select>
        </Field>
        {forCustomer && (
          <Field id="nu-customer" label={t('queue.customer')} error={errs.customer_id}>
            <CustomerPicker
              id="nu-customer"
              value={v.customer_id}
              required
              describedBy={errs.customer_id ? 'nu-customer-error' : undefined}
              onChange={(id) => setV((s) => ({ ...s, customer_id: id }))}
            />
          </Field>
        )}
        <button class="btn btn-primary" type="submit">
          {t('settings.user.submit')}
        </button>
      </form>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}

/** The provider admin sets a new password for a user (who then logs in with it). */
function ResetPassword({ u }: { u: User }) {
  const [open, setOpen] = useState(false);
  const [pw, setPw] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const id = `rp-${u.id}`;

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    if ([...pw].length < 12) {
      setInvalid(t('account.password.short'));
      return;
    }
    setInvalid(null);
    try {
      await post(`/api/v1/users/${encodeURIComponent(u.id)}/password`, { password: pw });
      setPw('');
      setOpen(false);
      setDone(true);
    } catch (x) {
      setError(x);
    }
  }

  if (!open)
    return (
      <>
        <button class="btn btn-small" type="button" onClick={() => setOpen(true)}>
          {t('users.password.reset')}
        </button>
        {done && (
          <span class="muted small" role="status">
            {t('users.password.done', { at: jst(new Date().toISOString()) })}
          </span>
        )}
      </>
    );
  return (
    <form class="inline-form" onSubmit={save} noValidate>
      <Field id={id} label={t('users.password.new', { email: u.email })} error={invalid}>
        <input
          id={id}
          type="password"
          autocomplete="new-password"
          value={pw}
          aria-invalid={!!invalid}
          aria-describedby={invalid ? `${id}-error` : undefined}
          onInput={(e) => setPw((e.target as HTMLInputElement).value)}
        />
      </Field>
      <button class="btn btn-small btn-primary" type="submit">
        {t('users.password.save')}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

/** The chosen customer's prefecture (where it is served on site); the provider admin changes it. */
function Prefecture({ customer, admin }: { customer: string; admin: boolean }) {
  const c = useLoad(() => get<Customer>(`/api/v1/customers/${encodeURIComponent(customer)}`), [customer]);
  const [value, setValue] = useState<string | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const shown = value ?? c.data?.prefecture ?? '';

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setInvalid(null);
    setDone(false);
    try {
      await api<Customer>('PATCH', `/api/v1/customers/${encodeURIComponent(customer)}`, { prefecture: shown.trim() });
      setDone(true);
      c.reload();
    } catch (x) {
      if (x instanceof ApiError && x.status === 400) setInvalid(x.message);
      else setError(x);
    }
  }

  if (!c.data) return <ErrorBox error={c.error} />;
  return (
    <Card title={c.data.name}>
      {admin ? (
        <form class="inline-form" onSubmit={save} noValidate>
          <Field id="cu-prefecture" label={t('customers.prefecture')} error={invalid}>
            <input
              id="cu-prefecture"
              value={shown}
              aria-invalid={!!invalid}
              aria-describedby={invalid ? 'cu-prefecture-error' : undefined}
              onInput={(e) => {
                setDone(false);
                setValue((e.target as HTMLInputElement).value);
              }}
            />
          </Field>
          <button class="btn" type="submit">
            {t('customers.prefecture.save')}
          </button>
        </form>
      ) : (
        <p>
          {t('customers.prefecture')}: {c.data.prefecture || t('customers.prefecture.none')}
        </p>
      )}
      {done && (
        <p class="notice" role="status">
          {t('customers.prefecture.saved')}
        </p>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}
