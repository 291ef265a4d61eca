// The own account, for every user: who I am, changing my password, the second factor (TOTP with
// a QR code, provider staff) and my API tokens (the token is shown once, when made).
import { useState } from 'preact/hooks';
import { ApiError, api, get, isProvider, post } from '../api';
import { t, tv } from '../i18n';
import { QrCode } from '../qr';
import { currentUser, loadSession } from '../session';
import { jst } from '../time';
import { Card, ErrorBox, Field, Loading, Page, useLoad } from '../ui';

interface Token {
  id: string;
  user_id: string;
  name: string;
  created_at: string;
  revoked: boolean;
}

export function Account() {
  const me = currentUser();
  if (!me) return <Loading />;
  return (
    <Page title={t('account.title')}>
      <Card title={t('account.profile')}>
        <dl class="facts">
          <dt>{t('account.name')}</dt>
          <dd>{me.name || '—'}</dd>
          <dt>{t('login.email')}</dt>
          <dd>{me.email}</dd>
          <dt>{t('account.role')}</dt>
          <dd>{tv('role', me.role)}</dd>
        </dl>
      </Card>
      <PasswordForm />
      {isProvider(me.role) && <Totp enabled={me.totp_enabled} />}
      <Tokens />
    </Page>
  );
}

function PasswordForm() {
  const [v, setV] = useState({ current: '', next: '', again: '' });
  const [errors, setErrors] = useState<Partial<Record<keyof typeof v, string>>>({});
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setDone(false);
    setError(null);
    const errs: typeof errors = {};
    if (!v.current) errs.current = t('form.required');
    if (!v.next) errs.next = t('form.required');
    else if ([...v.next].length < 12) errs.next = t('account.password.short');
    if (v.next && v.again !== v.next) errs.again = t('account.password.mismatch');
    setErrors(errs);
    if (Object.keys(errs).length) return;
    try {
      await post('/api/v1/me/password', { current_password: v.current, new_password: v.next });
      setV({ current: '', next: '', again: '' });
      setDone(true);
    } catch (x) {
      if (x instanceof ApiError && x.status === 403) setErrors({ current: t('account.password.wrong') });
      else setError(x);
    }
  }

  const input = (name: keyof typeof v, label: string, autocomplete: string) => (
    <Field id={`pw-${name}`} label={label} error={errors[name]}>
      <input
        id={`pw-${name}`}
        type="password"
        autocomplete={autocomplete}
        value={v[name]}
        aria-invalid={!!errors[name]}
        aria-describedby={errors[name] ? `pw-${name}-error` : undefined}
        onInput={(e) => {
          const value = (e.target as HTMLInputElement).value;
          setV((s) => ({ ...s, [name]: value }));
        }}
      />
    </Field>
  );

  return (
    <Card title={t('account.password')}>
      <form class="stack-form" onSubmit={submit} noValidate>
        {input('current', t('account.password.current'), 'current-password')}
        {input('next', t('account.password.new'), 'new-password')}
        {input('again', t('account.password.again'), 'new-password')}
        <p class="muted small">{t('account.password.hint')}</p>
        <button class="btn btn-primary" type="submit">
          {t('account.password.submit')}
        </button>
      </form>
      {done && (
        <p class="notice" role="status">
          {t('account.password.done')}
        </p>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}

function Totp({ enabled }: { enabled: boolean }) {
  const [setup, setSetup] = useState<{ secret: string; otpauth_url: string } | null>(null);
  const [code, setCode] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function begin() {
    setError(null);
    try {
      setSetup(await post<{ secret: string; otpauth_url: string }>('/api/v1/me/totp'));
    } catch (e) {
      setError(e);
    }
  }

  async function confirm(e: Event) {
    e.preventDefault();
    setError(null);
    if (!/^\d{6}$/.test(code.trim())) {
      setInvalid(t('login.totp.invalid'));
      return;
    }
    setInvalid(null);
    try {
      await post('/api/v1/me/totp/confirm', { code: code.trim() });
      setSetup(null);
      setCode('');
      await loadSession();
    } catch (x) {
      if (x instanceof ApiError && (x.status === 400 || x.status === 403)) setInvalid(t('login.failed.totp'));
      else setError(x);
    }
  }

  return (
    <Card title={t('account.totp')}>
      {enabled ? (
        <p data-testid="totp-state">
          <span class="badge badge-ok">{t('account.totp.on')}</span> {t('account.totp.on.lead')}
        </p>
      ) : !setup ? (
        <>
          <p data-testid="totp-state">
            <span class="badge badge-silent">{t('account.totp.off')}</span> {t('account.totp.off.lead')}
          </p>
          <button class="btn btn-primary" type="button" onClick={() => void begin()}>
            {t('account.totp.begin')}
          </button>
        </>
      ) : (
        <form class="stack-form" onSubmit={confirm} noValidate>
          <p>{t('account.totp.scan')}</p>
          <QrCode text={setup.otpauth_url} label={t('account.totp.qr')} />
          <p class="muted small">
            {t('account.totp.manual')} <code data-testid="totp-secret">{setup.secret}</code>
          </p>
          <Field id="totp-code" label={t('login.totp')} error={invalid}>
            <input
              id="totp-code"
              inputMode="numeric"
              autocomplete="one-time-code"
              value={code}
              aria-invalid={!!invalid}
              aria-describedby={invalid ? 'totp-code-error' : undefined}
              onInput={(e) => setCode((e.target as HTMLInputElement).value)}
            />
          </Field>
          <button class="btn btn-primary" type="submit">
            {t('account.totp.confirm')}
          </button>
        </form>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}

function Tokens() {
  const list = useLoad(() => get<{ items: Token[] }>('/api/v1/tokens'), []);
  const [name, setName] = useState('');
  const [invalid, setInvalid] = useState(false);
  const [made, setMade] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function create(e: Event) {
    e.preventDefault();
    setError(null);
    if (!name.trim()) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    try {
      const r = await post<{ token: string }>('/api/v1/tokens', { name: name.trim() });
      setMade(r.token);
      setName('');
      list.reload();
    } catch (x) {
      setError(x);
    }
  }

  async function revoke(x: Token) {
    if (!window.confirm(t('account.tokens.revoke.confirm', { name: x.name }))) return;
    setError(null);
    try {
      await api('DELETE', `/api/v1/tokens/${encodeURIComponent(x.id)}`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Card title={t('account.tokens')}>
      <p class="muted small">{t('account.tokens.lead')}</p>
      <form class="inline-form" onSubmit={create} noValidate>
        <Field id="token-name" label={t('account.tokens.name')} error={invalid ? t('form.required') : null}>
          <input
            id="token-name"
            value={name}
            maxLength={100}
            aria-invalid={invalid}
            aria-describedby={invalid ? 'token-name-error' : undefined}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </Field>
        <button class="btn" type="submit">
          {t('account.tokens.create')}
        </button>
      </form>
      {made && (
        <div class="notice" role="status">
          <p>{t('account.tokens.made')}</p>
          <code class="code-line" data-testid="new-token">
            {made}
          </code>
        </div>
      )}
      <ErrorBox error={error ?? list.error} />
      {list.data && (
        <table class="table">
          <caption class="sr-only">{t('account.tokens')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('account.tokens.name')}</th>
              <th scope="col">{t('account.tokens.created')}</th>
              <th scope="col">{t('device.state')}</th>
              <th scope="col">
                <span class="sr-only">{t('account.tokens.revoke')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((x) => (
              <tr key={x.id} data-token={x.id}>
                <td>{x.name}</td>
                <td>{jst(x.created_at)}</td>
                <td>{x.revoked ? <span class="badge badge-revoked">{t('status.revoked')}</span> : <span class="badge badge-ok">{t('account.tokens.active')}</span>}</td>
                <td>
                  {!x.revoked && (
                    <button class="btn btn-small btn-danger" type="button" onClick={() => void revoke(x)}>
                      {t('account.tokens.revoke')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {list.data.items.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  {t('common.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Card>
  );
}
