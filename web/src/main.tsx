// The console's shell: who is logged in, the menu, the language switch and the screen that the
// address names (routes.tsx).
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { isProvider } from './api';
import { lang, onLangChange, setLang, t } from './i18n';
import { allowed, HOME, routes } from './routes';
import { match, navigate, useLocation } from './router';
import { Login } from './screens/Login';
import { NotFound } from './screens/NotFound';
import { loadSession, logout, useUser } from './session';
import { Loading } from './ui';
import { useState } from 'preact/hooks';

function App() {
  const user = useUser();
  const loc = useLocation();
  const [, bump] = useState(0);
  useEffect(() => onLangChange(() => bump((n) => n + 1)), []);
  useEffect(() => {
    void loadSession();
  }, []);

  if (user === undefined) return <Loading />;
  if (user === null) {
    if (loc.pathname !== '/login') {
      const next = loc.pathname === '/' ? '' : `?next=${encodeURIComponent(loc.pathname + loc.search)}`;
      queueMicrotask(() => navigate(`/login${next}`, true));
      return <Loading />;
    }
    return (
      <>
        <LangSwitch />
        <Login />
      </>
    );
  }
  const audience = isProvider(user.role) ? 'provider' : 'customer';
  if (loc.pathname === '/' || loc.pathname === '/login') {
    queueMicrotask(() => navigate(HOME[audience], true));
    return <Loading />;
  }
  let body = <NotFound />;
  for (const r of routes) {
    const params = match(r.path, loc.pathname);
    if (!params) continue;
    if (allowed(r, audience, user.role)) {
      const Screen = r.screen;
      body = <Screen key={loc.pathname} {...params} />;
    }
    break;
  }
  return (
    <>
      <a class="skip" href="#main">
        {t('app.skip')}
      </a>
      <header class="top">
        <a class="brand" href="/">
          {t('app.name')}
        </a>
        <nav aria-label={t('nav.label')}>
          <ul>
            {routes
              .filter((r) => r.nav && allowed(r, audience, user.role))
              .map((r) => (
                <li key={r.path}>
                  <a href={r.path} aria-current={loc.pathname === r.path ? 'page' : undefined}>
                    {t(r.nav!)}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <div class="top-right">
          <span class="muted small">{user.name || user.email}</span>
          <LangSwitch />
          <button class="btn btn-small" type="button" onClick={() => void logout().then(() => navigate('/login', true))}>
            {t('app.logout')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

function LangSwitch() {
  const other = lang() === 'ja' ? 'en' : 'ja';
  return (
    <button class="btn btn-small lang" type="button" lang={other} onClick={() => setLang(other)}>
      {other === 'en' ? 'English' : '日本語'}
    </button>
  );
}

render(<App />, document.getElementById('app')!);
