// Login: e-mail and password, then (for an account with TOTP) the six-digit code.
import { useState } from 'preact/hooks';
import { ApiError, post, type User } from '../api';
import { t } from '../i18n';
import { navigate } from '../router';
import { loggedIn } from '../session';
import { Field } from '../ui';

interface LoginAnswer {
  user: User;
  csrf_token: string;
}

export function Login() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!email.trim()) errs.email = t('login.email.required');
    else if (!/^[^@\s]+@[^@\s]+$/.test(email.trim())) errs.email = t('login.email.invalid');
    if (!password) errs.password = t('login.password.required');
    if (needTotp && !/^\d{6}$/.test(totp.trim())) errs.totp = t('login.totp.invalid');
    setFieldErrors(errs);
    setError(null);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      const body: Record<string, string> = { email: email.trim(), password };
      if (needTotp) body.totp = totp.trim();
      const r = await post<LoginAnswer>('/api/v1/login', body);
      loggedIn(r.user, r.csrf_token);
      const next = new URL(location.href).searchParams.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && /TOTP code is required/i.test(err.message)) {
        setNeedTotp(true);
        setError(null);
      } else if (err instanceof ApiError && err.status === 401) {
        setError(needTotp ? t('login.failed.totp') : t('login.failed'));
      } else if (err instanceof ApiError && err.status === 429) {
        setError(t('login.locked'));
      } else {
        setError(t('error.network'));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login" id="main">
      <form class="card login-card" onSubmit={submit} noValidate aria-labelledby="login-title">
        <h1 id="login-title">{t('app.name')}</h1>
        <p class="muted">{needTotp ? t('login.totp.lead') : t('login.lead')}</p>
        {!needTotp && (
          <>
            <Field id="email" label={t('login.email')} error={fieldErrors.email}>
              <input
                id="email"
                type="email"
                autocomplete="username"
                value={email}
                aria-invalid={!!fieldErrors.email}
                aria-describedby={fieldErrors.email ? 'email-error' : undefined}
                onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
              />
            </Field>
            <Field id="password" label={t('login.password')} error={fieldErrors.password}>
              <input
                id="password"
                type="password"
                autocomplete="current-password"
                value={password}
                aria-invalid={!!fieldErrors.password}
                aria-describedby={fieldErrors.password ? 'password-error' : undefined}
                onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
              />
            </Field>
          </>
        )}
        {needTotp && (
          <Field id="totp" label={t('login.totp')} error={fieldErrors.totp}>
            <input
              id="totp"
              inputMode="numeric"
              autocomplete="one-time-code"
              maxLength={6}
              value={totp}
              autoFocus
              aria-invalid={!!fieldErrors.totp}
              aria-describedby={fieldErrors.totp ? 'totp-error' : undefined}
              onInput={(e) => setTotp((e.target as HTMLInputElement).value)}
            />
          </Field>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="btn btn-primary" type="submit" disabled={busy}>
          {needTotp ? t('login.verify') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}
