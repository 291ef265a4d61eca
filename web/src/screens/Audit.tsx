// The audit log: every change and every denied attempt, newest first, with filters (customer,
// actor, action, outcome) kept in the address and pages of 50. Provider roles see every
// customer's entries; a customer admin sees their organisation's (the server decides).
import { useState } from 'preact/hooks';
import { get, isProvider, type Page as ApiPage } from '../api';
import { CustomerPicker, useCustomerNames } from '../components/CustomerPicker';
import { t } from '../i18n';
import { navigate, useLocation } from '../router';
import { currentUser } from '../session';
import { jst } from '../time';
import { ErrorBox, Loading, Page, useLoad } from '../ui';

const PAGE = 50;

export interface AuditEntry {
  at: string;
  actor: string;
  customer_id: string;
  action: string;
  object_type: string;
  object_id: string;
  before: string;
  after: string;
  source_ip: string;
  outcome: string;
}

export function Audit() {
  const loc = useLocation();
  const q = loc.searchParams;
  const f = {
    customer_id: q.get('customer_id') ?? '',
    actor: q.get('actor') ?? '',
    action: q.get('action') ?? '',
    outcome: q.get('outcome') ?? '',
    page: Number(q.get('page') ?? '0') || 0,
  };
  const key = JSON.stringify(f);
  const me = currentUser();
  const provider = !!me && isProvider(me.role);
  const list = useLoad(() => {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String(f.page * PAGE) });
    for (const k of ['customer_id', 'actor', 'action', 'outcome'] as const) if (f[k]) p.set(k, f[k]);
    return get<ApiPage<AuditEntry>>(`/api/v1/audit?${p}`);
  }, [key]);
  const [draft, setDraft] = useState({ actor: f.actor, action: f.action });
  const names = useCustomerNames(provider ? (list.data?.items ?? []).map((e) => e.customer_id) : []);

  function go(next: Partial<typeof f>) {
    const all = { ...f, page: 0, ...next };
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(all)) if (v) p.set(k, String(v));
    navigate(`/audit${p.size ? `?${p}` : ''}`, true);
  }

  return (
    <Page title={t('audit.title')}>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ actor: draft.actor.trim(), action: draft.action.trim() });
        }}
      >
        {provider && (
          <div class="filter">
            <label for="a-customer">{t('queue.customer')}</label>
            <CustomerPicker id="a-customer" allowAll value={f.customer_id} onChange={(id) => go({ customer_id: id })} />
          </div>
        )}
        <div class="filter">
          <label for="a-outcome">{t('audit.outcome')}</label>
          <select id="a-outcome" value={f.outcome} onChange={(e) => go({ outcome: (e.target as HTMLSelectElement).value })}>
            <option value="">{t('common.all')}</option>
            <option value="ok">{t('audit.outcome.ok')}</option>
            <option value="denied">{t('audit.outcome.denied')}</option>
          </select>
        </div>
        <div class="filter">
          <label for="a-actor">{t('audit.actor')}</label>
          <input id="a-actor" value={draft.actor} onInput={(e) => setDraft((d) => ({ ...d, actor: (e.target as HTMLInputElement).value }))} />
        </div>
        <div class="filter">
          <label for="a-action">{t('audit.action')}</label>
          <input
            id="a-action"
            value={draft.action}
            placeholder="incident.close"
            onInput={(e) => setDraft((d) => ({ ...d, action: (e.target as HTMLInputElement).value }))}
          />
        </div>
        <div class="filter">
          <button class="btn" type="submit">
            {t('audit.search')}
          </button>
        </div>
      </form>
      <ErrorBox error={list.error} />
      {!list.data ? (
        list.error ? null : <Loading />
      ) : (
        <div class="table-wrap">
          <table class="table" data-testid="audit-table">
            <caption class="sr-only">{t('audit.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('audit.at')}</th>
                <th scope="col">{t('audit.actor')}</th>
                <th scope="col">{t('audit.action')}</th>
                <th scope="col">{t('audit.object')}</th>
                {provider && <th scope="col">{t('queue.customer')}</th>}
                <th scope="col">{t('audit.outcome')}</th>
                <th scope="col">{t('audit.source')}</th>
                <th scope="col">{t('audit.change')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((e, i) => (
                <tr key={`${e.at}-${i}`} data-action={e.action} data-outcome={e.outcome}>
                  <td>{jst(e.at)}</td>
                  <td>{e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {e.object_type} <span class="muted small">{e.object_id}</span>
                  </td>
                  {provider && <td>{e.customer_id ? (names.get(e.customer_id) ?? e.customer_id) : '—'}</td>}
                  <td class={e.outcome === 'denied' ? 'outcome-denied' : ''}>
                    {e.outcome === 'ok' ? t('audit.outcome.ok') : e.outcome === 'denied' ? t('audit.outcome.denied') : e.outcome}
                  </td>
                  <td>{e.source_ip || '—'}</td>
                  <td>
                    {(e.before || e.after) && (
                      <details>
                        <summary>{t('audit.show')}</summary>
                        {e.before && <pre class="diff">{`${t('audit.before')}: ${e.before}`}</pre>}
                        {e.after && <pre class="diff">{`${t('audit.after')}: ${e.after}`}</pre>}
                      </details>
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
        </div>
      )}
      <div class="pager">
        <button class="btn" type="button" disabled={f.page === 0} onClick={() => go({ page: f.page - 1 })}>
          {t('common.prev')}
        </button>
        <span>{t('common.page', { n: f.page + 1 })}</span>
        <button class="btn" type="button" disabled={(list.data?.items.length ?? 0) < PAGE} onClick={() => go({ page: f.page + 1 })}>
          {t('common.next')}
        </button>
      </div>
    </Page>
  );
}
