// The small design system: building blocks every screen uses (see styles.css).
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { t, tv } from './i18n';
import { ApiError } from './api';

export type Light = 'red' | 'amber' | 'green';

export function TrafficLight({ light }: { light: Light }) {
  const label = light === 'red' ? t('light.red') : light === 'amber' ? t('light.amber') : t('light.green');
  return (
    <span class={`light light-${light}`} data-light={light}>
      <span class="light-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function Severity({ value }: { value: string }) {
  return <span class={`badge sev-${value}`}>{tv('sev', value)}</span>;
}

export function Status({ value }: { value: string }) {
  return <span class={`badge status-${value}`}>{tv('status', value)}</span>;
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} | ${t('app.name')}`;
  }, [title]);
  return (
    <section class="page">
      <div class="page-head">
        <h1>{title}</h1>
        {actions && <div class="page-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

export function Card({ title, children }: { title?: string; children: ComponentChildren }) {
  return (
    <section class="card">
      {title && <h2>{title}</h2>}
      {children}
    </section>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {errorText(error)}
    </p>
  );
}

/** A message for a failed request, in the current language, with the server's own words. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return t('error.unauthorized');
    if (e.status === 403) return t('error.forbidden', { detail: e.message });
    if (e.status === 404) return t('error.notfound');
    if (e.status === 429) return t('error.busy');
    return t('error.server', { status: e.status, detail: e.message });
  }
  return t('error.network');
}

export function Loading() {
  return (
    <p class="muted" role="status">
      {t('common.loading')}
    </p>
  );
}

/** Loads `load()` once per change of `deps`; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): {
  data: T | undefined;
  error: unknown;
  reload: () => void;
} {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => {
        if (live) {
          setData(d);
          setError(null);
        }
      },
      (e: unknown) => {
        if (live) setError(e);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

export function Field({
  label,
  error,
  children,
  id,
}: {
  label: string;
  error?: string | null | undefined;
  children: ComponentChildren;
  id: string;
}) {
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {error && (
        <p class="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
